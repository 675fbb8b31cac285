"""MODIS MOD13Q1 NDVI composites as JPEG 2000 files, in the layout of the sits package."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from seqimaging.geo.layout import Layout


class ModisNdvi(Layout):
    """``<TERRA|AQUA>_MODIS_<tile>_NDVI_<YYYY-MM-DD>.jp2``: NDVI × 1e4 as int16.

    The date is the first day of the 16-day composite. Fill is −3000, but the JPEG 2000
    compression is lossy, so fill pixels are scattered around −3000: everything below
    −2000 (the bottom of the valid range) is invalid, and NDVI above 1 is clipped to 1.

    Example:
        >>> cube = ModisNdvi.read("tests/data/modis_ndvi")
        >>> float(cube.max()) <= 1.0
        True
    """

    pattern = r"^(?:TERRA|AQUA)_MODIS_\d{6}_NDVI_(?P<date>\d{4}-\d{2}-\d{2})\.jp2$"
    date_format = "%Y-%m-%d"
    scale = 1e-4
    valid_range = (-2000, None)

    @classmethod
    def read(cls, source: str | Path | Sequence[str | Path], **kwargs: Any) -> xr.DataArray:
        """The stack with band ``NDVI``, clipped to at most 1 (invalid pixels stay NaN)."""
        cube = super().read(source, **kwargs).clip(max=1.0, keep_attrs=True)
        return cube.assign_coords(band=["NDVI"])
