"""Tests of seqimaging.models.encoders.

References: torchvision's own ResNet (random weights, saved to a file and loaded back),
output sizes computed as ⌈H/stride⌉, and the encoder run on each valid frame alone.
"""

import copy
import io
import math
import re
import socket
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models import ResNet18_Weights

from seqimaging.errors import SeqImagingError, ShapeError, WeightsNotFoundError
from seqimaging.models.blocks import STRIDES
from seqimaging.models.encoders import (
    ConvEncoder,
    ImageNetResNet,
    ResNetEncoder,
    adapt_input_conv,
    build_encoder,
    encode_frames,
)

DOUBLE = {"atol": 1e-10, "rtol": 1e-8}
# An adapted first conv is stored in float32 before the model is made float64: its sums
# and quotients of float64 filters round at float32 precision.
ADAPTED = {"atol": 1e-6, "rtol": 1e-5}


@pytest.fixture(autouse=True)
def _no_download(monkeypatch):
    """Any attempt to download weights, or to reach the network at all, fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


# --------------------------------------------------------------------------- helpers


def _random_resnet(arch: str, seed: int) -> nn.Module:
    """A torchvision ResNet with random weights and random batch-norm statistics.

    Random statistics and affine parameters make a wrong or missed batch-norm entry show.
    """
    torch.manual_seed(seed)
    net = getattr(torchvision.models, arch)(weights=None)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return net


def _trunk(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's own forward up to ``layer2``."""
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer2(net.layer1(x))


_TRUNK = ("conv1.", "bn1.", "layer1.", "layer2.")


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("weights")


def _save(net: nn.Module, path: Path, whole: bool = False) -> tuple[nn.Module, Path]:
    """Save the state dict of ``net``: whole, or its trunk entries only (a smaller file)."""
    state = net.state_dict()
    torch.save(state if whole else {k: v for k, v in state.items() if k.startswith(_TRUNK)}, path)
    return net, path


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    return _random_resnet("resnet18", seed=0).double().eval()


@pytest.fixture(scope="module")
def resnet18_file(resnet18, weights_dir) -> tuple[nn.Module, Path]:
    return _save(resnet18, weights_dir / "resnet18-trunk.pth")


@pytest.fixture(scope="module")
def resnet18_whole_file(resnet18, weights_dir) -> tuple[nn.Module, Path]:
    """The whole state dict, ``layer3``, ``layer4`` and ``fc`` too, as torchvision saves it."""
    return _save(resnet18, weights_dir / "resnet18.pth", whole=True)


@pytest.fixture(scope="module")
def resnet34_file(weights_dir) -> tuple[nn.Module, Path]:
    return _save(_random_resnet("resnet34", seed=1).double().eval(), weights_dir / "r34.pth")


def _size(n: int, stride: int) -> int:
    return math.ceil(n / stride)


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("size", [(13, 11), (1, 3), (17, 9)])
def test_conv_encoder_output_size(stride, size):
    encoder = ConvEncoder(3, stride=stride, width=4)
    out = encoder(torch.randn(2, 3, *size))
    expected_channels = 4 * stride  # width · 2**halvings
    assert encoder.out_channels == expected_channels
    assert (encoder.in_channels, encoder.stride) == (3, stride)
    assert out.shape == (2, expected_channels, _size(size[0], stride), _size(size[1], stride))


@pytest.mark.parametrize("stride", STRIDES)
def test_resnet_encoder_output_size(stride):
    encoder = ResNetEncoder("resnet18", 2, stride=stride)
    out = encoder(torch.randn(1, 2, 13, 11))
    assert encoder.out_channels == 128
    assert (encoder.in_channels, encoder.stride) == (2, stride)
    assert out.shape == (1, 128, _size(13, stride), _size(11, stride))


@pytest.mark.parametrize("stride", [0, 3, 16])
def test_bad_stride_raises(stride):
    with pytest.raises(ShapeError, match=str(stride)):
        ConvEncoder(1, stride=stride)
    with pytest.raises(ShapeError, match=str(stride)):
        ResNetEncoder("resnet18", 1, stride=stride)


def test_build_encoder_names():
    assert isinstance(build_encoder("small", 2, stride=2, width=4), ConvEncoder)
    assert isinstance(build_encoder("resnet18", 2, stride=2), ResNetEncoder)
    resnet34 = build_encoder("resnet34", 2)  # stride 4: layer2 halves, no max-pool
    assert isinstance(resnet34, ResNetEncoder) and len(resnet34.body[4]) == 3  # 18's has 2
    assert resnet34.body[5][0].conv1.stride == (2, 2)
    with pytest.raises(SeqImagingError, match="'resnet50'"):
        build_encoder("resnet50", 2)
    with pytest.raises(SeqImagingError, match="small"):
        build_encoder("small", 2, weights="some.pth")
    with pytest.raises(SeqImagingError, match="'resnet50'"):
        ResNetEncoder("resnet50", 2)


# --------------------------------------------------------------------------- torchvision


