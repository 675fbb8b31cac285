"""A product's file naming and value coding, as class attributes for :func:`read_stack`."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import xarray as xr

from seqimaging.geo.stack import read_stack


class Layout:
    """How a product names its files and codes its values.

    Subclasses set the class attributes (each one a :func:`read_stack` argument of the
    same name) and :meth:`read` passes them on, so one product is one small class and no
    reader branches on the product.

    Example:
        >>> class Ndvi(Layout):
        ...     pattern = r"NDVI_(?P<date>\\d{8})\\.tif$"
        ...     scale = 1e-4
        >>> Ndvi.settings()["scale"]
        0.0001
    """

    pattern: ClassVar[str | None] = None
    date_format: ClassVar[str | None] = None
    bands: ClassVar[Sequence[str] | None] = None
    nodata: ClassVar[float | Mapping[str, float] | None] = None
    scale: ClassVar[float | Mapping[str, float] | None] = None
    offset: ClassVar[float | Mapping[str, float] | None] = None
    valid_range: ClassVar[tuple[float | None, float | None] | None] = None
    resampling: ClassVar[str | Mapping[str, str]] = "bilinear"

    _SETTINGS = (
        "pattern",
        "date_format",
        "bands",
        "nodata",
        "scale",
        "offset",
        "valid_range",
        "resampling",
    )

    @classmethod
    def settings(cls) -> dict[str, Any]:
        """The :func:`read_stack` arguments this layout sets."""
        return {name: getattr(cls, name) for name in cls._SETTINGS}

    @classmethod
    def read(cls, source: str | Path | Sequence[str | Path], **kwargs: Any) -> xr.DataArray:
        """:func:`read_stack` of ``source`` with this layout; ``kwargs`` override it."""
        return read_stack(source, **(cls.settings() | kwargs))
