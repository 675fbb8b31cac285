"""read_stack: dates, one grid, values, laziness, and the bad-input errors."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo import read_stack
from seqimaging.geo.synthetic import NODATA, SCALES, cloud_fields, make_cloud_series


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_dates_grid_and_values_of_the_synthetic_series(series):
    before = _digest(series)
    cube = read_stack(series)
    truth = cloud_fields(8, 3, size=32)
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.band.values.tolist() == ["reflectance", "rain"]
    np.testing.assert_array_equal(cube.time.values, truth.times.astype("datetime64[ns]"))
    assert cube.chunks is not None  # dask-backed, nothing read yet
    values = cube.values
    for t in (0, 7):  # frames on the grid: exactly the stored codes times the band scales
        with rasterio.open(sorted(series.iterdir())[t]) as src:
            raw = src.read().astype(np.float64)
            assert cube.attrs["transform"] == list(src.transform)[:6]
        expected = np.where(raw == NODATA, np.nan, raw * np.array(SCALES)[:, None, None])
        np.testing.assert_allclose(values[t], expected, rtol=1e-6, equal_nan=True)
    # the frame stored in EPSG:3035 comes back onto the UTM grid, close to the true field
    inner = (slice(4, -4), slice(4, -4))
    error = np.abs(values[4, 0][inner] - truth.reflectance[4][inner])
    assert error.max() < 0.03
    assert np.isnan(values[:, :, 0, :]).all() and np.isfinite(values[:, :, 2:-2, 2:-2]).all()
    assert _digest(series) == before  # opened read-only, never modified


def test_read_only_files_are_readable(series, tmp_path):
    folder = shutil.copytree(series, tmp_path / "ro")
    for path in folder.iterdir():
        path.chmod(0o444)
    cube = read_stack(folder)
    assert np.isfinite(cube[:1].values).any()


def test_requested_crs_and_resolution_make_the_grid(series):
    cube = read_stack(series, crs="EPSG:3035", resolution=2000)
    a, _, _, _, e, _ = cube.attrs["transform"]
    assert (a, -e) == (2000, 2000)
    assert rasterio.crs.CRS.from_wkt(cube.attrs["crs"]).to_epsg() == 3035
    assert np.isfinite(cube.values).mean() > 0.5


def test_unknown_resampling_is_refused_before_reading(series):
    with pytest.raises(SeqImagingError, match=r"resampling 'bilinaer' of band 'rain'"):
        read_stack(series, resampling={"rain": "bilinaer"})


def test_mixed_crs_is_refused_without_reprojection(series):
    with pytest.raises(DataError, match=r"cloud_20240601T0400\.tif.*reproject=False"):
        read_stack(series, reproject=False)


def test_list_of_files_keeps_their_order_and_must_be_in_time_order(series):
    files = sorted(series.iterdir())
    assert read_stack(files[:3]).sizes["time"] == 3
    with pytest.raises(DataError, match=r"time out of order"):
        read_stack([files[1], files[0]])


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("cloud_20241399T0000.tif", r"cannot parse the date '202413990000'"),
        ("cloud_20240601T0000.tiff", r"duplicate date 2024-06-01T00:00:00"),
    ],
)
def test_bad_or_duplicate_dates_name_the_file(series, tmp_path, name, match):
    folder = shutil.copytree(series, tmp_path / "s")
    shutil.copy(folder / "cloud_20240601T0100.tif", folder / name)
    with pytest.raises(DataError, match=match) as info:
        read_stack(folder)
    assert name in str(info.value)


def test_a_file_that_is_not_a_raster(series, tmp_path):
    folder = shutil.copytree(series, tmp_path / "s")
    (folder / "cloud_20240601T0900.tif").write_text("not an image")
    with pytest.raises(DataError, match=r"cloud_20240601T0900\.tif: not a raster"):
        read_stack(folder)


def test_band_counts_that_differ(series, tmp_path):
    folder = shutil.copytree(series, tmp_path / "s")
    with rasterio.open(folder / "cloud_20240601T0000.tif") as src:
        profile, data = src.profile | {"count": 1}, src.read(1)
    with rasterio.open(folder / "cloud_20240601T0900.tif", "w", **profile) as dst:
        dst.write(data, 1)
    with pytest.raises(DataError, match=r"T0900\.tif: has bands \['1'\] \(1\).*band counts"):
        read_stack(folder)


def test_band_sets_that_differ_in_a_file_per_band_layout(tmp_path):
    make_cloud_series(tmp_path, n_frames=2, size=8, other_crs_frame=None)
    for path in tmp_path.iterdir():  # one band per file: <date>_reflectance.tif and _rain.tif
        for band, name in ((1, "reflectance"), (2, "rain")):
            with rasterio.open(path) as src:
                profile, data = src.profile | {"count": 1}, src.read(band)
            with rasterio.open(
                tmp_path / path.name.replace(".tif", f"_{name}.tif"), "w", **profile
            ) as dst:
                dst.write(data, 1)
        path.unlink()
    pattern = r"cloud_(?P<date>\d{8}T\d{4})_(?P<band>\w+)\.tif"
    cube = read_stack(tmp_path, pattern=pattern, date_format="%Y%m%dT%H%M")
    assert cube.band.values.tolist() == ["rain", "reflectance"] and cube.sizes["time"] == 2
    (tmp_path / "cloud_20240601T0100_rain.tif").unlink()
    with pytest.raises(
        DataError, match=r"T0100_reflectance\.tif: its date has bands \['reflectance'\]"
    ):
        read_stack(tmp_path, pattern=pattern, date_format="%Y%m%dT%H%M")


def test_an_all_nodata_stack(series, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    for path in sorted(series.iterdir())[:2]:
        with rasterio.open(path) as src:
            profile, shape = src.profile, (src.count, src.height, src.width)
        with rasterio.open(folder / path.name, "w", **profile) as dst:
            dst.write(np.full(shape, NODATA, np.uint16))
    with pytest.raises(DataError, match=r"every pixel of the stack is nodata.*T0000\.tif"):
        read_stack(folder)