@pytest.mark.parametrize("arch", ["resnet18", "resnet34"])
def test_resnet_matches_torchvision(arch, request):
    net, path = request.getfixturevalue(
        f"{arch}_whole_file" if arch == "resnet18" else f"{arch}_file"
    )
    encoder = ResNetEncoder(arch, 3, stride=8, weights=path).double().eval()
    x = torch.randn(2, 3, 29, 23, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), _trunk(net, x), **DOUBLE)


def test_resnet_grey_equals_rgb_on_repeated_image(resnet18_file):
    net, path = resnet18_file
    encoder = ResNetEncoder("resnet18", 1, stride=8, weights=path).double().eval()
    grey = torch.randn(2, 1, 21, 19, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(encoder(grey), _trunk(net, grey.repeat(1, 3, 1, 1)), **ADAPTED)


@pytest.mark.parametrize("channels", [2, 4, 12, 13])
def test_resnet_constant_image_response_kept(resnet18_file, channels):
    """A constant image of any channel count gives the RGB model's response to it."""
    net, path = resnet18_file
    encoder = ResNetEncoder("resnet18", channels, stride=8, weights=path).double().eval()
    value = 0.7
    with torch.no_grad():
        ours = encoder(torch.full((1, channels, 17, 15), value, dtype=torch.float64))
        rgb = _trunk(net, torch.full((1, 3, 17, 15), value, dtype=torch.float64))
    torch.testing.assert_close(ours, rgb, **ADAPTED)


def test_adapt_input_conv_is_timm_recipe_for_multiples_of_three():
    """For 3·k channels, the filters are timm's: RGB repeated, scaled by 3 / channels."""
    weight = torch.randn(8, 3, 7, 7, dtype=torch.float64)
    adapted = adapt_input_conv(weight, 6)
    torch.testing.assert_close(adapted, torch.cat([weight, weight], 1) * 0.5, **DOUBLE)
    assert adapt_input_conv(weight, 3) is weight
    with pytest.raises(ShapeError, match="4 channels"):
        adapt_input_conv(torch.randn(8, 4, 7, 7), 2)


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_resnet_lower_strides_keep_the_weights(resnet18_file, stride):
    """A lower stride changes strides only: torchvision's trunk without the max-pool, the
    first conv at stride 2 (1 for stride 1) and layer2 at stride 2 (1 below stride 4)."""
    net, path = resnet18_file
    encoder = ResNetEncoder("resnet18", 3, stride=stride, weights=path).double().eval()
    x = torch.randn(1, 3, 11, 9, dtype=torch.float64)
    conv1 = nn.Conv2d(3, 64, 7, stride=1 if stride == 1 else 2, padding=3, bias=False).double()
    conv1.load_state_dict(net.conv1.state_dict())
    layer2 = _copy_layer2(net, stride=2 if stride == 4 else 1)
    with torch.no_grad():
        expected = layer2(net.layer1(net.relu(net.bn1(conv1(x)))))
        torch.testing.assert_close(encoder(x), expected, **DOUBLE)


def _copy_layer2(net: nn.Module, stride: int) -> nn.Module:
    layer2 = copy.deepcopy(net.layer2)
    layer2[0].conv1.stride = (stride, stride)
    layer2[0].downsample[0].stride = (stride, stride)
    return layer2


# --------------------------------------------------------------------------- weights


def test_weights_enum_not_cached_raises_without_download(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    expected = tmp_path / "checkpoints" / Path(ResNet18_Weights.IMAGENET1K_V1.url).name
    with pytest.raises(WeightsNotFoundError) as info:
        ResNetEncoder("resnet18", 3, weights=ResNet18_Weights.IMAGENET1K_V1)
    assert str(expected) in str(info.value)
    with pytest.raises(WeightsNotFoundError, match=re.escape(str(expected))):
        ResNetEncoder("resnet18", 3, weights="ResNet18_Weights.IMAGENET1K_V1")


def test_weights_enum_loads_the_cached_file(monkeypatch, tmp_path, resnet18_whole_file):
    net, path = resnet18_whole_file
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    cached = tmp_path / "checkpoints" / Path(ResNet18_Weights.IMAGENET1K_V1.url).name
    cached.parent.mkdir()
    cached.symlink_to(path)
    x = torch.randn(1, 3, 15, 13, dtype=torch.float64)
    for weights in (ResNet18_Weights.IMAGENET1K_V1, "ResNet18_Weights.IMAGENET1K_V1"):
        encoder = ResNetEncoder("resnet18", 3, weights=weights).double().eval()
        with torch.no_grad():
            torch.testing.assert_close(encoder(x), _trunk(net, x), **DOUBLE)


def test_missing_weights_file_raises(tmp_path):
    path = tmp_path / "nowhere.pth"
    with pytest.raises(WeightsNotFoundError, match=re.escape(str(path))):
        ResNetEncoder("resnet18", 3, weights=path)
    with pytest.raises(WeightsNotFoundError, match=re.escape(str(path))):
        build_encoder("resnet18", 3, weights=str(path))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda p: torch.save([torch.zeros(1)], p), id="list"),
        pytest.param(lambda p: torch.save({"a": 1}, p), id="dict-of-int"),
        pytest.param(lambda p: p.write_text("not a checkpoint"), id="text"),
        pytest.param(lambda p: p.write_bytes(_truncated_checkpoint()), id="truncated"),
    ],
)
def test_file_that_is_not_a_state_dict_raises(tmp_path, content):
    path = tmp_path / "weights.pth"
    content(path)
    with pytest.raises(SeqImagingError, match=re.escape(str(path))):
        ResNetEncoder("resnet18", 3, weights=path)


