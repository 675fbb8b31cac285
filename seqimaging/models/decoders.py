"""Frame decoders of the forecaster: a hidden map at stride ``s`` → a frame at full size.

:class:`FrameDecoder` mirrors :class:`~seqimaging.models.encoders.ConvEncoder`;
:class:`PatchDecoder` inverts :class:`~seqimaging.models.encoders.PatchEncoder`.
"""

import itertools

import torch.nn.functional as F
from torch import Tensor, nn

from seqimaging.models.blocks import check_stride, conv_block


class FrameDecoder(nn.Module):
    """Hidden map at stride ``s`` → frame: one bilinear ×2 upsampling stage per halving.

    Each stage upsamples to the exact size the encoder halved from, so odd image sizes
    come back exactly.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, width: int) -> None:
        super().__init__()
        halvings = check_stride(stride)
        widths = [width * 2**i for i in range(halvings, -1, -1)]  # deepest first
        self.entry = conv_block(in_channels, widths[0])
        self.stages = nn.ModuleList(conv_block(a, b) for a, b in itertools.pairwise(widths))
        self.out = nn.Conv2d(widths[-1], out_channels, 1)

    def forward(self, h: Tensor, size: tuple[int, int]) -> Tensor:
        sizes = [size]
        for _ in self.stages:
            sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
        x = self.entry(h)
        for stage, target in zip(self.stages, reversed(sizes[:-1]), strict=False):
            x = stage(F.interpolate(x, size=target, mode="bilinear", align_corners=False))
        return self.out(x)


class PatchDecoder(nn.Module):
    """Hidden map → frame: a 1×1 convolution (no bias) to ``C·s²`` channels, then depth-to-space."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.out = nn.Conv2d(in_channels, out_channels * stride**2, 1, bias=False)

    def forward(self, h: Tensor, size: tuple[int, int]) -> Tensor:
        return F.pixel_shuffle(self.out(h), self.stride)
