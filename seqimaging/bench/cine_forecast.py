"""``seqimaging bench cine-forecast``: the next frames of cardiac cine MRI, leave one patient out.

Protocol:

- **Data**: Sunnybrook cardiac cine (CC0, ``data_cards/sunnybrook.md``) from ``--root``:
  ``labels.csv`` and ``<subject>_cine.nii.gz``, read with
  :class:`~seqimaging.medical.Sunnybrook` and stacked per patient
  (:func:`~seqimaging.medical.patient_cines`). Every slice of every patient is a sequence
  (:data:`SAMPLING`): the cycle rolled to start at end-diastole, resampled in-plane to
  2 mm pixels and cropped to 64 × 64 pixels centred on what moves
  (:func:`~seqimaging.medical.transforms.heart_centre`); intensities are scaled per
  slice, over all its phases, so that the minimum is 0 and the 99.5th percentile is 1,
  and clipped to [0, 1]. That scale is one number per slice from the whole cycle, the
  same for every method.
- **Task**: :data:`CONTEXT` = 6 phases → the next :data:`HORIZON` = 4 (leads +1 … +4
  phases, 1/20 of the cycle each on the real data). A gated cine holds one cycle, so
  phase ``T - 1`` is followed by phase 0 and windows wrap around: every slice gives
  one window per start phase (:class:`~seqimaging.medical.CineWindows`).
  ``CONTEXT + HORIZON <= T``, so no target frame is ever in its own context.
- **Split**: leave one patient out. Two forecasters (:data:`MODELS`) are trained per
  held-out patient on every window of the other patients, with a configuration and a
  number of optimiser steps fixed in advance (:data:`FULL`; 300 AdamW steps of 8
  windows, learning rate 2e-3 on a cosine schedule, MSE loss): the
  encoder–ConvLSTM–decoder of :class:`~seqimaging.models.ConvLSTMForecaster` predicting
  the change from the last frame (stride 4, width 16, one ConvLSTM layer of 32
  channels), and the motion forecaster of :mod:`seqimaging.models.motion` (pysteps'
  Lucas–Kanade motion of the last 4 frames, semi-Lagrangian advection to each lead, a
  U-Net correction of width 16 that starts at zero; the heart's deformation is motion).
  The motion forecaster reads the times as fractions of the cycle. Nothing is tuned or
  selected on the data, so no validation set is needed. Training windows are random
  48 × 48 crops of the frames, each turned by one of the 8 flips and quarter turns.
  The seed fixes the initialisation, the crops and the order of the windows.
- **Baselines**, on the same frames: persistence (the last context frame) and linear
  extrapolation ``x_t + h (x_t - x_{t-1})``, clipped to [0, 1] (forecasts of the model
  are clipped to [0, 1] too). The forecast from the same phase one cycle earlier is
  *not* reported: a gated cine is one cycle averaged over many heartbeats, so the
  frame "one cycle earlier" is the target frame itself, a leak that would score an
  error of 0.
- **Metrics**, per lead time, inside the heart region: the central :data:`BOX` × BOX
  pixels (80 mm) of the crop, which is centred on the moving heart
  (:func:`~seqimaging.medical.heart_region`). MAE (pooled over the region's pixels) and
  SSIM (torchmetrics, Gaussian 11 × 11 window, data range 1, averaged over the region),
  from :mod:`seqimaging.evaluation`; each patient's windows are pooled into one case, and
  95% CIs come from the bootstrap over patients (5 on the real data: wide, and crude).
  Skill over persistence is ``skill_mae = 1 − MAE / MAE(persistence)``, bootstrapped
  over the same resamples.

Without ``--root`` it runs on beating-heart phantoms in the same layout
(:func:`seqimaging.medical.phantoms.make_sunnybrook_like`) and says so loudly.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import lightning as L
import numpy as np
import torch
from torch.utils.data import Dataset

from seqimaging.bench.record import BenchOptions, BenchRecord, ForecasterSizes
from seqimaging.evaluation import CaseScores, case_scores, pooled_scores, skill
from seqimaging.medical import (
    CineSampling,
    CineWindows,
    Sunnybrook,
    all_windows,
    centre_crop,
    heart_region,
    patient_cines,
)
from seqimaging.medical.phantoms import make_sunnybrook_like
from seqimaging.models.baselines import linear_extrapolation, persistence
from seqimaging.report import GREY, image_strip_figure, interval, lead_figure
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.training import default_device, fit, step_loader
from seqimaging.transforms import RandomTurn

CONTEXT, HORIZON = 6, 4
MOTION_CONTEXT = 4  # the motion forecaster's last context frames, as in radar-nowcast
SIZE = 64  # pixels per side of the crop around the heart
BOX = 40  # pixels per side of the heart region, at the crop's centre (80 mm at 2 mm)
MARGIN = 5  # half SSIM's 11-pixel window
SAMPLING = CineSampling(
    slices=None, frames=None, align_ed=True, spacing=2.0, size=SIZE, percentiles=(0.0, 99.5)
)
"""Every slice one sequence; 2 mm pixels; 64 × 64 around the heart; 0 to 99.5th percentile."""
LEAK_NOTE = (
    "The third baseline, the same phase one cycle earlier, is left out: a gated cine is one "
    "cycle averaged over many heartbeats, so the frame one cycle before the target is the "
    "target frame itself, a leak that would score an error of 0 rather than a forecast."
)


@dataclass(frozen=True)
class CineConfig(ForecasterSizes):
    """Sizes of the run; :data:`FULL` by default, :data:`QUICK` for the smoke run."""

    crop: int = 48  # pixels per side of the training crops
    stand_in_patients: int = 5
    slices: int | None = None  # the middle ones of each patient; None: all
    loss: Literal["mse", "l1"] = "mse"


FULL = CineConfig(300, 8, (32,), 16, 4, 2e-3, 2000, crop=48, stand_in_patients=5)
QUICK = CineConfig(40, 4, (8,), 8, 4, 2e-3, 500, crop=32, stand_in_patients=2, slices=2)


def scored_part(frames: torch.Tensor) -> torch.Tensor:
    """The heart region and a margin of :data:`MARGIN` pixels around it, ``[..., H, W]``.

    SSIM's 11 × 11 window centred on any pixel of the region sees the same pixels here as
    on the whole frame, so the region's scores are those of the whole frame, at a part
    of the cost.
    """
    return centre_crop(frames, BOX + 2 * MARGIN)


def _motion_task(config: CineConfig) -> ForecastTask:
    return ForecastTask(
        "motion_forecaster",
        horizon=HORIZON,
        model_kwargs={"context": MOTION_CONTEXT, "width": config.width, "time_scale": 0.2},
        loss=config.loss,
        lr=config.lr,
        scheduler="cosine",
    )


MODELS: dict[str, Callable[[CineConfig], ForecastTask]] = {
    "ConvLSTM": lambda config: config.task(HORIZON, loss=config.loss),
    "motion forecaster": _motion_task,
}
"""The trained forecasters, by name: each untrained task from the run's sizes."""
METHODS = (*MODELS, "persistence", "linear extrapolation")


