"""Left-ventricular ejection fraction from ground-truth segmentation masks, and the masks
at end-diastole and end-systole in one labelling (:class:`PhaseMasks`)."""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from seqimaging._optional import require
from seqimaging.errors import DataError

LABELS = ("background", "LV", "MYO", "RV")
"""The labelling of :class:`PhaseMasks`: 1 LV cavity, 2 LV myocardium, 3 RV cavity."""


class PhaseMasks(NamedTuple):
    """A patient's ground-truth masks at end-diastole and end-systole.

    Attributes:
        ed: the label volume at ED, axes ``(z, y, x)`` as the cine cubes' (slices, rows,
            columns), labels :data:`LABELS`.
        es: the label volume at ES, likewise.
        spacing: voxel size ``(z, y, x)`` in mm.
        source: the patient (or file), for error messages.
    """

    ed: np.ndarray
    es: np.ndarray
    spacing: tuple[float, float, float]
    source: str = ""

    def lv_ejection_fraction(self) -> float | None:
        """The LV EF in % of these masks (:func:`lv_ejection_fraction`)."""
        lv = LABELS.index("LV")
        return lv_ejection_fraction(self.ed == lv, self.es == lv)


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


def read_labels(
    path: Path, names: Sequence[str], frames: Sequence[int] | None = None
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """A NIfTI segmentation relabelled to :data:`LABELS`, and its voxel size.

    Args:
        path: a 3D mask ``(x, y, z)``, or a 4D one ``(x, y, z, t)`` with ``frames``.
        names: the structure of each label value of the file (``names[0]`` is the
            background), all in :data:`LABELS`.
        frames: indices of the time axis to read.

    Returns:
        The volume ``(z, y, x)`` (with ``frames``, stacked ``(frame, z, y, x)``), uint8, and
        the voxel size ``(z, y, x)`` in mm from the header.

    Raises:
        DataError: not 3-D once ``frames`` are taken, a voxel size that is not a positive
            number, or label values that are not integers ``0 .. len(names) - 1``.
    """
    zooms = require("nibabel", extra="medical").load(path).header.get_zooms()[:3]
    spacing = tuple(abs(float(z)) for z in reversed(zooms))
    if len(spacing) != 3 or not all(s > 0 and math.isfinite(s) for s in spacing):
        raise DataError(f"{path}: voxel size {zooms} mm; expected three positive numbers")
    volume = read_mask(path, frames)
    if volume.ndim != 3 + (frames is not None):
        raise DataError(
            f"{path}: has shape {volume.shape} after taking frames {frames}; expected a 3-D "
            f"mask (x, y, z) per frame"
        )
    codes = volume.astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= len(names) or (codes != volume).any()):
        found = np.unique(volume)[:10].tolist()
        raise DataError(
            f"{path}: label values {found}; expected integers 0..{len(names) - 1} "
            f"({', '.join(names)})"
        )
    relabel = np.array([LABELS.index(name) for name in names], np.uint8)
    return relabel[codes].swapaxes(-1, -3), spacing  # (..., x, y, z) to (..., z, y, x)
