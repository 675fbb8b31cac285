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
  :mod:`seqimaging.bench.scores`, with bootstrap 95% CIs over start times. Windows
  overlap in time, so these intervals are narrower than independent events would give.
- **Baselines**, on the same windows: persistence (the last context frame), and pysteps'
  standard extrapolation nowcast as in its examples: rain rate to dB (threshold 0.1
  mm/h, −15 dB below), Lucas–Kanade optical flow (``pysteps.motion`` ``"LK"``) on the
  6 context frames, semi-Lagrangian advection of the last one (``pysteps.nowcasts``
  ``"extrapolation"``), back to mm/h (below −10 dB is no rain).

Without ``--root`` it runs on generated rain events in the same file layout
(:func:`seqimaging.geo.synthetic.make_radar_events`) and says so loudly.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
import xarray as xr

from seqimaging._optional import require
from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.errors import DatasetNotFoundError
from seqimaging.evaluation import CaseScores, case_scores, pooled_scores
from seqimaging.geo import CubeWindows, read_fmi_radar
from seqimaging.geo.synthetic import make_radar_events
from seqimaging.models.baselines import persistence
from seqimaging.report import RAIN_RATE, curves_figure, image_strip_figure, interval
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.training import fit, step_loader
from seqimaging.transforms import RandomTurn

TRAIN_EVENT, TEST_EVENT = "20160928", "20170509"
CONTEXT = HORIZON = 6
THRESHOLDS = (0.5, 1.0, 5.0)
SSIM_RANGE = 10.0  # mm/h
GOAL = "The goal: beat persistence at every lead time, and match pysteps' CSI at 1 mm/h at +30 min."


@dataclass(frozen=True)
class RadarConfig:
    """Training sizes; :data:`FULL` by default, :data:`QUICK` for the smoke run."""

    patch: int
    steps: int
    batch_size: int
    hidden_channels: tuple[int, ...]
    width: int
    stride: int
    lr: float
    bootstrap: int


FULL = RadarConfig(64, 500, 8, (32, 32), 8, 4, 2e-3, 2000)
QUICK = RadarConfig(16, 4, 2, (8,), 4, 2, 2e-3, 200)


def to_model(rain: torch.Tensor) -> torch.Tensor:
    """Rain rate (mm/h) → the model's scale: ``(log10(R + 0.1) + 1) / 3`` (0 for no rain)."""
    return (torch.log10(rain.clamp_min(0) + 0.1) + 1) / 3


