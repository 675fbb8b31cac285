"""The losses of the regression and forecast tasks, by name.

Each row is a ``torch.nn.functional`` loss ``(prediction, target, reduction="mean")``;
:func:`masked_loss` averages one over the valid pixels of a forecast.
"""

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from seqimaging.choices import Choices

LOSSES: Choices[Callable[..., Tensor]] = Choices(
    "loss", {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss}
)
"""Losses by name: ``"mse"``, ``"l1"`` and ``"huber"`` (``delta=1``)."""


def value_weights(truth: Tensor, steps: Sequence[tuple[float, float]]) -> Tensor:
    """Per-pixel loss weights that step up with the true value: ``steps`` are
    ``(threshold, weight)`` pairs in ascending threshold order; a pixel takes the weight
    of the highest threshold its true value reaches, 1 below the first.

    HKO-7's balancing weights (Shi et al. 2017), 1, 1, 2, 5, 10, 30 from 0.5, 2, 5, 10 and
    30 mm/h, are ``[(0.5, 1), (2, 2), (5, 5), (10, 10), (30, 30)]`` on a rain-rate truth
    (:func:`seqimaging.geo.rain_scale.rain_weight_steps` gives them on other scales).

    Example:
        >>> value_weights(torch.tensor([0.1, 3.0, 40.0]), [(2.0, 2.0), (30.0, 30.0)]).tolist()
        [1.0, 2.0, 30.0]
    """
    weights = torch.ones_like(truth)
    for threshold, weight in steps:
        weights = torch.where(
            truth >= threshold, torch.as_tensor(weight, dtype=truth.dtype), weights
        )
    return weights


def masked_loss(
    name: str,
    forecast: Tensor,
    truth: Tensor,
    mask: Tensor | None = None,
    steps: Sequence[tuple[float, float]] | None = None,
) -> Tensor:
    """The loss ``name`` of :data:`LOSSES`, averaged over the pixels that ``mask`` marks
    valid (all without one), weighted by :func:`value_weights` of the truth with
    ``steps`` when given.

    Masked pixels are set to 0 in forecast and truth before any arithmetic, so what they
    held, NaN or inf included, changes neither the loss nor its gradients.

    Example:
        >>> truth = torch.tensor([1.0, float("nan")])
        >>> masked_loss("l1", torch.zeros(2), truth, torch.tensor([True, False])).item()
        1.0
    """
    valid = torch.ones_like(truth, dtype=torch.bool) if mask is None else mask.bool()
    valid = valid.expand_as(truth)
    truth = torch.where(valid, truth, 0).to(forecast)
    forecast = torch.where(valid, forecast, 0)
    weight = valid.to(forecast)
    if steps:
        weight = weight * value_weights(truth, steps)
    error = LOSSES[name](forecast, truth, reduction="none")
    return (error * weight).sum() / weight.sum().clamp_min(1)
