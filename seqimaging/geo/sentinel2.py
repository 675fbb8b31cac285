"""Sentinel-2 Level-2A: value conventions, the SCL cloud mask, and sen2r product files."""

import re
from types import MappingProxyType as Frozen

import xarray as xr

from seqimaging.errors import DataError
from seqimaging.geo.layout import Layout

BOA_SCALE = 1e-4
"""L2A surface reflectance = (DN + offset) × 1e-4."""
BOA_ADD_OFFSET = -1000
"""The DN offset of processing baseline 04.00 and later (from 2022-01-25)."""
SCL_CLOUD_CLASSES = (3, 8, 9, 10, 11)
"""Scene classes to mask: cloud shadow, cloud medium and high probability, cirrus, snow."""
SCL_NODATA = 0


def boa_offset(product: str) -> int:
    """The DN offset of an L2A product, read from the baseline ``_Nxxyy_`` in its name.

    Keyed on the processing baseline, not on the sensing date: products reprocessed
    with baseline 04.00 or later have the offset whatever their date.

    Example:
        >>> boa_offset("S2B_MSIL2A_20220301T101839_N0400_R065_T32TQQ_20220301T130000.SAFE")
        -1000
        >>> boa_offset("S2A_MSIL2A_20200727T101031_N0214_R022_T32TQQ_20200727T113000")
        0
    """
    match = re.search(r"_N(\d{2})(\d{2})_", product)
    if match is None:
        raise DataError(
            f"{product}: no processing baseline (_Nxxyy_) in the name; expected an L2A "
            f"product name such as S2A_MSIL2A_<date>_N0400_R..."
        )
    return BOA_ADD_OFFSET if int(match[1]) >= 4 else 0


def scl_cloud_mask(scl: xr.DataArray) -> xr.DataArray:
    """True where the scene classification is a cloud, shadow, cirrus or snow class,
    or where it is missing (NaN or class 0)."""
    return scl.isin(SCL_CLOUD_CLASSES) | scl.isnull() | (scl == SCL_NODATA)


class Sen2rNdvi(Layout):
    """sen2r outputs ``S2<A|B>2A_<YYYYMMDD>_<orbit>_<extent>_<NDVI|SCL>_<res>.tif``.

    NDVI is stored × 1e4 (nodata −32768) at 10 m; SCL is on a 20 m grid offset from it,
    so it is resampled onto the NDVI grid with nearest neighbour. :meth:`read_masked`
    turns SCL into the cloud mask.

    Example:
        >>> ndvi = Sen2rNdvi.read_masked("tests/data/sentinel2_sen2rts")
        >>> ndvi.band.values.tolist(), ndvi.sizes["time"]
        (['NDVI'], 6)
    """

    pattern = r"^S2[AB]2A_(?P<date>\d{8})_\d{3}_\w+?_(?P<band>NDVI|SCL)_\d+\.tif$"
    date_format = "%Y%m%d"
    scale = Frozen({"NDVI": BOA_SCALE})
    resampling = Frozen({"SCL": "nearest"})

    @classmethod
    def read_masked(cls, source, **kwargs) -> xr.DataArray:
        """NDVI with cloud-masked pixels (by SCL) set to NaN; SCL itself is dropped."""
        cube = cls.read(source, **kwargs)
        clouds = scl_cloud_mask(cube.sel(band="SCL"))
        return cube.sel(band=["NDVI"]).where(~clouds)
