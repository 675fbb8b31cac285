"""The baselines every model number stands beside, in one place.

- :func:`persistence`: every future frame is the last valid context frame;
- :func:`linear_extrapolation`: the last frame moved on by its last change,
  ``x_t + h (x_t − x_{t−1})``;
- :func:`optical_flow_extrapolation`: pysteps' nowcast, the radar field's standard
  baseline (:func:`lucas_kanade` motion, semi-Lagrangian advection of the last frame);
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

from seqimaging._optional import require
from seqimaging.errors import ShapeError
from seqimaging.models.blocks import last_frame, unpack_batch
from seqimaging.models.registry import register_model


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


def lucas_kanade(frames: np.ndarray) -> np.ndarray:
    """pysteps' Lucas–Kanade motion (``pysteps.motion`` ``"LK"``, with OpenCV, its default
    settings) of ``frames [T, H, W]`` (finite): ``[2, H, W]``, the x and y displacement
    in pixels per frame. Needs the ``radar`` extra (pysteps, OpenCV)."""
    require("pysteps", extra="radar")
    require("cv2", extra="radar")
    from pysteps import motion

    return motion.get_method("LK")(frames, verbose=False)


def optical_flow_extrapolation(
    context: np.ndarray, horizon: int | Sequence[float], motion: np.ndarray | None = None
) -> np.ndarray:
    """pysteps' extrapolation nowcast of rain ``context`` ``[T, H, W]`` (mm/h, NaN outside
    coverage) → ``[leads, H, W]`` mm/h, as pysteps' examples make it.

    Rain rate to dB (threshold 0.1 mm/h, −15 dB below), :func:`lucas_kanade` motion of the
    context, semi-Lagrangian advection of the last frame (``pysteps.nowcasts``
    ``"extrapolation"``), back to mm/h (below −10 dB is no rain). ``horizon`` is a number
    of frames, or the leads in context frame steps (``[0.5, 1.0]``: half a step and one).
    ``motion`` is that Lucas–Kanade motion if it was already computed on this context.
    """
    require("pysteps", extra="radar")
    from pysteps import nowcasts
    from pysteps.utils import transformation

    metadata = {"transform": None, "zerovalue": 0.0, "threshold": 0.1, "unit": "mm/h"}
    db, _ = transformation.dB_transform(context, metadata, threshold=0.1, zerovalue=-15.0)
    db[~np.isfinite(db)] = -15.0
    leads = horizon if isinstance(horizon, int) else [float(t) for t in horizon]
    motion = lucas_kanade(db) if motion is None else motion
    forecast = nowcasts.get_method("extrapolation")(db[-1], motion, leads)
    rain, _ = transformation.dB_transform(forecast, threshold=-10.0, inverse=True)
    return np.nan_to_num(rain, nan=0.0)


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
