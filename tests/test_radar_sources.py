"""read_radar on tiny files written here in each network's format, and regrid.

Every expected value is computed by hand from the written codes; pysteps' own importer and
``to_rainrate`` on the same files are the second reference.
"""

import warnings
from datetime import datetime
from pathlib import Path

import h5py
import netCDF4
import numpy as np
import pyproj
import pytest
import rasterio
import xarray as xr
from PIL import Image
from pysteps.io import get_method
from pysteps.utils.conversion import to_rainrate

from seqimaging.errors import DataError, DatasetNotFoundError, SeqImagingError
from seqimaging.geo import read_fmi_radar, read_radar, regrid
from seqimaging.geo.radar import RADAR_SOURCES

ROWS, COLS = 8, 10
TIMES = [datetime(2024, 5, 14, 12, 0), datetime(2024, 5, 14, 12, 5), datetime(2024, 5, 14, 12, 10)]
KNMI_PROJ = "+proj=stere +lat_0=90 +lon_0=0.0 +lat_ts=60.0 +a=6378.137 +b=6356.752 +x_0=0 +y_0=0"
LAEA = "+proj=laea +lat_0=55.0 +lon_0=10.0 +x_0=1950000.0 +y_0=-2100000.0 +units=m +ellps=WGS84"


def codes(frame: int, nodata: int, undetect: int) -> np.ndarray:
    """A frame of raw codes as stored (row 0 first): rows 0–1 nodata, columns 0–2 of
    rows 2–7 undetect, the rest 10 + frame + row + column, and a marker 90 at (2, 9)."""
    raw = 10 + frame + np.add.outer(np.arange(ROWS), np.arange(COLS))
    raw[:2] = nodata
    raw[2:, :3] = undetect
    raw[2, 9] = 90
    return raw


# --- file writers (the attributes each pysteps importer reads) ---


def write_knmi(path: Path, raw: np.ndarray, *, y_pixel: float = -1.0, column: float = 0) -> Path:
    """KNMI HDF5: uint16 hundredths of mm, 65535 nodata; ``y_pixel`` > 0: row 0 south."""
    with h5py.File(path, "w") as f:
        f.create_dataset("image1/image_data", data=raw.astype(np.uint16))
        geo = f.create_group("geographic")
        geo.attrs.update(
            {
                "geo_column_offset": [column],
                "geo_row_offset": [3650.0],
                "geo_pixel_size_x": [1.0],
                "geo_pixel_size_y": [y_pixel],
                "geo_number_columns": [raw.shape[1]],
                "geo_number_rows": [raw.shape[0]],
                "geo_dim_pixel": np.bytes_(b"KM,KM"),
            }
        )
        geo.create_group("map_projection").attrs["projection_proj4_params"] = np.bytes_(KNMI_PROJ)
    return path


def write_odim(path: Path, raw: np.ndarray, *, gain=0.5, offset=-0.5, x0=1e6, y0=-3e6) -> Path:
    """ODIM HDF5 RATE composite, 2 km pixels, lower-left corner ``(x0, y0)`` in ``LAEA``;
    nodata 255, undetect 0 (which pysteps gives as ``offset``)."""
    proj = pyproj.Proj(LAEA)
    ll_lon, ll_lat = proj(x0, y0, inverse=True)
    ur_lon, ur_lat = proj(x0 + 2000 * raw.shape[1], y0 + 2000 * raw.shape[0], inverse=True)
    with h5py.File(path, "w") as f:
        f.attrs["Conventions"] = np.bytes_(b"ODIM_H5/V2_0")
        what = f.create_group("dataset1/what")
        what.attrs.update(
            {
                "quantity": np.bytes_(b"RATE"),
                "gain": gain,
                "offset": offset,
                "nodata": 255.0,
                "undetect": 0.0,
            }
        )
        f.create_dataset("dataset1/data1/data", data=raw.astype(np.uint8))
        f.create_group("where").attrs.update(
            {
                "projdef": np.bytes_(LAEA),
                "LL_lon": ll_lon,
                "LL_lat": ll_lat,
                "UR_lon": ur_lon,
                "UR_lat": ur_lat,
                "xscale": 2000.0,
                "yscale": 2000.0,
            }
        )
    return path


