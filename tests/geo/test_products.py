"""The product layouts on the committed real-data subsets, against plain rasterio reads."""

from pathlib import Path

import numpy as np
import pytest
import rasterio

from seqimaging.errors import DataError
from seqimaging.geo import Landsat8, ModisNdvi, Sen2rNdvi, boa_offset, scl_cloud_mask
from seqimaging.geo.sentinel2 import SCL_CLOUD_CLASSES

DATA = Path(__file__).parents[1] / "data"


def _at_centres(path: Path, cube, band: int = 1) -> np.ndarray:
    """Raw values of ``path`` at the cube's pixel centres (nearest source pixel), NaN outside."""
    with rasterio.open(path) as src:
        data = src.read(band)
        xs, ys = np.meshgrid(cube.x.values, cube.y.values)
        rows, cols = rasterio.transform.rowcol(src.transform, xs.ravel(), ys.ravel())
    rows, cols = np.asarray(rows).reshape(xs.shape), np.asarray(cols).reshape(xs.shape)
    inside = (rows >= 0) & (rows < data.shape[0]) & (cols >= 0) & (cols < data.shape[1])
    out = np.full(xs.shape, np.nan)
    out[inside] = data[rows[inside], cols[inside]]
    return out


def test_landsat_dates_one_grid_and_values():
    root = DATA / "landsat_ny"
    cube = Landsat8.read(root, bands=["B4", "BQA"], resampling="nearest")
    assert [str(d)[:10] for d in cube.time.values] == ["2018-04-05", "2018-07-10", "2018-10-30"]
    scenes = sorted(root.iterdir())
    first = next(scenes[0].glob("*_B4.TIF"))
    with rasterio.open(first) as src:  # the first date's grid is the cube's grid
        assert cube.attrs["transform"] == list(src.transform)[:6]
        assert (cube.sizes["y"], cube.sizes["x"]) == src.shape
    values = cube.values
    for t, scene in enumerate(scenes):  # later dates sit on slightly different grids
        for b, band in enumerate(["B4", "BQA"]):
            raw = _at_centres(next(scene.glob(f"*_{band}.TIF")), cube)
            fill = 1 if band == "BQA" else 0
            expected = raw if band == "BQA" else raw * 2e-5 - 0.1
            expected = np.where(raw == fill, np.nan, expected)
            np.testing.assert_allclose(values[t, b], expected, rtol=1e-6, equal_nan=True)
    assert 0.2 < np.isnan(values[:, 0]).mean() < 0.5  # the fill around the scene footprint


def test_landsat_grids_really_differ_between_dates():
    with rasterio.open(next((DATA / "landsat_ny").glob("*20180405*/*_B4.TIF"))) as a:
        with rasterio.open(next((DATA / "landsat_ny").glob("*20180710*/*_B4.TIF"))) as b:
            assert a.transform != b.transform


def test_sentinel2_scl_on_the_coarser_grid_becomes_the_cloud_mask():
    root = DATA / "sentinel2_sen2rts"
    cube = Sen2rNdvi.read(root)
    assert [str(d)[:10] for d in cube.time.values] == [
        "2020-01-04", "2020-01-09", "2020-07-27", "2020-09-30", "2020-10-10", "2020-10-15"
    ]  # fmt: skip
    assert (cube.sizes["y"], cube.sizes["x"]) == (7, 25)  # the 10 m NDVI grid
    ndvi_files = sorted((root / "NDVI").iterdir(), key=lambda p: p.name.split("_")[1])
    scl_files = sorted((root / "SCL").iterdir(), key=lambda p: p.name.split("_")[1])
    for t, (ndvi_file, scl_file) in enumerate(zip(ndvi_files, scl_files, strict=True)):
        with rasterio.open(ndvi_file) as src:
            np.testing.assert_allclose(cube.values[t, 0], src.read(1) * 1e-4, rtol=1e-6)
        scl = _at_centres(scl_file, cube)  # the 20 m SCL pixel under each 10 m pixel centre
        np.testing.assert_array_equal(cube.values[t, 1], scl)
    clouds = scl_cloud_mask(cube.sel(band="SCL")).values
    np.testing.assert_array_equal(clouds, np.isin(cube.values[:, 1], SCL_CLOUD_CLASSES))
    masked = Sen2rNdvi.read_masked(root)
    assert masked.band.values.tolist() == ["NDVI"]
    np.testing.assert_array_equal(np.isnan(masked.values[:, 0]), clouds)
    assert clouds[1].all() and not clouds[2].any()  # 2020-01-09 cloud (8, 9); 2020-07-27 clear


def test_modis_lossy_fill_is_masked_and_ndvi_clipped():
    root = DATA / "modis_ndvi"
    cube = ModisNdvi.read(root)
    assert cube.band.values.tolist() == ["NDVI"]
    assert [str(d)[:10] for d in cube.time.values] == [
        "2013-09-14", "2013-12-19", "2014-03-22", "2014-07-28"
    ]  # fmt: skip
    for t, path in enumerate(sorted(root.glob("*.jp2"), key=lambda p: p.stem[-10:])):
        with rasterio.open(path) as src:
            raw = src.read(1).astype(np.float64)
        expected = np.where(raw < -2000, np.nan, np.minimum(raw * 1e-4, 1.0))
        np.testing.assert_allclose(cube.values[t, 0], expected, rtol=1e-6, equal_nan=True)
    assert float(cube.max()) <= 1.0 and float(cube.min()) >= -0.2


def test_sentinel2_offset_is_keyed_on_the_processing_baseline():
    assert boa_offset("S2A_MSIL2A_20220120T101000_N0400_R022_T32TQQ_20240101T000000") == -1000
    assert boa_offset("S2A_MSIL2A_20220301T101000_N0301_R022_T32TQQ_20220301T120000") == 0
    assert boa_offset("S2B_MSIL2A_20200727T101000_N0509_R022_T32TQQ_20230801T120000") == -1000
    with pytest.raises(DataError, match="no processing baseline"):
        boa_offset("S2A_20200727_022_sampleroi_NDVI_10.tif")
