"""Weather-radar composites → rain-rate cubes: FMI GeoTIFF reflectivity (codes → dBZ →
rain rate), and other networks (KNMI, MeteoSwiss, BoM, OPERA, ODIM) with pysteps' importers."""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.choices import Choices
from seqimaging.errors import DataError, DatasetNotFoundError, SeqImagingError
from seqimaging.geo.layout import Layout
from seqimaging.geo.stack import Grid, parse_date

UNDETECT_DBZ = -32.0
"""dBZ of code 0, "undetect": inside radar coverage, no echo; rain rate 0."""


class FmiRadar(Layout):
    """``<YYYYMMDDhhmm>_FINUTM.tif``: uint8 codes, dBZ = 0.5 · code − 32 (UTC times).

    Code 255 is nodata (outside coverage) by convention only: the files set no GDAL
    nodata value, so the layout states it. Code 0 (undetect) is −32 dBZ, the field
    minimum; a code outside 0–254 (a file that is not such a composite) is invalid, like
    nodata. Codes are resampled with nearest neighbour if a grid change needs it.
    """

    pattern = r"^(?P<date>\d{12})_FINUTM\.tif$"
    date_format = "%Y%m%d%H%M"
    nodata = 255
    valid_range = (0, 254)
    scale = 0.5
    offset = UNDETECT_DBZ
    resampling = "nearest"


def rain_rate(dbz: xr.DataArray, a: float = 200.0, b: float = 1.6) -> xr.DataArray:
    """Rain rate in mm/h from reflectivity by the Z–R relation Z = a · R^b.

    Z = 10^(dBZ / 10) in mm⁶/m³; Marshall–Palmer's a = 200, b = 1.6 by default.
    Undetect (−32 dBZ and below) is no rain, 0 mm/h; NaN (nodata) stays NaN.
    """
    rate = (10 ** (dbz / 10) / a) ** (1 / b)
    rate = xr.where(dbz <= UNDETECT_DBZ, 0.0, rate).where(dbz.notnull())
    return rate.assign_attrs(dbz.attrs | {"units": "mm/h"})


def crop_to_coverage(cube: xr.DataArray) -> xr.DataArray:
    """``cube`` cropped to the bounding box of the pixels valid in every frame and band."""
    covered = np.isfinite(cube.values).all(axis=(0, 1))
    rows, cols = np.flatnonzero(covered.any(1)), np.flatnonzero(covered.any(0))
    return cube.isel(y=slice(rows[0], rows[-1] + 1), x=slice(cols[0], cols[-1] + 1))


QUANTITIES: Choices[Callable[[xr.DataArray], xr.DataArray]] = Choices(
    "radar quantity", {"dbz": lambda dbz: dbz, "rain_rate": rain_rate}
)
"""What a reflectivity cube becomes, by name."""


def read_fmi_radar(
    source: str | Path | Sequence[str | Path],
    *,
    quantity: str = "rain_rate",
    **kwargs: Any,
) -> xr.DataArray:
    """Read FMI radar composites as a lazy ``(time, band, y, x)`` cube.

    Args:
        source: a folder of ``*_FINUTM.tif`` files, or a list of them in time order.
        quantity: a row of :data:`QUANTITIES`: ``"dbz"`` (reflectivity) or ``"rain_rate"``
            (mm/h, Marshall–Palmer).
        **kwargs: further :func:`seqimaging.geo.read_stack` arguments (``crs``, ...).

    Returns:
        The cube with one band named after ``quantity``, NaN outside radar coverage.

    Example:
        >>> rain = read_fmi_radar("tests/data/fmi_radar")
        >>> rain.sizes["time"], str(rain.band.values[0]), float(rain.min())
        (4, 'rain_rate', 0.0)
    """
    convert = QUANTITIES[quantity]
    cube = convert(FmiRadar.read(source, **kwargs).assign_attrs(units="dBZ"))
    return cube.assign_coords(band=[quantity]).astype(np.float32, keep_attrs=True)


@dataclass(frozen=True)
class RadarSource:
    """One radar network: how its files are named and read.

    Attributes:
        pattern: regular expression searched in each file name, with a ``date`` group.
        date_format: ``strptime`` format of the ``date`` group; None: by its length
            (``YYYYmmddHHMM[SS]``).
        importer: the ``pysteps.io`` importer; None: :func:`read_fmi_radar`.
        kwargs: the importer's arguments, as in pysteps' ``pystepsrc`` data sources.
        module: what the importer reads with, besides pysteps.
    """

    pattern: str
    date_format: str | None
    importer: str | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None