def from_model(values: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`to_model`, clipped to 0–200 mm/h (no radar sees more)."""
    return (10 ** (3 * values.clamp(0, to_model(torch.tensor(200.0))) - 1) - 0.1).clamp_min(0)


def load_event(root: Path, event: str) -> xr.DataArray:
    """An event's rain rate, ``(time, band, y, x)``, cropped to the coverage's bounding box."""
    folder = root / event
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"{folder} does not exist; expected the FMI radar event folders {TRAIN_EVENT}/ and "
            f"{TEST_EVENT}/ under --root (see data_cards/fmi_radar.md for where to get them)"
        )
    rain = read_fmi_radar(folder).load()
    covered = np.isfinite(rain.values).all(axis=(0, 1))
    rows, cols = np.flatnonzero(covered.any(1)), np.flatnonzero(covered.any(0))
    return rain.isel(y=slice(rows[0], rows[-1] + 1), x=slice(cols[0], cols[-1] + 1))


def train_forecaster(
    rain: xr.DataArray, config: RadarConfig, seed: int, device: str | None = None
) -> ForecastTask:
    """The ConvLSTM forecaster trained on random patches of ``rain`` (one event)."""
    L.seed_everything(seed, verbose=False)
    cube = rain.copy(data=to_model(torch.from_numpy(rain.values)).numpy())
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
    task = ForecastTask(
        "convlstm_forecaster",
        horizon=HORIZON,
        model_kwargs={
            "stride": config.stride,
            "width": config.width,
            "hidden_channels": list(config.hidden_channels),
        },
        loss="l1",
        lr=config.lr,
        scheduler="cosine",
        teacher_forcing=0.5,
        teacher_forcing_steps=config.steps // 2,
    )
    return fit(task, loader, device=device, max_steps=config.steps)


def forecast_grid(task: ForecastTask, context: torch.Tensor, patch: int) -> torch.Tensor:
    """The model's forecast ``[1, K, 1, H, W]`` (mm/h) of a whole grid, in windows of the
    training patch size.

    The encoder's GroupNorm normalises over the image it sees, so the model meets the
    statistics it was trained on only in patches of that size: MONAI's sliding-window
    inference runs it on windows overlapping by half and blends them with Gaussian
    weights. ``context`` is ``[T, 1, H, W]`` mm/h, NaN outside the coverage.
    """
    inferers = require("monai.inferers", extra="medical")
    steps = context.shape[0]
    stacked = torch.cat([to_model(torch.nan_to_num(context)), context.isfinite().float()])

    def predict(windows: torch.Tensor) -> torch.Tensor:  # [N, 2T, p, p] → [N, K, p, p]
        frames, mask = windows[:, :steps, None], windows[:, steps:, None] > 0.5
        return task.model(frames, mask=mask)[:, :, 0].contiguous()

    with torch.no_grad():
        blended = inferers.sliding_window_inference(
            stacked[:, 0][None], patch, 16, predict, overlap=0.5, mode="gaussian"
        )
    return from_model(blended[:, :, None])


def pysteps_nowcast(context: np.ndarray, horizon: int) -> np.ndarray:
    """pysteps' extrapolation nowcast of ``context`` ``[T, H, W]`` (mm/h, NaN outside)."""
    require("pysteps", extra="bench")
    require("cv2", extra="bench")  # pysteps' Lucas–Kanade uses OpenCV
    from pysteps import motion, nowcasts
    from pysteps.utils import transformation

    metadata = {"transform": None, "zerovalue": 0.0, "threshold": 0.1, "unit": "mm/h"}
    db, _ = transformation.dB_transform(context, metadata, threshold=0.1, zerovalue=-15.0)
    db[~np.isfinite(db)] = -15.0
    velocity = motion.get_method("LK")(db)
    forecast = nowcasts.get_method("extrapolation")(db[-1], velocity, horizon)
    rain, _ = transformation.dB_transform(forecast, threshold=-10.0, inverse=True)
    return np.nan_to_num(rain, nan=0.0)


def evaluate(task: ForecastTask, rain: xr.DataArray, config: RadarConfig) -> dict:
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
            "ConvLSTM": forecast_grid(task, context, config.patch),
            "persistence": persistence(torch.nan_to_num(context)[None], HORIZON),
            "pysteps": torch.from_numpy(pysteps_nowcast(context[:, 0].numpy(), HORIZON))[
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
        name: pooled_scores(CaseScores.concat(p), n_boot=config.bootstrap)
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
    result = evaluate(task, test_rain, config)
    scores = result["scores"]
    record.text(
        f"{result['cases']} test windows on a {test_rain.sizes['y']}×{test_rain.sizes['x']} "
        "grid; estimate (95% bootstrap CI over start times). " + GOAL
    )
    _tables(record, scores)
    record.section("Figures")
    leads = [5 * k for k in range(1, HORIZON + 1)]
    for metric in ("mae", f"csi@{THRESHOLDS[1]:g}"):
        curves = {name: (leads, [v[0] for v in s[metric]]) for name, s in scores.items()}
        record.figure(
            curves_figure(curves, xlabel="lead time [min]", ylabel=metric.upper()),
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
        config=asdict(config),
        root=str(root),
        context=CONTEXT,
        horizon=HORIZON,
        thresholds=THRESHOLDS,
        ssim_data_range=SSIM_RANGE,
    )
