"""Forecasting the next frames: radar nowcasting, cloud and vegetation series, cine MRI."""

from typing import Any, Literal

import torch
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from torchmetrics.wrappers import MultioutputWrapper

from seqimaging.errors import SeqImagingError
from seqimaging.models.baselines import persistence
from seqimaging.models.blocks import unpack_batch
from seqimaging.tasks.base import COUNT, FRACTION, POSITIVE, Range, SequenceTask, sample_ids
from seqimaging.tasks.losses import LOSSES, masked_loss


def _masked_out(values: Tensor, mask: Tensor | None) -> Tensor:
    """``values`` with 0 where ``mask`` is False (selected, so NaN and inf go too)."""
    return values if mask is None else torch.where(mask.bool(), values, 0)


def _error_sums(
    forecast: Tensor, truth: Tensor, mask: Tensor | None, power: Literal[1, 2] = 2
) -> tuple[Tensor, Tensor]:
    """Per lead time ``[L]``: the sum of ``|forecast − truth| ** power`` and the count, both
    over samples and the valid pixels of ``mask`` (all pixels without one)."""
    forecast, truth = (_masked_out(x.double(), mask) for x in (forecast, truth))
    error = (forecast - truth).abs() ** power
    weight = torch.ones_like(error) if mask is None else mask.expand_as(error).double()
    return error.sum(dim=(0, 2, 3, 4)), weight.sum(dim=(0, 2, 3, 4))


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
        total, count = _error_sums(forecast, truth, mask, self.power)
        self.total += total
        self.count += count

    def compute(self) -> Tensor:
        return (self.total / self.count).float()