RADAR_SOURCES: Choices[RadarSource] = Choices(
    "radar source",
    {
        "fmi": RadarSource(FmiRadar.pattern, FmiRadar.date_format),
        "knmi": RadarSource(  # pystepsrc's pixelsize=1000 is no argument of the importer
            r"^RAD_NL25_RAP_5min_(?P<date>\d{12})\.h5$",
            "%Y%m%d%H%M",
            "knmi_hdf5",
            {"qty": "ACRR", "accutime": 5.0},
            "h5py",
        ),
        "mch": RadarSource(  # AQC, 2-digit year, day of year, HHMM, a version letter
            r"^AQC(?P<date>\d{9})\w_00005\.801\.gif$",
            "%y%j%H%M",
            "mch_gif",
            {"product": "AQC", "unit": "mm", "accutime": 5.0},
            "PIL",
        ),
        "bom": RadarSource(  # <radar>_<date>_<time>.prcp-cscn.nc (6 min), .prcp-c10.nc (10 min)
            r"^\d+_(?P<date>\d{8}_\d{6})\.prcp-c\w+\.nc$", "%Y%m%d_%H%M%S", "bom_rf3", {}, "netCDF4"
        ),
        "opera": RadarSource(
            r"^T_PAAH21_C_EUOC_(?P<date>\d{14})\.hdf$", "%Y%m%d%H%M%S", "odim_hdf5", {}, "h5py"
        ),
        "odim": RadarSource(
            r"(?<!\d)(?P<date>\d{12}(?:\d{2})?)(?!\d).*\.(?:h5|hdf5?)$",
            None,
            "odim_hdf5",
            {},
            "h5py",
        ),
    },
)
"""The radar networks :func:`read_radar` reads, by name."""


def read_radar(
    folder: str | Path,
    source: str = "fmi",
    *,
    quantity: str = "rain_rate",
    last: int | None = None,
) -> xr.DataArray:
    """Read one folder of a radar network's composites as a ``(time, band, y, x)`` cube.

    Every file whose name matches the source's pattern is read, in time order, with its
    pysteps importer, and converted to mm/h by ``pysteps.utils.conversion.to_rainrate``
    (accumulations in mm divided by their duration). ``fmi`` is :func:`read_fmi_radar`.

    Args:
        folder: the folder of files; searched recursively for FMI only.
        source: a row of :data:`RADAR_SOURCES`.
        quantity: ``"rain_rate"``; FMI also ``"dbz"`` (a row of :data:`QUANTITIES`).
        last: read only the last ``last`` frames (in time), e.g. a forecast's context;
            default all.

    Returns:
        float32 rain rate in mm/h (band ``rain_rate``), NaN outside radar coverage, 0 where
        nothing was detected; coords ``time`` (from the names, UTC), ``y``, ``x`` (pixel
        centres, metres); attrs ``crs`` (WKT), ``transform`` (north-up: row 0 is north, as
        in a GeoTIFF), ``nodata`` (NaN), ``units`` and ``source``. All frames are read,
        except for FMI, whose cube is lazy.

    Raises:
        DatasetNotFoundError: no such folder.
        DataError: no file matching the pattern, an unparseable or duplicate time, a file
            the importer cannot read, or files on different grids.
    """
    spec = RADAR_SOURCES[source]
    QUANTITIES.check(quantity)
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"{folder} does not exist; expected a folder of {source!r} radar files whose "
            f"names match {spec.pattern!r}"
        )
    if last is not None and not (isinstance(last, int) and last >= 1):
        raise SeqImagingError(f"last={last!r}: expected a number of frames ≥ 1, or None")
    if spec.importer is None:
        cube = read_fmi_radar(folder, quantity=quantity).assign_attrs(source=source)
        return cube if last is None else cube.isel(time=slice(-last, None))
    if quantity != "rain_rate":
        raise SeqImagingError(
            f"quantity {quantity!r} of radar source {source!r}: expected 'rain_rate', the "
            f"only one read with pysteps' importers"
        )
    files = _dated_files(folder, source, spec)
    files = dict(list(files.items())[-(last or len(files)) :])
    require("pysteps", extra="radar")
    if spec.module:
        require(spec.module, extra="radar")
    frames, grid, first = [], None, None
    for path in files.values():
        rate, own = _import(path, spec)
        if grid is None:
            grid, first = own, path
        elif not own.matches(grid):
            raise DataError(
                f"{path}: its grid ({own.describe()}) differs from that of {first} "
                f"({grid.describe()}); expected one grid in {folder}"
            )
        frames.append(rate)
    a, _, c, _, e, f = grid.transform
    return xr.DataArray(
        np.stack(frames)[:, None],
        name="data",
        dims=("time", "band", "y", "x"),
        coords={
            "time": np.array(list(files), dtype="datetime64[ns]"),
            "band": [quantity],
            "y": f + e * (np.arange(grid.height) + 0.5),
            "x": c + a * (np.arange(grid.width) + 0.5),
        },
        attrs={
            "crs": grid.crs,
            "transform": list(grid.transform),
            "nodata": float("nan"),
            "units": "mm/h",
            "source": source,
        },
    )


