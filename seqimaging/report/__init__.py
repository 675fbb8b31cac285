"""Figures and tables of a run, for the CLI, the demo and users' own scripts."""

from seqimaging.files import write_json
from seqimaging.report.callback import TestReport
from seqimaging.report.document import Report, interval, interval_rows, markdown_table
from seqimaging.report.importance import temporal_occlusion
from seqimaging.report.logs import epoch_metrics, loss_curves_figure
from seqimaging.report.plots import (
    GREY,
    RAIN_RATE,
    REFLECTANCE,
    ImageScale,
    bland_altman_figure,
    confusion_matrix_figure,
    curves_figure,
    forecast_strip_figure,
    image_strip_figure,
    importance_figure,
    save_figure,
    save_gif,
)

__all__ = [
    "GREY",
    "RAIN_RATE",
    "REFLECTANCE",
    "ImageScale",
    "Report",
    "TestReport",
    "bland_altman_figure",
    "confusion_matrix_figure",
    "curves_figure",
    "epoch_metrics",
    "forecast_strip_figure",
    "image_strip_figure",
    "importance_figure",
    "interval",
    "interval_rows",
    "loss_curves_figure",
    "markdown_table",
    "save_figure",
    "save_gif",
    "temporal_occlusion",
    "write_json",
]
