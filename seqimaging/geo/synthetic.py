"""A synthetic satellite series: clouds and rain drifting over a static surface.

Clouds are Gaussian blobs that move with one wind (plus a little each of their own),
grow and decay over a few frames, and come and go through the edges. The series is
predictable from its past (the wind) but not from one frame, so a forecaster that
tracks motion beats persistence on it. Written as GeoTIFFs the way real products are:
coded integers with a scale per band, a nodata border, dates in the file names, and
one frame in another CRS so that reading it exercises reprojection.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqimaging._optional import require

BANDS = ("reflectance", "rain")
SCALES = (1e-4, 0.01)
"""Physical value = stored uint16 × scale: reflectance (0–1) and rain rate (mm/h)."""
NODATA = 65535
CRS = "EPSG:32632"
OTHER_CRS = "EPSG:3035"


@dataclass(frozen=True)
class CloudSeries:
    """The true fields of a series: ``surface`` ``[H, W]``; ``reflectance``, ``rain`` ``[T, H, W]``;
    ``valid`` ``[H, W]`` (False on the nodata border); ``times`` datetime64 ``[T]``; ``wind``
    ``(dx, dy)`` in pixels per frame."""

    surface: np.ndarray
    reflectance: np.ndarray
    rain: np.ndarray
    valid: np.ndarray
    times: np.ndarray
    wind: tuple[float, float]


def cloud_fields(
    n_frames: int,
    seed: int,
    *,
    size: int = 64,
    border: int = 2,
    speed: tuple[float, float] = (1.0, 2.0),
    density: float = 16.0,
    start: str = "2024-06-01T00:00",
    step_minutes: int = 60,
) -> CloudSeries:
    """The fields of :func:`make_cloud_series`, in memory (same arguments, same result)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    surface = np.full((size, size), 0.25)
    for _ in range(4):  # gentle relief: a few random plane waves
        k = rng.uniform(-3, 3, size=2) * 2 * np.pi / size
        surface += 0.03 * np.sin(k[0] * xx + k[1] * yy + rng.uniform(0, 2 * np.pi))
    angle = rng.uniform(0, 2 * np.pi)
    wind = rng.uniform(*speed) * np.array([np.cos(angle), np.sin(angle)])
    n_blobs = int(density * (1 + np.hypot(*wind) * n_frames / size))
    position = rng.uniform(0, size, (n_blobs, 2)) - wind * rng.uniform(0, n_frames, (n_blobs, 1))
    velocity = wind + rng.normal(0, 0.15, (n_blobs, 2))
    radius = rng.uniform(3, 8, n_blobs) * size / 64
    peak = rng.uniform(0.5, 1.0, n_blobs)
    peak_time = rng.uniform(0, n_frames, n_blobs)
    life = rng.uniform(4, 12, n_blobs)

    t = np.arange(n_frames)[:, None]
    age = (t - peak_time) / life  # [T, n]
    amplitude = peak * np.exp(-(age**2))
    spread = radius * np.clip(1 + 0.3 * age, 0.5, None)
    centre = position[None] + velocity[None] * t[..., None]  # [T, n, 2]
    clear = np.ones((n_frames, size, size))
    for i in range(n_blobs):
        d2 = (xx - centre[:, i, 0, None, None]) ** 2 + (yy - centre[:, i, 1, None, None]) ** 2
        clear *= 1 - amplitude[:, i, None, None] * np.exp(-d2 / (2 * spread[:, i, None, None] ** 2))
    cloud = 1 - clear
    valid = np.zeros((size, size), dtype=bool)
    valid[border : size - border, border : size - border] = True
    times = np.datetime64(start, "m") + np.arange(n_frames) * np.timedelta64(step_minutes, "m")
    return CloudSeries(
        surface=surface,
        reflectance=surface * (1 - cloud) + 0.85 * cloud,
        rain=30 * np.clip(cloud - 0.5, 0, None) ** 1.5,
        valid=valid,
        times=times,
        wind=(float(wind[0]), float(wind[1])),
    )


