"""Open and save ``(time, band, y, x)`` cubes as zarr stores or netCDF files, lazily;
put a cube on a coarser grid."""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError, DatasetNotFoundError, SeqImagingError
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


def regrid(cube: xr.DataArray, resolution: float, *, resampling: str = "max") -> xr.DataArray:
    """``cube`` on a north-up grid of ``resolution`` (CRS units: metres) in its own CRS.

    The new grid keeps the upper-left corner and covers the old extent with whole pixels
    (the last row and column may reach beyond it). Every frame and band is warped with
    ``rasterio.warp.reproject``, NaN being nodata on both sides: with ``"max"`` or
    ``"average"`` a pixel takes the maximum or mean of the valid pixels it covers, and
    is NaN only when none is valid, so radar coverage stays NaN.

    ``"max"`` (block maximum) is how the FMI composites of the shared radar data were
    downsampled; it keeps peak intensities and widens echoes. ``"average"`` is the other
    natural choice: it keeps rain amounts and smooths peaks.

    Args:
        cube: a ``(time, band, y, x)`` cube with attrs ``crs`` and ``transform``, as
            :func:`~seqimaging.geo.read_stack` and :func:`~seqimaging.geo.read_radar` give.
        resolution: the new pixel size.
        resampling: a ``rasterio.enums.Resampling`` name.

    Returns:
        A float32 cube (computed, not lazy) with new ``y``, ``x`` and ``transform``.
    """
    rasterio = require("rasterio", extra="geo")
    from rasterio.warp import reproject

    methods = rasterio.enums.Resampling.__members__
    if resampling not in methods:
        raise SeqImagingError(f"resampling {resampling!r} is not one of {sorted(methods)}")
    if not resolution > 0:
        raise SeqImagingError(f"resolution {resolution!r}: expected a pixel size above 0")
    if "crs" not in cube.attrs or "transform" not in cube.attrs:
        raise DataError(
            f"the cube has attrs {sorted(cube.attrs)}; expected 'crs' and 'transform', as "
            f"read_stack and read_radar give"
        )
    src_transform = rasterio.Affine(*cube.attrs["transform"][:6])
    a, b, c, d, e, f = src_transform[:6]
    if b or d or a <= 0 or e >= 0:
        raise DataError(
            f"the cube's transform {tuple(src_transform)[:6]} is not north-up; expected "
            f"(a, 0, c, 0, e, f) with a > 0 > e"
        )
    height = math.ceil(abs(e) * cube.sizes["y"] / resolution - 1e-9)
    width = math.ceil(abs(a) * cube.sizes["x"] / resolution - 1e-9)
    transform = rasterio.Affine(resolution, 0.0, c, 0.0, -resolution, f)
    crs = rasterio.crs.CRS.from_user_input(cube.attrs["crs"])
    out = np.full((cube.sizes["time"], cube.sizes["band"], height, width), np.nan, np.float32)
    for t in range(cube.sizes["time"]):
        frame = np.asarray(cube.isel(time=t).transpose("band", "y", "x").values, np.float32)
        for i, band in enumerate(frame):
            reproject(
                band,
                out[t, i],
                src_transform=src_transform,
                src_crs=crs,
                src_nodata=np.nan,
                dst_transform=transform,
                dst_crs=crs,
                dst_nodata=np.nan,
                resampling=rasterio.enums.Resampling[resampling],
            )
    coords = {k: v for k, v in cube.coords.items() if not {"y", "x"} & set(v.dims)}
    return xr.DataArray(
        out,
        name=cube.name,
        dims=("time", "band", "y", "x"),
        coords=coords
        | {
            "y": f - resolution * (np.arange(height) + 0.5),
            "x": c + resolution * (np.arange(width) + 0.5),
        },
        attrs=cube.attrs | {"transform": list(transform)[:6]},
    )
