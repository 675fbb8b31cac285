"""Forecasting the next frames: radar nowcasting, cloud and vegetation series, cine MRI."""

from typing import Any, Literal

import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from torchmetrics.wrappers import MultioutputWrapper

from seqimaging.tasks.base import SequenceTask


class LeadTimeError(Metric):
    """Mean squared or absolute error per lead time over the valid pixels.

    ``update(forecast, truth, mask)`` with ``[B, L, C, H, W]`` tensors and an optional
    ``[B, L, 1, H, W]`` mask; ``compute()`` gives ``[L]``.
    """

    full_state_update = False

    def __init__(self, horizon: int, power: Literal[1, 2] = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.power = power
        self.add_state("total", torch.zeros(horizon, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(horizon, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, forecast: Tensor, truth: Tensor, mask: Tensor | None = None) -> None:
        error = (forecast.double() - truth.double()).abs() ** self.power
        weight = torch.ones_like(error) if mask is None else mask.expand_as(error).double()
        self.total += (error * weight).sum(dim=(0, 2, 3, 4))
        self.count += weight.sum(dim=(0, 2, 3, 4))

    def compute(self) -> Tensor:
        return (self.total / self.count).float()


class SkillScore(Metric):
    """Skill over persistence per lead time: 1 − MSE(forecast) / MSE(persistence).

    ``update(forecast, persistence, truth, mask)`` with ``[B, L, C, H, W]`` tensors;
    ``compute()`` gives ``[L]``.
    """

    full_state_update = False

    def __init__(self, horizon: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for state in ("model_error", "persistence_error"):
            self.add_state(state, torch.zeros(horizon, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, forecast: Tensor, persistence: Tensor, truth: Tensor, mask=None) -> None:
        weight = 1.0 if mask is None else mask.double()
        truth = truth.double()
        self.model_error += (((forecast.double() - truth) ** 2) * weight).sum(dim=(0, 2, 3, 4))
        self.persistence_error += (((persistence.double() - truth) ** 2) * weight).sum(
            dim=(0, 2, 3, 4)
        )

    def compute(self) -> Tensor:
        return (1 - self.model_error / self.persistence_error).float()


class ForecastTask(SequenceTask):
    """Forecast the ``future`` frames of each sample from its ``frames``.

    The loss (MSE or L1) counts only valid pixels (``future_mask``). Validation and test
    log, per lead time ``k`` (``<metric>_lead<k>``) and averaged over lead times:

    - ``mse``, ``mae``: over valid pixels;
    - ``psnr`` (per frame, then averaged, as OpenSTL does) and ``ssim`` (torchmetrics'
      Gaussian 11×11 window), on whole frames whose masked pixels take the true value;
    - ``skill``: 1 − MSE / MSE of persistence (the last context frame), computed in the
      same pass; positive means better than persistence.

    Args:
        model: a registered model name (e.g. ``"convlstm_forecaster"``) or a module with
            the forecaster's ``forward(batch, future=, teacher_forcing=, horizon=)``.
        in_channels: channels of a frame.
        horizon: frames to forecast.
        model_kwargs: further builder arguments.
        loss: ``"mse"`` or ``"l1"``.
        data_range: value range of the frames for PSNR and SSIM.
        teacher_forcing: initial probability of feeding true frames during training.
        teacher_forcing_steps: optimiser steps over which scheduled sampling lowers it
            linearly to 0 (0 keeps it constant).
        **kwargs: optimiser and schedule, see :class:`SequenceTask`.
    """

    def __init__(
        self,
        model: str | nn.Module = "convlstm_forecaster",
        in_channels: int = 1,
        horizon: int = 10,
        model_kwargs: dict[str, Any] | None = None,
        loss: Literal["mse", "l1"] = "mse",
        data_range: float = 1.0,
        teacher_forcing: float = 0.0,
        teacher_forcing_steps: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, model_kwargs, **kwargs)

    def model_arguments(self) -> dict[str, Any]:
        return {"in_channels": self.hparams.in_channels, "horizon": self.hparams.horizon}

    def configure_metrics(self) -> MetricCollection:
        horizon, data_range = self.hparams.horizon, self.hparams.data_range
        return MetricCollection(
            {
                "mse": LeadTimeError(horizon, power=2),
                "mae": LeadTimeError(horizon, power=1),
                "psnr": MultioutputWrapper(
                    PeakSignalNoiseRatio(data_range=data_range, dim=(1, 2, 3)),
                    horizon,
                    output_dim=1,
                    remove_nans=False,
                ),
                "ssim": MultioutputWrapper(
                    StructuralSimilarityIndexMeasure(data_range=data_range),
                    horizon,
                    output_dim=1,
                    remove_nans=False,
                ),
                "skill": SkillScore(horizon),
            },
            compute_groups=False,
        )

    def element_names(self, name: str, count: int) -> list[str]:
        return [f"lead{k}" for k in range(1, count + 1)]

    def teacher_forcing_ratio(self) -> float:
        """The scheduled-sampling probability at the current optimiser step."""
        start, steps = self.hparams.teacher_forcing, self.hparams.teacher_forcing_steps
        if steps <= 0:
            return start
        return start * max(0.0, 1.0 - self.global_step / steps)

    def step(self, batch: dict, stage: str) -> Tensor:
        truth = batch["future"]
        mask = batch.get("future_mask")
        ratio = self.teacher_forcing_ratio() if stage == "train" else 0.0
        forecast = self.model(
            batch, future=truth, teacher_forcing=ratio, horizon=truth.shape[1]
        ).float()
        error = (forecast - truth).abs() ** (2 if self.hparams.loss == "mse" else 1)
        if mask is None:
            loss = error.mean()
        else:
            weight = mask.expand_as(error).to(error.dtype)
            loss = (error * weight).sum() / weight.sum().clamp_min(1)
        self.log_loss(stage, loss, len(truth))
        if stage != "train":
            metrics = self.val_metrics if stage == "val" else self.test_metrics
            self._update_metrics(metrics, batch, forecast.detach(), mask)
        return loss

    @staticmethod
    def _update_metrics(metrics: MetricCollection, batch: dict, forecast: Tensor, mask) -> None:
        truth = batch["future"].float()
        frames = batch["frames"]
        lengths = batch.get("lengths")
        last = frames.shape[1] - 1 if lengths is None else lengths - 1
        persistence = frames[torch.arange(len(frames), device=frames.device), last]
        persistence = persistence[:, None].expand_as(truth).float()
        filled = forecast if mask is None else torch.where(mask, forecast, truth)
        for name, metric in metrics.items(keep_base=True):
            if name.endswith("skill"):
                metric.update(forecast, persistence, truth, mask)
            elif name.endswith(("mse", "mae")):
                metric.update(forecast, truth, mask)
            else:
                metric.update(filled, truth)

    def predict_step(self, batch: dict, batch_idx: int) -> Tensor:
        """The forecast ``[B, horizon, C, H, W]``."""
        return self.model(batch).float()