def write_bom(path: Path, raw: np.ndarray, when: datetime, minutes: int = 6) -> Path:
    """BoM Rainfields3 netCDF: int16 of 0.05 mm over ``minutes``, -1 (fill) nodata, 0.5 km
    pixels centred on the radar, x/y pixel centres in km, y from north."""
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("y", raw.shape[0])
        ds.createDimension("x", raw.shape[1])
        end = (when - datetime(1970, 1, 1)).total_seconds()
        for name, value in (("valid_time", end), ("start_time", end - 60 * minutes)):
            var = ds.createVariable(name, "i8")
            var.units = "seconds since 1970-01-01 00:00:00 UTC"
            var.assignValue(int(value))
        proj = ds.createVariable("proj", "i1")
        proj.grid_mapping_name = "albers_conical_equal_area"
        proj.longitude_of_central_meridian = 151.209
        proj.latitude_of_projection_origin = -33.701
        proj.standard_parallel = [-18.0, -36.0]
        for name, n, sign in (("x", raw.shape[1], 1), ("y", raw.shape[0], -1)):
            var = ds.createVariable(name, "f4", (name,))
            var.units = "km"
            var[:] = sign * (np.arange(n) - (n - 1) / 2) * 0.5
        precip = ds.createVariable("precipitation", "i2", ("y", "x"), fill_value=-1)
        precip.units = "kg m-2"
        precip.scale_factor, precip.add_offset = 0.05, 0.0
        precip[:] = np.ma.masked_equal(raw, -1) * 0.05
    return path


def write_mch(path: Path, raw: np.ndarray) -> Path:
    """MeteoSwiss AQC GIF: 8-bit codes on the fixed 640 × 710 CCS4 grid (``raw`` in the
    upper-left corner, code 0 elsewhere)."""
    full = np.zeros((640, 710), np.uint8)
    full[: raw.shape[0], : raw.shape[1]] = raw
    Image.fromarray(full, "L").save(path, format="GIF", optimize=False)
    return path


def mch_mm_per_h(code: float) -> float:
    """AQC code → mm/h: R = (10^((code − 71.5)/20) / 316)^(1/1.5) per 5 minutes × 12."""
    return 12 * (10 ** ((code - 71.5) / 20) / 316) ** (1 / 1.5)


# --- one folder per source: 3 frames and a stray file ---

SOURCES = {
    # source: (file name of a time, writer of (path, frame, time), nodata code,
    #          undetect code, mm/h of a code)
    "knmi": (
        "RAD_NL25_RAP_5min_{:%Y%m%d%H%M}.h5",
        lambda p, i, t: write_knmi(p, codes(i, 65535, 0)),
        65535,
        0,
        lambda c: c / 100 * 12,
    ),
    "opera": (
        "T_PAAH21_C_EUOC_{:%Y%m%d%H%M%S}.hdf",
        lambda p, i, t: write_odim(p, codes(i, 255, 0)),
        255,
        0,
        lambda c: c * 0.5 - 0.5,
    ),
    "odim": (
        "comp_{:%Y%m%d%H%M}.rate.h5",
        lambda p, i, t: write_odim(p, codes(i, 255, 0)),
        255,
        0,
        lambda c: c * 0.5 - 0.5,
    ),
    "bom": (
        "2_{:%Y%m%d_%H%M%S}.prcp-cscn.nc",
        lambda p, i, t: write_bom(p, codes(i, -1, 0), t),
        -1,
        0,
        lambda c: c * 0.05 * 10,
    ),
    "mch": (
        "AQC{:%y%j%H%M}F_00005.801.gif",
        lambda p, i, t: write_mch(p, codes(i, 255, 0)),
        255,
        0,
        mch_mm_per_h,
    ),
}


