"""4D NIfTI cine, read lazily through nibabel's array proxy."""

import zlib
from pathlib import Path

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from seqimaging._optional import require
from seqimaging.errors import DataError
from seqimaging.medical.cube import cine_cube

_TIME_TO_MS = {"sec": 1000.0, "msec": 1.0, "usec": 1e-3}
_SPACE_TO_MM = {"meter": 1000.0, "mm": 1.0, "micron": 1e-3, "unknown": 1.0}
_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error)


class _NiftiArray(BackendArray):
    """The voxels of a 4D NIfTI ``(x, y, z, t)``, indexed ``[t, z, y, x]``, read on access."""

    def __init__(self, proxy, path: Path) -> None:
        self.proxy = proxy
        self.path = path
        self.shape = tuple(reversed(proxy.shape))
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple) -> np.ndarray:
        try:
            # proxy axes are (x, y, z, t); the kept ones come back in that order, so a full
            # transpose puts them in (t, z, y, x) order
            block = self.proxy[tuple(reversed(key))]
        except _READ_ERRORS as err:
            raise DataError(
                f"{self.path}: the voxel data cannot be read ({type(err).__name__}: {err}); "
                f"expected a complete NIfTI file (a truncated download or copy?)"
            ) from err
        return np.asarray(block, dtype=np.float32).transpose()


def read_nifti_cine(path: Path) -> xr.DataArray:
    """Read a 4D NIfTI ``(x, y, z, t)`` as a lazy cine cube; voxels load on first access.

    The frame interval is ``pixdim[4]`` in the header's time unit; where that unit is
    unknown the interval and the ``time`` coordinate are NaN. Spatial units default to mm.

    Raises:
        DataError: unreadable header, or not 4-D.
    """
    nib = require("nibabel", extra="medical")
    try:
        image = nib.load(path)
    except (*_READ_ERRORS, nib.filebasedimages.ImageFileError) as err:
        raise DataError(
            f"{path}: cannot be read as NIfTI ({type(err).__name__}: {err}); expected a "
            f"4D NIfTI file (.nii or .nii.gz)"
        ) from err
    shape = image.shape
    if len(shape) != 4:
        raise DataError(
            f"{path}: is {len(shape)}-D with shape {shape}; expected a 4-D cine (x, y, z, t), "
            f"e.g. ACDC's patientNNN_4d.nii.gz rather than a single-frame patientNNN_frameMM file"
        )
    space_unit, time_unit = image.header.get_xyzt_units()
    zooms = [float(z) for z in image.header.get_zooms()]
    mm = _SPACE_TO_MM[space_unit]
    interval = zooms[3] * _TIME_TO_MS.get(time_unit, np.nan)
    return cine_cube(
        indexing.LazilyIndexedArray(_NiftiArray(image.dataobj, Path(path))),
        times_ms=np.arange(shape[3]) * interval,
        spacing=(zooms[2] * mm, zooms[1] * mm, zooms[0] * mm),
        affine=image.affine,
        frame_interval_ms=interval,
        source=Path(path),
    )
