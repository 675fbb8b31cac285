"""What every task shares: the model, the optimiser and schedule, epoch-end metric logging."""

from abc import ABC, abstractmethod
from typing import Any, Literal

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torchmetrics import MetricCollection

from seqimaging.errors import SeqImagingError
from seqimaging.models import build_model


class NonFiniteLossError(SeqImagingError, FloatingPointError):
    """The training loss became NaN or infinite."""


OptimizerName = Literal["adam", "adamw", "sgd"]
SchedulerName = Literal["none", "cosine", "plateau"]


class SequenceTask(LightningModule, ABC):
    """Base of the tasks: builds the model, the optimiser and the schedule.

    In the manner of torchgeo's tasks, the model is named from the registry
    (:func:`seqimaging.models.list_models`) with ``model_kwargs``, so a checkpoint's
    hyperparameters rebuild it; an ``nn.Module`` may be passed instead (then it is not
    saved in the hyperparameters and ``load_from_checkpoint`` needs it again).

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

    def __init__(
        self,
        model: str | nn.Module,
        model_kwargs: dict[str, Any] | None = None,
        *,
        optimizer: OptimizerName = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        momentum: float = 0.9,
        scheduler: SchedulerName = "none",
        patience: int = 5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"] if isinstance(model, nn.Module) else None)
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

    def configure_optimizers(self) -> dict:
        h = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        if h.optimizer == "sgd":
            optimizer = torch.optim.SGD(
                params, lr=h.lr, momentum=h.momentum, weight_decay=h.weight_decay
            )
        else:
            kind = torch.optim.Adam if h.optimizer == "adam" else torch.optim.AdamW
            optimizer = kind(params, lr=h.lr, weight_decay=h.weight_decay)
        if h.scheduler == "cosine":
            steps = max(1, int(self.trainer.estimated_stepping_batches))
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": schedule, "interval": "step"},
            }
        if h.scheduler == "plateau":
            schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=h.patience)
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": schedule, "monitor": self.monitor},
            }
        return {"optimizer": optimizer}
