"""The cine cube every reader returns: an ``xarray.DataArray`` with dims (time, z, y, x),
and the limits a cube must keep to, checked from the header before anything is allocated."""

import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging.errors import DataError

DIMS = ("time", "z", "y", "x")
"""Dimension names of a cine cube: phase, slice, row, column."""

MAX_AXIS = 4096
"""The most phases, slices, rows or columns of a cube: cines have 10-50 phases, tens of
slices and images of at most 512 x 512 pixels; a larger size is a damaged header."""
MAX_VOXELS = 2**28
"""The most voxels of a cube, 1 GiB as float32: four times a cine of 256 x 256 pixels,
20 slices and 50 phases."""
SPACING_MM = (1e-2, 1e2)
"""Plausible voxel sizes in mm: MR and CT pixels are 0.05-3 mm (preclinical to clinical)
and slices at most about 20 mm apart; a size outside 10 µm-10 cm is a unit read wrongly
(µm or m as mm) or a damaged field, and resampling it to about 2 mm would shrink or grow
the image more than 50-fold."""
INTERVAL_MS = (0.1, 1e4)
"""Plausible times between phases in ms: cine phases are 5 ms (mouse) to 100 ms apart,
dynamic series up to a few seconds."""


def cine_cube(
    values: Any,
    *,
    times_ms: np.ndarray,
    spacing: tuple[float, float, float],
    affine: np.ndarray,
    frame_interval_ms: float,
    source: Path,
) -> xr.DataArray:
    """Wrap ``values`` ``[time, z, y, x]`` (an array or a lazy xarray backend array) as a cube.

    Args:
        values: the voxels, float32, indexed ``[time, z, y, x]``.
        times_ms: time of each phase in ms after the trigger (NaN where unknown).
        spacing: voxel size ``(z, y, x)`` in mm.
        affine: 4 x 4 map from voxel indices ``(x, y, z)`` to RAS+ mm, as nibabel gives it.
        frame_interval_ms: mean time between phases in ms (NaN where unknown).
        source: the file or folder read.
    """
    return xr.DataArray(
        values,
        dims=DIMS,
        coords={"time": ("time", np.asarray(times_ms, dtype=np.float64), {"units": "ms"})},
        attrs={
            "spacing": tuple(float(s) for s in spacing),
            "affine": np.asarray(affine, dtype=np.float64),
            "frame_interval_ms": float(frame_interval_ms),
            "source": str(source),
        },
        name="cine",
    )


def check_geometry(
    shape: tuple[int, int, int, int], spacing: tuple[float, float, float], source: Path
) -> None:
    """Raise :class:`DataError` for a cube of ``shape`` ``(time, z, y, x)`` larger than
    :data:`MAX_AXIS` or :data:`MAX_VOXELS`, or voxel sizes ``(z, y, x)`` outside
    :data:`SPACING_MM`; the message names ``source``."""
    shape = tuple(int(n) for n in shape)
    voxels = math.prod(shape)
    if max(shape) > MAX_AXIS or voxels > MAX_VOXELS:
        raise DataError(
            f"{source}: the (time, z, y, x) size {shape} ({voxels:,} voxels) is beyond the "
            f"limits; expected at most {MAX_AXIS} along each axis and {MAX_VOXELS:,} voxels "
            f"(a damaged header?)"
        )
    low, high = SPACING_MM
    if not all(low <= s <= high for s in spacing):
        raise DataError(
            f"{source}: voxel size (z, y, x) {_show(spacing)} mm is outside {low:g}-{high:g} "
            f"mm; expected plausible pixel and slice spacings (a wrong unit or a damaged "
            f"header?)"
        )


def check_interval(interval_ms: float, source: Path) -> None:
    """Raise :class:`DataError` for a time between phases outside :data:`INTERVAL_MS`."""
    low, high = INTERVAL_MS
    if not low <= interval_ms <= high:
        raise DataError(
            f"{source}: the time between phases is {interval_ms:g} ms; expected "
            f"{low:g}-{high:g} ms (a wrong time unit or a damaged header?)"
        )


def _show(numbers) -> str:
    return "(" + ", ".join(f"{float(n):g}" for n in numbers) + ")"