def make_folder(root: Path, source: str) -> Path:
    name, write, *_ = SOURCES[source]
    folder = root / source
    folder.mkdir()
    for i in (2, 0, 1):
        write(folder / name.format(TIMES[i]), i, TIMES[i])
    (folder / "README.txt").write_text("not a radar file 202405141200")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("radar")
    return {source: make_folder(root, source) for source in SOURCES}


def expected_window(source: str, frame: int) -> np.ndarray:
    """The hand-computed mm/h of the written ``ROWS × COLS`` window, row 0 north."""
    _, _, nodata, undetect, to_mm_h = SOURCES[source]
    raw = codes(frame, nodata, undetect)
    out = np.where(raw == undetect, 0.0, to_mm_h(raw.astype(float)))
    return np.where(raw == nodata, np.nan, out)


@pytest.mark.parametrize("source", list(SOURCES))
def test_values_times_and_cube_convention(folders, source):
    cube = read_radar(folders[source], source)
    assert cube.dims == ("time", "band", "y", "x") and cube.dtype == np.float32
    assert list(cube.band.values) == ["rain_rate"]
    assert cube.attrs["units"] == "mm/h" and cube.attrs["source"] == source
    assert list(cube.time.values) == [np.datetime64(t, "ns") for t in TIMES]
    for frame in range(3):
        got = cube.values[frame, 0, :ROWS, :COLS]
        np.testing.assert_allclose(got, expected_window(source, frame), rtol=1e-6, atol=1e-6)
    window = cube.values[:, 0, :ROWS, :COLS]
    assert np.isnan(window[:, :2]).all() and (window[:, 2:, :3] == 0).all()  # nodata, undetect
    assert np.isfinite(window[:, 2:, 3:]).all() and (window[:, 2:, 3:] > 0).all()


@pytest.mark.parametrize("source", [*SOURCES, "fmi"])
def test_last_reads_the_newest_frames_alone(folders, source):
    folder = Path(__file__).parent / "data" / "fmi_radar" if source == "fmi" else folders[source]
    whole = read_radar(folder, source)
    newest = read_radar(folder, source, last=2)
    xr.testing.assert_identical(newest, whole.isel(time=slice(-2, None)))
    with pytest.raises(SeqImagingError, match="last=0: expected a number of frames"):
        read_radar(folder, source, last=0)


@pytest.mark.parametrize("source", list(SOURCES))
def test_equals_pysteps_importer(folders, source):
    """Each frame as pysteps' importer + to_rainrate give it, turned north-up; undetect,
    which pysteps' ODIM importer gives as the (here negative) offset, is 0."""
    spec = RADAR_SOURCES[source]
    cube = read_radar(folders[source], source)
    importer = get_method(spec.importer, "importer")
    name = SOURCES[source][0]
    for frame, when in enumerate(TIMES):
        precip, _, metadata = importer(str(folders[source] / name.format(when)), **spec.kwargs)
        reference, metadata = to_rainrate(precip, metadata)
        if metadata["yorigin"] == "lower":
            reference = reference[::-1]
        if spec.importer == "odim_hdf5":
            assert (reference[2:, :3] == -0.5).all()
            reference = np.where(reference < 0, 0.0, reference)
        np.testing.assert_array_equal(np.isnan(cube.values[frame, 0]), np.isnan(reference))
        np.testing.assert_allclose(cube.values[frame, 0], reference, rtol=1e-6, atol=1e-7)


def test_time_order_is_from_the_names_not_their_sort_order(tmp_path):
    for prefix, frame in (("a", 2), ("b", 1), ("c", 0)):
        write_odim(tmp_path / f"{prefix}_{TIMES[frame]:%Y%m%d%H%M}.h5", codes(frame, 255, 0))
    cube = read_radar(tmp_path, "odim")
    assert list(cube.time.values) == [np.datetime64(t, "ns") for t in TIMES]
    np.testing.assert_allclose(
        cube.values[:, 0, 2, 3], [15 * 0.5 - 0.5, 16 * 0.5 - 0.5, 17 * 0.5 - 0.5]
    )