def _dated_files(folder: Path, source: str, spec: RadarSource) -> dict[np.datetime64, Path]:
    """The files of ``folder`` matching ``spec``'s pattern, by time, in time order."""
    regex, by_date = re.compile(spec.pattern), {}
    for path in sorted(folder.iterdir()):
        match = regex.search(path.name) if path.is_file() else None
        if match is None:
            continue
        date = parse_date(match["date"], spec.date_format, path)
        if date in by_date:
            raise DataError(
                f"{path}: duplicate time {date}, also in {by_date[date]}; expected one file each"
            )
        by_date[date] = path
    if not by_date:
        raise DataError(
            f"{folder} holds no file whose name matches {spec.pattern!r}, the file names of "
            f"radar source {source!r}"
        )
    return dict(sorted(by_date.items()))


def _import(path: Path, spec: RadarSource) -> tuple[np.ndarray, Grid]:
    """One file in mm/h (row 0 north, float32, not below 0) and its grid."""
    pysteps = require("pysteps.io", extra="radar")
    from pysteps.utils.conversion import to_rainrate

    try:
        precip, _, metadata = pysteps.get_method(spec.importer, "importer")(
            str(path), **spec.kwargs
        )
        rate, metadata = to_rainrate(precip, metadata)
        grid = _grid(metadata, rate.shape)
    except Exception as err:  # each importer raises what its format library raises
        raise DataError(
            f"{path}: pysteps importer {spec.importer!r} cannot read it "
            f"({type(err).__name__}: {err}); expected a complete file of that format"
        ) from err
    if metadata.get("yorigin") == "lower":
        rate = rate[::-1]
    # ODIM's undetect is the data offset, which may be below 0: no rain
    return np.maximum(np.asarray(rate, np.float32), np.float32(0)), grid


_METRES = {"m": 1.0, "km": 1000.0}


def _grid(metadata: Mapping[str, Any], shape: tuple[int, int]) -> Grid:
    """The north-up grid, in metres, of a pysteps importer's ``metadata``.

    ``x1``–``x2`` and ``y1``–``y2`` are the outer pixel edges, except from ``bom_rf3``,
    which gives the first and last values of the files' x and y, pixel centres (as CF
    states them); the span in pixels tells them apart.
    """
    rasterio = require("rasterio", extra="geo")
    unit = metadata.get("cartesian_unit", "m")
    if unit not in _METRES:
        raise DataError(f"coordinates in {unit!r}; expected a projected grid in m or km")
    scale, edges = _METRES[unit], []
    for axis, size in (("x", shape[1]), ("y", shape[0])):
        low, high = (float(metadata[f"{axis}{i}"]) * scale for i in (1, 2))
        step = metadata.get(f"{axis}pixelsize")
        step = float(step) * scale if step else (high - low) / size
        if abs(high - low - (size - 1) * step) < abs(high - low - size * step):
            low, high = low - step / 2, high + step / 2
        edges.append((low, high, step))
    (x1, _, dx), (_, y2, dy) = edges
    projection = metadata["projection"]
    crs = rasterio.crs.CRS.from_user_input(projection if scale == 1 else _in_metres(projection))
    return Grid(crs.to_wkt(), (dx, 0.0, x1, 0.0, -dy, y2), shape[1], shape[0])


def _in_metres(proj4: str) -> str:
    """``proj4`` of a grid in km, in metres: an ellipsoid given in km (KNMI's
    ``+a=6378.137``, so that coordinates come out in km) and false origin × 1000."""
    params = [p.lstrip("+").partition("=") for p in proj4.split()]
    radius = next((float(v) for k, _, v in params if k in ("a", "R")), None)
    if radius is None or radius > 1e5:  # in metres already
        return proj4
    lengths = ("a", "b", "R", "x_0", "y_0")
    return " ".join(
        f"+{k}={float(v) * 1000!r}" if k in lengths else f"+{k}{eq}{v}" for k, eq, v in params
    )
