"""Encoder–forecaster: context frames → the next ``horizon`` frames.

The context is encoded frame by frame and read by a ConvLSTM; then ``horizon`` frames
are rolled out with :meth:`ConvLSTM.step`. Each step decodes the top layer's hidden map
back to a frame at input resolution, and the frame is encoded again as the next step's
input: the model's own prediction, or (teacher forcing, scheduled sampling) the true
frame during training.

Two encoder–decoder pairs: ``"conv"``, a small CNN down to stride ``s`` and bilinear
upsampling back; ``"patch"``, OpenSTL's ``patch_size`` for its recurrent models: frames
cut into ``s × s`` patches stacked as channels (space-to-depth, ``pixel_unshuffle``), and
a 1×1 convolution of the hidden map back to those channels, then depth-to-space
(``pixel_shuffle``).
"""

import itertools
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.convlstm import ConvLSTM
from seqimaging.models.encoders import ConvEncoder, _check_stride, _conv_block, encode_frames
from seqimaging.models.registry import register_model
from seqimaging.models.seqnet import unpack_batch


class FrameDecoder(nn.Module):
    """Hidden map at stride ``s`` → frame: one bilinear ×2 upsampling stage per halving.

    Each stage upsamples to the exact size the encoder halved from, so odd image sizes
    come back exactly.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, width: int) -> None:
        super().__init__()
        halvings = _check_stride(stride)
        widths = [width * 2**i for i in range(halvings, -1, -1)]  # deepest first
        self.entry = _conv_block(in_channels, widths[0])
        self.stages = nn.ModuleList(_conv_block(a, b) for a, b in itertools.pairwise(widths))
        self.out = nn.Conv2d(widths[-1], out_channels, 1)

    def forward(self, h: Tensor, size: tuple[int, int]) -> Tensor:
        sizes = [size]
        for _ in self.stages:
            sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
        x = self.entry(h)
        for stage, target in zip(self.stages, reversed(sizes[:-1]), strict=False):
            x = stage(F.interpolate(x, size=target, mode="bilinear", align_corners=False))
        return self.out(x)


class PatchEncoder(nn.Module):
    """Space-to-depth: ``[N, C, H, W]`` → ``[N, C·s², H/s, W/s]``; ``s`` divides ``H`` and ``W``."""

    def __init__(self, in_channels: int, *, stride: int) -> None:
        super().__init__()
        if stride < 1:
            raise ShapeError(f"stride must be >= 1, got {stride}")
        self.stride, self.out_channels = stride, in_channels * stride**2

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2] % self.stride or x.shape[-1] % self.stride:
            raise ShapeError(
                f"frames of {tuple(x.shape[-2:])} pixels do not split into patches of "
                f"{self.stride}×{self.stride}; expected height and width multiples of {self.stride}"
            )
        return F.pixel_unshuffle(x, self.stride)


class PatchDecoder(nn.Module):
    """Hidden map → frame: a 1×1 convolution (no bias) to ``C·s²`` channels, then depth-to-space."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.out = nn.Conv2d(in_channels, out_channels * stride**2, 1, bias=False)

    def forward(self, h: Tensor, size: tuple[int, int]) -> Tensor:
        return F.pixel_shuffle(self.out(h), self.stride)


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
        encoder: ``"conv"`` (:class:`~seqimaging.models.encoders.ConvEncoder` and
            :class:`FrameDecoder`) or ``"patch"`` (:class:`PatchEncoder` and
            :class:`PatchDecoder`, frame sizes multiples of ``stride``).

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
        if encoder not in ("conv", "patch"):
            raise SeqImagingError(f"encoder must be 'conv' or 'patch', got {encoder!r}")
        self.in_channels, self.horizon, self.residual = in_channels, horizon, residual
        if encoder == "conv":
            self.encoder = ConvEncoder(in_channels, stride=stride, width=width)
        else:
            self.encoder = PatchEncoder(in_channels, stride=stride)
        self.core = ConvLSTM(self.encoder.out_channels, hidden_channels, kernel_size)
        hidden = self.core.hidden_channels[-1]
        if encoder == "conv":
            self.decoder = FrameDecoder(hidden, in_channels, stride=stride, width=width)
        else:
            self.decoder = PatchDecoder(hidden, in_channels, stride=stride)

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
        batch, steps, _, height, width = frames.shape
        _, state = self.core(encode_frames(self.encoder, frames, lengths), lengths=lengths)
        last = steps - 1 if lengths is None else lengths.to(frames.device) - 1
        current = frames[torch.arange(batch, device=frames.device), last]
        h, forecasts = state[-1][0], []
        for k in range(horizon):
            if k > 0:
                if teacher_forcing > 0:
                    forced = torch.rand(batch, 1, 1, 1, device=frames.device) < teacher_forcing
                    current = torch.where(forced, future[:, k - 1], current)
                h, state = self.core.step(self.encoder(current), state)
            change = self.decoder(h, (height, width))
            current = current + change if self.residual else change
            forecasts.append(current)
        return torch.stack(forecasts, dim=1)


class Persistence(nn.Module):
    """The baseline forecast: every future frame is the last valid context frame."""

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
        last = frames.shape[1] - 1 if lengths is None else lengths.to(frames.device) - 1
        current = frames[torch.arange(len(frames), device=frames.device), last]
        return current[:, None].expand(-1, horizon or self.horizon, -1, -1, -1)


@register_model
def persistence_forecaster(in_channels: int = 1, horizon: int = 10) -> Persistence:
    """The persistence baseline (no parameters; ``in_channels`` is accepted and unused)."""
    return Persistence(horizon)


@register_model
def convlstm_forecaster(in_channels: int, horizon: int = 10, **kwargs) -> ConvLSTMForecaster:
    """Encoder–ConvLSTM–decoder forecaster; ``kwargs`` as :class:`ConvLSTMForecaster`."""
    return ConvLSTMForecaster(in_channels, horizon, **kwargs)
