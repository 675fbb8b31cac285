"""``seqimaging bench radar-nowcast``: FMI weather radar, 6 → 6 frames, against pysteps.

Protocol:

- **Data**: FMI radar reflectivity composites (``data_cards/fmi_radar.md``; CC BY 4.0),
  ``--root`` holding the event folders ``20160928/`` (training) and ``20170509/``
  (test), 40 frames 5 minutes apart each. Reflectivity becomes rain rate in mm/h by
  Marshall–Palmer (:func:`seqimaging.geo.read_fmi_radar`). Both events are cropped to
  the bounding box of the radar coverage, which is the same in every frame.
- **Task**: 6 context frames (30 min) → 6 future frames (+5 … +30 min).
- **Training**: the ConvLSTM forecaster learns on random patches of the training event
  only, each window turned by a random one of the 8 flips and quarter turns (rain
  moves in every direction; one event has one wind). Inputs and the L1 loss are on
  ``log10(R + 0.1)`` scaled to about [0, 1] (L1 keeps dry pixels dry, where MSE would
  smear drizzle over them); the loss counts pixels inside the coverage. The
  configuration and number of steps are fixed in advance: nothing from the test event
  is used to train or select anything.
- **Evaluation**: every window of the test event (start times 5 minutes apart), on the
  whole cropped domain, inside the coverage. Per lead time, on rain rate (mm/h): MAE,
  RMSE, CSI at 0.5, 1 and 5 mm/h and SSIM (data range 10 mm/h), from
  :mod:`seqimaging.evaluation.forecast`, with bootstrap 95% CIs over start times. Windows
  overlap in time, so these intervals are narrower than independent events would give.
- **Baselines**, on the same windows: persistence (the last context frame), and pysteps'
  standard extrapolation nowcast as in its examples: rain rate to dB (threshold 0.1
  mm/h, −15 dB below), Lucas–Kanade optical flow (``pysteps.motion`` ``"LK"``) on the
  6 context frames, semi-Lagrangian advection of the last one (``pysteps.nowcasts``
  ``"extrapolation"``), back to mm/h (below −10 dB is no rain).

Without ``--root`` it runs on generated rain events in the same file layout
(:func:`seqimaging.geo.synthetic.make_radar_events`) and says so loudly.
"""

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
import xarray as xr

from seqimaging.bench.record import BenchOptions, BenchRecord, ForecasterSizes
from seqimaging.errors import DatasetNotFoundError
from seqimaging.evaluation import CaseScores, case_scores, pooled_scores
from seqimaging.geo import CubeWindows, read_fmi_radar
from seqimaging.geo.radar import crop_to_coverage, log_rain, rain_from_log
from seqimaging.geo.synthetic import make_radar_events
from seqimaging.models.baselines import optical_flow_extrapolation, persistence
from seqimaging.models.tiling import tiled_forecast
from seqimaging.report import RAIN_RATE, image_strip_figure, interval, lead_figure
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.training import fit, step_loader
from seqimaging.transforms import RandomTurn

TRAIN_EVENT, TEST_EVENT = "20160928", "20170509"
CONTEXT = HORIZON = 6
THRESHOLDS = (0.5, 1.0, 5.0)
SSIM_RANGE = 10.0  # mm/h
GOAL = "The goal: beat persistence at every lead time, and match pysteps' CSI at 1 mm/h at +30 min."


@dataclass(frozen=True)
class RadarConfig(ForecasterSizes):
    """Training sizes; :data:`FULL` by default, :data:`QUICK` for the smoke run."""

    patch: int = 64  # pixels per side of the training patches


FULL = RadarConfig(500, 8, (32, 32), 8, 4, 2e-3, 2000, patch=64)
QUICK = RadarConfig(4, 2, (8,), 4, 2, 2e-3, 200, patch=16)


def load_event(root: Path, event: str) -> xr.DataArray:
    """An event's rain rate, ``(time, band, y, x)``, cropped to the coverage's bounding box."""
    folder = root / event
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"{folder} does not exist; expected the FMI radar event folders {TRAIN_EVENT}/ and "
            f"{TEST_EVENT}/ under --root (see data_cards/fmi_radar.md for where to get them)"
        )
    return crop_to_coverage(read_fmi_radar(folder).load())


def train_forecaster(
    rain: xr.DataArray, config: RadarConfig, seed: int, device: str | None = None
) -> ForecastTask:
    """The ConvLSTM forecaster trained on random patches of ``rain`` (one event)."""
    L.seed_everything(seed, verbose=False)
    cube = rain.copy(data=log_rain(torch.from_numpy(rain.values)).numpy())
    windows = CubeWindows(
        cube,
        CONTEXT,
        HORIZON,
        patch=config.patch,
        random_patches=True,
        min_valid=0.0,
        time_unit="m",
        transform=RandomTurn(),
    )
    loader = step_loader(windows, config.steps, config.batch_size)
    task = config.task(
        HORIZON, loss="l1", teacher_forcing=0.5, teacher_forcing_steps=config.steps // 2
    )
    return fit(task, loader, device=device, max_steps=config.steps)


