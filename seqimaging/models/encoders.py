"""Per-frame CNN encoders: ``[N, C, H, W]`` images → ``[N, C', ⌈H/s⌉, ⌈W/s⌉]`` feature maps.

Frames of a sequence are folded into the batch before an encoder sees them (see
:func:`encode_frames`), so an encoder is an ordinary 2-D CNN. Two kinds:

- :class:`ConvEncoder`, small and built in, with GroupNorm: its output for one frame does
  not depend on the other frames of the batch, so padded frames, batch size and DDP
  sharding change nothing.
- :class:`ResNetEncoder`, the torchvision ResNet-18/34 trunk up to ``layer2`` (128
  channels), with optional pretrained weights from a local file or from torchvision's
  weights enum when its file is already in the torch hub cache. Nothing is downloaded.

Both take any number of input channels (1 for MRI, 13 for Sentinel-2) and a stride of 1,
2, 4 or 8.
"""

from pathlib import Path
from typing import Literal

import torch
import torchvision
from torch import Tensor, nn
from torchvision.models import WeightsEnum

from seqimaging.errors import SeqImagingError, ShapeError, WeightsNotFoundError

STRIDES = (1, 2, 4, 8)
EncoderName = Literal["small", "resnet18", "resnet34"]
_UNUSED = ("fc.", "layer3.", "layer4.")  # parts of a ResNet the trunk does not keep


def _check_stride(stride: int) -> int:
    if stride not in STRIDES:
        raise ShapeError(f"stride must be one of {STRIDES}, got {stride}")
    return stride.bit_length() - 1  # number of halvings


def _conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, c_out), c_out),
        nn.ReLU(inplace=True),
    )


