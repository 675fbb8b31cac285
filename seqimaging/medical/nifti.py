"""4D NIfTI cine, read lazily through nibabel's array proxy."""

import math
import zlib
from pathlib import Path

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from seqimaging._optional import require
from seqimaging.errors import DataError
from seqimaging.medical.cube import check_geometry, check_interval, cine_cube

_TIME_TO_MS = {"sec": 1000.0, "msec": 1.0, "usec": 1e-3}
_SPACE_TO_MM = {"meter": 1000.0, "mm": 1.0, "micron": 1e-3, "unknown": 1.0}
_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error)
_MAX_GZIP_RATIO = 1100  # deflate cannot expand more than about 1032:1


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
    unknown, or ``pixdim[4]`` is not a positive finite number, the interval and the
    ``time`` coordinate are NaN. Spatial units default to mm; negative ``pixdim[1:4]`` are
    taken as their magnitude, as nibabel does.

    Raises:
        DataError: unreadable header; undefined units; not 4-D; an empty or negative
            dimension; complex or RGB voxels; more voxel bytes claimed than the file can
            hold; sizes beyond :data:`~seqimaging.medical.cube.MAX_AXIS` or
            :data:`~seqimaging.medical.cube.MAX_VOXELS`; voxel sizes outside
            :data:`~seqimaging.medical.cube.SPACING_MM` or a known interval outside
            :data:`~seqimaging.medical.cube.INTERVAL_MS` (all checked before allocating).
    """
    nib = require("nibabel", extra="medical")
    path = Path(path)
    try:
        image = nib.load(path)
        with nib.openers.ImageOpener(path) as f:  # the header as written, before nibabel's fixes
            pixdim = type(image.header).from_fileobj(f, check=False)["pixdim"][1:4]
    except (
        *_READ_ERRORS,
        nib.filebasedimages.ImageFileError,
        nib.spatialimages.HeaderDataError,
    ) as err:
        raise DataError(
            f"{path}: cannot be read as NIfTI ({type(err).__name__}: {err}); expected a "
            f"4D NIfTI file (.nii or .nii.gz)"
        ) from err
    _check_header(image, path)
    try:
        space_unit, time_unit = image.header.get_xyzt_units()
    except KeyError as err:
        raise DataError(
            f"{path}: xyzt_units code {int(image.header['xyzt_units'])} is not a NIfTI unit "
            f"code; expected space and time units the standard defines"
        ) from err
    spacing = tuple(float(abs(p)) * _SPACE_TO_MM[space_unit] for p in reversed(pixdim))
    interval = float(image.header.get_zooms()[3]) * _TIME_TO_MS.get(time_unit, np.nan)
    if not interval > 0 or not math.isfinite(interval):
        interval = np.nan
    shape = image.shape
    check_geometry(tuple(reversed(shape)), spacing, path)
    if not math.isnan(interval):
        check_interval(interval, path)
    return cine_cube(
        indexing.LazilyIndexedArray(_NiftiArray(image.dataobj, path)),
        times_ms=np.arange(shape[3]) * interval,
        spacing=spacing,
        affine=image.affine,
        frame_interval_ms=interval,
        source=path,
    )


def _check_header(image, path: Path) -> None:
    """Raise :class:`DataError` for a header no cine can have, before any voxel is read."""
    shape = image.shape
    if len(shape) != 4:
        raise DataError(
            f"{path}: is {len(shape)}-D with shape {shape}; expected a 4-D cine (x, y, z, t), "
            f"e.g. ACDC's patientNNN_4d.nii.gz rather than a single-frame patientNNN_frameMM file"
        )
    if min(shape) < 1:
        raise DataError(f"{path}: has shape {shape}; expected at least 1 voxel along each axis")
    dtype = image.get_data_dtype()
    if dtype.kind not in "biuf" or dtype.names is not None:
        raise DataError(f"{path}: has {dtype} voxels; expected real numbers (integer or float)")
    claimed = math.prod(int(n) for n in shape) * dtype.itemsize
    size = path.stat().st_size
    if path.name.lower().endswith(".gz"):
        room, where = size * _MAX_GZIP_RATIO, f"the {size:,}-byte file can decompress to"
    else:
        room = size - image.dataobj.offset
        where = f"the {size:,}-byte file holds after byte {image.dataobj.offset:,}"
    if claimed > room:
        raise DataError(
            f"{path}: the header claims {shape} voxels of {dtype} ({claimed:,} bytes), more than "
            f"{where}; expected a complete NIfTI file (a truncated copy or a damaged header?)"
        )
