"""torchgeo's timm ResNet state dicts load into our encoder unchanged, from a local file."""

import pytest
import timm
import torch

from seqimaging.errors import SeqImagingError, WeightsNotFoundError
from seqimaging.models import torchgeo_encoder


def _timm_resnet(in_chans: int, path) -> torch.nn.Module:
    """A randomly initialised timm ResNet-18 as torchgeo builds it, saved like its weights."""
    torch.manual_seed(0)
    model = timm.create_model("resnet18", in_chans=in_chans, num_classes=0).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):  # non-trivial statistics
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    torch.save(model.state_dict(), path)
    return model


@pytest.mark.parametrize(
    ("weights", "bands"),
    [("ResNet18_Weights.SENTINEL2_ALL_MOCO", 13), ("ResNet18_Weights.LANDSAT_OLI_SR_MOCO", 7)],
)
def test_encoder_equals_the_timm_trunk(tmp_path, weights, bands):
    reference = _timm_resnet(bands, tmp_path / "weights.pth")
    encoder = torchgeo_encoder(weights, tmp_path / "weights.pth").eval()
    x = torch.randn(2, bands, 64, 64)
    with torch.no_grad():
        stem = reference.maxpool(reference.act1(reference.bn1(reference.conv1(x))))
        expected = reference.layer2(reference.layer1(stem))
        torch.testing.assert_close(encoder(x), expected, rtol=0, atol=1e-6)


def test_missing_file_and_wrong_band_count(tmp_path):
    with pytest.raises(WeightsNotFoundError, match=r"nothing\.pth does not exist; download https"):
        torchgeo_encoder("ResNet18_Weights.SENTINEL2_ALL_MOCO", tmp_path / "nothing.pth")
    _timm_resnet(13, tmp_path / "s2.pth")
    with pytest.raises(SeqImagingError, match="13 channels to 7"):
        torchgeo_encoder("ResNet18_Weights.LANDSAT_OLI_SR_MOCO", tmp_path / "s2.pth")
