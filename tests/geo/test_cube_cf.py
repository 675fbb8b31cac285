"""CF netCDF files and zarr stores written by xarray, opened as cubes."""

import numpy as np
import pytest
import xarray as xr

from seqimaging.errors import DataError
from seqimaging.geo import open_cube

TIMES = np.array(["2020-01-01", "2020-01-02", "2020-01-03"], "datetime64[ns]")
ROTATED_WKT = 'GEOGCRS["rotated pole",BASEGEOGCRS["WGS 84"]]'


def _cf(names=("lat", "lon"), times=TIMES, extra=None):
    """A CF dataset: tas and pr on (time, lat, lon), time_bnds, lat_bnds."""
    rng = np.random.default_rng(0)
    y, x = names
    coords = {"time": times, y: [60.0, 59.5, 59.0, 58.5], x: [20.0, 20.5, 21.0]}
    dataset = xr.Dataset(
        {
            "tas": (("time", y, x), rng.random((3, 4, 3))),
            "orog": ((y, x), rng.random((4, 3))),
            "time_bnds": (("time", "nv"), np.zeros((3, 2))),
            "lat_bnds": ((y, "nv"), np.zeros((4, 2))),
        },
        coords=coords,
    )
    dataset["time"].attrs["bounds"] = "time_bnds"
    if times.dtype.kind == "M":
        dataset["time"].encoding["units"] = "days since 2000-01-01"
    return dataset.assign(extra or {})


def _write(dataset, path):
    dataset.to_netcdf(path, engine="h5netcdf")
    return path


def test_picks_the_one_data_variable_with_time_and_space(tmp_path):
    path = _write(_cf(), tmp_path / "cf.nc")
    cube = open_cube(path)
    expected = xr.open_dataset(path, engine="h5netcdf")["tas"]
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.band.values.tolist() == ["tas"]
    np.testing.assert_array_equal(cube.values[:, 0], expected.values)
    np.testing.assert_array_equal(cube.time.values, TIMES)
    assert cube.chunks[0] == (1, 1, 1)
    assert cube.attrs["crs"] == "EPSG:4326"
    assert cube.attrs["transform"] == [0.5, 0.0, 19.75, 0.0, -0.5, 60.25]


def test_several_candidates_and_variable_choice(tmp_path):
    path = _write(
        _cf(extra={"pr": (("time", "lat", "lon"), np.ones((3, 4, 3)))}), tmp_path / "a.nc"
    )
    with pytest.raises(DataError, match=r"a\.nc: holds variables .*\['tas', 'pr'\].*variable="):
        open_cube(path)
    cube = open_cube(path, variable="pr")
    assert cube.band.values.tolist() == ["pr"]
    np.testing.assert_array_equal(cube.values, np.ones((3, 1, 4, 3)))
    with pytest.raises(DataError, match=r"a\.nc: has no data variable 'tos'; it holds \[.*'pr'"):
        open_cube(path, variable="tos")


def test_rotated_pole_crs_from_grid_mapping(tmp_path):
    dataset = _cf(("rlat", "rlon"))
    dataset["rotated_pole"] = xr.DataArray(
        0, attrs={"grid_mapping_name": "rotated_latitude_longitude", "crs_wkt": ROTATED_WKT}
    )
    dataset["tas"].attrs["grid_mapping"] = "rotated_pole"
    cube = open_cube(_write(dataset, tmp_path / "rot.nc"))
    assert cube.attrs["crs"] == ROTATED_WKT
    assert cube.sizes == {"time": 3, "band": 1, "y": 4, "x": 3}
    assert cube.attrs["transform"][0] == 0.5


def test_axis_attributes_and_dims_mapping(tmp_path):
    rng = np.random.default_rng(1)
    dataset = xr.Dataset(
        {"ta": (("T", "lev", "northing", "easting"), rng.random((3, 2, 4, 3)))},
        coords={
            "T": ("T", TIMES, {"axis": "T"}),
            "lev": [850, 500],
            "northing": ("northing", [3.0, 2.0, 1.0, 0.0], {"axis": "Y"}),
            "easting": ("easting", [0.0, 10.0, 20.0], {"standard_name": "projection_x_coordinate"}),
        },
    )
    path = _write(dataset, tmp_path / "lev.nc")
    with pytest.raises(DataError, match=r"dimension 'lev' \(size 2\).*dims=\{'lev': 'band'\}"):
        open_cube(path)
    cube = open_cube(path, dims={"lev": "band", "T": "time"})
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.band.values.tolist() == [850, 500]
    np.testing.assert_array_equal(cube.values, dataset["ta"].values)
    assert cube.attrs["transform"] == [10.0, 0.0, -5.0, 0.0, -1.0, 3.5]
    assert "crs" not in cube.attrs
    with pytest.raises(DataError, match=r"no dimension 'level' given in dims=.*|'level'"):
        open_cube(path, dims={"level": "band"})
    with pytest.raises(DataError, match=r"dims \['T', 'lev', 'northing', 'easting'\]"):
        open_cube(path, dims={"level": "band"})


def _calendar_file(tmp_path, days, calendar):
    dataset = _cf(times=np.asarray(days, float))
    dataset["time"].attrs.update(units="days since 2000-01-01", calendar=calendar)
    return _write(dataset, tmp_path / f"{calendar}.nc")


@pytest.mark.parametrize(
    ("calendar", "days", "expected"),
    [
        ("noleap", [58, 59, 365], ["2000-02-28", "2000-03-01", "2001-01-01"]),
        # 360_day: Feb 30 and Jul 1 (half of 2000) by their fraction of the year
        ("360_day", [58, 59, 180], ["2000-02-28T23:12", "2000-02-29T23:36", "2000-07-02"]),
    ],
)
def test_other_calendars_become_dates(tmp_path, calendar, days, expected):
    cube = open_cube(_calendar_file(tmp_path, days, calendar))
    assert cube.time.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(cube.time.values, np.array(expected, "datetime64[ns]"))
    assert (np.diff(cube.time.values) > np.timedelta64(0, "ns")).all()
    assert cube.attrs["calendar"] == calendar


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (TIMES[[0, 1, 1]], r"time\[2\] = 2020-01-02T00:00:00 repeats"),
        (TIMES[[0, 2, 1]], r"time\[2\] = 2020-01-02T00:00:00 comes before"),
        (np.array([0.0, 1.0, 2.0]), r"bad\.nc: its time coordinate has dtype float64"),
    ],
)
def test_bad_times(tmp_path, times, message):
    path = _write(_cf(times=times), tmp_path / "bad.nc")
    with pytest.raises(DataError, match=message):
        open_cube(path)


def test_zarr_store_written_by_xarray(tmp_path):
    dataset = _cf(("latitude", "longitude"))
    path = tmp_path / "cf.zarr"
    dataset.to_zarr(path, consolidated=False)
    cube = open_cube(path)
    expected = xr.open_zarr(path, consolidated=False)["tas"]
    np.testing.assert_array_equal(cube.values[:, 0], expected.values)
    assert cube.attrs["crs"] == "EPSG:4326"
    assert cube.band.values.tolist() == ["tas"]
