"""What every task shares: the model, the optimiser and schedule, epoch-end metric logging."""

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.utilities.parsing import AttributeDict
from torch import Tensor, nn
from torch.optim import SGD, Adam, AdamW, Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau
from torchmetrics import MetricCollection

from seqimaging.choices import Choices
from seqimaging.errors import DataError, SeqImagingError
from seqimaging.models import build_model
from seqimaging.models.transfer import model_from_checkpoint, transfer_parts
from seqimaging.tasks.checkpoints import load_checkpoint


class NonFiniteLossError(SeqImagingError, FloatingPointError):
    """The training loss became NaN or infinite."""


class NonFiniteInputError(DataError, FloatingPointError):
    """A validation, test or predict batch holds NaN or infinite values where no mask
    marks them invalid."""


INPUTS: dict[str, str | None] = {"frames": "mask", "times": None}
"""The input keys checked for non-finite values, each with the key of its mask (if any)."""

TARGETS: dict[str, str | None] = {"target": None, "future": "future_mask"}
"""The target keys checked for non-finite values, each with the key of its mask (if any)."""

CHECKED: dict[str, dict[str, str | None]] = {
    "validation": INPUTS | TARGETS,
    "test": INPUTS | TARGETS,
    "predict": INPUTS,
}
"""The keys checked for non-finite values before each batch of a stage."""


def sample_ids(batch: dict) -> list[str]:
    """How errors name a batch's samples: their ``meta`` id, else ``#<index>``."""
    metas = batch.get("meta") or [{}] * len(batch["frames"])
    return [str(meta.get("id", f"#{i}")) for i, meta in enumerate(metas)]


def _non_finite(value: Tensor, mask: Tensor | None) -> Tensor:
    """Per sample ``[B]``: whether a value that ``mask`` does not mask out is NaN or inf."""
    bad = ~torch.isfinite(value)
    if mask is not None:
        bad = bad & mask.bool().expand_as(bad)
    return bad.reshape(len(bad), -1).any(dim=1)


