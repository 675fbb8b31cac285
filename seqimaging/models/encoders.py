"""Per-frame CNN encoders: ``[N, C, H, W]`` images → ``[N, C', ⌈H/s⌉, ⌈W/s⌉]`` feature maps.

Frames of a sequence are folded into the batch before an encoder sees them (see
:func:`encode_frames`), so an encoder is an ordinary 2-D CNN. The encoders by name, rows
of :data:`ENCODERS` (:func:`build_encoder`):

- ``"small"``, :class:`ConvEncoder`, built in, with GroupNorm: its output for one frame
  does not depend on the other frames of the batch, so padded frames, batch size and DDP
  sharding change nothing.
- ``"resnet18"``, ``"resnet34"``, :class:`ResNetEncoder`, the torchvision ResNet trunk up
  to ``layer2`` (128 channels), with optional pretrained weights from a local file or
  from torchvision's weights enum when its file is already in the torch hub cache;
  :func:`torchgeo_encoder` loads torchgeo's Sentinel-2 and Landsat weights into it.
  Nothing is downloaded.
- ``"resnet18_imagenet"``, ``"resnet50_imagenet"``, :class:`ImageNetResNet`, the whole
  ResNet to ``layer4`` (512 and 2048 channels, stride 32) on RGB frames in [0, 1],
  with ImageNet's normalisation inside: the frame CNN of the CNN → LSTM recipe for
  video, with torchvision's ImageNet weights from a local file or the hub cache.
- ``"identity"``: features computed beforehand (``[N, D, 1, 1]``, e.g. by
  :class:`~seqimaging.video.FeatureDataset`) pass through unchanged.

The first two take any number of input channels (1 for MRI, 13 for Sentinel-2) and a stride of 1,
2, 4 or 8. :class:`PatchEncoder` (space-to-depth, no weights) is the forecaster's
alternative to :class:`ConvEncoder`.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn
from torchvision.models import WeightsEnum

from seqimaging._optional import require
from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError, ShapeError, WeightsNotFoundError
from seqimaging.models.blocks import check_stride, conv_block

EncoderName = Literal[
    "small", "resnet18", "resnet34", "resnet18_imagenet", "resnet50_imagenet", "identity"
]
Weights = str | Path | WeightsEnum | None
"""Pretrained weights: none, a local state dict file, or a torchvision weights enum (name)."""
_UNUSED = ("fc.", "layer3.", "layer4.")  # parts of a ResNet the trunk does not keep


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
        halvings = check_stride(stride)
        self.in_channels, self.stride = in_channels, stride
        self.out_channels = width * 2**halvings
        layers = [conv_block(in_channels, width)]
        for i in range(halvings):
            c = width * 2**i
            layers += [conv_block(c, 2 * c, stride=2), conv_block(2 * c, 2 * c)]
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


def _resolve_weights(weights: Weights) -> dict | None:
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
        weights: Weights = None,
    ) -> None:
        super().__init__()
        halvings = check_stride(stride)
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


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""The RGB mean and standard deviation torchvision's ImageNet weights were trained with."""


class ImageNetResNet(nn.Module):
    """A whole torchvision ResNet to ``layer4`` (no pooling, no ``fc``) on RGB in [0, 1].

    ImageNet's normalisation (:data:`IMAGENET_MEAN`, :data:`IMAGENET_STD`) is applied
    inside, so frames go in as a video reader gives them; the output stride is 32.

    Args:
        arch: ``"resnet18"`` (512 channels) or ``"resnet50"`` (2048).
        weights: ``None`` (random init), the path of a local torchvision state dict (e.g.
            ``resnet18-f37072fd.pth``; ``fc`` entries are ignored), or a weights enum
            member or its name (``"ResNet18_Weights.IMAGENET1K_V1"``), from the torch hub
            cache only.

    Example:
        >>> encoder = ImageNetResNet("resnet18")
        >>> encoder(torch.rand(2, 3, 64, 96)).shape, encoder.out_channels
        (torch.Size([2, 512, 2, 3]), 512)
    """

    in_channels, stride = 3, 32

    def __init__(
        self, arch: Literal["resnet18", "resnet50"] = "resnet18", *, weights: Weights = None
    ) -> None:
        super().__init__()
        if arch not in ("resnet18", "resnet50"):
            raise SeqImagingError(f"arch must be 'resnet18' or 'resnet50', got {arch!r}")
        net = getattr(torchvision.models, arch)(weights=None)
        state = _resolve_weights(weights)
        if state is not None:
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            mismatch = {
                k for k, v in net.state_dict().items() if k in state and v.shape != state[k].shape
            }
            missing, unexpected = (
                net.load_state_dict(state, strict=False) if not mismatch else ([], [])
            )
            missing = [k for k in missing if not k.startswith("fc.")]
            if missing or unexpected or mismatch:
                raise SeqImagingError(
                    f"weights {weights} are not a torchvision {arch}: missing {missing[:5]}, "
                    f"unexpected {unexpected[:5]}, of another shape {sorted(mismatch)[:5]}"
                )
        self.out_channels = net.fc.in_features
        self.body = nn.Sequential(*list(net.children())[:-2])  # to layer4
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[:, None, None])
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[:, None, None])

    def forward(self, x: Tensor) -> Tensor:
        return self.body((x - self.mean) / self.std)


