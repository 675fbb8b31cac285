"""LightningModules that train the models: the only place that knows about training."""

from seqimaging.tasks.base import SequenceTask
from seqimaging.tasks.classification import ClassificationTask
from seqimaging.tasks.forecasting import ForecastTask, LeadTimeError, SkillScore
from seqimaging.tasks.prediction import PredictionWriter
from seqimaging.tasks.regression import RegressionTask

__all__ = [
    "ClassificationTask",
    "ForecastTask",
    "LeadTimeError",
    "PredictionWriter",
    "RegressionTask",
    "SequenceTask",
    "SkillScore",
]
