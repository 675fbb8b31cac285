"""The cine cube every reader returns: an ``xarray.DataArray`` with dims (time, z, y, x)."""

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

DIMS = ("time", "z", "y", "x")
"""Dimension names of a cine cube: phase, slice, row, column."""


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
