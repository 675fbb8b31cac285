"""Satellite and radar image series: dated rasters → lazy cubes → training windows.

Needs the ``geo`` extra (rasterio, torchgeo, dask, zarr, h5netcdf); its modules import
them only when used.

Example:
    >>> import tempfile
    >>> from seqimaging.geo import CubeWindows, read_stack
    >>> from seqimaging.geo.synthetic import make_cloud_series
    >>> cube = read_stack(make_cloud_series(tempfile.mkdtemp(), n_frames=8, size=32))
    >>> windows = CubeWindows(cube, context=4, horizon=2, patch=16, region=16)
    >>> windows[0]["future"].shape
    torch.Size([2, 2, 16, 16])
"""

from seqimaging.geo.cube import min_max_scaled, open_cube, regrid, save_cube
from seqimaging.geo.interop import TorchGeoWindows
from seqimaging.geo.landsat import Landsat8
from seqimaging.geo.layout import Layout
from seqimaging.geo.modis import ModisNdvi
from seqimaging.geo.radar import FmiRadar, rain_rate, read_fmi_radar, read_radar
from seqimaging.geo.scales import SCALES, ValueScale
from seqimaging.geo.sentinel2 import Sen2rNdvi, boa_offset, scl_cloud_mask
from seqimaging.geo.stack import read_stack
from seqimaging.geo.windows import CubeWindows

__all__ = [
    "SCALES",
    "CubeWindows",
    "FmiRadar",
    "Landsat8",
    "Layout",
    "ModisNdvi",
    "Sen2rNdvi",
    "TorchGeoWindows",
    "ValueScale",
    "boa_offset",
    "min_max_scaled",
    "open_cube",
    "rain_rate",
    "read_fmi_radar",
    "read_radar",
    "read_stack",
    "regrid",
    "save_cube",
    "scl_cloud_mask",
]
