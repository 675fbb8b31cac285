"""Write a forecast cube where other tools read it: a CF-1.8 zarr store or netCDF file,
or a folder of Cloud-Optimized GeoTIFFs, one per lead time.

:func:`write_forecast` takes the ``(time, band, y, x)`` cube a whole-scene forecast gives
(lazy or not; ``time`` the valid times) and writes it chunk by chunk, or frame by frame,
never loading it whole. What it writes appears at the target in one rename, complete, or
not at all; an existing target is never overwritten.

- ``.zarr`` / ``.nc`` (:data:`FORMATS`): the data variable has ``grid_mapping =
  "spatial_ref"``, a scalar ``spatial_ref`` variable holds the CRS as CF grid-mapping
  attributes, ``crs_wkt``/``spatial_ref`` WKT and the GDAL ``GeoTransform``, as rioxarray
  and GDAL write them; ``x``/``y`` are CF projection (or longitude/latitude) coordinates,
  ``time`` is "minutes since" the reference time. ``xarray.open_dataset``, GDAL's netCDF
  driver, QGIS and :func:`seqimaging.geo.open_cube` read it.
- a folder (a path with no suffix, or ending in ``/``): ``forecast_<YYYYMMDDTHHMMSS>.tif``
  for each valid time, which :func:`seqimaging.geo.read_stack` reads back as the cube.
"""

import math
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError, SeqImagingError
from seqimaging.files import atomic_folder
from seqimaging.geo.cube import ALL_CHUNKS, Format, check_times
from seqimaging.geo.cube import FORMATS as CUBE_FORMATS

DIMS = ("time", "band", "y", "x")
"""The dimensions of a forecast cube, in the order written."""

FORMATS: dict[str, Format] = {".zarr": CUBE_FORMATS[".zarr"], ".nc": CUBE_FORMATS[".nc"]}
"""The format of each file suffix: those of :func:`seqimaging.geo.save_cube`."""

FILE_NAME = "forecast_{time:%Y%m%dT%H%M%S}.tif"
"""The name of a lead time's GeoTIFF in a folder; :data:`seqimaging.geo.stack.DEFAULT_PATTERN`
reads the valid time back from it."""

COG_OPTIONS = {"compress": "deflate", "predictor": "yes", "blocksize": 512, "overviews": "auto"}
"""Creation options of each Cloud-Optimized GeoTIFF (GDAL's COG driver)."""

GRID_MAPPING = "spatial_ref"
"""The name of the CF grid-mapping variable, as rioxarray and GDAL name it."""


def write_forecast(forecast: xr.DataArray, out: str | Path) -> Path:
    """Write ``forecast`` to ``out`` as a CF-1.8 zarr store or netCDF file, or as a folder
    of Cloud-Optimized GeoTIFFs (one per lead time); return the path written.

    The cube is written chunk by chunk (zarr, netCDF), or for GeoTIFFs one spatial
    chunk at a time into every lead's file (a chunk of a lazy forecast is computed once
    for all its lead times), never loaded whole; everything goes to a temporary name
    beside ``out`` and is renamed into place at the end, so a failure leaves nothing at
    ``out``.

    Args:
        forecast: a float ``(time, band, y, x)`` cube (any order of those dimensions),
            lazy or not, with coords ``time`` (datetime64 valid times, increasing),
            ``band`` (names), ``y``, ``x`` (pixel centres) and attrs ``crs`` (WKT or
            None), ``transform`` (affine a, b, c, d, e, f or None), optionally ``units``,
            ``long_name``, ``reference_time`` (ISO time of the last context frame),
            ``model`` and ``checkpoint``.
        out: ``<name>.zarr`` or ``<name>.nc`` (:data:`FORMATS`), or a folder (no suffix,
            or a trailing ``/``) for GeoTIFFs named as :data:`FILE_NAME`. Must not exist.

    Raises:
        SeqImagingError: ``out`` exists (nothing is changed).
        DataError: other dimensions than :data:`DIMS`, no datetime64 ``time`` coordinate,
            times :func:`~seqimaging.geo.cube.check_times` refuses, a bad
            ``reference_time``, an unknown suffix, or, for GeoTIFFs, no ``crs`` or
            ``transform``; raised before anything is written.

    Example:
        >>> import numpy as np, tempfile
        >>> cube = xr.DataArray(
        ...     np.zeros((2, 1, 4, 4), "float32"), dims=DIMS,
        ...     coords={"time": np.array(["2024-06-01T12:10", "2024-06-01T12:20"],
        ...                              "datetime64[ns]"), "band": ["rain"]},
        ...     attrs={"crs": None, "transform": None, "reference_time": "2024-06-01T12:00"})
        >>> path = write_forecast(cube, Path(tempfile.mkdtemp()) / "nowcast.nc")
        >>> xr.open_dataset(path)["time"].encoding["units"]
        'minutes since 2024-06-01T12:00:00'
    """
    folder = str(out).endswith(("/", "\\")) or not Path(out).suffix
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise SeqImagingError(
            f"{out} already exists; expected a new path (forecasts are never overwritten: "
            f"remove it or pick another name)"
        )
    cube = _checked(forecast, out)
    reference = _reference_time(cube, out)
    if folder:
        return _write_cogs(cube, out, reference)
    fmt = _format(out)
    dataset, encoding = cf_dataset(cube, reference)
    dataset.attrs[ALL_CHUNKS] = 1
    for name in dataset.variables:
        encoding[name] = dict(fmt.encoding) | encoding.get(name, {})
    with atomic_folder(out) as scratch:
        getattr(dataset, fmt.writer)(
            scratch, encoding=encoding, compute=True, **fmt.options, **fmt.write
        )
    return out


