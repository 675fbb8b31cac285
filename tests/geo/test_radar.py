"""The FMI radar reader against pysteps' own importer on the same files."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from pysteps.io.importers import import_fmi_geotiff
from pysteps.utils import conversion

from seqimaging.geo import read_fmi_radar

FILES = sorted((Path(__file__).parents[1] / "data" / "fmi_radar").rglob("*_FINUTM.tif"))


@pytest.fixture
def gdal(monkeypatch):
    """pysteps reads these files with GDAL's Python bindings. Where they are not installed
    (they need the system GDAL library), a stand-in reads the bytes with rasterio, so that
    pysteps' own decoding (codes → dBZ, nodata → NaN) still runs."""
    try:
        import osgeo  # noqa: F401
    except ImportError:
        pass
    else:
        return
    import pysteps.io.importers as importers

    class Band:
        def __init__(self, path):
            self.path = path

        def ReadAsArray(self):
            with rasterio.open(self.path) as src:
                return src.read(1)

    class Dataset:
        def __init__(self, path, mode):
            with rasterio.open(path) as src:
                self.RasterXSize, self.RasterYSize = src.width, src.height
                self._wkt, self._gt = src.crs.to_wkt(), src.transform.to_gdal()
            self.path = path

        def GetRasterBand(self, index):
            return Band(self.path)

        def GetProjection(self):
            return self._wkt

        def GetGeoTransform(self):
            return self._gt

    class SpatialReference:
        def ImportFromWkt(self, wkt):
            self.crs = rasterio.crs.CRS.from_wkt(wkt)

        def ExportToProj4(self):
            return self.crs.to_proj4()

    fake = types.SimpleNamespace(Open=Dataset)
    monkeypatch.setattr(importers, "GDAL_IMPORTED", True)
    monkeypatch.setattr(importers, "gdal", fake, raising=False)
    monkeypatch.setattr(importers, "gdalconst", types.SimpleNamespace(GA_ReadOnly=0), raising=False)
    monkeypatch.setattr(
        importers, "osr", types.SimpleNamespace(SpatialReference=SpatialReference), raising=False
    )
    monkeypatch.setitem(sys.modules, "osgeo", None)


def test_dbz_and_rain_rate_equal_pysteps(gdal):
    dbz = read_fmi_radar(FILES, quantity="dbz")
    rain = read_fmi_radar(FILES)
    assert [str(t)[:16] for t in dbz.time.values] == [
        "2016-09-28T14:45", "2016-09-28T14:50", "2016-09-28T14:55", "2016-09-28T15:00"
    ]  # fmt: skip
    for t, path in enumerate(FILES):
        reference, _, metadata = import_fmi_geotiff(str(path))
        assert metadata["yorigin"] == "upper"
        np.testing.assert_array_equal(dbz.values[t, 0], reference.astype(np.float32))
        expected, _ = conversion.to_rainrate(reference, metadata, zr_a=200.0, zr_b=1.6)
        np.testing.assert_allclose(rain.values[t, 0], expected, rtol=1e-5, equal_nan=True)
    values = rain.values
    assert 0.5 < np.isnan(values).mean() < 0.8  # outside coverage: about 68 % of the grid
    assert (values[np.isfinite(values)] >= 0).all() and np.nanmax(values) > 10


def test_undetect_is_no_rain_and_nodata_is_nan():
    rain = read_fmi_radar(FILES[:1]).values[0, 0]
    with rasterio.open(FILES[0]) as src:
        codes = src.read(1)
    assert (rain[codes == 0] == 0).all()
    assert np.isnan(rain[codes == 255]).all() and np.isfinite(rain[codes != 255]).all()
    code = 94  # 15 dBZ: Z = 10**1.5, R = (Z / 200) ** (1 / 1.6)
    assert (codes == code).any()
    np.testing.assert_allclose(rain[codes == code], (10**1.5 / 200) ** (1 / 1.6), rtol=1e-6)


def test_crop_to_coverage_keeps_the_bounding_box_of_valid_pixels():
    from seqimaging.geo.radar import crop_to_coverage

    values = np.full((2, 1, 6, 7), np.nan)
    values[:, :, 1:4, 2:6] = 1.0
    values[1, 0, 1, 2] = np.nan  # not valid in every frame: the box stays
    cube = xr.DataArray(values, dims=("time", "band", "y", "x"))
    assert crop_to_coverage(cube).shape == (2, 1, 3, 4)


def test_an_unknown_quantity_is_refused_naming_the_valid_ones():
    from seqimaging.errors import SeqImagingError

    with pytest.raises(SeqImagingError, match=r"unknown radar quantity 'dbzh'.*dbz, rain_rate"):
        read_fmi_radar(FILES, quantity="dbzh")
