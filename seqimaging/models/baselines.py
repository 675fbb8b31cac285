"""The baselines every model number stands beside, in one place.

- :func:`persistence`: every future frame is the last valid context frame;
- :func:`linear_extrapolation`: the last frame moved on by its last change,
  ``x_t + h (x_t − x_{t−1})``;
- :func:`class_frequencies`: the majority-class baseline's probabilities (the training
  labels' frequencies, whose argmax is the majority class);
- the static single-frame baseline is a model: ``static_classifier`` /
  ``static_regressor`` of :mod:`seqimaging.models.seqnet`.

:class:`Persistence` and :class:`LinearExtrapolation` wrap the first two as models with
the forecaster's ``forward``, registered as ``persistence_forecaster`` and
``linear_forecaster``.
"""

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from seqimaging.errors import ShapeError
from seqimaging.models.blocks import unpack_batch
from seqimaging.models.registry import register_model


def last_frame(frames: Tensor, lengths: Tensor | None = None, back: int = 0) -> Tensor:
    """Frame ``T - 1 - back`` of each sequence ``[B, T, C, H, W]`` → ``[B, C, H, W]``;
    with ``lengths`` counted from each sequence's own last valid frame."""
    last = frames.shape[1] - 1 if lengths is None else lengths.to(frames.device) - 1
    return frames[torch.arange(len(frames), device=frames.device), last - back]


def persistence(frames: Tensor, horizon: int, lengths: Tensor | None = None) -> Tensor:
    """The last valid context frame at every lead: ``[B, horizon, C, H, W]`` (a view)."""
    return last_frame(frames, lengths)[:, None].expand(-1, horizon, -1, -1, -1)


def linear_extrapolation(frames: Tensor, horizon: int, lengths: Tensor | None = None) -> Tensor:
    """``x_t + h (x_t − x_{t−1})`` for leads ``h = 1 … horizon``: ``[B, horizon, C, H, W]``."""
    steps = frames.shape[1] if lengths is None else int(lengths.min())
    if steps < 2:
        raise ShapeError(f"linear extrapolation needs two context frames, a sequence has {steps}")
    last = last_frame(frames, lengths)[:, None]
    change = last - last_frame(frames, lengths, back=1)[:, None]
    leads = torch.arange(1, horizon + 1, dtype=frames.dtype, device=frames.device)
    return last + leads.reshape(1, -1, 1, 1, 1) * change


def class_frequencies(labels: Sequence[int], num_classes: int) -> np.ndarray:
    """The majority-class baseline: each class's frequency in ``labels`` ``[num_classes]``."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes) / len(labels)


class _Extrapolation(nn.Module):
    """A parameter-free forecaster with the forecaster's ``forward``."""

    extrapolate = staticmethod(persistence)

    def __init__(self, horizon: int = 10) -> None:
        super().__init__()
        self.horizon = horizon

    def forward(
        self,
        x: Tensor | dict,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
        *,
        horizon: int | None = None,
        **kwargs,
    ) -> Tensor:
        """Context ``[B, T, C, H, W]`` (or a sample dict) → ``[B, horizon, C, H, W]``."""
        frames, lengths, _ = unpack_batch(x, lengths, mask)
        return self.extrapolate(frames, horizon or self.horizon, lengths)


class Persistence(_Extrapolation):
    """The persistence forecast: every future frame is the last valid context frame."""


class LinearExtrapolation(_Extrapolation):
    """The linear forecast ``x_t + h (x_t − x_{t−1})`` (needs two context frames)."""

    extrapolate = staticmethod(linear_extrapolation)


@register_model
def persistence_forecaster(in_channels: int = 1, horizon: int = 10) -> Persistence:
    """The persistence baseline (no parameters; ``in_channels`` is accepted and unused)."""
    return Persistence(horizon)


@register_model
def linear_forecaster(in_channels: int = 1, horizon: int = 10) -> LinearExtrapolation:
    """The linear-extrapolation baseline (no parameters; ``in_channels`` is unused)."""
    return LinearExtrapolation(horizon)
