"""Read dated rasters into one lazy ``(time, band, y, x)`` cube on one grid.

Two layouts are understood, told apart by the file-name ``pattern``:

- one multi-band file per date: the pattern has a ``date`` group only;
- one file per band per date, as Landsat scenes are delivered: the pattern also has a
  ``band`` group, and the files of one date are stacked in band order.

Every frame is put on one grid (the first frame's, or the requested CRS and resolution)
with a ``rasterio`` ``WarpedVRT``. Pixels that are nodata, outside a file's footprint or
outside ``valid_range`` become NaN, so ``cube.notnull()`` is the valid-pixel mask. Pixels
are read only when computed, block by block (dask); files are opened read-only.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError, SeqImagingError

DEFAULT_PATTERN = r"(?P<date>\d{4}-\d{2}-\d{2}|\d{8}(?:T?\d{4}(?:\d{2})?)?)"
"""A date anywhere in the name: ``2014-07-28``, ``20180710``, ``201609281445``,
``20240101T0600``."""

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".img", ".vrt")
"""Files of a directory that are read; files of an explicit list are all read."""

_FORMATS_BY_LENGTH = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}

MAX_PIXELS = 2**30
"""The most pixels a file or the stack's grid may have (32768 x 32768, 4 GiB a band as
float32): a header of a few bytes (a VRT, a damaged TIFF) declaring more is refused
before any pixel is read."""

MAX_SIDE = 2**20
"""The most pixels a file or the stack's grid may have along a side (its coordinates
take 8 bytes a pixel)."""

BLOCK_PIXELS = 2**20
"""Pixels read at a time when a whole frame is searched for a valid pixel."""

TIME_RANGE = (np.datetime64("1677-09-22"), np.datetime64("2262-04-10"))
"""The first and last whole day that ``datetime64[ns]``, the type of cube times, holds."""

TIME_RANGE_TEXT = f"from {TIME_RANGE[0]} to {TIME_RANGE[1]} (what datetime64[ns] holds)"

Scalar = float | Mapping[str, float] | None


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (WKT), affine transform and size in pixels."""

    crs: str
    transform: tuple[float, ...]
    width: int
    height: int

    @classmethod
    def of(cls, src: Any) -> "Grid":
        """The grid of an open rasterio dataset."""
        crs = src.crs.to_wkt() if src.crs else ""
        return cls(crs, tuple(src.transform)[:6], src.width, src.height)

    def matches(self, other: "Grid") -> bool:
        """Same CRS, size and (to 1e-9 of a pixel) transform."""
        rasterio = require("rasterio", extra="geo")
        if (self.width, self.height) != (other.width, other.height):
            return False
        if rasterio.crs.CRS.from_user_input(self.crs) != rasterio.crs.CRS.from_user_input(
            other.crs
        ):
            return False
        pixel = max(abs(self.transform[0]), abs(self.transform[4]))
        return np.allclose(self.transform, other.transform, rtol=0, atol=1e-9 * pixel)

    def describe(self) -> str:
        rasterio = require("rasterio", extra="geo")
        crs = rasterio.crs.CRS.from_user_input(self.crs) if self.crs else None
        name = crs.to_string() if crs and crs.to_epsg() else (crs.to_proj4() if crs else "none")
        a, _, c, _, e, f = self.transform
        return f"{name}, {self.width}x{self.height} px of {a:g} x {-e:g} at ({c:g}, {f:g})"