def _truncated_checkpoint() -> bytes:
    buffer = io.BytesIO()
    torch.save({"conv1.weight": torch.zeros(4, 3, 7, 7)}, buffer)
    return buffer.getvalue()[:200]


@pytest.mark.parametrize(
    ("arch", "file_arch"), [("resnet18", "resnet34"), ("resnet34", "resnet18")]
)
def test_weights_of_another_arch_raise(request, arch, file_arch):
    """A ResNet-34 file in a ResNet-18 (extra blocks) or the reverse (missing blocks)."""
    _, path = request.getfixturevalue(f"{file_arch}_file")
    with pytest.raises(SeqImagingError, match=f"not a torchvision {arch}"):
        ResNetEncoder(arch, 3, weights=path)


# --------------------------------------------------------------------------- encode_frames


def test_encode_frames_with_lengths_is_per_frame():
    torch.manual_seed(0)
    encoder = ConvEncoder(2, stride=2, width=4).double()
    frames = torch.randn(3, 4, 2, 9, 7, dtype=torch.float64)
    lengths = torch.tensor([4, 1, 3])
    seen = []
    encoder.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    frames[1, 1:] = float("nan")  # padding: must never reach the encoder
    frames[2, 3:] = float("nan")
    out = encode_frames(encoder, frames, lengths)
    assert seen == [int(lengths.sum())]  # the padded frames are not encoded
    assert out.shape == (3, 4, 8, 5, 4)
    for b, length in enumerate(lengths.tolist()):
        for t in range(4):
            if t < length:
                expected = encoder(frames[b, t][None])[0]
                torch.testing.assert_close(out[b, t], expected, **DOUBLE)
            else:
                assert torch.equal(out[b, t], torch.zeros_like(out[b, t]))


def test_encode_frames_without_lengths_is_per_frame():
    encoder = ConvEncoder(1, stride=4, width=4).double()
    frames = torch.randn(2, 3, 1, 7, 5, dtype=torch.float64)
    for lengths in (None, torch.tensor([3, 3])):
        out = encode_frames(encoder, frames, lengths)
        expected = torch.stack([torch.stack([encoder(f[None])[0] for f in seq]) for seq in frames])
        torch.testing.assert_close(out, expected, **DOUBLE)


# --------------------------------------------------------------------------- whole ImageNet ResNets


@pytest.mark.parametrize("arch, channels", [("resnet18", 512), ("resnet50", 2048)])
def test_imagenet_resnet_is_torchvision_to_its_pooled_features(arch, channels, weights_dir):
    net, path = _save(
        _random_resnet(arch, seed=2).double().eval(), weights_dir / f"{arch}.pth", True
    )
    encoder = ImageNetResNet(arch, weights=path).double().eval()
    assert encoder.out_channels == channels
    rgb = torch.rand(2, 3, 70, 90, dtype=torch.float64)
    # torchvision's constants, held in float32 like every buffer made before .double()
    mean = torch.tensor([0.485, 0.456, 0.406]).double()[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225]).double()[:, None, None]
    net.fc = nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(encoder(rgb).mean(dim=(2, 3)), net((rgb - mean) / std), **DOUBLE)
    assert encoder(rgb).shape[2:] == (3, 3)  # stride 32, rounded up


def test_imagenet_resnet_rows_and_their_limits(resnet18_whole_file):
    _, path = resnet18_whole_file
    assert isinstance(
        build_encoder("resnet18_imagenet", 3, stride=32, weights=path), ImageNetResNet
    )
    with pytest.raises(SeqImagingError, match=r"RGB \(in_channels=3\) at stride 32"):
        build_encoder("resnet18_imagenet", 1, stride=32)
    with pytest.raises(SeqImagingError, match=r"RGB \(in_channels=3\) at stride 32"):
        build_encoder("resnet50_imagenet", 3, stride=8)
    with pytest.raises(SeqImagingError, match="not a torchvision resnet50"):
        ImageNetResNet("resnet50", weights=path)


def test_precomputed_features_pass_through():
    encoder = build_encoder("identity", 7, stride=32)
    features = torch.randn(4, 7, 1, 1)
    assert encoder(features) is features and encoder.stride == 32
    with pytest.raises(ShapeError, match="features of 5 channels where 7 were expected"):
        encoder(torch.randn(4, 5, 1, 1))
    with pytest.raises(SeqImagingError, match="no weights"):
        build_encoder("identity", 7, weights="w.pth")
