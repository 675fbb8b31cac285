"""FMI weather-radar reflectivity composites (GeoTIFF): codes → dBZ → rain rate."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from seqimaging.choices import Choices
from seqimaging.geo.layout import Layout

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


def log_rain(rain: torch.Tensor) -> torch.Tensor:
    """Rain rate (mm/h) → ``(log10(R + 0.1) + 1) / 3``: about [0, 1], 0 for no rain.

    The scale a model learns rain on: the logarithm keeps drizzle and downpours in one
    range, so that an L1 loss keeps dry pixels dry.
    """
    return (torch.log10(rain.clamp_min(0) + 0.1) + 1) / 3


def rain_from_log(values: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`log_rain`, clipped to 0–200 mm/h (no radar sees more)."""
    return (10 ** (3 * values.clamp(0, log_rain(torch.tensor(200.0))) - 1) - 0.1).clamp_min(0)


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
