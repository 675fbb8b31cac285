"""Figures and tables of a run, for the CLI, the demo and users' own scripts."""

from seqimaging.files import write_json
from seqimaging.report.callback import TestReport
from seqimaging.report.card import ModelCard, model_card, write_card
from seqimaging.report.document import Report, markdown_table
from seqimaging.report.importance import log_odds, spatial_occlusion, temporal_occlusion
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
    lead_figure,
    motion_figure,
    save_figure,
    save_gif,
)
from seqimaging.report.tables import agreement_rows, class_rows, interval, interval_rows

__all__ = [
    "GREY",
    "RAIN_RATE",
    "REFLECTANCE",
    "ImageScale",
    "ModelCard",
    "Report",
    "TestReport",
    "agreement_rows",
    "bland_altman_figure",
    "class_rows",
    "confusion_matrix_figure",
    "curves_figure",
    "epoch_metrics",
    "forecast_strip_figure",
    "image_strip_figure",
    "importance_figure",
    "interval",
    "interval_rows",
    "lead_figure",
    "log_odds",
    "loss_curves_figure",
    "markdown_table",
    "model_card",
    "motion_figure",
    "save_figure",
    "save_gif",
    "spatial_occlusion",
    "temporal_occlusion",
    "write_card",
    "write_json",
]