def make_cloud_series(
    directory: str | Path,
    n_frames: int = 48,
    seed: int = 0,
    *,
    size: int = 64,
    pixel_size: float = 1000.0,
    other_crs_frame: int | None = -1,
    **kwargs,
) -> Path:
    """Write a synthetic series as dated GeoTIFFs, ``cloud_<YYYYMMDDThhmm>.tif``.

    Each file has two uint16 bands, ``reflectance`` (scale 1e-4) and ``rain`` (mm/h,
    scale 0.01), nodata 65535 on a border of ``border`` pixels, in UTM 32N with
    ``pixel_size`` metre pixels. Frame ``other_crs_frame`` is warped (bilinear) to
    ETRS89-LAEA (EPSG:3035), so the series has mixed CRSs; ``None`` keeps every frame in
    UTM. :func:`seqimaging.geo.read_stack` reads the folder back onto the UTM grid.

    Args:
        directory: where to write (created if needed).
        n_frames: number of frames.
        seed: seed of surface, wind and clouds; the same seed gives the same files.
        size: height and width in pixels.
        pixel_size: pixel size in metres.
        other_crs_frame: index of the frame written in the other CRS (default the
            middle one, ``-1``), or ``None``.
        **kwargs: ``border``, ``speed``, ``density``, ``start``, ``step_minutes`` of
            :func:`cloud_fields`.

    Returns:
        ``directory`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> folder = make_cloud_series(tempfile.mkdtemp(), n_frames=3, size=16)
        >>> sorted(p.name for p in folder.iterdir())[0]
        'cloud_20240601T0000.tif'
    """
    rasterio = require("rasterio", extra="geo")
    from rasterio.warp import calculate_default_transform, reproject

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    series = cloud_fields(n_frames, seed, size=size, **kwargs)
    transform = rasterio.transform.from_origin(500_000, 5_000_000, pixel_size, pixel_size)
    other = n_frames // 2 if other_crs_frame == -1 else other_crs_frame
    for t, when in enumerate(series.times):
        data = np.stack([series.reflectance[t], series.rain[t]]).astype(np.float32)
        data[:, ~series.valid] = np.nan
        crs, frame_transform = CRS, transform
        if t == other:
            frame_transform, width, height = calculate_default_transform(
                CRS, OTHER_CRS, size, size, *rasterio.transform.array_bounds(size, size, transform)
            )
            warped = np.full((2, height, width), np.nan, dtype=np.float32)
            reproject(
                data,
                warped,
                src_transform=transform,
                src_crs=CRS,
                dst_transform=frame_transform,
                dst_crs=OTHER_CRS,
                resampling=rasterio.enums.Resampling.bilinear,
                src_nodata=np.nan,
                dst_nodata=np.nan,
            )
            crs, data = OTHER_CRS, warped
        stamp = str(when.astype("datetime64[m]")).replace("-", "").replace(":", "")
        _write(directory / f"cloud_{stamp}.tif", data, crs, frame_transform)
    return directory


def _write(path: Path, data: np.ndarray, crs: str, transform) -> None:
    """Code ``data`` ``[2, H, W]`` (NaN for nodata) as uint16 with the band scales."""
    rasterio = require("rasterio", extra="geo")
    scales = np.array(SCALES, dtype=np.float64)[:, None, None]
    coded = np.clip(np.round(np.nan_to_num(data) / scales), 0, NODATA - 1)
    coded = np.where(np.isnan(data), NODATA, coded).astype(np.uint16)
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": len(BANDS),
        "dtype": "uint16",
        "crs": crs,
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(coded)
        dst.scales = SCALES
        dst.offsets = (0.0, 0.0)
        for i, name in enumerate(BANDS, start=1):
            dst.set_band_description(i, name)


def make_radar_events(
    root: str | Path,
    events: tuple[str, ...] = ("20160928", "20170509"),
    n_frames: int = 20,
    seed: int = 0,
    *,
    size: int = 64,
) -> Path:
    """Write synthetic rain events as FMI radar composites, ``root/<event>/<time>_FINUTM.tif``.

    Each event is the rain of :func:`cloud_fields` (its own wind; 5-minute steps from
    10:00 UTC on the event's date) coded as FMI codes: dBZ = 10·log10(200·R^1.6) (the
    Marshall–Palmer relation the reader inverts), code = 2·(dBZ + 32), 0 where no rain
    and 255 (nodata) on a 2-pixel border, uint8, EPSG:3067 with 2750 m pixels and no GDAL
    nodata value, as the real files. :func:`seqimaging.geo.read_fmi_radar` reads them.

    Example:
        >>> import tempfile
        >>> root = make_radar_events(tempfile.mkdtemp(), n_frames=2, size=16)
        >>> sorted(p.name for p in (root / "20170509").iterdir())
        ['201705091000_FINUTM.tif', '201705091005_FINUTM.tif']
    """
    rasterio = require("rasterio", extra="geo")
    root = Path(root)
    transform = rasterio.transform.from_origin(-196593.0, 8084432.0, 2750.0, 2750.0)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:3067",
        "transform": transform,
    }
    for k, event in enumerate(events):
        start = f"{event[:4]}-{event[4:6]}-{event[6:8]}T10:00"
        series = cloud_fields(n_frames, seed + k, size=size, start=start, step_minutes=5)
        (root / event).mkdir(parents=True, exist_ok=True)
        with np.errstate(divide="ignore"):
            dbz = 10 * np.log10(200 * series.rain**1.6)
        codes = np.clip(np.round(2 * (dbz + 32)), 1, 254)
        codes = np.where(series.rain > 0, codes, 0)
        codes = np.where(series.valid, codes, 255).astype(np.uint8)
        for when, frame in zip(series.times, codes, strict=True):
            stamp = str(when.astype("datetime64[m]")).replace("-", "").replace(":", "")
            with rasterio.open(
                root / event / f"{stamp.replace('T', '')}_FINUTM.tif", "w", **profile
            ) as dst:
                dst.write(frame[None])
    return root
