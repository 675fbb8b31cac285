"""Cardiac cine MRI: readers, datasets, transforms and phantoms.

- :func:`read_cine` reads a 4D NIfTI, a DICOM series folder or a multi-frame DICOM as an
  ``xarray.DataArray`` with dims ``("time", "z", "y", "x")``;
- :class:`ACDC`, :class:`MnMs`, :class:`Sunnybrook` and :class:`CineTable` are datasets of
  samples in the contract of :mod:`seqimaging.sample`, shaped by :class:`CineSampling`;
- :mod:`seqimaging.medical.phantoms` writes ACDC-like beating-heart phantoms.

nibabel, pydicom and MONAI (the ``medical`` extra) are imported when first used.
"""

from seqimaging.medical.acdc import ACDC
from seqimaging.medical.base import CineDataset, CineRecord
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
    "MnMs",
    "Sunnybrook",
    "read_cine",
]