def train_forecaster(
    data: Dataset, model: str, config: CineConfig, seed: int, device: str
) -> ForecastTask:
    """The forecaster ``model`` trained for ``config.steps`` steps on the windows ``data``."""
    L.seed_everything(seed, verbose=False)
    generator = torch.Generator().manual_seed(seed)
    loader = step_loader(data, config.steps, config.batch_size, generator)
    return fit(MODELS[model](config), loader, device=device, max_steps=config.steps)


def forecast(task: ForecastTask, context: torch.Tensor, phases: int, device: str) -> torch.Tensor:
    """The model's forecasts of every window, clipped to [0, 1], on the CPU; the times
    are fractions of the cycle of ``phases`` phases, as in training."""
    model = task.model.to(device).eval()
    times = torch.arange(CONTEXT + HORIZON, dtype=torch.float32) / phases
    with torch.no_grad():
        return torch.cat(
            [
                model(
                    {
                        "frames": batch.to(device),
                        "times": times[:CONTEXT].expand(len(batch), -1).to(device),
                        "future_times": times[CONTEXT:].expand(len(batch), -1).to(device),
                    }
                )
                .float()
                .clamp(0, 1)
                .cpu()
                for batch in context.split(64)
            ]
        )


def patient_scores(forecasts: torch.Tensor, truth: torch.Tensor) -> CaseScores:
    """One case from all of a patient's windows, scored inside the heart region."""
    region = scored_part(heart_region(truth.shape[-1], BOX))
    return case_scores(scored_part(forecasts), scored_part(truth), region).pooled()


