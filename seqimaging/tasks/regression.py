"""Regression from sequences: ejection fraction from cine MRI, a yield from a time series."""

from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score

from seqimaging.errors import SeqImagingError
from seqimaging.tasks.base import COUNT, SequenceTask
from seqimaging.tasks.losses import LOSSES

STANDARDISATION = ("target_mean", "target_std")
"""The arguments that standardise the targets: one value, or one per target."""


def _vector(value: list[float] | float) -> Tensor:
    """A float32 vector of one value or a list of them."""
    return torch.tensor(value, dtype=torch.float32).reshape(-1)


class RegressionTask(SequenceTask):
    """MSE, L1 or Huber loss on the ``target`` of each sample; MAE, RMSE and R².

    The model predicts standardised targets, ``(target - target_mean) / target_std``, so
    that a target in the tens (EF in %) trains like one near zero; metrics and
    predictions are in the target's own units.

    Args:
        model: a registered model name (e.g. ``"convlstm_regressor"``) or a module.
        in_channels: channels of a frame.
        num_targets: regression targets per sample.
        model_kwargs: further builder arguments.
        loss: a row of :data:`~seqimaging.tasks.losses.LOSSES`, ``"mse"``, ``"l1"`` or
            ``"huber"`` (on standardised targets).
        target_mean: mean of each target (or one for all), e.g. from the training split.
        target_std: standard deviation of each target (or one for all).
        **kwargs: optimiser and schedule, see :class:`SequenceTask`.

    Example:
        >>> task = RegressionTask("convlstm_regressor", in_channels=1, target_mean=[55.0],
        ...                       target_std=[12.0])
    """

    choices = SequenceTask.choices | {"loss": LOSSES}
    limits = SequenceTask.limits | {"in_channels": COUNT, "num_targets": COUNT}

    def __init__(
        self,
        model: str | nn.Module = "convlstm_regressor",
        in_channels: int = 1,
        num_targets: int = 1,
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "mse",
        target_mean: list[float] | float = 0.0,
        target_std: list[float] | float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, model_kwargs, **kwargs)
        for name in STANDARDISATION:
            self.register_buffer(name, _vector(self.hparams[name]), persistent=False)

    def check_arguments(self) -> None:
        """``target_mean`` and ``target_std`` hold 1 or ``num_targets`` finite values, the
        standard deviations positive."""
        n = self.hparams.num_targets
        for name in STANDARDISATION:
            values = _vector(self.hparams[name])
            if len(values) not in (1, n):
                raise SeqImagingError(f"{name} has {len(values)} values; expected 1 or {n}")
            if not bool(values.isfinite().all()):
                raise SeqImagingError(f"{name} is {values.tolist()}; expected finite values")
        if not bool((_vector(self.hparams.target_std) > 0).all()):
            raise SeqImagingError(f"target_std must be positive, got {self.hparams.target_std}")

    def model_arguments(self) -> dict[str, Any]:
        return {"in_channels": self.hparams.in_channels, "num_targets": self.hparams.num_targets}

    def configure_metrics(self) -> MetricCollection:
        return MetricCollection(
            {
                "mae": MeanAbsoluteError(),
                "rmse": MeanSquaredError(squared=False),
                "r2": R2Score(),
            }
        )

    def baselines(self, metrics: dict[str, Tensor], data: Any) -> dict[str, dict[str, float]]:
        """The validation targets' mean, predicted for every sample: R² 0 by definition,
        its RMSE the model's over √(1 − R²)."""
        if "rmse" not in metrics or "r2" not in metrics or float(metrics["r2"]) >= 1:
            return {}
        rmse = float(metrics["rmse"] / (1 - metrics["r2"]).sqrt())
        return {"mean": {"rmse": rmse, "r2": 0.0}}

    def step(self, batch: dict, stage: str) -> Tensor:
        standardised = self.model(batch).float()
        target = batch["target"].float()
        loss = LOSSES[self.hparams.loss](
            standardised, (target - self.target_mean) / self.target_std
        )
        self.log_loss(stage, loss, len(target))
        if stage != "train":
            prediction = standardised * self.target_std + self.target_mean
            self.update_metrics(stage, prediction, target)
        return loss

    def predict_step(self, batch: dict, batch_idx: int) -> Tensor:
        """Predictions ``[B, num_targets]`` in the targets' units."""
        return self.model(batch).float() * self.target_std + self.target_mean
