"""Cardiac cine MRI: readers, datasets, transforms and phantoms.

- :func:`read_cine` reads a 4D NIfTI, a DICOM series folder or a multi-frame DICOM as an
  ``xarray.DataArray`` with dims ``("time", "z", "y", "x")``;
- :class:`ACDC`, :class:`MnMs`, :class:`Sunnybrook` and :class:`CineTable` are datasets of
  samples in the contract of :mod:`seqimaging.sample`, shaped by :class:`CineSampling`;
- :class:`CineWindows` and :func:`all_windows` cut the forecasting windows of gated cines
  (``context`` phases → the next ``horizon``, wrapping around the cycle) from each
  patient's slices (:func:`patient_cines`); :func:`heart_region` is where to score them;
- :mod:`seqimaging.medical.phantoms` writes ACDC-like beating-heart phantoms.

nibabel, pydicom and MONAI (the ``medical`` extra) are imported when first used.
"""

from seqimaging.medical.acdc import ACDC
from seqimaging.medical.base import CineDataset, CineRecord, known_classes
from seqimaging.medical.cine_windows import (
    CineWindows,
    all_windows,
    centre_crop,
    heart_region,
    patient_cines,
    window_phases,
)
from seqimaging.medical.mnms import MnMs
from seqimaging.medical.reader import read_cine
from seqimaging.medical.sampling import CineSampling
from seqimaging.medical.sunnybrook import Sunnybrook
from seqimaging.medical.table import CineTable
from seqimaging.medical.transforms import CineAugmentation

__all__ = [
    "ACDC",
    "CineAugmentation",
    "CineDataset",
    "CineRecord",
    "CineSampling",
    "CineTable",
    "CineWindows",
    "MnMs",
    "Sunnybrook",
    "all_windows",
    "centre_crop",
    "heart_region",
    "known_classes",
    "patient_cines",
    "read_cine",
    "window_phases",
]
