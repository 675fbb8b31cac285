"""LightningModules that train the models: the only place that knows about training."""

from seqimaging.tasks.base import OPTIMIZERS, SCHEDULERS, SequenceTask
from seqimaging.tasks.classification import ClassificationTask
from seqimaging.tasks.forecasting import (
    ForecastTask,
    LeadTimeError,
    LeadTimeImageMetric,
    SkillScore,
)
from seqimaging.tasks.losses import LOSSES
from seqimaging.tasks.prediction import PredictionWriter
from seqimaging.tasks.regression import RegressionTask

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULERS",
    "ClassificationTask",
    "ForecastTask",
    "LeadTimeError",
    "LeadTimeImageMetric",
    "PredictionWriter",
    "RegressionTask",
    "SequenceTask",
    "SkillScore",
]
