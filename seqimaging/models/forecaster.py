"""Encoder–forecaster: context frames → the next ``horizon`` frames.

The context is encoded frame by frame and read by a ConvLSTM; then ``horizon`` frames
are rolled out with :meth:`ConvLSTM.step`. Each step decodes the top layer's hidden map
back to a frame at input resolution, and the frame is encoded again as the next step's
input: the model's own prediction, or (teacher forcing, scheduled sampling) the true
frame during training.

Two encoder–decoder pairs, the rows of :data:`FORECAST_CODECS`: ``"conv"``, a small CNN
down to stride ``s`` and bilinear upsampling back; ``"patch"``, OpenSTL's ``patch_size``
for its recurrent models: frames cut into ``s × s`` patches stacked as channels
(space-to-depth, ``pixel_unshuffle``), and a 1×1 convolution of the hidden map back to
those channels, then depth-to-space (``pixel_shuffle``).
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.blocks import last_frame, unpack_batch
from seqimaging.models.convlstm import ConvLSTM
from seqimaging.models.decoders import FrameDecoder, PatchDecoder
from seqimaging.models.encoders import ConvEncoder, PatchEncoder, encode_frames
from seqimaging.models.registry import register_model
from seqimaging.models.streaming import StreamState, pushed


class Codec(NamedTuple):
    """An encoder–decoder pair of the forecaster, each part built from the same options.

    Attributes:
        encoder: ``(in_channels, *, stride, width)`` → a frame encoder with ``out_channels``.
        decoder: ``(hidden_channels, out_channels, *, stride, width)`` → a decoder called as
            ``decoder(h, (height, width))``.
    """

    encoder: Callable[..., nn.Module]
    decoder: Callable[..., nn.Module]


FORECAST_CODECS: Choices[Codec] = Choices(
    "forecaster encoder",
    {
        "conv": Codec(
            lambda c, *, stride, width: ConvEncoder(c, stride=stride, width=width),
            lambda h, c, *, stride, width: FrameDecoder(h, c, stride=stride, width=width),
        ),
        "patch": Codec(
            lambda c, *, stride, width: PatchEncoder(c, stride=stride),
            lambda h, c, *, stride, width: PatchDecoder(h, c, stride=stride),
        ),
    },
)
"""The forecaster's encoder–decoder pairs by name (``ConvLSTMForecaster(encoder=...)``)."""


