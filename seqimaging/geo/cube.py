"""Open and save ``(time, band, y, x)`` cubes as zarr stores or netCDF files, lazily;
put a cube on a coarser grid.

A zarr store saved by :func:`save_cube` has every chunk written and checksummed, and
says so (attribute :data:`ALL_CHUNKS`), so :func:`open_cube` refuses it with a chunk file
missing (zarr would read it as NaN). Stores written elsewhere may leave out all-NaN
chunks, as zarr does by default, and are read as zarr reads them. Reading a damaged chunk
raises a :class:`DataError` naming the store, wherever the pixels are read.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError, DatasetNotFoundError, SeqImagingError
from seqimaging.files import atomic_folder
from seqimaging.geo.stack import TIME_RANGE_TEXT, in_time_range

ALL_CHUNKS = "seqimaging_all_chunks"
"""Attribute of a zarr store that :func:`save_cube` wrote with every chunk."""


@dataclass(frozen=True)
class Format:
    """An xarray engine, the module it needs, its writer method and options for both,
    options of the writer only, and the encoding of every variable written."""

    engine: str
    module: str
    writer: str
    options: dict[str, Any] = field(default_factory=dict)
    write: dict[str, Any] = field(default_factory=dict)
    encoding: dict[str, Any] = field(default_factory=dict)


FORMATS = {
    ".zarr": Format(
        "zarr",
        "zarr",
        "to_zarr",
        {"consolidated": False},
        {"write_empty_chunks": True},
        {"compressors": ({"name": "zstd", "configuration": {"level": 0, "checksum": True}},)},
    ),
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


def check_times(times: np.ndarray, source: str) -> None:
    """Refuse cube times that cannot date windows: not datetime64, NaT, outside
    :data:`~seqimaging.geo.stack.TIME_RANGE`, repeated or decreasing; ``source`` names
    the cube."""
    if times.dtype.kind != "M":
        example = f" (e.g. {times.flat[0]!r})" if times.size else ""
        raise DataError(
            f"{source}: its time coordinate has dtype {times.dtype}{example}; expected "
            f"datetime64 dates {TIME_RANGE_TEXT}. Stored times outside it open as cftime "
            f"objects; integer steps can be made dates with cube.assign_coords(time="
            f"np.datetime64('2000-01-01') + steps * np.timedelta64(1, 'D'))"
        )
    if (i := _first(~in_time_range(times))) is not None:
        what = "NaT (no date)" if np.isnat(times[i]) else f"{_iso(times[i])}, out of range"
        raise DataError(f"{source}: time[{i}] is {what}; expected a date {TIME_RANGE_TEXT}")
    if (i := _first(times[1:] <= times[:-1])) is not None:
        how = "repeats" if times[i + 1] == times[i] else "comes before"
        raise DataError(
            f"{source}: time[{i + 1}] = {_iso(times[i + 1])} {how} time[{i}] = "
            f"{_iso(times[i])}; expected strictly increasing times (sort with "
            f"cube.sortby('time'); drop repeated dates)"
        )


def _iso(time: np.datetime64) -> str:
    """``time`` in ISO format, to the second."""
    return str(np.datetime_as_string(time, unit="s"))


def _first(mask: np.ndarray) -> int | None:
    """The first index where ``mask`` is True, or None."""
    found = np.flatnonzero(mask)
    return int(found[0]) if found.size else None


DIM_NAMES = {
    "time": "time",
    "band": "band",
    "y": "y",
    "x": "x",
    "lat": "y",
    "lon": "x",
    "latitude": "y",
    "longitude": "x",
    "rlat": "y",
    "rlon": "x",
    "projection_y_coordinate": "y",
    "projection_x_coordinate": "x",
}
"""The cube dimension of each dimension name :func:`open_cube` knows."""

STANDARD_NAMES = {
    "time": "time",
    "latitude": "y",
    "longitude": "x",
    "grid_latitude": "y",
    "grid_longitude": "x",
    "projection_y_coordinate": "y",
    "projection_x_coordinate": "x",
}
"""The cube dimension of a coordinate's CF ``standard_name``."""

AXES = {"T": "time", "Y": "y", "X": "x"}
"""The cube dimension of a coordinate's CF ``axis`` attribute."""