def evaluate(task: ForecastTask, rain: xr.DataArray, config: RadarConfig, seed: int) -> dict:
    """Scores of the model and both baselines on every window of the test event."""
    values = torch.from_numpy(rain.values)  # [T, 1, H, W], NaN outside coverage
    covered = values.isfinite()
    starts = range(values.shape[0] - CONTEXT - HORIZON + 1)
    parts: dict[str, list[CaseScores]] = {"ConvLSTM": [], "persistence": [], "pysteps": []}
    examples = {}
    for start in starts:
        context = values[start : start + CONTEXT]
        truth = values[start + CONTEXT : start + CONTEXT + HORIZON][None]
        mask = covered[start + CONTEXT : start + CONTEXT + HORIZON][None]
        forecasts = {
            "ConvLSTM": rain_from_log(
                tiled_forecast(
                    task.model,
                    log_rain(torch.nan_to_num(context)),
                    context.isfinite(),
                    config.patch,
                )
            ),
            "persistence": persistence(torch.nan_to_num(context)[None], HORIZON),
            "pysteps": torch.from_numpy(optical_flow_extrapolation(context[:, 0].numpy(), HORIZON))[
                None, :, None
            ].float(),
        }
        for name, forecast in forecasts.items():
            parts[name].append(
                case_scores(
                    forecast,
                    torch.nan_to_num(truth),
                    mask,
                    thresholds=THRESHOLDS,
                    data_range=SSIM_RANGE,
                )
            )
        if start == len(starts) // 2:
            examples = {"observed": truth[0, :, 0]} | {
                name: f[0, :, 0] * mask[0, :, 0] for name, f in forecasts.items()
            }
    scores = {
        name: pooled_scores(CaseScores.concat(p), n_boot=config.bootstrap, seed=seed)
        for name, p in parts.items()
    }
    return {"scores": scores, "cases": len(starts), "examples": examples}


def _tables(record: BenchRecord, scores: dict) -> None:
    leads = [f"+{5 * k} min" for k in range(1, HORIZON + 1)]
    for metric, better in [
        ("mae", "lower"),
        ("rmse", "lower"),
        *((f"csi@{t:g}", "higher") for t in THRESHOLDS),
        ("ssim", "higher"),
    ]:
        record.section(f"{metric.upper()} per lead time ({better} is better)")
        record.table(
            [
                {"method": name} | dict(zip(leads, map(interval, by_metric[metric]), strict=True))
                for name, by_metric in scores.items()
            ]
        )


def bench(out: Path, options: BenchOptions) -> dict:
    """Run the protocol of this module's docstring; write ``results.json`` and ``.md``."""
    config = QUICK if options.quick else FULL
    stand_in = options.root is None
    size, frames = (32, 14) if options.quick else (96, 40)
    root = options.root or BenchRecord.stand_in_data(
        out,
        f"radar-{frames}x{size}-seed{options.seed}",
        lambda d: make_radar_events(d, (TRAIN_EVENT, TEST_EVENT), frames, options.seed, size=size),
    )
    record = BenchRecord(
        "radar-nowcast",
        out,
        "FMI weather radar, 6 → 6 frames of 5 minutes",
        data=(
            "generated rain events (seqimaging.geo.synthetic.make_radar_events)"
            if stand_in
            else f"FMI radar composites from {root} (CC BY 4.0, data_cards/fmi_radar.md)"
        ),
        stand_in=stand_in,
        split=f"train on event {TRAIN_EVENT}, test on event {TEST_EVENT}; no model selection",
        seed=options.seed,
    )
    train_rain, test_rain = load_event(root, TRAIN_EVENT), load_event(root, TEST_EVENT)
    task = train_forecaster(train_rain, config, options.seed, options.device)
    result = evaluate(task, test_rain, config, options.seed)
    scores = result["scores"]
    record.text(
        f"{result['cases']} test windows on a {test_rain.sizes['y']}×{test_rain.sizes['x']} "
        "grid; estimate (95% bootstrap CI over start times). " + GOAL
    )
    _tables(record, scores)
    record.section("Figures")
    leads = [5 * k for k in range(1, HORIZON + 1)]
    for metric in ("mae", f"csi@{THRESHOLDS[1]:g}"):
        record.figure(
            lead_figure(
                {name: s[metric] for name, s in scores.items()},
                leads=leads,
                xlabel="lead time [min]",
                ylabel=metric.upper(),
            ),
            f"{metric.replace('@', '_')}.png",
            f"{metric.upper()} against lead time on the test event",
        )
    record.figure(
        image_strip_figure(
            {k: v.numpy() for k, v in result["examples"].items()},
            scale=RAIN_RATE,
            column_titles=[f"+{m} min" for m in leads],
        ),
        "forecasts.png",
        "One test window: observed rain and the three forecasts",
    )
    beats = {
        metric: [
            m[0] < p[0]
            for m, p in zip(scores["ConvLSTM"][metric], scores["persistence"][metric], strict=True)
        ]
        for metric in ("mae", "rmse")
    }
    return record.write(
        {"metrics": scores, "test_windows": result["cases"], "beats_persistence": beats},
        config,
        root=str(root),
        context=CONTEXT,
        horizon=HORIZON,
        thresholds=THRESHOLDS,
        ssim_data_range=SSIM_RANGE,
    )
