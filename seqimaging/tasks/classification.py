"""Classification of sequences: diagnosis from cine MRI, land cover from a time series."""

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassRecall,
    MulticlassSpecificity,
)

from seqimaging.errors import SeqImagingError
from seqimaging.tasks.base import COUNT, FRACTION, Range, SequenceTask


class ClassificationTask(SequenceTask):
    """Cross-entropy on the ``label`` of each sample; clinical-style metrics.

    Validation and test log ``accuracy``, ``balanced_accuracy`` (macro recall), macro
    ``f1``, macro one-vs-rest ``auroc``, and per class ``recall_<class>`` and
    ``specificity_<class>``; the confusion matrix (rows: true class) is kept in
    ``last_metrics``. All come from torchmetrics and are synchronised under DDP.

    Args:
        model: a registered model name (e.g. ``"convlstm_classifier"``) or a module.
        in_channels: channels of a frame.
        num_classes: number of classes, at least 2.
        model_kwargs: further builder arguments.
        class_weights: per-class loss weights, e.g. inverse frequencies, one per class.
        label_smoothing: cross-entropy label smoothing, from 0 to 1.
        class_names: names used in metric keys (default ``0, 1, …``), one per class; when
            ``None``, the training data's ``class_names`` (so they are saved in the
            checkpoint's hyperparameters).
        **kwargs: optimiser and schedule, see :class:`SequenceTask`.

    Example:
        >>> task = ClassificationTask("convlstm_classifier", in_channels=1, num_classes=4)
    """

    limits = SequenceTask.limits | {
        "in_channels": COUNT,
        "num_classes": Range(2, integer=True),
        "label_smoothing": FRACTION,
    }
    per_class: ClassVar[tuple[str, ...]] = ("class_weights", "class_names")
    """The arguments with one entry per class, checked against ``num_classes``."""

    def __init__(
        self,
        model: str | nn.Module = "convlstm_classifier",
        in_channels: int = 1,
        num_classes: int = 2,
        model_kwargs: dict[str, Any] | None = None,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        class_names: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, model_kwargs, **kwargs)
        weights = (
            None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        )
        self.register_buffer("class_weights", weights, persistent=False)

    def check_arguments(self) -> None:
        """Each per-class argument has ``num_classes`` entries."""
        n = self.hparams.num_classes
        for name in self.per_class:
            values = self.hparams[name]
            if values is not None and len(values) != n:
                raise SeqImagingError(
                    f"{name} has {len(values)} entries ({list(values)}); expected "
                    f"num_classes={n}, one per class"
                )

    def setup(self, stage: str) -> None:
        """At the start of fit: take ``class_names`` from the data, and refuse data whose
        classes do not match ``num_classes`` or the given ``class_names``."""
        datamodule = getattr(self.trainer, "datamodule", None) if stage == "fit" else None
        dataset = getattr(datamodule, "dataset", None)
        if dataset is None:
            return
        n = self.hparams.num_classes
        names = getattr(dataset, "class_names", None)
        names = list(names) if names else None
        where = type(dataset).__name__
        if names is not None and len(names) != n:
            raise SeqImagingError(
                f"num_classes={n}, but the training data ({where}) has {len(names)} classes "
                f"{names}; expected num_classes={len(names)}"
            )
        if names is not None and self.hparams.class_names is None:
            self.hparams.class_names = names
        elif names is not None and list(self.hparams.class_names) != names:
            raise SeqImagingError(
                f"class_names={list(self.hparams.class_names)}, but the training data "
                f"({where}) has the classes {names}; expected the same names in the same order"
            )
        labels = getattr(dataset, "labels", None)
        if labels and max(int(label) for label in labels) >= n:
            raise SeqImagingError(
                f"num_classes={n}, but the training data ({where}) has label "
                f"{max(int(label) for label in labels)}; expected labels 0..{n - 1}"
            )

    def model_arguments(self) -> dict[str, Any]:
        return {"in_channels": self.hparams.in_channels, "num_classes": self.hparams.num_classes}

    def configure_metrics(self) -> MetricCollection:
        n = self.hparams.num_classes
        return MetricCollection(
            {
                "accuracy": MulticlassAccuracy(n, average="micro"),
                "balanced_accuracy": MulticlassRecall(n, average="macro"),
                "f1": MulticlassF1Score(n, average="macro"),
                "auroc": MulticlassAUROC(n),
                "recall": MulticlassRecall(n, average="none"),
                "specificity": MulticlassSpecificity(n, average="none"),
                "confusion_matrix": MulticlassConfusionMatrix(n),
            }
        )

    def element_names(self, name: str, count: int) -> list[str]:
        return self.hparams.class_names or super().element_names(name, count)

    def baselines(self, metrics: dict[str, Tensor], data: Any) -> dict[str, dict[str, float]]:
        """The class most frequent in the training labels (``data.labels`` at
        ``data.train_indices``), predicted for every validation sample."""
        labels, train = getattr(data, "labels", None), getattr(data, "train_indices", None)
        matrix = metrics.get("confusion_matrix")
        if labels is None or train is None or matrix is None:
            return {}
        train_labels = [labels[i] for i in train]
        majority = max(set(train_labels), key=train_labels.count)
        counts = matrix.sum(dim=1).double()  # validation samples per true class
        names = self.hparams.class_names
        name = names[int(majority)] if names else majority
        return {
            f"majority class ({name}, training labels)": {
                "accuracy": float(counts[int(majority)] / counts.sum()),
                "balanced_accuracy": 1 / len(counts),
                "auroc": 0.5,
            }
        }

    def step(self, batch: dict, stage: str) -> Tensor:
        logits = self.model(batch)
        labels = batch["label"]
        loss = F.cross_entropy(
            logits.float(),
            labels,
            weight=self.class_weights,
            label_smoothing=self.hparams.label_smoothing,
        )
        self.log_loss(stage, loss, len(labels))
        if stage != "train":
            self.update_metrics(stage, logits.float().softmax(dim=-1), labels)
        return loss

    def predict_step(self, batch: dict, batch_idx: int) -> Tensor:
        """Class probabilities ``[B, num_classes]``."""
        return self.model(batch).float().softmax(dim=-1)
