"""Frame encoders with the ResNet weights torchgeo publishes for Sentinel-2 and Landsat.

torchgeo's ResNet weights are timm state dicts, whose names (``conv1``, ``bn1``,
``layer1.0.conv1``, ...) are torchvision's, so :class:`ResNetEncoder` loads them with no
renaming; the first convolution keeps all of the product's bands (13 for Sentinel-2
MSI, 7 for Landsat OLI SR). The file is never downloaded here.
"""

from pathlib import Path
from typing import Any

import torch

from seqimaging._optional import require
from seqimaging.errors import WeightsNotFoundError
from seqimaging.models.encoders import ResNetEncoder


def torchgeo_encoder(
    weights: Any, path: str | Path | None = None, *, stride: int = 8
) -> ResNetEncoder:
    """A ResNet trunk with torchgeo-published weights from a local file.

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