GEOGRAPHIC = {"lat", "lon", "latitude", "longitude"}
"""Dimension (or standard) names of latitude and longitude: EPSG:4326 by default."""

YEAR_FRACTION_CALENDARS = {"360_day", "all_leap", "366_day"}
"""Calendars whose dates are mapped to real ones by their fraction of the year."""

CUBE_DIMS = ("time", "band", "y", "x")


def open_cube(
    path: str | Path,
    *,
    variable: str | None = None,
    dims: dict[str, str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.DataArray:
    """Open a ``(time, band, y, x)`` cube from a zarr store or netCDF file, lazily: one
    saved by :func:`save_cube`, or a CF file of several variables.

    Dimensions are named by :data:`DIM_NAMES` (``lat``/``lon``, ``rlat``/``rlon``, ...),
    else by their coordinate's CF ``axis`` (:data:`AXES`) or ``standard_name``; a
    variable without a band gets one, of its name. Attrs: ``crs`` (WKT) from the
    variable's ``grid_mapping`` (its ``crs_wkt`` or ``spatial_ref``), ``"EPSG:4326"``
    for lat/lon without one; ``transform`` (GDAL affine of pixel edges) when ``y`` and
    ``x`` are evenly spaced; ``calendar``, the stored time calendar.

    Times in other calendars are read with cftime and made ``datetime64[ns]``: ``noleap``,
    ``365_day``, ``julian`` keep their year, month, day and time of day; ``360_day`` and
    ``all_leap`` (whose Feb 30 or Feb 29 may not exist) keep the year and its elapsed
    fraction (e.g. 360_day 2000-07-01 is half of 2000: 2000-07-02), so order is kept.

    Args:
        path: a ``.zarr`` store or a ``.nc`` file.
        variable: the data variable; default the only one with a time and two spatial
            dimensions (bounds and grid-mapping variables left out).
        dims: the cube dimension (``time``, ``band``, ``y``, ``x``) of dimensions of
            the file, beyond those recognised, e.g. ``{"lev": "band"}``.
        chunks: dask chunks per cube dimension; default one frame per chunk, which suits
            reading windows of a few frames (other dimensions: the stored chunks).

    Raises:
        DataError: a store that cannot be opened, a zarr store with an array's
            metadata or a chunk file missing, no such or no single candidate variable,
            a ``dims`` name it lacks, a dimension without a cube dimension, or times
            refused by :func:`check_times`; later, when pixels are read, a chunk that
            cannot be decoded.

    Example:
        >>> import numpy as np, tempfile
        >>> cube = xr.DataArray(np.zeros((2, 1, 3, 3), "float32"), dims=("time", "band", "y", "x"))
        >>> path = save_cube(cube, Path(tempfile.mkdtemp()) / "cube.zarr")
        >>> open_cube(path).chunks[0]
        (1, 1)
        >>> nc = Path(tempfile.mkdtemp()) / "cf.nc"
        >>> xr.Dataset(
        ...     {"tas": (("time", "lat", "lon"), np.zeros((2, 2, 3)))},
        ...     coords={"time": np.array(["2024-01-01", "2024-01-02"], "M8[ns]"),
        ...             "lat": [50.5, 50.0], "lon": [10.0, 10.5, 11.0]},
        ... ).to_netcdf(nc, engine="h5netcdf")
        >>> tas = open_cube(nc)
        >>> tas.dims, tas.attrs["crs"], tas.attrs["transform"]
        (('time', 'band', 'y', 'x'), 'EPSG:4326', [0.5, 0.0, 9.75, 0.0, -0.5, 50.75])
    """
    path = Path(path)
    fmt = _format(path)
    require("dask", extra="geo")
    if not path.exists():
        raise DatasetNotFoundError(f"{path} does not exist; save a cube there with save_cube")
    dataset = _open_dataset(path, fmt)
    name = _variable(dataset, variable, dims or {}, path)
    source = dataset[name]
    mapping = _mapping(dataset, source, dims or {}, path)
    inverse = {new: old for old, new in mapping.items()}
    chunks = chunks or {"time": 1}
    cube = _checked(source, path, {inverse.get(d, d): n for d, n in chunks.items()})
    cube = cube.rename({old: new for old, new in mapping.items() if old != new})
    for dim in [d for d in cube.dims if d not in CUBE_DIMS]:
        cube = cube.squeeze(dim)  # of size 1, as _mapping checked
    if "band" not in cube.dims:
        cube = cube.expand_dims(band=[name])
    cube = cube.transpose(*[d for d in CUBE_DIMS if d in cube.dims])
    cube.attrs = _georeferenced(dataset, source, cube, mapping)
    if "time" in cube.coords:
        cube = _dated(cube, dataset[inverse["time"]] if "time" in inverse else None, path)
    return cube


def _bounds_or_grid_mappings(dataset: xr.Dataset) -> set[str]:
    """Names of the variables that bound coordinates or describe grid mappings."""
    named = {
        word.rstrip(":")
        for var in dataset.variables.values()
        for text in (
            var.attrs.get("bounds"),
            var.attrs.get("grid_mapping"),
            var.encoding.get("bounds"),
        )
        for word in str(text or "").split()
    }
    return named | {
        str(k)
        for k, v in dataset.data_vars.items()
        if "grid_mapping_name" in v.attrs
        or "crs_wkt" in v.attrs
        or v.ndim == 0
        or str(k).endswith(("_bnds", "_bounds"))
    }


def _variable(dataset: xr.Dataset, variable: str | None, dims: dict[str, str], path: Path) -> str:
    """The name of the cube's data variable: ``variable``, or the only candidate."""
    names = [str(k) for k in dataset.data_vars]
    if variable is not None:
        if variable not in dataset.data_vars:
            raise DataError(f"{path}: has no data variable {variable!r}; it holds {names}")
        return variable
    data = [n for n in names if n not in _bounds_or_grid_mappings(dataset)]
    if len(data) == 1:
        return data[0]
    candidates = []
    for n in data:
        kinds = [_kind(dataset, str(d), dims) for d in dataset[n].dims]
        if "time" in kinds and kinds.count("y") + kinds.count("x") >= 2:
            candidates.append(n)
    if len(candidates) != 1:
        raise DataError(
            f"{path}: holds variables {names}, of which {candidates or 'none'} have a time "
            f"and two spatial dimensions; expected one: pass variable= (and dims= for "
            f"dimensions it does not recognise)"
        )
    return candidates[0]


def _kind(dataset: xr.Dataset, dim: str, dims: dict[str, str]) -> str | None:
    """The cube dimension of the file's dimension ``dim``, or None."""
    if dim in dims:
        return dims[dim]
    if dim in DIM_NAMES:
        return DIM_NAMES[dim]
    attrs = dataset[dim].attrs if dim in dataset.variables else {}
    return AXES.get(str(attrs.get("axis", "")).upper()) or STANDARD_NAMES.get(
        str(attrs.get("standard_name", ""))
    )


def _mapping(
    dataset: xr.Dataset, source: xr.DataArray, dims: dict[str, str], path: Path
) -> dict[str, str]:
    """The cube dimension of each dimension of ``source`` but extra ones of size 1."""
    where = f"{path}: variable {source.name!r} with dims {list(source.dims)}"
    if unknown := sorted(set(dims) - {str(d) for d in source.dims}):
        raise DataError(f"{where} has no dimension {unknown[0]!r} given in dims=")
    if bad := sorted({v for v in dims.values() if v not in CUBE_DIMS}):
        raise DataError(f"{where}: dims= maps to {bad[0]!r}; expected one of {CUBE_DIMS}")
    mapping = {}
    for dim in map(str, source.dims):
        kind = _kind(dataset, dim, dims)
        if kind is None:
            if source.sizes[dim] > 1:
                raise DataError(
                    f"{where}: dimension {dim!r} (size {source.sizes[dim]}) is none of "
                    f"{CUBE_DIMS}; map one to 'band' with dims={{{dim!r}: 'band'}} or "
                    f"select one of its values first"
                )
            continue
        if kind in mapping.values():
            raise DataError(f"{where}: two dimensions are {kind!r}; map them with dims=")
        mapping[dim] = kind
    for needed in ("time", "y", "x"):
        if needed not in mapping.values():
            raise DataError(f"{where} has no {needed!r} dimension; name it with dims=")
    return mapping


def _georeferenced(
    dataset: xr.Dataset, source: xr.DataArray, cube: xr.DataArray, mapping: dict[str, str]
) -> dict[str, Any]:
    """``cube``'s attrs with ``crs`` and ``transform`` added where the file gives them."""
    attrs = dict(cube.attrs)
    grid_mapping = str(source.attrs.get("grid_mapping", "")).split(":")[0].strip()
    if "crs" not in attrs and grid_mapping in dataset.variables:
        gm = dataset[grid_mapping].attrs
        if wkt := gm.get("crs_wkt") or gm.get("spatial_ref"):
            attrs["crs"] = str(wkt)
    spatial = {old for old, new in mapping.items() if new in ("y", "x")}
    names = spatial | {
        str(dataset[d].attrs.get("standard_name", "")) for d in spatial if d in dataset
    }
    if "crs" not in attrs and not grid_mapping and GEOGRAPHIC & names:
        attrs["crs"] = "EPSG:4326"
    if "transform" not in attrs and "y" in cube.coords and "x" in cube.coords:
        y, x = (np.asarray(cube[d].values) for d in ("y", "x"))
        if _regular(y) and _regular(x):
            dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
            attrs["transform"] = [dx, 0.0, float(x[0]) - dx / 2, 0.0, dy, float(y[0]) - dy / 2]
    return attrs


def _regular(centres: np.ndarray) -> bool:
    """Whether ``centres`` are numbers at least two and evenly spaced."""
    if centres.ndim != 1 or centres.size < 2 or centres.dtype.kind not in "iuf":
        return False
    steps = np.diff(centres.astype(float))
    return bool(steps[0] != 0 and np.allclose(steps, steps[0], rtol=1e-6, atol=0))


def _dated(cube: xr.DataArray, stored: xr.DataArray | None, path: Path) -> xr.DataArray:
    """``cube`` with cftime times made ``datetime64[ns]``, its calendar in attrs, its
    times checked by :func:`check_times`."""
    times = np.asarray(cube["time"].values)
    calendar = None if stored is None else stored.encoding.get("calendar")
    if times.dtype == object and times.size and hasattr(times.flat[0], "calendar"):
        calendar = times.flat[0].calendar
        times = _real_dates(times, calendar, path)
        check_times(times, str(path))  # before the cast to ns, which would wrap round
        cube = cube.assign_coords(time=("time", times.astype("datetime64[ns]"), cube["time"].attrs))
    else:
        check_times(times, str(path))
    if calendar:
        cube.attrs["calendar"] = str(calendar)
    return cube


def _real_dates(times: np.ndarray, calendar: str, path: Path) -> np.ndarray:
    """cftime ``times`` as ``datetime64[us]`` (which holds any year, unlike ns), by the
    rule of :func:`open_cube`."""
    cftime = require("cftime", extra="geo")
    if calendar not in YEAR_FRACTION_CALENDARS:
        try:
            return np.array([np.datetime64(t.isoformat(), "us") for t in times], "datetime64[us]")
        except ValueError:  # a date the real calendar lacks (julian 1900-02-29)
            pass
    out = []
    for t in times:
        start = cftime.datetime(t.year, 1, 1, calendar=calendar, has_year_zero=t.has_year_zero)
        end = cftime.datetime(t.year + 1, 1, 1, calendar=calendar, has_year_zero=t.has_year_zero)
        fraction = (t - start) / (end - start)
        real = np.datetime64(f"{t.year:04d}-01-01", "us")
        length = np.datetime64(f"{t.year + 1:04d}-01-01", "us") - real
        out.append(real + np.timedelta64(round(fraction * length.astype(np.int64)), "us"))
    try:
        return np.array(out, "datetime64[us]")
    except (ValueError, OverflowError) as err:
        raise DataError(f"{path}: times in calendar {calendar!r} cannot be dated ({err})") from err


def _open_dataset(path: Path, fmt: Format) -> xr.Dataset:
    """The dataset at ``path``, lazily, its coordinates read; a zarr store checked to have
    every array's metadata and chunk files."""
    try:
        lacking = _lacking(path) if fmt.module == "zarr" else None
        dataset = xr.open_dataset(
            path, chunks=None, cache=False, **({"engine": fmt.engine} | fmt.options)
        )
    except Exception as err:  # parsers and codecs raise no common type
        raise DataError(
            f"{path}: cannot be opened as a {fmt.engine} cube ({type(err).__name__}: {err})"
        ) from err
    if lacking is not None:
        raise DataError(
            f"{path}: {lacking}; expected every array's metadata and, as this store was "
            "written by save_cube, every chunk (a partly copied or damaged store?)"
        )
    return dataset


def _lacking(path: Path) -> str | None:
    """What the zarr store at ``path`` lacks, listed once against its arrays' chunk grids:
    a folder's metadata or a chunk file; None if nothing."""
    zarr = require("zarr", extra="geo")
    group = zarr.open_group(path, mode="r")
    members = {name for name, _ in group.members()}
    for folder in sorted(p.name for p in path.iterdir() if p.is_dir()):
        if folder not in members:
            return f"{folder}/ has no zarr metadata (zarr would leave it out)"
    if not group.attrs.get(ALL_CHUNKS):
        return None  # a store that may leave out all-NaN chunks, as zarr does
    files = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    for _, array in group.arrays():
        stored = array.shards or array.chunks
        grid = (-(-n // c) for n, c in zip(array.shape, stored, strict=True))
        for index in np.ndindex(*grid):
            key = f"{array.path}/{array.metadata.encode_chunk_key(index)}"
            if key not in files:
                return f"chunk {key} is missing (zarr would read it as NaN)"
    return None


def _checked(variable: xr.DataArray, path: Path, chunks: dict[str, int]) -> xr.DataArray:
    """``variable`` as a dask array of ``chunks`` (others: the stored chunks) whose reads
    raise a :class:`DataError` naming ``path`` when they fail."""
    da = require("dask.array", extra="geo")
    preferred = variable.encoding.get("preferred_chunks", {})
    data = da.from_array(
        _CheckedReads(variable.variable, path, str(variable.name)),
        chunks=tuple(chunks.get(d, preferred.get(d, -1)) for d in variable.dims),
        asarray=False,
        fancy=False,
        name=False,
        meta=np.empty((0,) * variable.ndim, variable.dtype),
    )
    cube = variable.copy(deep=False, data=data)
    cube.encoding = variable.encoding | {"source": str(path)}
    return cube


class _CheckedReads:
    """An array-like of a lazily opened variable, for ``dask.array.from_array``: a block
    that cannot be read or decoded raises a :class:`DataError` naming the store, the
    variable and the block."""

    def __init__(self, variable: xr.Variable, path: Path, name: str) -> None:
        self.variable, self.path, self.name = variable, path, name
        self.shape, self.dtype, self.ndim = variable.shape, variable.dtype, variable.ndim

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        try:
            return np.asarray(self.variable[key].values)
        except Exception as err:  # codecs raise no common type
            block = ", ".join(
                f"{dim} {k.start}:{k.stop}" for dim, k in zip(self.variable.dims, key, strict=True)
            )
            raise DataError(
                f"{self.path}: variable {self.name!r} at [{block}] cannot be read "
                f"({type(err).__name__}: {err}); expected intact chunks (a damaged or partly "
                f"copied store?)"
            ) from err


def save_cube(cube: xr.DataArray, path: str | Path) -> Path:
    """Write ``cube`` (lazy or not) to ``path`` atomically: to a temporary name, then renamed.

    Dask-backed cubes are written chunk by chunk, never loaded whole, one frame per
    stored chunk (what window reading needs). Attributes (CRS, transform) are kept; the
    suffix picks the format (``.zarr`` or ``.nc``). A zarr store gets every chunk, even
    all-NaN ones, each with a checksum.
    """
    path = Path(path)
    fmt = _format(path)
    dataset = cube.rename(cube.name or "data").chunk({"time": 1}).to_dataset()
    dataset.attrs[ALL_CHUNKS] = 1
    encoding = {name: dict(fmt.encoding) for name in dataset.variables}
    with atomic_folder(path) as scratch:
        getattr(dataset, fmt.writer)(scratch, encoding=encoding, **fmt.options, **fmt.write)
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