class Precomputed(nn.Module):
    """Features computed beforehand, ``[N, D, 1, 1]``, passed through unchanged (any
    ``stride`` asked of it is that of the encoder that computed them)."""

    def __init__(self, in_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.in_channels = self.out_channels = in_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.in_channels:
            raise ShapeError(
                f"features of {x.shape[1]} channels where {self.in_channels} were expected"
            )
        return x


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


def torchgeo_encoder(
    weights: Any, path: str | Path | None = None, *, stride: int = 8
) -> ResNetEncoder:
    """A ResNet trunk with torchgeo-published weights (Sentinel-2, Landsat) from a local file.

    torchgeo's ResNet weights are timm state dicts, whose names (``conv1``, ``bn1``,
    ``layer1.0.conv1``, ...) are torchvision's, so :class:`ResNetEncoder` loads them with
    no renaming; the first convolution keeps all of the product's bands (13 for
    Sentinel-2 MSI, 7 for Landsat OLI SR). The file is never downloaded here.

    Args:
        weights: a torchgeo weights enum member or its name, e.g.
            ``"ResNet18_Weights.SENTINEL2_ALL_MOCO"``; its metadata give the architecture
            and band count, and ``weights.transforms`` the input scaling (Sentinel-2 MoCo:
            DN / 10000; see ``weights.meta["bands"]`` for the band order).
        path: the downloaded state dict; default the torch hub cache path of
            ``weights.url`` (where ``torchgeo`` itself would save it).
        stride: the encoder's output stride.

    Raises:
        WeightsNotFoundError: no file at ``path``; the message gives the URL to fetch.

    Example:
        >>> torchgeo_encoder("ResNet18_Weights.SENTINEL2_ALL_MOCO", "missing.pth")
        Traceback (most recent call last):
        ...
        seqimaging.errors.WeightsNotFoundError: missing.pth does not exist; ...
    """
    models = require("torchgeo.models", extra="geo")
    if isinstance(weights, str):
        weights = models.get_weight(weights)
    default = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    path = Path(path) if path is not None else default
    if not path.is_file():
        raise WeightsNotFoundError(
            f"{path} does not exist; download {weights.url} there (torchgeo's {weights}) "
            f"and pass its path"
        )
    meta = weights.meta
    return ResNetEncoder(meta["model"], meta["in_chans"], stride=stride, weights=path)


def _small(in_channels: int, *, stride: int, width: int, weights: Weights) -> ConvEncoder:
    if weights is not None:
        raise SeqImagingError("the 'small' encoder has no pretrained weights; use resnet18")
    return ConvEncoder(in_channels, stride=stride, width=width)


def _resnet(arch: Literal["resnet18", "resnet34"]) -> Callable[..., ResNetEncoder]:
    def build(in_channels: int, *, stride: int, width: int, weights: Weights) -> ResNetEncoder:
        return ResNetEncoder(arch, in_channels, stride=stride, weights=weights)  # no width

    return build


def _imagenet(arch: Literal["resnet18", "resnet50"]) -> Callable[..., ImageNetResNet]:
    def build(in_channels: int, *, stride: int, width: int, weights: Weights) -> ImageNetResNet:
        if in_channels != 3 or stride != 32:
            raise SeqImagingError(
                f"the {arch}_imagenet encoder reads RGB (in_channels=3) at stride 32; got "
                f"in_channels={in_channels}, stride={stride}"
            )
        return ImageNetResNet(arch, weights=weights)

    return build


def _precomputed(in_channels: int, *, stride: int, width: int, weights: Weights) -> Precomputed:
    if weights is not None:
        raise SeqImagingError("the 'identity' encoder has no weights: its input is features")
    return Precomputed(in_channels, stride)


ENCODERS: Choices[Callable[..., nn.Module]] = Choices(
    "encoder",
    {
        "small": _small,
        "resnet18": _resnet("resnet18"),
        "resnet34": _resnet("resnet34"),
        "resnet18_imagenet": _imagenet("resnet18"),
        "resnet50_imagenet": _imagenet("resnet50"),
        "identity": _precomputed,
    },
)
"""Encoder builders by name, each called as ``(in_channels, *, stride, width, weights)``."""


def build_encoder(
    name: EncoderName,
    in_channels: int,
    *,
    stride: int = 4,
    width: int = 32,
    weights: Weights = None,
) -> nn.Module:
    """The encoder ``name``, a row of :data:`ENCODERS`.

    ``"small"`` is :class:`ConvEncoder` (``width`` channels in its stem; no ``weights``),
    ``"resnet18"`` and ``"resnet34"`` are :class:`ResNetEncoder` (``width`` unused),
    ``"resnet18_imagenet"`` and ``"resnet50_imagenet"`` :class:`ImageNetResNet` (RGB,
    ``stride=32`` only), ``"identity"`` :class:`Precomputed` (``stride``, ``width`` unused).
    """
    return ENCODERS[name](in_channels, stride=stride, width=width, weights=weights)


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
