"""write_forecast: CF zarr / netCDF and Cloud-Optimized GeoTIFF folders, read back by
xarray, GDAL and read_stack; atomic, never overwriting, refusing bad cubes up front."""

import doctest

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.crs import CRS

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo import open_cube, read_stack
from seqimaging.inference import output
from seqimaging.inference.output import write_forecast

T, B, H, W = 3, 2, 20, 30
TRANSFORM = [1000.0, 0.0, 300000.0, 0.0, -1000.0, 7000000.0]
REFERENCE = np.datetime64("2024-06-01T12:00", "ns")
TIMES = REFERENCE + np.arange(1, T + 1) * np.timedelta64(10, "m")


def values() -> np.ndarray:
    data = np.random.default_rng(0).random((T, B, H, W)).astype(np.float32)
    data[1, 0, :3, :4] = np.nan  # outside radar coverage
    return data


def forecast(data=None, crs=None, **attrs) -> xr.DataArray:
    """A lazy 3-lead, 2-band, 20 x 30 px forecast in EPSG:3067 (or ``crs``)."""
    data = values() if data is None else data
    if isinstance(data, np.ndarray):
        data = da.from_array(data, chunks=(1, B, 10, 16))
    a, _, c, _, e, f = TRANSFORM
    return xr.DataArray(
        data,
        name="data",
        dims=("time", "band", "y", "x"),
        coords={
            "time": TIMES,
            "band": ["rain", "echo_top"],
            "y": f + e * (np.arange(H) + 0.5),
            "x": c + a * (np.arange(W) + 0.5),
        },
        attrs={
            "crs": (crs or CRS.from_epsg(3067)).to_wkt(),
            "transform": TRANSFORM,
            "units": "mm h-1",
            "reference_time": "2024-06-01T12:00:00",
            "model": "unet",
            "checkpoint": "runs/7/best.ckpt",
        }
        | attrs,
    )


def open_plain(path, **options) -> xr.Dataset:
    if path.suffix == ".zarr":
        return xr.open_dataset(path, engine="zarr", consolidated=False, **options)
    return xr.open_dataset(path, **options)


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_cf_dataset_round_trip(tmp_path, suffix):
    path = write_forecast(forecast(), tmp_path / f"nowcast{suffix}")
    assert path == tmp_path / f"nowcast{suffix}"
    ds = open_plain(path)
    var = ds["data"]
    assert var.dims == ("time", "band", "y", "x")
    np.testing.assert_array_equal(var.values, values())
    np.testing.assert_array_equal(ds["time"].values, TIMES)
    assert list(ds["band"].values) == ["rain", "echo_top"]
    assert var.attrs["grid_mapping"] == "spatial_ref"
    assert var.attrs["units"] == "mm h-1" and var.attrs["long_name"]
    ref = ds["spatial_ref"]
    assert ref.ndim == 0
    assert CRS.from_wkt(ref.attrs["crs_wkt"]) == CRS.from_epsg(3067)
    assert CRS.from_wkt(ref.attrs["spatial_ref"]) == CRS.from_epsg(3067)
    assert ref.attrs["grid_mapping_name"] == "transverse_mercator"
    gdal = [float(v) for v in ref.attrs["GeoTransform"].split()]
    assert gdal == [300000.0, 1000.0, 0.0, 7000000.0, 0.0, -1000.0]
    assert ds["x"].attrs["standard_name"] == "projection_x_coordinate"
    assert ds["y"].attrs["standard_name"] == "projection_y_coordinate"
    assert (ds["x"].attrs["axis"], ds["y"].attrs["axis"]) == ("X", "Y")
    assert ds["x"].attrs["units"] == ds["y"].attrs["units"] == "m"
    assert ds["time"].attrs["standard_name"] == "time"
    assert ds["time"].encoding["units"] == "minutes since 2024-06-01T12:00:00"
    assert ds.attrs["Conventions"] == "CF-1.8"
    assert ds.attrs["reference_time"] == "2024-06-01T12:00:00"
    assert "unet" in ds.attrs["source"] and "runs/7/best.ckpt" in ds.attrs["source"]
    assert "write_forecast" in ds.attrs["history"]
    raw = open_plain(path, decode_times=False)
    np.testing.assert_array_equal(raw["time"].values, [10, 20, 30])
    # the toolkit's own reader gets back the cube and its georeferencing
    cube = open_cube(path)
    np.testing.assert_array_equal(cube.values, values())
    assert list(cube.attrs["transform"]) == TRANSFORM
    assert CRS.from_wkt(cube.attrs["crs"]) == CRS.from_epsg(3067)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_numpy_cube_and_no_reference_time(tmp_path):
    cube = forecast().compute()
    del cube.attrs["reference_time"]
    path = write_forecast(cube, tmp_path / "f.nc")
    ds = xr.open_dataset(path)
    assert ds["time"].encoding["units"] == "minutes since 2024-06-01T12:10:00"
    assert "reference_time" not in ds.attrs
    np.testing.assert_array_equal(ds["data"].values, values())


