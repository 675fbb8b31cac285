"""Open and save ``(time, band, y, x)`` cubes as zarr stores or netCDF files, lazily."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError, DatasetNotFoundError
from seqimaging.files import atomic_folder


@dataclass(frozen=True)
class Format:
    """An xarray engine, the module it needs, its writer method and options for both."""

    engine: str
    module: str
    writer: str
    options: dict[str, Any] = field(default_factory=dict)


FORMATS = {
    ".zarr": Format("zarr", "zarr", "to_zarr", {"consolidated": False}),
    ".nc": Format("h5netcdf", "h5py", "to_netcdf", {"engine": "h5netcdf"}),
}
"""The format of each file suffix."""


def _format(path: Path) -> Format:
    """The format of ``path``'s suffix, its module checked to be installed."""
    try:
        fmt = FORMATS[path.suffix.lower()]
    except KeyError:
        raise DataError(
            f"{path}: unknown cube format {path.suffix!r}; expected one of {sorted(FORMATS)}"
        ) from None
    require(fmt.module, extra="geo")
    return fmt


def min_max_scaled(cube: xr.DataArray) -> xr.DataArray:
    """``cube`` scaled so that its minimum is 0 and its maximum 1 (NaN stays NaN)."""
    low, high = float(cube.min()), float(cube.max())
    return (cube - low) / (high - low or 1.0)


def open_cube(path: str | Path, *, chunks: dict[str, int] | None = None) -> xr.DataArray:
    """Open a cube saved by :func:`save_cube` (or any one-variable zarr/netCDF), lazily.

    Args:
        path: a ``.zarr`` store or a ``.nc`` file.
        chunks: dask chunks per dimension; default one frame per chunk, which suits
            reading windows of a few frames.

    Example:
        >>> import numpy as np, tempfile
        >>> cube = xr.DataArray(np.zeros((2, 1, 3, 3), "float32"), dims=("time", "band", "y", "x"))
        >>> path = save_cube(cube, Path(tempfile.mkdtemp()) / "cube.zarr")
        >>> open_cube(path).chunks[0]
        (1, 1)
    """
    path = Path(path)
    fmt = _format(path)
    require("dask", extra="geo")
    if not path.exists():
        raise DatasetNotFoundError(f"{path} does not exist; save a cube there with save_cube")
    try:
        dataset = xr.open_dataset(
            path, chunks=chunks or {"time": 1}, **({"engine": fmt.engine} | fmt.options)
        )
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot be opened as a {fmt.engine} cube ({err})") from err
    if len(dataset.data_vars) != 1:
        raise DataError(
            f"{path}: holds variables {list(dataset.data_vars)}; expected exactly one cube"
        )
    return next(iter(dataset.data_vars.values()))


def save_cube(cube: xr.DataArray, path: str | Path) -> Path:
    """Write ``cube`` (lazy or not) to ``path`` atomically: to a temporary name, then renamed.

    Dask-backed cubes are written chunk by chunk, never loaded whole, one frame per
    stored chunk (what window reading needs). Attributes (CRS, transform) are kept; the
    suffix picks the format (``.zarr`` or ``.nc``).
    """
    path = Path(path)
    fmt = _format(path)
    cube = cube.rename(cube.name or "data").chunk({"time": 1})
    with atomic_folder(path) as scratch:
        getattr(cube.to_dataset(), fmt.writer)(scratch, **fmt.options)
    return path