class ConvLSTMForecaster(nn.Module):
    """Forecast ``horizon`` frames from a context sequence.

    Args:
        in_channels: channels of a frame (input and forecast).
        horizon: frames to forecast by default.
        stride: the encoder's output stride; the ConvLSTM runs at ``1/stride`` of the
            input resolution. 1, 2, 4 or 8 for ``"conv"``; the patch size for ``"patch"``.
        width: stem channels of the encoder and last stage of the decoder (``"conv"``).
        hidden_channels: ConvLSTM hidden channels, an int per layer or a list.
        kernel_size: ConvLSTM kernel size.
        residual: predict the change from the step's input frame (persistence plus a
            correction) rather than the frame itself.
        encoder: a row of :data:`FORECAST_CODECS`: ``"conv"``
            (:class:`~seqimaging.models.encoders.ConvEncoder` and
            :class:`~seqimaging.models.decoders.FrameDecoder`) or ``"patch"``
            (:class:`~seqimaging.models.encoders.PatchEncoder` and
            :class:`~seqimaging.models.decoders.PatchDecoder`, frame sizes multiples of
            ``stride``).

    Example:
        >>> model = ConvLSTMForecaster(1, horizon=3, stride=2, hidden_channels=16)
        >>> model(torch.rand(2, 5, 1, 17, 15)).shape
        torch.Size([2, 3, 1, 17, 15])
    """

    def __init__(
        self,
        in_channels: int,
        horizon: int = 10,
        *,
        stride: int = 2,
        width: int = 16,
        hidden_channels: int | list[int] = 64,
        kernel_size: int = 3,
        residual: bool = True,
        encoder: Literal["conv", "patch"] = "conv",
    ) -> None:
        super().__init__()
        codec = FORECAST_CODECS[encoder]
        self.in_channels, self.horizon, self.residual = in_channels, horizon, residual
        self.encoder = codec.encoder(in_channels, stride=stride, width=width)
        self.core = ConvLSTM(self.encoder.out_channels, hidden_channels, kernel_size)
        hidden = self.core.hidden_channels[-1]
        self.decoder = codec.decoder(hidden, in_channels, stride=stride, width=width)

    def shared_parts(self) -> dict[str, nn.Module]:
        """The encoder and the ConvLSTM: what
        :func:`~seqimaging.models.transfer.transfer_parts` copies from or into (a diagnosis
        model can start from a forecaster trained on the same cines)."""
        return {"encoder": self.encoder, "convlstm": self.core}

    def forward(
        self,
        x: Tensor | dict,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
        *,
        future: Tensor | None = None,
        teacher_forcing: float = 0.0,
        horizon: int | None = None,
    ) -> Tensor:
        """Context ``[B, T, C, H, W]`` (or a batched sample dict) → ``[B, horizon, C, H, W]``.

        Args:
            x: the context frames, or a sample dict with ``frames`` and optionally
                ``lengths`` and ``mask`` (masked pixels are set to zero).
            lengths: true context lengths of sequences padded at the end; the forecast
                starts after each sequence's last valid frame.
            mask: ``[B, T, 1, H, W]`` valid context pixels.
            future: the true future ``[B, ≥horizon-1, C, H, W]``, needed for teacher forcing.
            teacher_forcing: probability, per sample and step, of feeding the true frame
                rather than the model's own forecast as the next input (scheduled
                sampling anneals it towards 0 during training).
            horizon: frames to forecast, ``self.horizon`` by default.
        """
        frames, lengths, _ = unpack_batch(x, lengths, mask)
        horizon = self.horizon if horizon is None else horizon
        if frames.shape[2] != self.in_channels:
            raise ShapeError(
                f"frames have {frames.shape[2]} channels, the model expects {self.in_channels}"
            )
        if teacher_forcing > 0 and (future is None or future.shape[1] < horizon - 1):
            raise ShapeError(f"teacher forcing needs future with at least {horizon - 1} frames")
        _, state = self.core(encode_frames(self.encoder, frames, lengths), lengths=lengths)
        return self._roll_out(last_frame(frames, lengths), state, horizon, future, teacher_forcing)

    def _roll_out(
        self,
        current: Tensor,
        state: list,
        horizon: int,
        future: Tensor | None = None,
        teacher_forcing: float = 0.0,
    ) -> Tensor:
        """``horizon`` frames after ``current`` ``[B, C, H, W]``, from the ConvLSTM's
        ``state`` after the context."""
        h, forecasts = state[-1][0], []
        for k in range(horizon):
            if k > 0:
                if teacher_forcing > 0:
                    draw = torch.rand(current.shape[0], 1, 1, 1, device=current.device)
                    current = torch.where(draw < teacher_forcing, future[:, k - 1], current)
                h, state = self.core.step(self.encoder(current), state)
            change = self.decoder(h, tuple(current.shape[-2:]))
            current = current + change if self.residual else change
            forecasts.append(current)
        return torch.stack(forecasts, dim=1)

    def step(
        self, frame: Tensor, state: StreamState | None = None, time: Tensor | float | None = None
    ) -> StreamState:
        """Push one context frame ``[B, C, H, W]`` of ``B`` streams; :meth:`forecast` then
        gives the frames after it. ``time`` (a number or ``[B]``) is checked to increase.

        Example:
            >>> model = ConvLSTMForecaster(1, horizon=2, stride=2, hidden_channels=4)
            >>> state = None
            >>> for t in range(3):
            ...     state = model.step(torch.rand(1, 1, 8, 8), state, time=5.0 * t)
            >>> model.forecast(state).shape
            torch.Size([1, 2, 1, 8, 8])
        """
        state = pushed(state, frame, self.in_channels, time)
        _, core = self.core.step(self.encoder(frame), state.core)
        return replace(state, core=core)

    def forecast(self, state: StreamState, horizon: int | None = None) -> Tensor:
        """The ``horizon`` frames after those pushed into ``state`` (unchanged), equal to
        :meth:`forward` on them: ``[B, horizon, C, H, W]``."""
        if state is None or state.last is None:
            raise SeqImagingError("no frame pushed yet; push the context with step() first")
        return self._roll_out(state.last, state.core, self.horizon if horizon is None else horizon)


@register_model
def convlstm_forecaster(in_channels: int, horizon: int = 10, **kwargs) -> ConvLSTMForecaster:
    """Encoder–ConvLSTM–decoder forecaster; ``kwargs`` as :class:`ConvLSTMForecaster`."""
    return ConvLSTMForecaster(in_channels, horizon, **kwargs)