def non_finite_samples(batch: dict, keys: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """The ids of the samples with a NaN or infinite unmasked value under one of ``keys``
    (``key → mask key``), and those keys, both in order."""
    bad = {
        key: _non_finite(batch[key], batch.get(mask)) for key, mask in keys.items() if key in batch
    }
    found = sorted({i for flags in bad.values() for i in flags.nonzero().flatten().tolist()})
    ids = sample_ids(batch)
    return [ids[i] for i in found], [key for key, flags in bad.items() if bool(flags.any())]


class Range(NamedTuple):
    """The admissible values of a numeric hyperparameter: finite numbers from ``low``
    (excluded when ``open_low``) to ``high``, whole numbers only when ``integer``."""

    low: float
    high: float = math.inf
    open_low: bool = False
    integer: bool = False

    def admits(self, value: Any) -> bool:
        """Whether ``value`` lies in the range."""
        kind = Integral if self.integer else Real
        if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        return above and value <= self.high

    def check(self, name: str, value: Any) -> None:
        """Raise :class:`SeqImagingError` naming ``name`` unless ``value`` is admitted."""
        if not self.admits(value):
            raise SeqImagingError(f"{name}={value!r} is out of range; expected {self}")

    def __str__(self) -> str:
        kind = "a whole number" if self.integer else "a finite number"
        high = f" and ≤ {self.high:g}" if self.high < math.inf else ""
        return f"{kind} {'>' if self.open_low else '≥'} {self.low:g}{high}"


POSITIVE = Range(0, open_low=True)
"""Finite numbers > 0."""

NON_NEGATIVE = Range(0)
"""Finite numbers ≥ 0."""

FRACTION = Range(0, 1)
"""Numbers from 0 to 1."""

COUNT = Range(1, integer=True)
"""Whole numbers ≥ 1."""


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
    valid ones, when the task is constructed; so does a number outside its
    :attr:`limits` (``lr=-1``).

    A NaN or infinite value in a batch, where no mask (``mask``, ``future_mask``) marks it
    invalid, stops the run: in training when it makes the loss non-finite
    (:class:`NonFiniteLossError`), in validation, test and prediction before the batch is
    used (:class:`NonFiniteInputError`); both name the batch and the samples.

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
        init_from: a checkpoint of any task (e.g. a forecaster trained on the same cines,
            no labels needed) whose encoder and ConvLSTM start this task's model
            (:func:`~seqimaging.models.transfer.transfer_parts`: same classes and shapes,
            else a :class:`~seqimaging.errors.ShapeError`); the other parts (the head)
            start fresh. Read once, here: it is not a hyperparameter, so this task's own
            checkpoints load without it; they record it under ``"init_from"``.

    Checkpoints also record the task's class under ``"task"`` (as LightningCLI's
    ``_class_path`` does, for fits without it), and under ``"data"`` the training data's
    own description (``dataset.data_settings()`` where the data module's dataset has
    one), which ``seqimaging forecast`` and ``classify`` check and sample new data by.

    Gradient clipping, precision (``"bf16-mixed"``), devices and seeds are the
    Trainer's and ``seed_everything``'s, as Lightning users expect.
    """

    monitor = "val/loss"
    choices: ClassVar[dict[str, Choices]] = {"optimizer": OPTIMIZERS, "scheduler": SCHEDULERS}
    """The hyperparameters given by name and their tables, checked at construction."""
    limits: ClassVar[dict[str, Range]] = {
        "lr": POSITIVE,
        "weight_decay": NON_NEGATIVE,
        "momentum": NON_NEGATIVE,
        "patience": Range(0, integer=True),
    }
    """The numeric hyperparameters and their admissible values, checked at construction."""

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
        init_from: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(
            ignore=["init_from"] + (["model"] if isinstance(model, nn.Module) else [])
        )
        for name, table in self.choices.items():
            table.check(self.hparams[name])
        for name, limit in self.limits.items():
            limit.check(name, self.hparams[name])
        self.check_arguments()
        self.model = (
            model
            if isinstance(model, nn.Module)
            else build_model(model, **self.model_arguments(), **(model_kwargs or {}))
        )
        self.init_from = None if init_from is None else self._start_from(Path(init_from))
        self.data_settings: dict[str, Any] = {}
        self.val_metrics = self.configure_metrics().clone(prefix="val/")
        self.test_metrics = self.val_metrics.clone(prefix="test/")
        self.last_metrics: dict[str, Tensor] = {}

    def _start_from(self, path: Path) -> dict[str, Any]:
        """Copy the shared parts of the model in checkpoint ``path`` into this task's."""
        source = model_from_checkpoint(load_checkpoint(path), str(path))
        return {"path": str(path), "parts": transfer_parts(source, self.model, where=str(path))}

    def on_fit_start(self) -> None:
        """Note what the training data is (``dataset.data_settings()``, e.g. a
        :class:`~seqimaging.geo.CubeWindows`' context, patch and time step), for the
        checkpoints: applying the model to new data checks against it."""
        dataset = getattr(self.trainer.datamodule, "dataset", None)
        describe = getattr(dataset, "data_settings", None)
        if callable(describe):
            self.data_settings = describe()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["task"] = f"{type(self).__module__}.{type(self).__qualname__}"
        if self.init_from is not None:
            checkpoint["init_from"] = self.init_from
        if self.data_settings:
            checkpoint["data"] = self.data_settings

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.data_settings = checkpoint.get("data") or {}

    def check_arguments(self) -> None:
        """Checks of the hyperparameters beyond :attr:`choices` and :attr:`limits`, before
        the model is built: raise :class:`SeqImagingError` naming the argument."""

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
            ids, keys = non_finite_samples(batch, INPUTS | TARGETS)
            culprits = (
                f"samples {ids}, NaN or inf in {', '.join(keys)}"
                if ids
                else f"samples {sample_ids(batch)}, every input finite"
            )
            raise NonFiniteLossError(
                f"training loss is {loss.item()} at step {self.global_step} (epoch "
                f"{self.current_epoch}, batch {batch_idx}, {culprits}); training stopped "
                "and the last checkpoint is kept. Fix or mask the non-finite values, or, "
                "if every input is finite, lower the learning rate"
            )
        return loss

    def check_finite(self, batch: dict | Tensor, stage: str, batch_idx: int) -> None:
        """Raise :class:`NonFiniteInputError` if an unmasked value of the keys that
        :data:`CHECKED` lists for ``stage`` is NaN or inf (every process together under
        DDP)."""
        batch = batch if isinstance(batch, dict) else {"frames": batch}
        ids, keys = non_finite_samples(batch, CHECKED[stage])
        if self.trainer.strategy.reduce_boolean_decision(not ids, all=True):
            return
        culprits = (
            f"samples {ids} hold NaN or inf in {', '.join(keys)}"
            if ids
            else "a sample on another process holds NaN or inf"
        )
        raise NonFiniteInputError(
            f"{stage} batch {batch_idx} (epoch {self.current_epoch}): {culprits}, where no "
            "mask marks them invalid; expected finite values, or False in mask/future_mask "
            "where a value is missing"
        )

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Move a batch to ``device``, all but its ``meta``: sample descriptions that no
        model reads stay on the host, unwalked (walking 16 samples' meta took 60× as long
        as moving their tensors)."""
        if not isinstance(batch, dict) or "meta" not in batch:
            return super().transfer_batch_to_device(batch, device, dataloader_idx)
        tensors = {k: v for k, v in batch.items() if k != "meta"}
        moved = super().transfer_batch_to_device(tensors, device, dataloader_idx)
        return {k: batch[k] if k == "meta" else moved[k] for k in batch}

    def on_validation_batch_start(
        self, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self.check_finite(batch, "validation", batch_idx)

    def on_test_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.check_finite(batch, "test", batch_idx)

    def on_predict_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.check_finite(batch, "predict", batch_idx)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.step(batch, "test")

    def update_metrics(self, stage: str, *args: Any, **kwargs: Any) -> None:
        """Update the ``val`` or ``test`` metrics in float32, outside any autocast (under
        bf16 autocast SSIM's Gaussian convolution would run in bf16: persistence's SSIM
        moved by 0.014)."""
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        with torch.autocast(self.device.type, enabled=False):
            metrics.update(*args, **kwargs)

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

    def baselines(self, metrics: dict[str, Tensor], data: Any) -> dict[str, dict[str, float]]:
        """The validation ``metrics`` (without prefix) that this task's baselines score,
        ``name → metric → value``, for the model card; ``data`` is the fit's data module.
        None by default."""
        return {}

    def configure_optimizers(self) -> dict[str, Any]:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = OPTIMIZERS[self.hparams.optimizer](params, self.hparams)
        schedule = SCHEDULERS[self.hparams.scheduler](optimizer, self)
        return {"optimizer": optimizer} | ({} if schedule is None else {"lr_scheduler": schedule})