def test_south_first_rows_are_flipped_north_up(tmp_path):
    """A KNMI file with positive y pixel size stores row 0 south (pysteps: yorigin lower)."""
    raw = codes(0, 65535, 0)
    write_knmi(tmp_path / "RAD_NL25_RAP_5min_202405141200.h5", raw, y_pixel=1.0)
    cube = read_radar(tmp_path, "knmi")
    np.testing.assert_allclose(cube.values[0, 0], expected_window("knmi", 0)[::-1], rtol=1e-6)
    assert cube.values[0, 0, ROWS - 3, 9] == pytest.approx(90 / 100 * 12)  # marker row 2 of 8
    a, b, c, d, e, f = cube.attrs["transform"]
    # rows 3650..3658 km from the pole in +y: the north edge is y = 3658 km
    assert (a, b, c, d, e, f) == pytest.approx((1000, 0, 0, 0, -1000, 3_658_000))
    assert cube.y.values[0] > cube.y.values[-1]


def test_knmi_grid_in_metres_and_geolocated(folders):
    """KNMI states its grid in km with a km ellipsoid; the cube is in metres, on the real
    Earth, and the pixel centres follow the transform."""
    cube = read_radar(folders["knmi"], "knmi")
    a, _, c, _, e, f = cube.attrs["transform"]
    assert (a, c, e, f) == pytest.approx((1000, 0, -1000, -3_650_000))
    np.testing.assert_allclose(cube.x.values, c + a * (np.arange(COLS) + 0.5))
    np.testing.assert_allclose(cube.y.values, f + e * (np.arange(ROWS) + 0.5))
    crs = rasterio.crs.CRS.from_wkt(cube.attrs["crs"])
    assert crs.linear_units == "metre" and crs.to_dict()["a"] == 6378137.0
    # the upper-left corner of the real KNMI grid is 0° E, 55.974° N (geo_product_corners)
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(0, -3.65e6)
    assert (lon, lat) == pytest.approx((0.0, 55.974), abs=1e-3)


def test_bom_centres_and_odim_corners(folders):
    """bom_rf3 gives the first and last pixel centres, odim_hdf5 the outer corners."""
    bom = read_radar(folders["bom"], "bom")
    assert bom.attrs["transform"] == pytest.approx([500, 0, -2500, 0, -500, 2000])
    np.testing.assert_allclose(bom.x.values, (np.arange(COLS) - 4.5) * 500)
    odim = read_radar(folders["odim"], "odim")
    assert odim.attrs["transform"] == pytest.approx([2000, 0, 1e6, 0, -2000, -3e6 + 16000])


def test_fmi_is_read_fmi_radar():
    folder = Path(__file__).parent / "data" / "fmi_radar" / "20160928"
    cube, reference = read_radar(folder, "fmi"), read_fmi_radar(folder)
    assert cube.attrs["source"] == "fmi"
    xr.testing.assert_identical(cube, reference.assign_attrs(source="fmi"))
    assert read_radar(folder, quantity="dbz").band.values.tolist() == ["dbz"]


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"nowhere.*'knmi'.*RAD_NL25"):
        read_radar(tmp_path / "nowhere", "knmi")


def test_no_matching_file(folders):
    with pytest.raises(DataError, match=r"knmi.*no file.*T_PAAH21.*'opera'"):
        read_radar(folders["knmi"], "opera")


def test_unreadable_file_is_named(tmp_path):
    write_knmi(tmp_path / "RAD_NL25_RAP_5min_202405141200.h5", codes(0, 65535, 0))
    bad = tmp_path / "RAD_NL25_RAP_5min_202405141205.h5"
    bad.write_bytes(b"\x89HDF truncated")
    with pytest.raises(DataError, match=rf"{bad.name}.*'knmi_hdf5' cannot read"):
        read_radar(tmp_path, "knmi")