def evaluate(
    cines: dict[str, np.ndarray], config: CineConfig, seed: int, device: str
) -> tuple[dict[str, CaseScores], list[dict], dict]:
    """Leave each patient out in turn: train, forecast its windows, score every method.

    Returns the per-patient scores of each method, what each fold trained and tested and,
    for the figure, the held-out windows of the first patient with every method's forecasts.
    """
    parts: dict[str, list[CaseScores]] = {name: [] for name in METHODS}
    folds, example = [], {}
    for held_out, cine in cines.items():
        context, truth = all_windows(cine, CONTEXT, HORIZON, held_out)
        train = {p: c for p, c in cines.items() if p != held_out}
        data = CineWindows(train, CONTEXT, HORIZON, crop=config.crop, transform=RandomTurn())
        started, cpu = time.perf_counter(), time.process_time()
        tasks = {model: train_forecaster(data, model, config, seed, device) for model in MODELS}
        trained, cpu = time.perf_counter() - started, time.process_time() - cpu
        forecasts = {
            model: forecast(task, context, cine.shape[1], device) for model, task in tasks.items()
        } | {
            "persistence": persistence(context, HORIZON),
            "linear extrapolation": linear_extrapolation(context, HORIZON).clamp(0, 1),
        }
        for name, values in forecasts.items():
            parts[name].append(patient_scores(values, truth))
        folds.append(
            {
                "held_out": held_out,
                "train_patients": list(train),
                "train_windows": len(data),
                "test_windows": len(context),
                "train_seconds": trained,
                "train_cpu_seconds": cpu,
            }
        )
        if not example:
            example = {"patient": held_out, "slices": cine.shape[0], "context": context}
            example |= {"truth": truth} | forecasts
    return {name: CaseScores.concat(p) for name, p in parts.items()}, folds, example


def _example_window(example: dict) -> int:
    """The mid slice's window whose truth moves most from its last context frame."""
    phases = len(example["truth"]) // example["slices"]
    mid = example["slices"] // 2
    rows = slice(mid * phases, (mid + 1) * phases)
    change = (example["truth"][rows] - example["context"][rows, -1:]).abs()
    return mid * phases + int(
        change[..., heart_region(change.shape[-1], BOX)[0, 0]].mean((1, 2)).argmax()
    )


SHORT_NAMES = dict(zip(METHODS, ("ConvLSTM", "motion", "persistence", "linear"), strict=True))


def _strip_figure(example: dict, leads: list[str]):
    i = _example_window(example)
    truth = example["truth"][i, :, 0].numpy()
    rows = {"truth": truth} | {
        SHORT_NAMES[name]: example[name][i, :, 0].numpy() for name in METHODS
    }
    errors = {f"Δ {SHORT_NAMES[name]}": rows[SHORT_NAMES[name]] - truth for name in METHODS}
    start = (truth.shape[-1] - BOX) // 2
    box = (start, start, BOX, BOX)
    return image_strip_figure(rows, scale=GREY, column_titles=leads, error=errors, box=box)


def _rows(metrics: dict, skills: dict, leads: list[str]) -> list[dict]:
    rows = []
    for k, lead in enumerate(leads):
        for name in METHODS:
            rows.append(
                {
                    "lead": lead,
                    "method": name,
                    "MAE (95% CI)": interval(metrics[name]["mae"][k], 4),
                    "SSIM (95% CI)": interval(metrics[name]["ssim"][k]),
                    "skill over persistence (95% CI)": (
                        interval(skills[name]["per_lead"][k]) if name in skills else "reference"
                    ),
                }
            )
    return rows


