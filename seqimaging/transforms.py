"""Transforms of samples: callables on the sample dict, as torchgeo's and MONAI's dict
transforms, given to a dataset as ``transform=`` and applied to each sample it returns.

Domain transforms follow the same convention, e.g.
:class:`seqimaging.medical.CineAugmentation`.
"""

from collections.abc import Sequence
from typing import Any

import torch

from seqimaging.errors import ShapeError

IMAGE_KEYS = ("frames", "mask", "future", "future_mask")
"""The keys of a sample that are images ``[T, C, H, W]``."""


class RandomTurn:
    """One of the 8 flips and quarter turns, drawn from torch's global generator (seeded
    by ``lightning.seed_everything``), applied alike to every image of a sample.

    For data without a preferred orientation (rain moves in every direction; a heart is
    imaged at any in-plane angle), and square images (a quarter turn swaps height and
    width). It turns pixels only: a georeference in ``meta`` is not turned with them, so
    use it on training samples.

    Example:
        >>> sample = {"frames": torch.arange(4.0).reshape(1, 1, 2, 2)}
        >>> RandomTurn()(sample)["frames"].shape
        torch.Size([1, 1, 2, 2])
    """

    def __init__(self, keys: Sequence[str] = IMAGE_KEYS) -> None:
        self.keys = tuple(keys)

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        shapes = {tuple(sample[key].shape[-2:]) for key in self.keys if key in sample}
        if any(h != w for h, w in shapes):
            raise ShapeError(
                f"RandomTurn needs square images (a quarter turn swaps height and width); "
                f"got {sorted(shapes)}"
            )
        k, flip = int(torch.randint(4, ())), bool(torch.randint(2, ()))
        turned = {}
        for key in self.keys:
            if key in sample:
                image = torch.rot90(sample[key], k, dims=(-2, -1))
                turned[key] = image.flip(-1) if flip else image
        return sample | turned