def _format(path: Path) -> Format:
    """The format of ``path``'s suffix, its module checked to be installed."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unknown forecast format {path.suffix!r}; expected one of "
            f"{sorted(FORMATS)}, or a folder (no suffix, or a trailing '/') for GeoTIFFs"
        )
    require(fmt.module, extra="geo")
    return fmt


def _checked(forecast: xr.DataArray, out: Path) -> xr.DataArray:
    """``forecast`` as float32 with dims :data:`DIMS`, its times checked; ``out`` names
    the target in errors."""
    if not isinstance(forecast, xr.DataArray):
        raise DataError(
            f"{out}: got a {type(forecast).__name__} to write; expected an xarray.DataArray "
            f"with dims {DIMS}"
        )
    if sorted(forecast.dims) != sorted(DIMS):
        raise DataError(
            f"{out}: the forecast has dims {forecast.dims}; expected {DIMS} (valid time, "
            f"band, rows, columns)"
        )
    if "time" not in forecast.coords:
        raise DataError(
            f"{out}: the forecast has no 'time' coordinate; expected datetime64 valid times "
            f"(cube.assign_coords(time=...))"
        )
    check_times(np.asarray(forecast["time"].values), f"{out}: the forecast")
    if forecast.dtype.kind not in "fiu":
        raise DataError(f"{out}: the forecast has dtype {forecast.dtype}; expected float32")
    return forecast.transpose(*DIMS).astype(np.float32, copy=False)


def _reference_time(cube: xr.DataArray, out: Path) -> np.datetime64 | None:
    """``attrs["reference_time"]`` as datetime64 (seconds), or None if absent."""
    text = cube.attrs.get("reference_time")
    if text is None:
        return None
    try:
        reference = np.datetime64(str(text).removesuffix("Z"), "s")
    except ValueError as err:
        raise DataError(
            f"{out}: the forecast's reference_time {text!r} is not a time ({err}); expected "
            f"an ISO time such as '2024-06-01T12:00:00'"
        ) from err
    if np.isnat(reference):
        raise DataError(f"{out}: the forecast's reference_time is NaT; expected an ISO time")
    return reference


def _iso(time: np.datetime64) -> str:
    return str(np.datetime_as_string(time, unit="s"))


def _version() -> str:
    try:
        return f"seqimaging {metadata.version('seqimaging')}"
    except metadata.PackageNotFoundError:
        return "seqimaging"


def cf_dataset(
    cube: xr.DataArray, reference: np.datetime64 | None
) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """The CF-1.8 dataset of a checked ``(time, band, y, x)`` cube and the encoding of its
    time coordinate (minutes since ``reference``, else the first valid time).

    The data variable keeps the cube's name (default ``forecast``) and its ``crs`` and
    ``transform`` attributes, so :func:`seqimaging.geo.open_cube` gives them back.
    """
    name = str(cube.name or "forecast")
    crs, transform = cube.attrs.get("crs"), cube.attrs.get("transform")
    attrs: dict[str, Any] = {
        "long_name": str(cube.attrs.get("long_name") or f"{name} of {', '.join(_bands(cube))}")
    }
    if cube.attrs.get("units") is not None:
        attrs["units"] = str(cube.attrs["units"])
    x_attrs = {"long_name": "x coordinate of projection", "axis": "X"}
    y_attrs = {"long_name": "y coordinate of projection", "axis": "Y"}
    coords: dict[str, Any] = {
        k: v.variable
        for k, v in cube.coords.items()
        if k not in DIMS and v.dims == () and k != GRID_MAPPING
    }
    if crs:
        grid_mapping = _grid_mapping(crs, transform)
        coords[GRID_MAPPING] = xr.Variable((), np.int32(0), grid_mapping)
        attrs["grid_mapping"] = GRID_MAPPING
        attrs["crs"] = str(crs)
        x_attrs, y_attrs = _axis_attrs(crs)
    if transform:
        attrs["transform"] = [float(v) for v in list(transform)[:6]]
    own = {
        "time": {"standard_name": "time", "long_name": "valid time", "axis": "T"},
        "band": {"long_name": "band"},
        "y": y_attrs,
        "x": x_attrs,
    }
    for dim in DIMS:
        if dim in cube.coords:
            coords[dim] = xr.Variable(dim, cube[dim].values, own[dim])
    data = xr.DataArray(cube.data, dims=DIMS, coords=coords, attrs=attrs, name=name)
    data = data.chunk({"time": 1})
    times = np.asarray(cube["time"].values)
    start = reference if reference is not None else times[0]
    minutes = (times - np.datetime64(start, "ns")) / np.timedelta64(1, "m")
    time_encoding = {
        "units": f"minutes since {_iso(start)}",
        "calendar": "proleptic_gregorian",
        "dtype": "int64" if np.all(minutes == np.round(minutes)) else "float64",
    }
    dataset = data.to_dataset()
    dataset.attrs = {
        "Conventions": "CF-1.8",
        "title": f"{name}: a forecast of {cube.sizes['time']} lead times",
        "source": "; ".join(
            [_version()]
            + [f"{k} {cube.attrs[k]}" for k in ("model", "checkpoint") if cube.attrs.get(k)]
        ),
        "history": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} written by "
        f"seqimaging.inference.write_forecast ({_version()})",
    }
    if reference is not None:
        dataset.attrs["reference_time"] = _iso(reference)
    for key in ("model", "checkpoint"):
        if cube.attrs.get(key):
            dataset.attrs[key] = str(cube.attrs[key])
    return dataset, {"time": time_encoding}


def _bands(cube: xr.DataArray) -> list[str]:
    if "band" in cube.coords:
        return [str(b) for b in cube["band"].values]
    return [str(i) for i in range(1, cube.sizes["band"] + 1)]


def _grid_mapping(crs: str, transform: Any) -> dict[str, Any]:
    """The CF grid-mapping attributes of ``crs`` (WKT) and the GDAL ``GeoTransform`` of
    ``transform`` (affine a, b, c, d, e, f), as rioxarray writes them."""
    pyproj = require("pyproj", extra="geo")
    attrs = {k: v for k, v in pyproj.CRS.from_user_input(crs).to_cf().items() if v is not None}
    attrs |= {"crs_wkt": crs, "spatial_ref": crs}
    if transform:
        a, b, c, d, e, f = (float(v) for v in list(transform)[:6])
        attrs["GeoTransform"] = " ".join(repr(v) for v in (c, a, b, f, d, e))
    return attrs


def _axis_attrs(crs: str) -> tuple[dict[str, str], dict[str, str]]:
    """CF attributes of the ``x`` and ``y`` coordinates in ``crs``."""
    rasterio = require("rasterio", extra="geo")
    parsed = rasterio.crs.CRS.from_user_input(crs)
    if parsed.is_geographic:
        return (
            {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"},
            {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"},
        )
    units = parsed.linear_units
    units = "m" if units in ("metre", "meter", "m") else units
    return (
        {
            "standard_name": "projection_x_coordinate",
            "long_name": "x coordinate of projection",
            "axis": "X",
            "units": units,
        },
        {
            "standard_name": "projection_y_coordinate",
            "long_name": "y coordinate of projection",
            "axis": "Y",
            "units": units,
        },
    )


def _lead(valid: np.datetime64, reference: np.datetime64) -> str:
    """``valid - reference`` as an ISO 8601 duration: ``PT10M``, ``PT1H30M``, ``-PT5M``."""
    seconds = int((valid - reference) / np.timedelta64(1, "s"))
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v]
    return f"{sign}PT{''.join(parts) or '0S'}"


def _blocks(cube: xr.DataArray) -> Iterator[tuple[slice, slice, np.ndarray]]:
    """The ``(rows, columns, values [time, band, h, w])`` of each spatial chunk of
    ``cube`` (all times and bands together), computed one at a time."""
    data = cube.data
    if not hasattr(data, "blocks"):
        yield slice(0, cube.shape[2]), slice(0, cube.shape[3]), np.asarray(data, np.float32)
        return
    tops, lefts = (np.cumsum((0, *sizes)) for sizes in data.chunks[2:])
    for i in range(len(tops) - 1):
        for j in range(len(lefts) - 1):
            values = data[:, :, tops[i] : tops[i + 1], lefts[j] : lefts[j + 1]].compute()
            yield (
                slice(tops[i], tops[i + 1]),
                slice(lefts[j], lefts[j + 1]),
                values.astype(np.float32),
            )


def _write_cogs(cube: xr.DataArray, out: Path, reference: np.datetime64 | None) -> Path:
    """One Cloud-Optimized GeoTIFF per valid time of ``cube`` in the new folder ``out``."""
    rasterio = require("rasterio", extra="geo")
    copy = require("rasterio.shutil", extra="geo").copy
    window_of = require("rasterio.windows", extra="geo").Window.from_slices

    crs, transform = cube.attrs.get("crs"), cube.attrs.get("transform")
    if not crs or not transform or len(transform) < 6:
        raise DataError(
            f"{out}: the forecast has crs={crs!r} and transform={transform!r}; expected a "
            f"CRS (WKT) and an affine transform (a, b, c, d, e, f) in its attrs to write "
            f"GeoTIFFs (or write a .zarr or .nc)"
        )
    times = np.asarray(cube["time"].values).astype("datetime64[s]")
    names = [FILE_NAME.format(time=t.astype(datetime)) for t in times]
    if len(set(names)) != len(names):
        raise DataError(
            f"{out}: two valid times fall in one second ({', '.join(names)}); expected "
            f"times a second or more apart, one GeoTIFF each"
        )
    bands = _bands(cube)
    if len(set(bands)) != len(bands) or not all(bands):
        raise DataError(f"{out}: band names {bands}; expected distinct, non-empty names")
    _, height, width = cube.shape[1:]
    block = min(512, 16 * math.ceil(max(height, width) / 16))
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": len(bands),
        "height": height,
        "width": width,
        "crs": rasterio.crs.CRS.from_user_input(crs),
        "transform": rasterio.Affine(*[float(v) for v in list(transform)[:6]]),
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
    }
    common = {k: str(cube.attrs[k]) for k in ("model", "checkpoint") if cube.attrs.get(k)}
    if reference is not None:
        common["reference_time"] = _iso(reference)
    with atomic_folder(out) as scratch, ExitStack() as files:
        scratch.mkdir()
        staging = [scratch.parent / f"{name}.staging" for name in names]
        frames = [files.enter_context(rasterio.open(p, "w", **profile)) for p in staging]
        for rows, cols, block in _blocks(cube):  # each block computed once, for every lead
            window = window_of(rows, cols)
            for frame, values in zip(frames, block, strict=True):
                frame.write(values, window=window)
        for frame, valid in zip(frames, times, strict=True):
            tags = common | {"valid_time": _iso(valid)}
            if reference is not None:
                minutes = (valid - reference) / np.timedelta64(1, "m")
                tags |= {"lead": _lead(valid, reference), "lead_minutes": f"{minutes:g}"}
            frame.descriptions = tuple(bands)
            if cube.attrs.get("units") is not None:
                frame.units = (str(cube.attrs["units"]),) * len(bands)
            frame.update_tags(**tags)
        files.close()
        for path, name in zip(staging, names, strict=True):
            copy(path, scratch / name, driver="COG", **COG_OPTIONS)
            path.unlink()
    return out