def bench(out: Path, options: BenchOptions) -> dict:
    """Run the protocol of this module's docstring; write ``results.json`` and ``.md``."""
    config = QUICK if options.quick else FULL
    device = default_device(options.device)
    stand_in = options.root is None
    n = config.stand_in_patients
    root = options.root or BenchRecord.stand_in_data(
        out,
        f"sunnybrook-{n}-seed{options.seed}",
        lambda d: make_sunnybrook_like(d, n, options.seed),
    )
    cines, intervals = patient_cines(Sunnybrook(root, SAMPLING), config.slices)
    record = BenchRecord(
        "cine-forecast",
        out,
        f"cardiac cine, {CONTEXT} → {HORIZON} phases, leave one patient out",
        data=(
            f"{len(cines)} generated beating-heart phantoms in the Sunnybrook layout "
            "(seqimaging.medical.phantoms.make_sunnybrook_like)"
            if stand_in
            else f"Sunnybrook cardiac cine from {root}, {len(cines)} patients (CC0, "
            "data_cards/sunnybrook.md)"
        ),
        stand_in=stand_in,
        split=(
            f"leave one patient out: {len(cines)} folds, each model trained per held-out "
            f"patient on the other {len(cines) - 1}; configuration and {config.steps} training "
            "steps fixed in advance, no validation, no model selection"
        ),
        seed=options.seed,
    )
    scores, folds, example = evaluate(cines, config, options.seed, device)
    metrics = {
        name: pooled_scores(s, n_boot=config.bootstrap, seed=options.seed)
        for name, s in scores.items()
    }
    skills = {  # skill_mae
        name: skill(
            scores[name].abs_error,
            scores["persistence"].abs_error,
            n_boot=config.bootstrap,
            seed=options.seed,
        )
        for name in METHODS
        if name != "persistence"
    }
    lead_ms = float(np.mean(list(intervals.values())))
    leads = [f"+{k}" for k in range(1, HORIZON + 1)]
    slices = sum(c.shape[0] for c in cines.values())
    tested = sum(f["test_windows"] for f in folds)
    record.text(
        f"{len(cines)} patients, {slices} slices, {tested} "
        f"held-out windows of {CONTEXT} context phases → {HORIZON} lead times (+1 phase ≈ "
        f"{lead_ms:.0f} ms on average). Frames: 2 mm pixels, {SIZE} × {SIZE} around the heart, "
        f"scaled per slice (0 → 0, 99.5th percentile → 1). Scored inside the central {BOX} × "
        f"{BOX} pixels ({2 * BOX} mm); each patient's windows pooled into one case; "
        "estimate (95% bootstrap CI over patients); skill = skill_mae = "
        "1 − MAE / MAE(persistence). " + LEAK_NOTE
    )
    record.section(
        "MAE, SSIM and skill per lead time", "Lower MAE, higher SSIM and skill are better."
    )
    record.table(_rows(metrics, skills, leads))
    record.section("MAE per held-out patient (all windows, leads +1 … +4 pooled)")
    per_patient = {
        name: {p: (s.abs_error[i] / s.count[i]).tolist() for i, p in enumerate(cines)}
        for name, s in scores.items()
    }
    record.table(
        [
            {"patient": p, "training [s]": round(f["train_seconds"])}
            | {
                name: float(scores[name].abs_error[i].sum() / scores[name].count[i].sum())
                for name in METHODS
            }
            for i, (p, f) in enumerate(zip(cines, folds, strict=True))
        ],
        digits=4,
    )
    record.section("Figures")
    record.figure(
        lead_figure(
            {name: m["mae"] for name, m in metrics.items()},
            xlabel=f"lead time [phases of ≈ {lead_ms:.0f} ms]",
            ylabel="MAE in the heart region",
        ),
        "mae_by_lead.png",
        "MAE in the heart region against lead time, with 95% bootstrap CIs over patients",
    )
    record.figure(
        _strip_figure(example, leads),
        "forecast_strip.png",
        f"Held-out patient {example['patient']}, mid slice, the window that moves most: truth, "
        "forecasts and errors Δ = forecast − truth at each lead time (box: the scored heart "
        "region)",
    )
    return record.write(
        {
            "metrics": metrics,
            "skill_mae_over_persistence": skills,
            "per_patient_mae": per_patient,
            "folds": folds,
            "excluded_baselines": {"same phase one cycle earlier": LEAK_NOTE},
        },
        config,
        root=str(root),
        device=device,
        context=CONTEXT,
        horizon=HORIZON,
        frame_interval_ms=intervals,
        sampling={
            "spacing_mm": SAMPLING.spacing,
            "size": SIZE,
            "percentiles": SAMPLING.percentiles,
            "align_ed": SAMPLING.align_ed,
        },
        heart_region={"box_pixels": BOX, "box_mm": 2 * BOX},
        ssim_data_range=1.0,
    )
