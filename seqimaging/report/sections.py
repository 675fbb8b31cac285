"""The figures of a diagnosis or a forecasting result, added to a :class:`Report` at once.

What ``seqimaging demo`` shows, for a user's own model and data: the confusion matrix,
temporal occlusion over a cine and the loss curves of a classifier; the forecast strip,
its animation, the skill against lead time and the loss curves of a forecaster.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from seqimaging.report.document import Report
from seqimaging.report.importance import spatial_occlusion, temporal_occlusion
from seqimaging.report.logs import loss_curves_figure
from seqimaging.report.plots import (
    GREY,
    ImageScale,
    confusion_matrix_figure,
    forecast_strip_figure,
    importance_figure,
    motion_figure,
    save_gif,
    skill_figure,
)
from seqimaging.sample import collate


def diagnosis_figures(
    report: Report,
    model: nn.Module,
    frames: Tensor,
    y_true: np.ndarray,
    classes: Sequence[str],
    scores: Mapping,
    logs: Mapping[str, Path],
    *,
    scale: ImageScale = GREY,
    name: str = "model",
) -> None:
    """Confusion matrix, temporal occlusion and loss curves of a classifier.

    Args:
        report: where the figures go.
        model: the classifier, called ``name`` in the captions.
        frames: the test sequences ``[N, T, C, H, W]``; ``y_true`` their classes.
        classes: class names.
        scores: the model's scores, with ``confusion_matrix`` (rows: true class).
        logs: ``name → metrics.csv`` of each trained model, for the loss curves.
        scale: colour scale of the frames.
    """
    report.figure(
        confusion_matrix_figure(np.array(scores["confusion_matrix"]), list(classes)),
        "confusion_matrix.png",
        f"{name} confusion matrix on the test cases (rows: true class)",
    )
    report.figure(
        _importance(model, frames, y_true, classes, scale),
        "cine_importance.png",
        "A test case's middle channel over time; how much hiding each part of a frame "
        f"lowers the {name}'s confidence (occlusion maps: red supports, blue opposes); and "
        "how much hiding each whole frame does (temporal occlusion)",
    )
    _optional_figure(
        report, loss_curves_figure(logs), "training_curves_diagnosis.png", "Loss per epoch"
    )


def _optional_figure(report: Report, figure, file: str, caption: str) -> None:
    """Add ``figure`` unless it is None (a log without the curves)."""
    if figure is not None:
        report.figure(figure, file, caption)


def _importance(
    model: nn.Module, frames: Tensor, y_true: np.ndarray, classes: Sequence[str], scale
):
    """Temporal occlusion and occlusion maps for a typical test case: correctly
    classified, with the median confidence of those (the surest ones barely react to any
    single frame)."""
    model = model.eval()
    with torch.no_grad():
        probabilities = model(frames).softmax(-1)
    correct = np.flatnonzero(probabilities.argmax(-1).numpy() == y_true)
    candidates = correct if len(correct) else np.arange(len(frames))
    confidence = probabilities.max(-1).values.numpy()[candidates]
    best = int(candidates[np.argsort(confidence)[len(candidates) // 2]])
    importance = temporal_occlusion(model, frames[best])
    maps = spatial_occlusion(model, frames[best])
    mid = frames.shape[2] // 2
    figure = importance_figure(
        frames[best, :, mid].numpy(), importance.numpy(), scale=scale, maps=maps.numpy()
    )
    figure.axes[-1].set_ylabel("drop in log-odds")
    figure.suptitle(f"class {classes[y_true[best]]}", fontsize=9)
    return figure


def most_changing(windows) -> int:
    """Index of the window whose future differs most from its last context frame."""
    return int(np.argmax([(w["future"] - w["frames"][-1]).abs().mean() for w in windows]))


def forecast_figures(
    report: Report,
    model: nn.Module,
    windows,
    skill: Sequence[float],
    logs: Mapping[str, Path],
    *,
    scale: ImageScale,
    leads: Sequence[str],
    motion: nn.Module | None = None,
    unit: str = "unit of time",
) -> None:
    """Forecast strip and GIF of the test window that changes most, skill against lead
    time, and loss curves of a forecaster; with a ``motion`` model (one with a
    ``motion_field``, :class:`~seqimaging.models.MotionForecaster`), its motion on that
    window, in pixels per ``unit``.

    Args:
        report: where the figures go (the GIF is saved in its folder).
        model: the forecaster.
        windows: the test samples (with ``frames`` and ``future``).
        skill: the skill over persistence per lead time.
        logs: ``name → metrics.csv``, for the loss curves.
        scale: colour scale of the frames.
        leads: column titles, one per lead time.
    """
    sample = windows[most_changing(windows)]
    with torch.no_grad():
        forecast = model.eval()(collate([sample]))[0, :, 0].numpy()
    context, truth = sample["frames"][:, 0].numpy(), sample["future"][:, 0].numpy()
    report.figure(
        forecast_strip_figure(context, truth, forecast, scale=scale, column_titles=leads),
        "forecast_strip.png",
        "The test window that changes most: last context frames, truth, forecast, error",
    )
    save_gif(
        {"truth": truth, "forecast": forecast},
        report.directory / "forecast.gif",
        scale=scale,
        frame_titles=leads,
    )
    report.link("forecast.gif", "The forecast, animated")
    if motion is not None:
        with torch.no_grad():
            field = motion.motion_field(collate([sample]))[0].numpy()
        report.figure(
            motion_figure(context[-1], field, scale=scale, unit=unit, title="motion"),
            "motion.png",
            "The same window's last context frame under its motion (pysteps' Lucas–Kanade), "
            "which the extrapolation advects it along",
        )
    report.figure(
        skill_figure(skill),
        "skill_by_lead.png",
        "Skill over persistence against lead time (above 0: better than persistence)",
    )
    _optional_figure(
        report, loss_curves_figure(logs), "training_curves_forecast.png", "Loss per epoch"
    )