def test_different_grids_name_the_first_differing_file(tmp_path):
    for minute, column in ((0, 0), (5, 0), (10, 1), (15, 2)):
        path = tmp_path / f"RAD_NL25_RAP_5min_2024051412{minute:02d}.h5"
        write_knmi(path, codes(0, 65535, 0), column=column)
    with pytest.raises(DataError, match=r"202405141210\.h5: its grid .* differs .*1200\.h5"):
        read_radar(tmp_path, "knmi")


def test_unknown_source_and_quantity(folders):
    with pytest.raises(SeqImagingError, match=r"unknown radar source 'dwd'.*bom, fmi, knmi"):
        read_radar(folders["knmi"], "dwd")
    with pytest.raises(SeqImagingError, match=r"'dbz' of radar source 'knmi'.*rain_rate"):
        read_radar(folders["knmi"], "knmi", quantity="dbz")


# --- regrid ---


def grid_cube(values: np.ndarray, pixel: float = 1000.0) -> xr.DataArray:
    height, width = values.shape
    x0, y0 = 500_000.0, 7_000_000.0
    return xr.DataArray(
        values[None, None].astype(np.float32),
        dims=("time", "band", "y", "x"),
        coords={
            "time": [np.datetime64("2024-05-14T12:00", "ns")],
            "band": ["rain_rate"],
            "y": y0 - pixel * (np.arange(height) + 0.5),
            "x": x0 + pixel * (np.arange(width) + 0.5),
        },
        attrs={
            "crs": rasterio.crs.CRS.from_epsg(3067).to_wkt(),
            "transform": [pixel, 0.0, x0, 0.0, -pixel, y0],
            "units": "mm/h",
        },
    )


GRID = np.array(
    [
        [1.0, 2.0, np.nan, np.nan],
        [3.0, 4.0, np.nan, np.nan],
        [0.0, np.nan, 7.0, 5.0],
        [np.nan, np.nan, 6.0, 8.0],
    ]
)


def test_regrid_block_max_and_coverage():
    out = regrid(grid_cube(GRID), 2000.0)
    np.testing.assert_array_equal(out.values[0, 0], [[4.0, np.nan], [0.0, 8.0]])
    assert out.attrs["transform"] == [2000.0, 0.0, 500_000.0, 0.0, -2000.0, 7_000_000.0]
    np.testing.assert_allclose(out.x.values, [501_000, 503_000])
    np.testing.assert_allclose(out.y.values, [6_999_000, 6_997_000])
    assert out.attrs["units"] == "mm/h" and out.dtype == np.float32


def test_regrid_average_of_valid_pixels():
    out = regrid(grid_cube(GRID), 2000.0, resampling="average")
    np.testing.assert_allclose(out.values[0, 0], [[2.5, np.nan], [0.0, 6.5]])


def test_regrid_covers_the_extent_and_checks_arguments():
    values = np.arange(25, dtype=float).reshape(5, 5)
    out = regrid(grid_cube(values), 2000.0)
    assert out.shape == (1, 1, 3, 3)  # 5 km covered by 3 pixels of 2 km
    np.testing.assert_array_equal(out.values[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    with pytest.raises(SeqImagingError, match=r"resampling 'maximum'.*max"):
        regrid(grid_cube(values), 2000.0, resampling="maximum")


def test_regrid_a_radar_cube(folders):
    cube = read_radar(folders["odim"], "odim")
    out = regrid(cube, 4000.0)
    assert out.shape == (3, 1, 4, 5) and out.attrs["source"] == "odim"
    with warnings.catch_warnings():  # the all-NaN blocks
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmax(cube.values.reshape(3, 1, 4, 2, 5, 2), axis=(3, 5))
    np.testing.assert_array_equal(out.values, expected)