class SkillScore(Metric):
    """Skill in MSE over a reference forecast per lead time.

    1 − Σ squared error / Σ squared error of the reference, both pooled over samples and
    the valid pixels, as :class:`LeadTimeError` counts them. ``update(forecast, truth, *,
    reference, mask=None)`` with ``[B, L, C, H, W]`` tensors and an optional
    ``[B, L, 1, H, W]`` mask; ``compute()`` gives ``[L]``.
    """

    full_state_update = False

    def __init__(self, horizon: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for state in ("model_error", "reference_error"):
            self.add_state(state, torch.zeros(horizon, dtype=torch.float64), dist_reduce_fx="sum")

    def update(
        self, forecast: Tensor, truth: Tensor, *, reference: Tensor, mask: Tensor | None = None
    ) -> None:
        self.model_error += _error_sums(forecast, truth, mask)[0]
        self.reference_error += _error_sums(reference, truth, mask)[0]

    def compute(self) -> Tensor:
        return (1 - self.model_error / self.reference_error).float()


class LeadTimeImageMetric(MultioutputWrapper):
    """An image metric (PSNR, SSIM) per lead time, on whole frames whose masked pixels are
    0 in forecast and truth.

    ``update(forecast, truth, mask)`` with ``[B, L, C, H, W]`` tensors and an optional
    ``[B, L, 1, H, W]`` mask; ``compute()`` gives ``[L]``.
    """

    def __init__(self, metric: Metric, horizon: int) -> None:
        super().__init__(metric, horizon, output_dim=1, remove_nans=False)

    def update(self, forecast: Tensor, truth: Tensor, mask: Tensor | None = None) -> None:
        super().update(_masked_out(forecast, mask), _masked_out(truth, mask))


class ForecastTask(SequenceTask):
    """Forecast the ``future`` frames of each sample from its ``frames``.

    The loss counts only valid pixels (``future_mask``); what lies under the mask, NaN
    included, changes neither the loss nor the metrics. The batches' future must have
    ``horizon`` frames. Validation and test log, per
    lead time ``k`` (``<metric>_lead<k>``) and averaged over lead times:

    - ``mse``, ``mae``: over valid pixels;
    - ``psnr`` (per frame, then averaged, as OpenSTL does) and ``ssim`` (torchmetrics'
      Gaussian 11×11 window), on whole frames whose masked pixels are 0 in both;
    - ``skill_mse``: the skill in MSE over persistence (the last valid context frame,
      :func:`~seqimaging.models.baselines.persistence`), 1 − Σ squared error / Σ squared
      error of persistence, both pooled over samples and valid pixels, computed in the
      same pass; 1 is a perfect forecast, 0 no better than persistence, below 0 worse.

    Args:
        model: a registered model name (e.g. ``"convlstm_forecaster"``) or a module with
            the forecaster's ``forward(batch, future=, teacher_forcing=, horizon=)``.
        in_channels: channels of a frame.
        horizon: frames to forecast: the length of the data's ``future``.
        model_kwargs: further builder arguments.
        loss: a row of :data:`~seqimaging.tasks.losses.LOSSES`, ``"mse"``, ``"l1"`` or
            ``"huber"``, over valid pixels.
        loss_weights: ``(threshold, weight)`` pairs weighting each pixel's loss by its
            true value (:func:`~seqimaging.tasks.losses.value_weights`, e.g. HKO-7's rain
            weights); the loss is then the weighted mean. None weighs pixels alike.
        data_range: value range of the frames for PSNR and SSIM.
        teacher_forcing: initial probability of feeding true frames during training.
        teacher_forcing_steps: optimiser steps over which scheduled sampling lowers it
            linearly to 0 (0 keeps it constant).
        **kwargs: optimiser and schedule, see :class:`SequenceTask`.
    """

    choices = SequenceTask.choices | {"loss": LOSSES}
    limits = SequenceTask.limits | {
        "in_channels": COUNT,
        "horizon": COUNT,
        "data_range": POSITIVE,
        "teacher_forcing": FRACTION,
        "teacher_forcing_steps": Range(0, integer=True),
    }

    def __init__(
        self,
        model: str | nn.Module = "convlstm_forecaster",
        in_channels: int = 1,
        horizon: int = 10,
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "mse",
        loss_weights: list[tuple[float, float]] | None = None,
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
                "psnr": LeadTimeImageMetric(
                    PeakSignalNoiseRatio(data_range=data_range, dim=(1, 2, 3)), horizon
                ),
                "ssim": LeadTimeImageMetric(
                    StructuralSimilarityIndexMeasure(data_range=data_range), horizon
                ),
                "skill_mse": SkillScore(horizon),
            },
            compute_groups=False,
        )

    def element_names(self, name: str, count: int) -> list[str]:
        return [f"lead{k}" for k in range(1, count + 1)]

    def baselines(self, metrics: dict[str, Tensor], data: Any) -> dict[str, dict[str, float]]:
        """Persistence (the last context frame repeated): its MSE per lead is the model's
        over 1 − skill, averaged over leads as the model's is."""
        if "mse" not in metrics or "skill_mse" not in metrics:
            return {}
        mse = float((metrics["mse"] / (1 - metrics["skill_mse"])).mean())
        return {"persistence": {"mse": mse, "skill_mse": 0.0}}

    def teacher_forcing_ratio(self) -> float:
        """The scheduled-sampling probability at the current optimiser step."""
        start, steps = self.hparams.teacher_forcing, self.hparams.teacher_forcing_steps
        if steps <= 0:
            return start
        return start * max(0.0, 1.0 - self.global_step / steps)

    def check_horizon(self, batch: dict) -> None:
        """Raise :class:`SeqImagingError` if the batch's future is not ``horizon`` long."""
        found, expected = batch["future"].shape[1], self.hparams.horizon
        if found != expected:
            raise SeqImagingError(
                f"horizon={expected} but the data's future has {found} frames (samples "
                f"{sample_ids(batch)}); expected horizon={found}, or data with {expected} "
                "future frames"
            )

    def step(self, batch: dict, stage: str) -> Tensor:
        self.check_horizon(batch)
        truth = batch["future"]
        mask = batch.get("future_mask")
        ratio = self.teacher_forcing_ratio() if stage == "train" else 0.0
        forecast = self.model(
            batch, future=truth, teacher_forcing=ratio, horizon=truth.shape[1]
        ).float()
        loss = masked_loss(self.hparams.loss, forecast, truth, mask, self.hparams.loss_weights)
        self.log_loss(stage, loss, len(truth))
        if stage != "train":
            frames, lengths, _ = unpack_batch(batch, None, None)
            reference = persistence(frames, truth.shape[1], lengths)
            self.update_metrics(
                stage, forecast.detach(), truth.float(), mask=mask, reference=reference.float()
            )
        return loss

    def predict_step(self, batch: dict, batch_idx: int) -> Tensor:
        """The forecast ``[B, horizon, C, H, W]``."""
        return self.model(batch).float()
