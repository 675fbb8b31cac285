"""``seqimaging bench radar-nowcast``: radar events of five networks; the motion-aware
forecaster against persistence and pysteps, lead times in minutes.

Protocol:

- **Data**: ``--root`` holds ``<source>/<event>/`` folders of radar files as
  ``shared/data/radar_events`` (FMI, KNMI, MeteoSwiss, BoM, OPERA, via the pysteps
  example data; ``data_cards/radar_events.md``); the source is the folder's name, a row
  of :data:`seqimaging.geo.radar.RADAR_SOURCES`. Each event is read into rain rate
  (mm/h, :func:`seqimaging.geo.read_radar`), cropped to its coverage and aggregated to
  one grid of 2.75 km pixels in its own projection (:func:`seqimaging.geo.regrid`, block
  maximum): the coarsest of the five networks, so no event is interpolated to a finer
  grid than it was observed on, and the FMI files were made so (block maximum).
- **Split**: the test events (``--test``, default ``fmi/20170509``) are used once, for
  the scores below. Every other event trains on its first 75% of frames and validates
  on its last 25% (a time block; no window crosses the cut). Everything chosen is
  chosen on validation windows: the context of pysteps' motion (3 or 4 frames, as pysteps
  recommends, by MAE); the loss, its weights and the training length were fixed on
  validation windows while the benchmark was developed. Nothing is set per event.
- **Task**: 4 context frames, forecasts up to +30 minutes at every step of the event's
  network (5, 6, 10 or 15 minutes). The model is given the times: it moves rain by its
  motion per minute times the lead in minutes.
- **Model**: :class:`seqimaging.models.motion.MotionForecaster` — pysteps' Lucas–Kanade
  motion of the context, semi-Lagrangian advection of the context frames to each lead,
  a U-Net correction that starts at zero (so training starts at the extrapolation
  nowcast). Trained on random 64-pixel patches (the wettest of 4 draws) of the training
  windows, the events drawn alike (one long event of small frames, bom/20201031, held
  a third of the windows and taught the model to wipe out showers on validation), each
  turned by one of the 8 flips and quarter turns (motion turned with it), on scaled dBR
  (:func:`seqimaging.geo.rain_scale.to_dbr`: 10·log10 R,
  −15 dB below 0.1 mm/h, as pysteps), L1 loss weighted by rain rate at HKO-7's
  thresholds (weights 1, 1, 1.5, 2, 3, 5 from 0, 0.5, 2, 5, 10, 30 mm/h; HKO-7's own 1, 1,
  2, 5, 10, 30 raised the MAE on validation windows, no weights lowered CSI at 5 mm/h),
  3000 AdamW steps of 8 patches, learning rate 1e-3 on a cosine schedule.
- **Baselines**, on the same windows: persistence (the last context frame); pysteps'
  extrapolation nowcast (:func:`seqimaging.models.baselines.optical_flow_extrapolation`:
  dB, Lucas–Kanade, semi-Lagrangian, as pysteps' examples).
- **Scores** per test event and lead in minutes, on rain rate inside the coverage, the
  whole domain: CSI at 0.5, 1 and 5 mm/h, MAE, and the FSS at 1 mm/h in a 6-pixel
  (16.5 km) window, pooled over start times (:mod:`seqimaging.evaluation.forecast`),
  with bootstrap 95% CIs over start times and paired CIs of the model's difference to
  each baseline. Windows overlap in time, so these intervals are narrower than
  independent events would give. An ablation on the validation windows (all events,
  leads up to 30 minutes pooled): persistence, pysteps with 3 and 4 frames, the model's
  advection alone, the model. The trained weights are saved as ``motion_forecaster.pt``.

Without ``--root`` it runs on generated FMI-format events (the stand-in,
:func:`seqimaging.geo.synthetic.make_radar_events`) and says so loudly.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import Dataset

from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.errors import DatasetNotFoundError, SeqImagingError
from seqimaging.evaluation import CaseScores, case_scores, pooled_scores
from seqimaging.evaluation.forecast import pooled_differences
from seqimaging.files import atomic_write
from seqimaging.geo import read_radar, regrid
from seqimaging.geo.radar import crop_to_coverage
from seqimaging.geo.rain_scale import DBR_ZERO, dbr, rain_from_dbr, rain_weight_steps, to_dbr
from seqimaging.geo.synthetic import make_radar_events
from seqimaging.models.baselines import lucas_kanade, optical_flow_extrapolation, persistence
from seqimaging.report import RAIN_RATE, image_strip_figure, interval, lead_figure, motion_figure
from seqimaging.sample import window_sample
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.training import fit, step_loader
from seqimaging.transforms import RandomTurn

RESOLUTION = 2750.0  # metres; grids within 1% of it (FMI) are kept as they are
MAX_RAIN = 200.0  # mm/h: no radar sees more; above it is clutter (OPERA has 8647)
CONTEXT = 4  # frames
MAX_LEAD = 30.0  # minutes
HORIZON = 6  # future frames per training sample; leads beyond MAX_LEAD are masked
LK_CONTEXTS = (3, 4)  # pysteps' motion from the last 3 or 4 frames, chosen on validation
VAL_FRACTION = 0.25
THRESHOLDS = (0.5, 1.0, 5.0)  # mm/h
FSS = (1.0, 6)  # mm/h, window in pixels (16.5 km)
METRICS = {
    "csi_0.5": "csi@0.5",
    "csi_1": "csi@1",
    "csi_5": "csi@5",
    "mae": "mae",
    "fss_1": "fss@1/6",
    "bias_1": "bias@1",
}
"""Names in ``results.json`` → names of :func:`seqimaging.evaluation.pooled_scores`."""
BETTER = {"mae": "lower is better", "bias_1": "1 is unbiased, below 1 too little rain"}
RAIN_WEIGHTS = ((0.5, 1.0), (2.0, 1.5), (5.0, 2.0), (10.0, 3.0), (30.0, 5.0))
"""Loss weights from these rain rates (mm/h) on: HKO-7's thresholds with milder weights
(HKO-7 has 1, 2, 5, 10, 30), chosen on validation windows (HKO-7's own raised the MAE above
pysteps'; no weights lowered CSI at 5 mm/h below it)."""
DEFAULT_TEST = ("fmi/20170509",)
WEIGHTS = "motion_forecaster.pt"
"""The trained model in the output folder: ``{"model_kwargs", "state_dict"}`` of
``motion_forecaster`` (read by ``examples/radar_nowcast.py``)."""
METHODS = ("model", "persistence", "pysteps")
GOAL = (
    "The goal: at +30 min on fmi/20170509, CSI at 1 mm/h above pysteps' and MAE below it; "
    "better than persistence at every lead, the CI of the difference excluding zero."
)


@dataclass(frozen=True)
class RadarOptions(BenchOptions):
    """:class:`BenchOptions` and ``test``, the held-out events as ``source/event``."""

    test: tuple[str, ...] = DEFAULT_TEST


@dataclass(frozen=True)
class NowcastConfig:
    """The model's size and its fixed training budget (chosen on validation windows)."""

    steps: int
    batch_size: int
    width: int
    patch: int
    lr: float
    loss: str
    loss_weights: tuple[tuple[float, float], ...]
    bootstrap: int


FULL = NowcastConfig(3000, 8, 16, 64, 1e-3, "l1", RAIN_WEIGHTS, 2000)
QUICK = NowcastConfig(4, 2, 4, 16, 1e-3, "l1", RAIN_WEIGHTS, 100)


@dataclass
class Event:
    """One radar event on the training grid: rain ``[T, H, W]`` mm/h (NaN outside
    coverage), its times, and the pysteps motion of each window, computed once."""

    name: str
    rain: np.ndarray
    dates: np.ndarray
    motions: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    @cached_property
    def step(self) -> float:
        """The time step in minutes (the median, for a gap-free event the step)."""
        return float(np.median(np.diff(self.dates) / np.timedelta64(1, "m")))

    @cached_property
    def leads(self) -> int:
        """Future frames up to :data:`MAX_LEAD`."""
        return max(1, int(MAX_LEAD // self.step))

    @cached_property
    def scaled(self) -> torch.Tensor:
        """Scaled dBR ``[T, 1, H, W]``, NaN outside coverage."""
        return to_dbr(torch.from_numpy(self.rain))[:, None]

    def starts(self, part: str) -> list[int]:
        """Window starts of ``"train"`` (first 75%), ``"val"`` (last 25%) or ``"all"``."""
        span, frames = CONTEXT + self.leads, len(self.rain)
        cut = int(frames * (1 - VAL_FRACTION))
        first, end = {"train": (0, cut), "val": (cut, frames), "all": (0, frames)}[part]
        return list(range(first, end - span + 1))

    def motion(self, start: int, frames: int) -> np.ndarray:
        """pysteps' motion ``[2, H, W]`` of the window's last ``frames`` context frames in
        dB, pixels per frame step (as :func:`optical_flow_extrapolation` computes it)."""
        key = (start, frames)
        if key not in self.motions:
            context = self.rain[start + CONTEXT - frames : start + CONTEXT]
            db = dbr(torch.from_numpy(context)).nan_to_num(DBR_ZERO).double().numpy()
            self.motions[key] = lucas_kanade(db)
        return self.motions[key]

    def sample(self, start: int, frames: int, box: tuple[int, int, int, int] | None = None) -> dict:
        """The window at ``start`` in the sample contract (``times`` in minutes), with
        ``HORIZON`` future frames (those beyond :data:`MAX_LEAD` masked) and ``motion``."""
        top, left, height, width = box or (0, 0, *self.rain.shape[1:])
        rows, cols = slice(top, top + height), slice(left, left + width)
        steps = np.arange(start, start + CONTEXT + self.leads)
        values = self.scaled[steps][..., rows, cols]
        sample = window_sample(values, values.isfinite(), self.dates[steps], CONTEXT, time_unit="m")
        missing = HORIZON - self.leads
        if missing > 0:
            pad = lambda x: torch.cat([x, torch.zeros(missing, *x.shape[1:], dtype=x.dtype)])  # noqa: E731
            later = sample["future_times"][-1] + self.step * torch.arange(1, missing + 1)
            sample |= {
                "future": pad(sample["future"]),
                "future_mask": pad(sample["future_mask"]),
                "future_times": torch.cat([sample["future_times"], later]),
            }
        motion = self.motion(start, frames)[:, rows, cols] / self.step  # pixels per minute
        sample["motion"] = torch.from_numpy(motion.astype(np.float32))
        sample["meta"] |= {"id": f"{self.name}/{start}", "group": self.name}
        return sample


def load_events(root: Path) -> dict[str, Event]:
    """Every ``<source>/<event>/`` folder under ``root`` on the training grid."""
    folders = sorted(p for p in Path(root).glob("*/*") if p.is_dir())
    if not folders:
        raise DatasetNotFoundError(
            f"{root} holds no <source>/<event>/ folders; expected radar events laid out as "
            "fmi/20170509/*.tif (data_cards/radar_events.md)"
        )
    events = {}
    for folder in folders:
        cube = crop_to_coverage(read_radar(folder, source=folder.parent.name).load())
        if abs(abs(cube.attrs["transform"][0]) / RESOLUTION - 1) > 0.01:
            cube = crop_to_coverage(regrid(cube, RESOLUTION))
        name = f"{folder.parent.name}/{folder.name}"
        rain = np.minimum(cube.values[:, 0], MAX_RAIN).astype(np.float32)
        events[name] = Event(name, rain, cube.time.values)
    return events


class TrainingWindows(Dataset):
    """Random patches of the training windows of several events, with their motion.

    Events are drawn alike (sample ``i`` is from event ``i mod n``, at a random start), so
    that a long event of many frames, or of many small frames, does not outweigh the rest.
    """

    def __init__(self, events: list[Event], frames: int, patch: int, tries: int = 4) -> None:
        self.frames, self.patch, self.tries, self.turn = frames, patch, tries, RandomTurn()
        self.events = [e for e in events if e.starts("train")]
        self.size = sum(len(e.starts("train")) for e in self.events)
        small = [e.name for e in self.events if min(e.rain.shape[1:]) < patch]
        if small:
            raise SeqImagingError(f"events {small} are smaller than the {patch}-pixel patches")

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        event = self.events[index % len(self.events)]
        starts = event.starts("train")
        start = starts[int(torch.randint(len(starts), ()))]
        (height, width), p = event.rain.shape[1:], self.patch
        last = event.scaled[start + CONTEXT - 1, 0].nan_to_num(0.0)
        boxes = [
            (int(torch.randint(height - p + 1, ())), int(torch.randint(width - p + 1, ())), p, p)
            for _ in range(self.tries)
        ]
        wettest = max(boxes, key=lambda b: float(last[b[0] : b[0] + p, b[1] : b[1] + p].sum()))
        return self.turn(event.sample(start, self.frames, wettest))


def train_model(events: list[Event], frames: int, config: NowcastConfig, seed: int, device=None):
    """The motion forecaster trained on the training windows of ``events``."""
    L.seed_everything(seed, verbose=False)
    windows = TrainingWindows(events, frames, config.patch)
    task = ForecastTask(
        "motion_forecaster",
        horizon=HORIZON,
        model_kwargs={"context": CONTEXT, "width": config.width, "time_scale": MAX_LEAD},
        loss=config.loss,
        loss_weights=[list(w) for w in rain_weight_steps(config.loss_weights)],
        lr=config.lr,
        scheduler="cosine",
    )
    return fit(
        task,
        step_loader(windows, config.steps, config.batch_size),
        device=device,
        max_steps=config.steps,
    )


def forecasts(
    event: Event,
    start: int,
    frames: int,
    model: torch.nn.Module | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """Rain forecasts ``[1, K, 1, H, W]`` (mm/h) of one window up to :data:`MAX_LEAD`:
    persistence, pysteps (motion of ``frames`` frames) and, given a model, the model and
    its advection alone."""
    sample = event.sample(start, frames, box)
    k = event.leads
    batch = {key: sample[key][None] for key in ("frames", "mask", "times", "motion")}
    batch["future_times"] = sample["future_times"][None, :k]
    top, left, height, width = box or (0, 0, *event.rain.shape[1:])
    context = event.rain[start : start + CONTEXT, top : top + height, left : left + width]
    motion = event.motion(start, frames)[:, top : top + height, left : left + width]
    pysteps = optical_flow_extrapolation(context[-frames:], list(range(1, k + 1)), motion)
    out = {
        "persistence": persistence(torch.from_numpy(context).nan_to_num(0.0)[None, :, None], k),
        "pysteps": torch.from_numpy(pysteps)[None, :, None].float(),
    }
    if model is not None:
        with torch.no_grad():
            out["model"] = rain_from_dbr(model(batch))
            out["advection"] = rain_from_dbr(model(batch, correct=False))
    return out


def score_windows(
    event: Event,
    starts: list[int],
    frames: int,
    model: torch.nn.Module | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> dict[str, CaseScores]:
    """Each method's scores on the windows at ``starts``, inside the coverage."""
    top, left, height, width = box or (0, 0, *event.rain.shape[1:])
    parts: dict[str, list[CaseScores]] = {}
    for start in starts:
        steps = slice(start + CONTEXT, start + CONTEXT + event.leads)
        truth = torch.from_numpy(event.rain[steps, top : top + height, left : left + width])
        truth = truth[None, :, None]
        for name, forecast in forecasts(event, start, frames, model, box).items():
            parts.setdefault(name, []).append(
                case_scores(
                    forecast,
                    truth.nan_to_num(0.0),
                    truth.isfinite(),
                    thresholds=THRESHOLDS,
                    fss=[FSS],
                    data_range=10.0,
                )
            )
    return {name: CaseScores.concat(p) for name, p in parts.items()}


def _central_box(event: Event, size: int) -> tuple[int, int, int, int]:
    """The central ``size``-pixel square (or less) of an event's grid."""
    height, width = event.rain.shape[1:]
    h, w = min(size, height), min(size, width)
    return (height - h) // 2, (width - w) // 2, h, w


def validation_scores(
    events: list[Event], frames: int, model: torch.nn.Module | None, size: int
) -> dict[str, dict[str, CaseScores]]:
    """Every method on the validation windows of each event (central ``size``-pixel
    squares), each window's leads up to :data:`MAX_LEAD` pooled into one:
    ``{event: {method: scores}}``, and ``"all"`` for every event's windows together."""
    per_event = {}
    for event in events:
        if event.starts("val"):
            box = _central_box(event, size)
            scored = score_windows(event, event.starts("val"), frames, model, box)
            per_event[event.name] = {name: _over_leads(s) for name, s in scored.items()}
    methods = next(iter(per_event.values()))
    return per_event | {
        "all": {m: CaseScores.concat([e[m] for e in per_event.values()]) for m in methods}
    }


def _over_leads(scores: CaseScores) -> CaseScores:
    """The scores with each case's leads pooled into one lead."""
    summed = {f: getattr(scores, f).sum(1, keepdims=True) for f in CaseScores._arrays()}
    summed["ssim"] = scores.ssim.mean(1, keepdims=True)
    return CaseScores(**summed, thresholds=scores.thresholds, fss=scores.fss)


def _stand_in(out: Path, seed: int, quick: bool) -> Path:
    size, frames = (32, 40) if quick else (96, 40)
    return BenchRecord.stand_in_data(
        out,
        f"radar-events-{frames}x{size}-seed{seed}",
        lambda d: make_radar_events(d / "fmi", ("20160928", "20170509"), frames, seed, size=size),
    )


def _lead_rows(scores: dict[str, dict[str, list]], key: str, leads: list[str]) -> list[dict]:
    return [
        {"": name} | {f"+{t} min": interval(v) for t, v in zip(leads, s[key], strict=True)}
        for name, s in scores.items()
    ]


def _test_event(
    event: Event, frames: int, model: torch.nn.Module, config: NowcastConfig, seed: int
) -> dict:
    """Scores per lead of every method on every window of a test event, with CIs and the
    model's paired differences to the baselines, and one window's forecasts to show."""
    starts = event.starts("all")
    scored = score_windows(event, starts, frames, model)
    leads = [f"{event.step * k:g}" for k in range(1, event.leads + 1)]
    boot = {"n_boot": config.bootstrap, "seed": seed}

    def named(stats: dict[str, list]) -> dict[str, list]:
        return {key: stats[name] for key, name in METRICS.items()}

    intervals = {m: named(pooled_scores(scored[m], **boot)) for m in METHODS}
    differences = {
        f"model - {m}": named(pooled_differences(scored["model"], scored[m], **boot))
        for m in ("persistence", "pysteps")
    }
    middle = starts[len(starts) // 2]
    shown = forecasts(event, middle, frames, model)
    sample = event.sample(middle, frames)
    motion = model.motion_field({k: sample[k][None] for k in ("frames", "times", "motion")})
    return {
        "windows": len(starts),
        "leads": leads,
        "estimates": {
            m: {key: dict(zip(leads, (v[0] for v in s), strict=True)) for key, s in ci.items()}
            for m, ci in intervals.items()
        },
        "intervals": intervals,
        "differences": differences,
        "example": {
            "context": event.rain[middle : middle + CONTEXT],
            "truth": event.rain[middle + CONTEXT : middle + CONTEXT + event.leads],
            **{m: shown[m][0, :, 0].numpy() for m in ("model", "pysteps")},
        },
        "motion": motion[0].numpy(),
    }


def _figures(record: BenchRecord, name: str, result: dict) -> None:
    slug, leads = name.replace("/", "_"), [float(t) for t in result["leads"]]
    for key in ("csi_1", "mae"):
        record.figure(
            lead_figure(
                {m: s[key] for m, s in result["intervals"].items()},
                leads=leads,
                xlabel="lead time [min]",
                ylabel=key.upper().replace("_", " at ")
                + (" mm/h" if key == "csi_1" else " [mm/h]"),
            ),
            f"{slug}_{key}.png",
            f"{name}: {key} against lead time (95% CI over start times)",
        )
    example = result["example"]
    record.figure(
        image_strip_figure(
            {k: np.nan_to_num(np.asarray(v)) for k, v in example.items()},
            scale=RAIN_RATE,
            column_titles=[f"+{t} min" for t in result["leads"]],
        ),
        f"{slug}_forecast.png",
        f"{name}, one window: the context, the truth, the model and pysteps (columns are lead "
        "times for the last three rows)",
    )
    record.figure(
        motion_figure(
            np.nan_to_num(np.asarray(example["context"][-1])),
            result["motion"],
            scale=RAIN_RATE,
            unit="min",
            title="motion",
        ),
        f"{slug}_motion.png",
        f"{name}, the same window: the last context frame under the motion the model "
        "advects along (pysteps' Lucas–Kanade)",
    )


def bench(out: Path, options: RadarOptions) -> dict:
    """Run the protocol of this module's docstring; write ``results.json`` and ``.md``."""
    config = QUICK if options.quick else FULL
    stand_in = options.root is None
    root = _stand_in(out, options.seed, options.quick) if stand_in else options.root
    events = load_events(root)
    unknown = sorted(set(options.test) - set(events))
    if unknown:
        raise DatasetNotFoundError(
            f"--test events {unknown} are not in {root}; it holds {sorted(events)}"
        )
    training = [e for name, e in events.items() if name not in options.test]
    if not any(e.starts("val") for e in training):
        raise SeqImagingError(
            f"no training event in {root} is long enough for a validation window in its last "
            f"{VAL_FRACTION:.0%} ({CONTEXT} context frames and leads up to {MAX_LEAD:g} min)"
        )
    record = BenchRecord(
        "radar-nowcast",
        out,
        "radar nowcasts up to +30 minutes, trained on several networks",
        data=(
            "generated FMI-format rain events (seqimaging.geo.synthetic.make_radar_events)"
            if stand_in
            else f"radar events from {root}: {', '.join(events)} (data_cards/radar_events.md)"
        ),
        stand_in=stand_in,
        split=(
            f"test {', '.join(options.test)}, used once; every other event trains on its first "
            f"{1 - VAL_FRACTION:.0%} of frames and validates on its last {VAL_FRACTION:.0%}"
        ),
        seed=options.seed,
    )
    val_size = 32 if options.quick else 256
    by_context = {n: validation_scores(training, n, None, val_size)["all"] for n in LK_CONTEXTS}
    frames = min(
        LK_CONTEXTS, key=lambda n: pooled_scores(by_context[n]["pysteps"], n_boot=1)["mae"][0][0]
    )
    task = train_model(training, frames, config, options.seed, options.device)
    model = task.model.cpu()
    with atomic_write(Path(out) / WEIGHTS) as file:
        torch.save(
            {"model_kwargs": task.hparams.model_kwargs, "state_dict": model.state_dict()}, file
        )
    validation = validation_scores(training, frames, model, val_size)
    pooled = validation.pop("all")
    ablation = {"persistence": pooled["persistence"]}
    ablation |= {f"pysteps, {n} frames": by_context[n]["pysteps"] for n in LK_CONTEXTS}
    ablation |= {"advection alone": pooled["advection"], "model": pooled["model"]}
    boot = {"n_boot": config.bootstrap, "seed": options.seed}
    ablation_scores = {
        name: {key: pooled_scores(s, **boot)[m][0] for key, m in METRICS.items()}
        for name, s in ablation.items()
    }
    per_event_validation = {
        event: {
            method: {key: pooled_scores(s[method], n_boot=1)[m][0][0] for key, m in METRICS.items()}
            for method in ("pysteps", "model")
        }
        for event, s in validation.items()
    }
    results = {
        e.name: _test_event(e, frames, model, config, options.seed)
        for e in (events[name] for name in options.test)
    }
    record.text(
        f"pysteps' motion from the last {frames} frames (chosen on validation: lower MAE). "
        "Estimates with 95% bootstrap CIs over start times. " + GOAL
    )
    for name, result in results.items():
        for key in METRICS:
            record.section(
                f"{name}: {key} per lead ({BETTER.get(key, 'higher is better')}; "
                f"{result['windows']} windows)"
            )
            record.table(
                _lead_rows(result["intervals"] | result["differences"], key, result["leads"])
            )
        _figures(record, name, result)
    record.section(
        "Ablation on the validation windows",
        f"{len(pooled['model'])} windows of {len(training)} events, central "
        f"{val_size}-pixel squares, leads up to {MAX_LEAD:g} min pooled.",
    )
    record.table(
        [{"": n} | {k: interval(v) for k, v in s.items()} for n, s in ablation_scores.items()]
    )
    record.section("Validation windows per event (leads up to 30 min pooled)")
    record.table(
        [
            {"event": event, "method": method} | scores
            for event, by_method in per_event_validation.items()
            for method, scores in by_method.items()
        ]
    )
    return record.write(
        {
            "per_event": {n: r["estimates"] for n, r in results.items()},
            "intervals": {n: r["intervals"] for n, r in results.items()},
            "differences": {n: r["differences"] for n, r in results.items()},
            "test_windows": {n: r["windows"] for n, r in results.items()},
            "validation_ablation": ablation_scores,
            "validation_per_event": per_event_validation,
            "motion_frames": frames,
        },
        config,
        root=str(root),
        events={
            e.name: {"frames": len(e.rain), "step_min": e.step, "grid": list(e.rain.shape[1:])}
            for e in events.values()
        },
        resolution_m=RESOLUTION,
        context=CONTEXT,
        max_lead_min=MAX_LEAD,
        thresholds=THRESHOLDS,
        fss=FSS,
    )
