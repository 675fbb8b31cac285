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

VECTOR_KEYS = ("motion",)
"""The keys of a sample that are vector fields ``[2, H, W]``: x (column) and y (row)
components, as :mod:`seqimaging.models.advection`'s motion."""


class RandomTurn:
    """One of the 8 flips and quarter turns, drawn from torch's global generator (seeded
    by ``lightning.seed_everything``), applied alike to every image of a sample.

    For data without a preferred orientation (rain moves in every direction; a heart is
    imaged at any in-plane angle), and square images (a quarter turn swaps height and
    width). Vector fields (``vector_keys``) are turned as arrows: their pixels and their
    components. A georeference in ``meta`` is not turned, so use it on training samples.

    Example:
        >>> sample = {"frames": torch.arange(4.0).reshape(1, 1, 2, 2)}
        >>> RandomTurn()(sample)["frames"].shape
        torch.Size([1, 1, 2, 2])
    """

    def __init__(
        self, keys: Sequence[str] = IMAGE_KEYS, vector_keys: Sequence[str] = VECTOR_KEYS
    ) -> None:
        self.keys, self.vector_keys = tuple(keys), tuple(vector_keys)

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        keys = [key for key in (*self.keys, *self.vector_keys) if key in sample]
        shapes = {tuple(sample[key].shape[-2:]) for key in keys}
        if any(h != w for h, w in shapes):
            raise ShapeError(
                f"RandomTurn needs square images (a quarter turn swaps height and width); "
                f"got {sorted(shapes)}"
            )
        k, flip = int(torch.randint(4, ())), bool(torch.randint(2, ()))
        turned = {}
        for key in keys:
            image = torch.rot90(sample[key], k, dims=(-2, -1))
            turned[key] = image.flip(-1) if flip else image
        for key in set(keys) & set(self.vector_keys):
            turned[key] = _turn_arrows(turned[key], k, flip)
        return sample | turned


def _turn_arrows(field: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """The (x, y) components ``[2, H, W]`` of arrows turned by ``k`` quarter turns
    (``torch.rot90``: (x, y) → (y, −x) each) then mirrored left–right (x → −x)."""
    x, y = field[0], field[1]
    for _ in range(k):
        x, y = y, -x
    return torch.stack([-x if flip else x, y])
