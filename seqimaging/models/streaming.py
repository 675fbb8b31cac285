"""What a sequence model carries between frames pushed one at a time, and the checks of
each push: one home for both model families' streaming
(:meth:`~seqimaging.models.SeqNet.step`,
:meth:`~seqimaging.models.ConvLSTMForecaster.step`)."""

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from seqimaging.errors import SeqImagingError, ShapeError


@dataclass(frozen=True)
class StreamState:
    """A stream's state after the frames pushed so far.

    Plain tensors, never changed in place: keep one to come back to it (branching), pass
    ``None`` to start a new stream.

    Attributes:
        core: the recurrent core's state (ConvLSTM: ``(h, c)`` per layer; LSTM: ``(h, c)``).
        pooled: a classifier's running pooling over time
            (:class:`~seqimaging.models.heads.Running`).
        first: the first frame pushed ``[B, C, H, W]``.
        last: the latest frame pushed.
        time: the latest frame's time (``None`` if none was given).
        steps: frames pushed.
    """

    core: Any = None
    pooled: Any = None
    first: Tensor | None = None
    last: Tensor | None = None
    time: Tensor | None = None
    steps: int = 0


def pushed(
    state: StreamState | None, frame: Tensor, channels: int, time: Tensor | float | None
) -> StreamState:
    """``state`` with ``frame`` as its latest (and, at the start, first) frame, after
    checking the frame against the model's ``channels`` and the stream's first frame, and
    the time against the previous one; the caller fills in ``core``, ``pooled``, ``steps``.

    Raises:
        ShapeError: not ``[B, C, H, W]``, other channels, or another shape than the first.
        SeqImagingError: ``time`` is not after the previous frame's.
    """
    state = StreamState() if state is None else state
    if frame.dim() != 4:
        raise ShapeError(f"a pushed frame is [B, C, H, W], got shape {tuple(frame.shape)}")
    if frame.shape[1] != channels:
        raise ShapeError(f"frames have {frame.shape[1]} channels, the model expects {channels}")
    first = frame if state.first is None else state.first
    if frame.shape != first.shape:
        raise ShapeError(
            f"a pushed frame of shape {tuple(frame.shape)}; the stream's first frame was "
            f"{tuple(first.shape)}"
        )
    if time is not None:
        time = torch.as_tensor(time, dtype=torch.float64)
        if state.time is not None and not bool((time > state.time).all()):
            raise SeqImagingError(
                f"frame time {time.tolist()} is not after the previous frame's "
                f"{state.time.tolist()}; expected increasing times"
            )
    return replace(state, first=first, last=frame, time=time, steps=state.steps + 1)