@dataclass(frozen=True)
class BandFile:
    """One band of one date: where it is and how its values are coded."""

    path: Path
    index: int
    nodata: float | None
    scale: float
    offset: float
    valid_range: tuple[float | None, float | None] | None
    on_grid: bool
    resampling: str

    def read(self, grid: Grid, window: Any, out_shape=None) -> np.ndarray:
        """Physical values on ``grid`` inside ``window``, NaN where invalid (float32)."""
        rasterio = require("rasterio", extra="geo")
        try:
            data, valid = self._read_on(grid, window, out_shape)
        except rasterio.errors.RasterioError as err:
            raise DataError(
                f"{self.path}: band {self.index} cannot be read ({err}); expected a complete "
                f"raster (a truncated or damaged file?)"
            ) from err
        return self._decode(data, valid)

    def _read_on(self, grid: Grid, window: Any, out_shape) -> tuple[np.ndarray, np.ndarray]:
        """Raw values and validity on ``grid`` inside ``window``."""
        rasterio = require("rasterio", extra="geo")
        from rasterio.vrt import WarpedVRT

        with rasterio.open(self.path, "r") as src:
            if self.on_grid:
                data, valid = self._read(src, window, out_shape)
            else:
                options = {"nodata": self.nodata} if self.nodata is not None else {}
                with WarpedVRT(
                    src,
                    crs=grid.crs,
                    transform=rasterio.Affine(*grid.transform),
                    width=grid.width,
                    height=grid.height,
                    resampling=rasterio.enums.Resampling[self.resampling],
                    src_nodata=self.nodata,
                    add_alpha=self.nodata is None,
                    dtype="float32",
                    **options,
                ) as vrt:
                    data, valid = self._read(vrt, window, out_shape)
        return data, valid

    def _read(self, dataset: Any, window: Any, out_shape) -> tuple[np.ndarray, np.ndarray]:
        kwargs = {"window": window, "out_shape": out_shape}
        data = dataset.read(self.index, **kwargs)
        valid = dataset.read_masks(self.index, **kwargs) > 0
        if self.nodata is not None:
            valid &= ~np.isnan(data) if math.isnan(self.nodata) else data != self.nodata
        return data, valid

    def _decode(self, data: np.ndarray, valid: np.ndarray) -> np.ndarray:
        low, high = self.valid_range or (None, None)
        if low is not None:
            valid &= data >= low
        if high is not None:
            valid &= data <= high
        values = data.astype(np.float32) * np.float32(self.scale) + np.float32(self.offset)
        return np.where(valid & np.isfinite(values), values, np.float32(np.nan))