def test_geographic_crs_gets_longitude_latitude(tmp_path):
    ds = xr.open_dataset(write_forecast(forecast(crs=CRS.from_epsg(4326)), tmp_path / "f.nc"))
    assert ds["x"].attrs["standard_name"] == "longitude"
    assert ds["x"].attrs["units"] == "degrees_east"
    assert ds["y"].attrs["standard_name"] == "latitude"
    assert ds["y"].attrs["units"] == "degrees_north"
    assert ds["spatial_ref"].attrs["grid_mapping_name"] == "latitude_longitude"


def test_gdal_reads_the_netcdf(tmp_path):
    with rasterio.Env() as env:
        if "netCDF" not in env.drivers():
            pytest.skip("GDAL of this rasterio has no netCDF driver")
    path = write_forecast(forecast(), tmp_path / "f.nc")
    with rasterio.open(f"netcdf:{path}:data") as src:
        assert src.count == T * B
        assert src.crs == CRS.from_epsg(3067)
        assert list(src.transform)[:6] == TRANSFORM
        np.testing.assert_array_equal(src.read(1), values()[0, 0])


def test_cog_folder(tmp_path):
    out = write_forecast(forecast(), f"{tmp_path}/leads/")
    assert out == tmp_path / "leads"
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "forecast_20240601T121000.tif",
        "forecast_20240601T122000.tif",
        "forecast_20240601T123000.tif",
    ]
    for t, name in enumerate(names):
        with rasterio.open(out / name) as src:
            assert src.driver == "GTiff"
            assert src.profile["tiled"]
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.crs == CRS.from_epsg(3067)
            assert list(src.transform)[:6] == TRANSFORM
            assert np.isnan(src.nodata)
            assert src.descriptions == ("rain", "echo_top")
            tags = src.tags()
            assert tags["valid_time"] == str(TIMES[t].astype("datetime64[s]"))
            assert tags["reference_time"] == "2024-06-01T12:00:00"
            assert tags["lead"] == f"PT{10 * (t + 1)}M"
            assert tags["model"] == "unet"
            np.testing.assert_array_equal(src.read(), values()[t])
    cube = read_stack(out)
    np.testing.assert_array_equal(cube["time"].values, TIMES)
    assert list(cube["band"].values) == ["rain", "echo_top"]
    np.testing.assert_array_equal(cube.values, values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads"]


def test_folder_without_suffix(tmp_path):
    out = write_forecast(forecast(), tmp_path / "leads")
    assert len(list(out.glob("forecast_*.tif"))) == T


class Recording:
    """A cube that logs the frames read into a file (dask may copy it by pickling)."""

    shape, dtype, ndim = (T, B, H, W), np.dtype(np.float32), 4

    def __init__(self, log):
        self.log = log

    def __getitem__(self, key):
        if key[0].stop > key[0].start:
            with open(self.log, "a") as file:
                file.write(f"{key[0].start}:{key[0].stop},{key[2].start}:{key[2].stop}\n")
        return values()[key]


def test_cog_chunks_computed_once_for_every_lead_block_by_block(tmp_path):
    log = tmp_path / "reads.log"
    data = da.from_array(Recording(log), chunks=(1, B, 10, W), asarray=False, fancy=False)
    write_forecast(forecast(data), tmp_path / "leads")
    reads = log.read_text().split()
    assert sorted(reads) == sorted(f"{t}:{t + 1},{y}:{y + 10}" for t in range(T) for y in (0, 10))
    assert [r.split(",")[1] for r in reads] == ["0:10"] * T + ["10:20"] * T  # block by block


@pytest.mark.parametrize("name", ["f.zarr", "f.nc", "leads"])
def test_existing_out_is_refused_and_untouched(tmp_path, name):
    target = tmp_path / name
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(SeqImagingError, match="already exists"):
        write_forecast(forecast(), target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == [name]


class Failing:
    """A cube whose second frame cannot be computed."""

    shape, dtype, ndim = (T, B, H, W), np.dtype(np.float32), 4

    def __getitem__(self, key):
        if key[0].start >= 1:
            raise RuntimeError("model crashed on lead 2")
        return values()[key]


@pytest.mark.parametrize("name", ["f.zarr", "f.nc", "leads"])
def test_failure_leaves_nothing(tmp_path, name):
    data = da.from_array(Failing(), chunks=(1, B, H, W), asarray=False, fancy=False)
    with pytest.raises(RuntimeError, match="lead 2"):
        write_forecast(forecast(data), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "name", "match"),
    [
        (lambda c: c.isel(band=0), "f.nc", "expected \\('time', 'band', 'y', 'x'\\)"),
        (lambda c: c.rename(band="channel"), "f.zarr", "expected \\('time', 'band'"),
        (lambda c: c.drop_vars("time"), "f.nc", "no 'time' coordinate"),
        (lambda c: c.assign_coords(time=np.arange(T)), "f.nc", "datetime64"),
        (lambda c: c.isel(time=[1, 0, 2]), "leads", "comes before"),
        (lambda c: c.assign_attrs(crs=None), "leads", "expected a CRS"),
        (lambda c: c.assign_attrs(transform=None), "leads", "affine transform"),
        (lambda c: c.assign_attrs(reference_time="yesterday"), "f.nc", "reference_time"),
        (lambda c: c, "f.tif", "unknown forecast format"),
    ],
)
def test_bad_input_refused_before_writing(tmp_path, change, name, match):
    with pytest.raises(DataError, match=match) as info:
        write_forecast(change(forecast()), tmp_path / name)
    assert str(tmp_path / name) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_other_dimension_order_is_transposed(tmp_path):
    cube = forecast().transpose("band", "time", "x", "y")
    ds = xr.open_dataset(write_forecast(cube, tmp_path / "f.nc"))
    assert ds["data"].dims == ("time", "band", "y", "x")
    np.testing.assert_array_equal(ds["data"].values, values())


def test_without_crs_dataset_has_no_grid_mapping(tmp_path):
    ds = xr.open_dataset(
        write_forecast(forecast().assign_attrs(crs=None, transform=None), tmp_path / "f.nc")
    )
    assert "spatial_ref" not in ds.variables
    assert "grid_mapping" not in ds["data"].attrs


def test_lead_durations():
    ref = np.datetime64("2024-06-01T12:00", "s")
    assert output._lead(ref + np.timedelta64(90, "m"), ref) == "PT1H30M"
    assert output._lead(ref + np.timedelta64(5, "s"), ref) == "PT5S"
    assert output._lead(ref - np.timedelta64(5, "m"), ref) == "-PT5M"
    assert output._lead(ref, ref) == "PT0S"


def test_docstring_examples():
    assert doctest.testmod(output, optionflags=doctest.ELLIPSIS).failed == 0
