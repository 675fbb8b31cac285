"""Small pieces several models share: the conv block, the stride check, batch unpacking,
the last valid frame of each sequence."""

import torch
from torch import Tensor, nn

from seqimaging.errors import ShapeError

STRIDES = (1, 2, 4, 8)


def check_stride(stride: int) -> int:
    """The number of halvings of an output stride of 1, 2, 4 or 8."""
    if stride not in STRIDES:
        raise ShapeError(f"stride must be one of {STRIDES}, got {stride}")
    return stride.bit_length() - 1


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3×3 convolution (no bias), GroupNorm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.ReLU(inplace=True),
    )


def unpack_batch(x: Tensor | dict, lengths: Tensor | None, mask: Tensor | None) -> tuple:
    """``frames, lengths, mask`` from a batched sample dict or a frames tensor.

    Masked-out pixels (``mask`` False: nodata, clouds) are set to zero, NaN included.
    """
    if isinstance(x, dict):
        lengths = x.get("lengths", lengths)
        mask = x.get("mask", mask)
        x = x["frames"]
    if x.dim() != 5:
        raise ShapeError(f"frames must be [B, T, C, H, W], got shape {tuple(x.shape)}")
    if mask is not None:
        x = x.masked_fill(~mask.bool(), 0)  # not x * mask: NaN nodata would stay NaN
    return x, lengths, mask


def last_frame(frames: Tensor, lengths: Tensor | None = None, back: int = 0) -> Tensor:
    """Frame ``T - 1 - back`` of each sequence ``[B, T, C, H, W]`` → ``[B, C, H, W]``;
    with ``lengths`` counted from each sequence's own last valid frame."""
    last = frames.shape[1] - 1 if lengths is None else lengths.to(frames.device) - 1
    return frames[torch.arange(len(frames), device=frames.device), last - back]