class LazyStack:
    """An array-like ``[T, B, H, W]`` of :class:`BandFile` reads, for ``dask.array.from_array``."""

    def __init__(self, frames: list[list[BandFile]], grid: Grid) -> None:
        self.frames, self.grid = frames, grid
        self.shape = (len(frames), len(frames[0]), grid.height, grid.width)
        self.dtype = np.dtype(np.float32)
        self.ndim = 4

    def __dask_tokenize__(self):
        return (LazyStack, self.frames, self.grid)

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        from rasterio.windows import Window

        t, b, y, x = (range(*k.indices(n)) for k, n in zip(key, self.shape, strict=True))
        window = Window(x.start, y.start, len(x), len(y))
        out = np.empty((len(t), len(b), len(y), len(x)), dtype=np.float32)
        for i, frame in enumerate(t):
            for j, band in enumerate(b):
                out[i, j] = self.frames[frame][band].read(self.grid, window)
        return out

    def any_valid(self, frame: int, coarse: bool) -> bool:
        """Whether frame ``frame`` has a valid pixel; ``coarse`` reads at most 256² of it,
        else it is read whole, :data:`BLOCK_PIXELS` at a time."""
        from rasterio.windows import Window

        width, height = self.grid.width, self.grid.height
        if width == 0 or height == 0:
            return False
        if coarse:
            reads = [(Window(0, 0, width, height), (min(height, 256), min(width, 256)))]
        else:
            rows = max(1, BLOCK_PIXELS // width)
            reads = [
                (Window(0, top, width, min(rows, height - top)), None)
                for top in range(0, height, rows)
            ]
        return any(
            np.isfinite(band.read(self.grid, window, shape)).any()
            for window, shape in reads
            for band in self.frames[frame]
        )


def parse_date(text: str, date_format: str | None, path: Path) -> np.datetime64:
    """The date ``text`` cut from ``path``'s name, with ``date_format`` or by its length."""
    fmt = date_format
    if fmt is None:
        text = text.replace("-", "").replace("T", "")
        fmt = _FORMATS_BY_LENGTH.get(len(text))
    try:
        if fmt is None:
            raise ValueError(f"expected 8, 12 or 14 digits, got {len(text)}")
        date = np.datetime64(datetime.strptime(text, fmt), "s")
    except ValueError as err:
        raise DataError(
            f"{path}: cannot parse the date {text!r} from the file name ({err}); expected "
            f"format {fmt or 'YYYYMMDD[hhmm[ss]] or YYYY-MM-DD'}; pass date_format="
        ) from err
    if not in_time_range(date):
        raise DataError(
            f"{path}: the date {date} in the file name is outside the times of a cube; "
            f"expected a date {TIME_RANGE_TEXT}"
        )
    return date


def in_time_range(times: Any) -> np.ndarray:
    """Whether each of the datetime64 ``times`` lies in :data:`TIME_RANGE` (NaT does not)."""
    first, last = TIME_RANGE
    return (times >= first) & (times < last + np.timedelta64(1, "D"))


def _natural(name: str) -> list:
    """Sort key putting B2 before B10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _list_files(source: str | Path | Sequence[str | Path], regex: re.Pattern) -> list[Path]:
    if isinstance(source, str | Path):
        root = Path(source)
        if not root.is_dir():
            if root.is_file():
                return [root]
            raise DataError(f"{root} does not exist; expected a directory of rasters or files")
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES and regex.search(p.name)
        )
        if not files:
            raise DataError(
                f"{root} holds no raster ({', '.join(RASTER_SUFFIXES)}) whose name matches "
                f"{regex.pattern!r}"
            )
        return files
    files = [Path(p) for p in source]
    if not files:
        raise DataError("read_stack got an empty list of files; expected at least one raster")
    return files


def _index_files(
    files: list[Path], regex: re.Pattern, date_format: str | None, ordered: bool
) -> dict[np.datetime64, dict[str | None, Path]]:
    """Files by date, then by band name (``None`` when the pattern has no band group)."""
    by_date: dict[np.datetime64, dict[str | None, Path]] = {}
    previous: tuple[np.datetime64, Path] | None = None
    for path in files:
        match = regex.search(path.name)
        if match is None or "date" not in match.groupdict():
            raise DataError(
                f"{path}: the file name does not match {regex.pattern!r}; expected a "
                f"(?P<date>...) group in the pattern and a date in the name"
            )
        date = parse_date(match["date"], date_format, path)
        if ordered and previous is not None and date < previous[0]:
            raise DataError(
                f"{path}: time out of order: its date {date} comes after {previous[1]} of "
                f"{previous[0]}; expected files in increasing time"
            )
        previous = (date, path)
        band = match.groupdict().get("band")
        frame = by_date.setdefault(date, {})
        if band in frame:
            what = f"date {date}" if band is None else f"date {date} and band {band!r}"
            raise DataError(
                f"{path}: duplicate {what}, also in {frame[band]}; expected one file each"
            )
        frame[band] = path
    return dict(sorted(by_date.items()))


def _band_value(value: Any, band: str) -> Any:
    """``value[band]`` (``None`` if absent) for a mapping, else ``value``."""
    if isinstance(value, Mapping):
        return value.get(band)
    return value


def _open(path: Path) -> Any:
    rasterio = require("rasterio", extra="geo")
    try:
        return rasterio.open(path, "r")
    except (rasterio.errors.RasterioError, UnicodeDecodeError) as err:  # a damaged CRS text
        raise DataError(f"{path}: not a raster that GDAL can read ({err})") from err


def _target_grid(first: Any, crs: Any, resolution: float | tuple[float, float] | None) -> Grid:
    """The first file's grid, or that footprint at ``crs`` and ``resolution``."""
    rasterio = require("rasterio", extra="geo")
    from rasterio.warp import calculate_default_transform

    if crs is None and resolution is None:
        return Grid.of(first)
    dst_crs = first.crs if crs is None else rasterio.crs.CRS.from_user_input(crs)
    transform, width, height = calculate_default_transform(
        first.crs, dst_crs, first.width, first.height, *first.bounds, resolution=resolution
    )
    return Grid(dst_crs.to_wkt(), tuple(transform)[:6], width, height)


def read_stack(
    source: str | Path | Sequence[str | Path],
    *,
    pattern: str | None = None,
    date_format: str | None = None,
    bands: Sequence[str] | None = None,
    crs: Any = None,
    resolution: float | tuple[float, float] | None = None,
    resampling: str | Mapping[str, str] = "bilinear",
    reproject: bool = True,
    nodata: Scalar = None,
    scale: Scalar = None,
    offset: Scalar = None,
    valid_range: tuple[float | None, float | None] | None = None,
    chunks: int = 512,
) -> xr.DataArray:
    """Read dated rasters into a lazy ``(time, band, y, x)`` float32 cube on one grid.

    Args:
        source: a directory (searched recursively for ``.tif``/``.jp2``/... files whose
            name matches ``pattern``; sorted by date), or a list of files in time order.
        pattern: regular expression searched in each file name, with a ``date`` group and,
            for one file per band, a ``band`` group. Default :data:`DEFAULT_PATTERN`.
        date_format: ``strptime`` format of the ``date`` group; by default 8, 12 or 14
            digits (``YYYYMMDD[hhmm[ss]]``, an optional ``T``) or ``YYYY-MM-DD``.
        bands: band names to keep, in this order: ``band`` group values, or the files'
            band descriptions (``"1"``, ``"2"``, ... where they have none). Default all.
        crs: target CRS (anything ``rasterio.crs.CRS.from_user_input`` takes); default
            the first file's.
        resolution: target pixel size in CRS units; default the first file's (or, with
            ``crs``, the size GDAL suggests for the first file's footprint).
        resampling: a ``rasterio.enums.Resampling`` name for frames off the target grid
            (``"nearest"`` for classes and codes), or one per band name (others bilinear).
        reproject: if False, a file off the target grid (another CRS, transform or size)
            raises :class:`DataError` instead of being warped.
        nodata: raw value meaning "no data", overriding the files' own (scalar or per
            band name); needed where a product states it by convention only.
        scale, offset: physical value = raw · scale + offset (scalar or per band name);
            default each file's own band scale and offset.
        valid_range: ``(low, high)`` raw values outside it are invalid too; either may be
            ``None``.
        chunks: spatial chunk size of the dask array (one frame per chunk in time).

    Returns:
        The cube, NaN where invalid, with coords ``time`` (datetime64 from the names),
        ``band``, ``y`` and ``x`` (pixel centres), and attrs ``crs`` (WKT), ``transform``
        (affine coefficients a, b, c, d, e, f) and ``nodata`` (NaN).

    Raises:
        DataError: a file that is not a raster, an unparseable or duplicate date, a date
            outside :data:`TIME_RANGE`, files out of time order, band counts or band sets
            that differ between dates, a file or grid beyond :data:`MAX_PIXELS` or
            :data:`MAX_SIDE`, a file off the grid with ``reproject=False``, or a stack
            with no valid pixel.

    Example:
        >>> from seqimaging.geo.synthetic import make_cloud_series
        >>> import tempfile
        >>> folder = make_cloud_series(tempfile.mkdtemp(), n_frames=4, seed=0, size=32)
        >>> cube = read_stack(folder)
        >>> cube.dims, cube.shape
        (('time', 'band', 'y', 'x'), (4, 2, 32, 32))
    """
    da = require("dask.array", extra="geo")
    regex = re.compile(pattern or DEFAULT_PATTERN)
    ordered = not isinstance(source, str | Path)
    files = _list_files(source, regex)
    by_date = _index_files(files, regex, date_format, ordered)
    separate = "band" in regex.groupindex
    first_path = next(iter(by_date.values()))
    first_path = first_path[min(first_path, key=_natural)] if separate else first_path[None]

    with _open(first_path) as first:
        _check_declared_size(first, first_path)
        grid = _target_grid(first, crs, resolution)
        names = sorted(next(iter(by_date.values())), key=_natural) if separate else _names(first)
    where = f"{first_path}: the stack's grid at crs={crs!r} and resolution={resolution!r}"
    _check_pixels(grid.width, grid.height, where, "pass a coarser resolution")
    names = list(bands) if bands is not None else names
    frames = [
        _frame_bands(
            frame,
            names,
            separate,
            grid,
            reproject,
            (nodata, scale, offset, resampling),
            valid_range,
            every_band=bands is None,
        )
        for frame in by_date.values()
    ]
    reader = LazyStack(frames, grid)
    _check_some_valid(reader, files)
    data = da.from_array(
        reader,
        chunks=(1, -1, chunks, chunks),
        asarray=False,
        fancy=False,
        meta=np.empty((0, 0, 0, 0), np.float32),
    )
    a, _, c, _, e, f = grid.transform
    return xr.DataArray(
        data,
        name="data",
        dims=("time", "band", "y", "x"),
        coords={
            "time": np.array(list(by_date), dtype="datetime64[ns]"),
            "band": names,
            "y": f + e * (np.arange(grid.height) + 0.5),
            "x": c + a * (np.arange(grid.width) + 0.5),
        },
        attrs={"crs": grid.crs, "transform": list(grid.transform), "nodata": float("nan")},
    )


def _names(src: Any) -> list[str]:
    """Band names of an open file: its descriptions, else ``"1"``, ``"2"``, ..."""
    descriptions = list(src.descriptions)
    if all(descriptions) and len(set(descriptions)) == len(descriptions):
        return descriptions
    return [str(i) for i in range(1, src.count + 1)]


def _frame_bands(
    frame: dict[str | None, Path],
    names: list[str],
    separate: bool,
    grid: Grid,
    reproject: bool,
    coding: tuple[Scalar, Scalar, Scalar, str | Mapping[str, str]],
    valid_range: tuple[float | None, float | None] | None,
    *,
    every_band: bool,
) -> list[BandFile]:
    """The :class:`BandFile` of each band name of one date, checked against the grid;
    ``every_band``: ``names`` are all the bands of a file, so each file must have as many."""
    if separate and set(names) - set(frame):
        path = next(iter(frame.values()))
        raise DataError(
            f"{path}: its date has bands {sorted(frame, key=_natural)}; expected "
            f"{names} as in the other dates (band sets differ)"
        )
    out, opened = [], {}
    for name in names:
        path = frame[name] if separate else frame[None]
        if path not in opened:
            opened[path] = _file_info(path, grid, reproject)
        info = opened[path]
        if separate:
            index = 1
        elif name in info["names"] and (info["count"] == len(names) or not every_band):
            index = info["names"].index(name) + 1
        else:
            raise DataError(
                f"{path}: has bands {info['names']} ({info['count']}); expected {names} "
                f"(band counts differ between dates)"
            )
        nodata, scale, offset, resampling = (_band_value(v, name) for v in coding)
        resampling = resampling or "bilinear"
        methods = require("rasterio.enums", extra="geo").Resampling.__members__
        if resampling not in methods:
            raise SeqImagingError(
                f"resampling {resampling!r} of band {name!r} is not one of {sorted(methods)}"
            )
        out.append(
            BandFile(
                path=path,
                index=index,
                nodata=info["nodata"][index - 1] if nodata is None else nodata,
                scale=info["scales"][index - 1] if scale is None else scale,
                offset=info["offsets"][index - 1] if offset is None else offset,
                valid_range=valid_range,
                on_grid=info["on_grid"],
                resampling=resampling,
            )
        )
    return out


def _file_info(path: Path, grid: Grid, reproject: bool) -> dict[str, Any]:
    with _open(path) as src:
        if not src.crs:
            raise DataError(f"{path}: has no CRS; expected a georeferenced raster")
        _check_declared_size(src, path)
        own = Grid.of(src)
        on_grid = own.matches(grid)
        if not on_grid and not reproject:
            raise DataError(
                f"{path}: its grid ({own.describe()}) differs from the stack's "
                f"({grid.describe()}) and reproject=False; expected every file on one grid"
            )
        return {
            "names": _names(src),
            "count": src.count,
            "nodata": list(src.nodatavals),
            "scales": list(src.scales),
            "offsets": list(src.offsets),
            "on_grid": on_grid,
        }


def _check_pixels(width: int, height: int, what: str, remedy: str) -> None:
    """Refuse a raster of more than :data:`MAX_PIXELS` pixels or :data:`MAX_SIDE` pixels
    a side; ``what`` names it."""
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise DataError(
            f"{what} is {width} x {height} px ({width * height:,} px); expected at most "
            f"{MAX_PIXELS:,} px and {MAX_SIDE:,} a side (seqimaging.geo.stack.MAX_PIXELS "
            f"and MAX_SIDE; {remedy})"
        )


def _check_declared_size(src: Any, path: Path) -> None:
    """Refuse, before any pixel is read, a raster larger than :data:`MAX_PIXELS`, or an
    uncompressed GeoTIFF claiming far more pixels than the file holds (a damaged header;
    8x allows for 1-bit (NBITS) bands)."""
    remedy = "a damaged header? cut the part needed with a VRT"
    _check_pixels(src.width, src.height, f"{path}: the raster", remedy)
    if src.driver != "GTiff" or src.compression is not None:
        return
    claimed = src.width * src.height * sum(np.dtype(d).itemsize for d in src.dtypes)
    size = path.stat().st_size
    if claimed > 8 * size + 65536:
        raise DataError(
            f"{path}: the header claims {src.width} x {src.height} px x {src.count} bands "
            f"({claimed:,} bytes uncompressed), far more than the {size:,}-byte file holds; "
            f"expected a complete raster (a truncated copy or a damaged header?)"
        )


def _check_some_valid(reader: LazyStack, files: list[Path]) -> None:
    """Raise unless some frame has a valid pixel: a coarse look first, full reads last."""
    for coarse in (True, False):
        if any(reader.any_valid(t, coarse) for t in range(reader.shape[0])):
            return
    shown = ", ".join(str(p) for p in files[:3]) + (", ..." if len(files) > 3 else "")
    raise DataError(
        f"every pixel of the stack is nodata or invalid ({shown}); expected some valid data "
        f"(check nodata= and valid_range=)"
    )
