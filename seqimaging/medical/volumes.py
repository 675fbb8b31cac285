"""Left-ventricular ejection fraction from ground-truth segmentation masks."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqimaging._optional import require


def lv_ejection_fraction(ed: np.ndarray, es: np.ndarray) -> float | None:
    """EF in % from LV masks at end-diastole and end-systole: ``100 · (EDV − ESV) / EDV``.

    Volumes are voxel counts (the voxel volume cancels); ``None`` for an empty ED mask.

    Example:
        >>> lv_ejection_fraction(np.ones((4, 4), bool), np.eye(4, dtype=bool))
        75.0
    """
    edv = np.count_nonzero(ed)
    return float(100.0 * (edv - np.count_nonzero(es)) / edv) if edv else None


def read_mask(path: Path, frames: Sequence[int] | None = None) -> np.ndarray:
    """The label volume of a NIfTI segmentation (nibabel, the ``medical`` extra); with
    ``frames``, only those indices of its last (time) axis, stacked first, read lazily."""
    labels = require("nibabel", extra="medical").load(path).dataobj
    if frames is None:
        return np.asarray(labels)
    return np.stack([np.asarray(labels[..., t]) for t in frames])