class ConvEncoder(nn.Module):
    """A small CNN: a stem, then one stride-2 stage per halving, channels doubling.

    Args:
        in_channels: channels of a frame.
        stride: output stride, 1, 2, 4 or 8.
        width: channels of the stem; stage ``i`` has ``width · 2**i``.

    Example:
        >>> encoder = ConvEncoder(1, stride=4, width=16)
        >>> encoder(torch.zeros(3, 1, 13, 11)).shape, encoder.out_channels
        (torch.Size([3, 64, 4, 3]), 64)
    """

    def __init__(self, in_channels: int, *, stride: int = 4, width: int = 32) -> None:
        super().__init__()
        halvings = _check_stride(stride)
        self.in_channels, self.stride = in_channels, stride
        self.out_channels = width * 2**halvings
        layers = [_conv_block(in_channels, width)]
        for i in range(halvings):
            c = width * 2**i
            layers += [_conv_block(c, 2 * c, stride=2), _conv_block(2 * c, 2 * c)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def adapt_input_conv(weight: Tensor, in_channels: int) -> Tensor:
    """Adapt a first-conv weight ``[O, 3, k, k]`` learned on RGB to ``in_channels``.

    Any count keeps the response to a constant image. Fewer than three channels fold the
    RGB filters onto them (filter ``k`` adds to channel ``k mod in_channels``): one channel
    gets the sum over RGB, so a grey image gives what the RGB model gives on that image
    repeated three times. More channels repeat the RGB filters cyclically, each divided by
    the number of channels sharing it (timm's ``adapt_input_conv`` scales all of them by
    ``3 / in_channels``, which is the same when ``in_channels`` is a multiple of 3).
    """
    if in_channels == weight.shape[1]:
        return weight
    if weight.shape[1] != 3:
        raise ShapeError(
            f"cannot adapt a first conv of {weight.shape[1]} channels to {in_channels}"
        )
    if in_channels < 3:
        return torch.stack([weight[:, j::in_channels].sum(1) for j in range(in_channels)], 1)
    source = torch.arange(in_channels, device=weight.device) % 3
    shares = torch.bincount(source)[source].to(weight.dtype)
    return weight[:, source] / shares[:, None, None]


def _cached_weights(weights: WeightsEnum) -> dict[str, Tensor]:
    """Load a torchvision weights enum member from the hub cache, never downloading."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.is_file():
        raise WeightsNotFoundError(
            f"{weights} is not in the torch hub cache: expected {path}. Download "
            f"{weights.url} to that path, or pass weights= the path of a local file"
        )
    return _load_state_dict(path)


def _load_state_dict(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # not a torch file, truncated, or holding disallowed objects
        raise SeqImagingError(
            f"{path} could not be read as a PyTorch state dict: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise SeqImagingError(f"{path} is not a state dict of tensors (name → tensor)")
    return state


def _resolve_weights(weights: str | Path | WeightsEnum | None) -> dict | None:
    if weights is None:
        return None
    if isinstance(weights, WeightsEnum):
        return _cached_weights(weights)
    if isinstance(weights, str) and "_Weights." in weights:  # e.g. "ResNet18_Weights.DEFAULT"
        return _cached_weights(torchvision.models.get_weight(weights))
    return _load_state_dict(Path(weights))


class ResNetEncoder(nn.Module):
    """The ResNet-18/34 trunk (stem, ``layer1``, ``layer2``; 128 channels) of torchvision.

    The stride is lowered from the trunk's 8 by dropping, in turn, the max-pool (4), the
    stride of ``layer2`` (2) and the stride of the first conv (1).

    Args:
        arch: ``"resnet18"`` or ``"resnet34"``.
        in_channels: channels of a frame; the first conv is adapted to them
            (:func:`adapt_input_conv`).
        stride: output stride, 1, 2, 4 or 8.
        weights: ``None`` (random init), the path of a local torchvision ResNet state
            dict (``fc`` and ``layer3``/``layer4`` entries are ignored), or a torchvision
            weights enum member or its name, e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``,
            loaded from the torch hub cache only.

    Example:
        >>> encoder = ResNetEncoder("resnet18", in_channels=13, stride=8)
        >>> encoder(torch.zeros(2, 13, 64, 64)).shape
        torch.Size([2, 128, 8, 8])
    """

    out_channels = 128

    def __init__(
        self,
        arch: Literal["resnet18", "resnet34"] = "resnet18",
        in_channels: int = 3,
        *,
        stride: int = 8,
        weights: str | Path | WeightsEnum | None = None,
    ) -> None:
        super().__init__()
        halvings = _check_stride(stride)
        if arch not in ("resnet18", "resnet34"):
            raise SeqImagingError(f"arch must be 'resnet18' or 'resnet34', got {arch!r}")
        net = getattr(torchvision.models, arch)(weights=None)
        conv1_weight = net.conv1.weight.detach()
        state = _resolve_weights(weights)
        if state is not None:
            state = {k: v for k, v in state.items() if not k.startswith(_UNUSED)}
            conv1_weight = state.pop("conv1.weight", conv1_weight)
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.startswith((*_UNUSED, "conv1."))]
            if missing or unexpected:
                raise SeqImagingError(
                    f"weights {weights} are not a torchvision {arch}: missing {missing[:5]}, "
                    f"unexpected {unexpected[:5]}"
                )
        conv1 = nn.Conv2d(in_channels, 64, 7, stride=min(halvings, 1) + 1, padding=3, bias=False)
        with torch.no_grad():
            conv1.weight.copy_(adapt_input_conv(conv1_weight, in_channels))
        if halvings < 2:
            net.layer2[0].conv1.stride = (1, 1)
            net.layer2[0].downsample[0].stride = (1, 1)
        self.in_channels, self.stride = in_channels, stride
        self.body = nn.Sequential(
            conv1,
            net.bn1,
            net.relu,
            net.maxpool if halvings == 3 else nn.Identity(),
            net.layer1,
            net.layer2,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def build_encoder(
    name: EncoderName,
    in_channels: int,
    *,
    stride: int = 4,
    width: int = 32,
    weights: str | Path | WeightsEnum | None = None,
) -> nn.Module:
    """An encoder by name: ``"small"`` (:class:`ConvEncoder`), ``"resnet18"``, ``"resnet34"``."""
    if name == "small":
        if weights is not None:
            raise SeqImagingError("the 'small' encoder has no pretrained weights; use resnet18")
        return ConvEncoder(in_channels, stride=stride, width=width)
    if name in ("resnet18", "resnet34"):
        return ResNetEncoder(name, in_channels, stride=stride, weights=weights)
    raise SeqImagingError(f"unknown encoder {name!r}; expected 'small', 'resnet18' or 'resnet34'")


def encode_frames(encoder: nn.Module, frames: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Run ``encoder`` on every frame of ``[B, T, C, H, W]``, folding time into the batch.

    With ``lengths``, only the valid frames are encoded (padding costs nothing and cannot
    reach batch statistics); padded positions of the output are zero.
    """
    batch, steps = frames.shape[:2]
    if lengths is None or bool((lengths == steps).all()):
        features = encoder(frames.flatten(0, 1))
        return features.unflatten(0, (batch, steps))
    valid = torch.arange(steps, device=frames.device) < lengths.to(frames.device)[:, None]
    features = encoder(frames[valid])
    out = features.new_zeros(batch, steps, *features.shape[1:])
    out[valid] = features
    return out
