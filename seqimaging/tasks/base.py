"""What every task shares: the model, the optimiser and schedule, epoch-end metric logging."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.utilities.parsing import AttributeDict
from torch import Tensor, nn
from torch.optim import SGD, Adam, AdamW, Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau
from torchmetrics import MetricCollection

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError
from seqimaging.models import build_model


class NonFiniteLossError(SeqImagingError, FloatingPointError):
    """The training loss became NaN or infinite."""


def _adam(params: Iterable[nn.Parameter], h: AttributeDict) -> Optimizer:
    return Adam(params, lr=h.lr, weight_decay=h.weight_decay)


def _adamw(params: Iterable[nn.Parameter], h: AttributeDict) -> Optimizer:
    return AdamW(params, lr=h.lr, weight_decay=h.weight_decay)


def _sgd(params: Iterable[nn.Parameter], h: AttributeDict) -> Optimizer:
    return SGD(params, lr=h.lr, momentum=h.momentum, weight_decay=h.weight_decay)


def _constant(optimizer: Optimizer, task: "SequenceTask") -> None:
    return None


def _cosine(optimizer: Optimizer, task: "SequenceTask") -> dict[str, Any]:
    steps = max(1, int(task.trainer.estimated_stepping_batches))
    return {"scheduler": CosineAnnealingLR(optimizer, T_max=steps), "interval": "step"}


def _plateau(optimizer: Optimizer, task: "SequenceTask") -> dict[str, Any]:
    schedule = ReduceLROnPlateau(optimizer, patience=task.hparams.patience)
    return {"scheduler": schedule, "monitor": task.monitor}


OPTIMIZERS: Choices[Callable[[Iterable[nn.Parameter], AttributeDict], Optimizer]] = Choices(
    "optimizer", {"adam": _adam, "adamw": _adamw, "sgd": _sgd}
)
"""Optimisers by name: ``(parameters, hparams) → Optimizer``."""

SCHEDULERS: Choices[Callable[[Optimizer, "SequenceTask"], dict[str, Any] | None]] = Choices(
    "scheduler", {"none": _constant, "cosine": _cosine, "plateau": _plateau}
)
"""Learning-rate schedules by name: ``(optimizer, task) → Lightning's lr_scheduler dict``
(``None`` for a constant rate)."""


class SequenceTask(LightningModule, ABC):
    """Base of the tasks: builds the model, the optimiser and the schedule.

    In the manner of torchgeo's tasks, the model is named from the registry
    (:func:`seqimaging.models.list_models`) with ``model_kwargs``, so a checkpoint's
    hyperparameters rebuild it; an ``nn.Module`` may be passed instead (then it is not
    saved in the hyperparameters and ``load_from_checkpoint`` needs it again). Options
    given by name are rows of tables, :data:`OPTIMIZERS`, :data:`SCHEDULERS` and a task's
    own (:attr:`choices`): an unknown name raises :class:`SeqImagingError`, listing the
    valid ones, when the task is constructed.

    Args:
        model: a registered model name, or a module.
        model_kwargs: further keyword arguments of the model builder.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (with ``momentum``).
        lr: learning rate.
        weight_decay: weight decay (decoupled for AdamW).
        momentum: SGD momentum.
        scheduler: ``"none"``, ``"cosine"`` (per step, to zero at the end of training) or
            ``"plateau"`` (divide by 10 when ``val/loss`` stops improving for
            ``patience`` epochs).
        patience: epochs without improvement before the plateau schedule steps.

    Gradient clipping, precision (``"bf16-mixed"``), devices and seeds are the
    Trainer's and ``seed_everything``'s, as Lightning users expect.
    """

    monitor = "val/loss"
    choices: ClassVar[dict[str, Choices]] = {"optimizer": OPTIMIZERS, "scheduler": SCHEDULERS}
    """The hyperparameters given by name and their tables, checked at construction."""

    def __init__(
        self,
        model: str | nn.Module,
        model_kwargs: dict[str, Any] | None = None,
        *,
        optimizer: str = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        momentum: float = 0.9,
        scheduler: str = "none",
        patience: int = 5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"] if isinstance(model, nn.Module) else None)
        for name, table in self.choices.items():
            table.check(self.hparams[name])
        self.model = (
            model
            if isinstance(model, nn.Module)
            else build_model(model, **self.model_arguments(), **(model_kwargs or {}))
        )
        self.val_metrics = self.configure_metrics().clone(prefix="val/")
        self.test_metrics = self.val_metrics.clone(prefix="test/")
        self.last_metrics: dict[str, Tensor] = {}

    @abstractmethod
    def model_arguments(self) -> dict[str, Any]:
        """The builder arguments this task fixes, e.g. ``in_channels`` and ``num_classes``."""

    @abstractmethod
    def configure_metrics(self) -> MetricCollection:
        """The validation/test metrics, without prefix."""

    @abstractmethod
    def step(self, batch: dict, stage: str) -> Tensor:
        """Loss of one batch; updates the stage's metrics."""

    def forward(self, batch: dict | Tensor, *args, **kwargs) -> Tensor:
        return self.model(batch, *args, **kwargs)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        loss = self.step(batch, "train")
        finite = self.trainer.strategy.reduce_boolean_decision(
            bool(torch.isfinite(loss)), all=True
        )  # every process stops together under DDP
        if not finite:
            ids = [meta.get("id") for meta in batch.get("meta", [])]
            raise NonFiniteLossError(
                f"training loss is {loss.item()} at step {self.global_step} (epoch "
                f"{self.current_epoch}, batch {batch_idx}, samples {ids}); training stopped "
                "and the last checkpoint is kept. Check the inputs for NaN or lower the "
                "learning rate"
            )
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.step(batch, "test")

    def log_loss(self, stage: str, loss: Tensor, batch_size: int) -> None:
        """Log ``<stage>/loss``, averaged over processes under DDP."""
        self.log(
            f"{stage}/loss",
            loss,
            on_step=stage == "train",
            on_epoch=True,
            prog_bar=True,
            batch_size=batch_size,
            sync_dist=True,
        )

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics)

    def element_names(self, name: str, count: int) -> list[str]:
        """Names of the elements of a vector metric (classes, lead times)."""
        return [str(i) for i in range(count)]

    def _log_metrics(self, metrics: MetricCollection) -> None:
        """Compute; log scalars, and vectors (per class, per lead time) element by element
        and as their mean; keep every value, matrices too, in ``last_metrics``."""
        values = metrics.compute()
        metrics.reset()
        self.last_metrics = {k: v.detach().cpu() for k, v in values.items()}
        for name, value in values.items():
            if value.dim() == 0:
                self.log(name, value)
            elif value.dim() == 1:
                self.log(name, value.mean())
                for element, v in zip(self.element_names(name, len(value)), value, strict=True):
                    self.log(f"{name}_{element}", v)

    def configure_optimizers(self) -> dict[str, Any]:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = OPTIMIZERS[self.hparams.optimizer](params, self.hparams)
        schedule = SCHEDULERS[self.hparams.scheduler](optimizer, self)
        return {"optimizer": optimizer} | ({} if schedule is None else {"lr_scheduler": schedule})
