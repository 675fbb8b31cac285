"""``read_cine``: one entry point for the cine file formats."""

from pathlib import Path

import xarray as xr

from seqimaging.errors import DataError
from seqimaging.medical.dicom import read_dicom_multiframe, read_dicom_series
from seqimaging.medical.nifti import read_nifti_cine

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def read_cine(path: str | Path) -> xr.DataArray:
    """Read a cardiac cine as a cube with dims ``("time", "z", "y", "x")``.

    Accepts a 4D NIfTI ``(x, y, z, t)`` (``.nii`` or ``.nii.gz``; voxels load lazily, on
    first access), a folder holding one DICOM series of several slices x phases, or an
    enhanced (multi-frame) DICOM file. The cube's ``x`` is the image column and ``y`` the
    row, as in nibabel's array; ``z`` runs along the slice normal.

    The ``time`` coordinate is in ms: the trigger times of a DICOM cine (averaged over
    slices), or ``pixdim[4]`` steps from 0 for a NIfTI. Attributes: ``spacing`` (z, y, x in
    mm), ``affine`` (4 x 4, voxel ``(x, y, z)`` to RAS+ mm, as nibabel gives it),
    ``frame_interval_ms`` (NaN where the header does not say) and ``source``. Voxels are
    float32, with any rescale slope and intercept applied. Nothing is written.

    Raises:
        DataError: a missing path, an empty folder, a file that is not NIfTI or DICOM,
            a 3-D image, unequal phase counts per slice, and other malformed input; the
            message names the file.

    Example:
        >>> cube = read_cine("tests/data/sunnybrook/SCD0000101_cine.nii.gz")
        >>> dict(cube.sizes)
        {'time': 20, 'z': 3, 'y': 64, 'x': 64}
    """
    path = Path(path)
    if path.is_dir():
        return read_dicom_series(path)
    if not path.is_file():
        raise DataError(
            f"{path}: no such file or folder; expected a 4D NIfTI, a DICOM series folder or a "
            f"multi-frame DICOM"
        )
    if path.name.lower().endswith(NIFTI_SUFFIXES):
        return read_nifti_cine(path)
    return read_dicom_multiframe(path)
