"""Malformed GeoTIFF stacks: no CRS, odd nodata, mismatched bands, empty and damaged files."""

import base64
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from _checks import Refused, cases, outcome
from hypothesis import given
from hypothesis import strategies as st
from rasterio.transform import from_origin

from seqimaging.errors import DataError
from seqimaging.geo import CubeWindows, read_stack
from seqimaging.geo.stack import MAX_PIXELS, MAX_SIDE, TIME_RANGE

SIZE = 8
DTYPES = ("uint8", "int16", "uint16", "float32", "float64")
NODATA = st.sampled_from([None, 0, 7, -1, 255, 65535, 1e40, np.nan, np.inf, -np.inf])


def _write(path: Path, data: np.ndarray, *, crs="EPSG:32632", nodata=None, transform=None):
    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": data.dtype,
        "transform": transform or from_origin(500000, 6000000, 10, 10),
        "crs": crs,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def _data(seed: int, bands: int, dtype: str, size: int = SIZE) -> np.ndarray:
    values = np.random.default_rng(seed).uniform(0, 200, (bands, size, size))
    return values.astype(dtype)


def _check(files: list[Path]):
    """Read the stack and cut windows of it, as training does."""

    def read():
        cube = read_stack(files)
        values = cube.values
        assert not np.isinf(values).any(), "an infinite pixel reached the cube"
        assert np.isfinite(values).any()
        windows = CubeWindows(cube, context=1, min_valid=0.0)
        sample = windows[0]
        assert sample["frames"].isfinite().all()
        assert (sample["frames"][~sample["mask"].expand_as(sample["frames"])] == 0).all()
        return cube

    return outcome(read, files)


@pytest.fixture(autouse=True, scope="module")
def _warm(tmp_path_factory):
    """Imports and first-use caches, outside the allocation bound of the cases."""
    folder = tmp_path_factory.mktemp("warm")
    _check([_write(folder / f"a_2024010{t}.tif", _data(t, 2, "uint16")) for t in (1, 2)])


@cases(60)
@given(
    frames=st.lists(
        st.fixed_dictionaries(
            {
                "bands": st.integers(1, 3),
                "dtype": st.sampled_from(DTYPES),
                "crs": st.sampled_from([None, "EPSG:32632", "EPSG:3035", "EPSG:4326"]),
                "nodata": NODATA,
                "size": st.sampled_from([SIZE, 1, 5]),
                "pixel": st.sampled_from([10.0, 0.0, -10.0, 1e-9]),
                "fill": st.sampled_from([None, 0, np.nan, np.inf]),
            }
        ),
        min_size=1,
        max_size=3,
    )
)
def test_odd_crs_nodata_bands_sizes_and_values(frames):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for t, frame in enumerate(frames):
            data = _data(t, frame["bands"], frame["dtype"], frame["size"])
            if frame["fill"] is not None and data.dtype.kind == "f":
                data[:, : frame["size"] // 2] = frame["fill"]
            nodata = frame["nodata"]
            if nodata is not None and not np.can_cast(np.min_scalar_type(nodata), data.dtype):
                nodata = None  # GDAL refuses to write it; stated by the reader's option below
            pixel = frame["pixel"]
            transform = rasterio.Affine(pixel, 0, 500000, 0, -pixel or 0.0, 6000000)
            files.append(
                _write(
                    Path(tmp) / f"f_2024010{t + 1}.tif",
                    data,
                    crs=frame["crs"],
                    nodata=nodata,
                    transform=transform,
                )
            )
        _check(files)


@cases(40)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=8),
    keep=st.floats(0, 1),
    dtype=st.sampled_from(DTYPES),
)
def test_flipped_bytes_and_truncated_files(flips, keep, dtype):
    with tempfile.TemporaryDirectory() as tmp:
        good = _write(Path(tmp) / "f_20240101.tif", _data(0, 2, dtype))
        bad = _write(Path(tmp) / "f_20240102.tif", _data(1, 2, dtype))
        raw = bytearray(bad.read_bytes())
        for position, xor in flips:
            raw[position % len(raw)] ^= xor
        bad.write_bytes(bytes(raw[: int(keep * len(raw))]))
        _check([good, bad])


@pytest.mark.parametrize(
    "content", [b"", b"hello, not a raster", b"II*\x00" + bytes(60), b"%PDF-1.4\n" * 20]
)
def test_a_file_that_is_not_a_raster(tmp_path, content):
    path = tmp_path / "f_20240101.tif"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not a raster"):
        read_stack([path])


def test_a_date_with_more_bands_is_refused(tmp_path):
    files = [
        _write(tmp_path / "f_20240101.tif", _data(0, 1, "uint16")),
        _write(tmp_path / "f_20240102.tif", _data(1, 2, "uint16")),
    ]
    with pytest.raises(DataError, match=r"f_20240102\.tif: has bands .*band counts differ"):
        read_stack(files)


@pytest.mark.parametrize("nodata", [np.nan, -1.0, 1e40, 7.0])
def test_a_nodata_option_the_dtype_cannot_hold_reads(tmp_path, nodata):
    data = _data(0, 1, "uint8")
    data[0, 0, 0] = 7
    cube = read_stack([_write(tmp_path / "f_20240101.tif", data)], nodata=nodata)
    assert np.isnan(cube.values).sum() == (1 if nodata == 7.0 else 0)


def test_infinite_pixels_are_invalid_like_nodata(tmp_path):
    data = _data(0, 1, "float32")
    data[0, :2] = np.inf
    cube = read_stack([_write(tmp_path / "f_20240101.tif", data)])
    assert np.isnan(cube.values[0, 0, :2]).all() and np.isfinite(cube.values[0, 0, 2:]).all()


# Inputs the fuzzer (tests/reliability/fuzz_readers.py) found: a CRS text that is not UTF-8
# (UnicodeDecodeError from rasterio.open), and a header claiming 65286 x 12293 px x 2 float32
# bands in 474 bytes (reading it ran for minutes and allocated gigabytes).
FUZZED = {
    "bad crs text": (
        "SUkqAAgAAAAQAAABAwABAAAABgAAAAEBAwABAAAABTAAAAIBAwACAAAAIAAgAAMBAwABAAAAAQAAAAsAAAAAAAAA"
        "AQAAABEBBAABAAAAdAEAABUBAwABAAAAAgAAABYBAwABAAAABQAAABcBBAABAAAA8AAAABwBAwABAAAAAQAAAFIB"
        "AwABAAAAAAAAAFMBAwACAAAAAwADAA6DDAADAAAAzgAAAIKEDAAGAAAA5gAAAK+HAwAgAAAAFgEAALGHAgAeAAAA"
        "VgEAAAAAAAAAAAAAAAAkQAAAAAAAACRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgIQeQQAA"
        "AABg41ZBAAAAAAAAAAABAAEAAAAHAAAEAAABAAEAAQQAAAEAAQACBLGHFgAAAAEIsYcHABYABggAAAEAjiMCDAAA"
        "AQB4fwQMAAABACkjV0dTIDgzIC8gVVRNIHpvbmUgMzJOgVdHUyA4NHwAAAAAAAAA8EEAAIA/AAD4QQAAAEAAAABC"
        "AABAQAAABEIAAIBAAAAIQgBJSSoACAAAABEAAAEDABUBAwABAAAAAgAAABYBAwABAAAABQAAABcBBAABAAAAeAAA"
        "ABwBAwABAAAAAQAAAFIBAwABAAAAAABBAAAcQgAAAFMBACA="
    ),
    "absurd size": (
        "SUkqAAgAAAAQAAABAwABAAAABv//AAEBAwABAAAABTAAAAIBAwACAAAAIAAgAAMBAwABAAAAAQAAAAYBAwABAAAA"
        "AQAAABEBBAABAAAAdAEAABUBAwABAAAAAgAAABYBAwABAAAABQAAABcBBAABAAAA8AAAABwBAwABAAAAAQAAAFIB"
        "AwABAAAAAAAAAFMBAwACAAAAAwADAA6DDAADAAAAzgAAAIKEDAAGAAAA5gAAAK+HAwAgAAAAFgEAALGHAgAeAAAA"
        "VgEAAAAAAAAAAAAAAAAkQAAAAAAAACRAAAAAAAAAAAAAAACVAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAgIQeQQAA"
        "APlf41ZBAAAAAAAAAAAAAAEAAAAHAAAEAAABAAEAAQQAAAEAAQACBLGHFgAAAAEIsYcHABYABggAAAEAjiMADAAA"
        "AQB4fwQMAAABACkjV0dTIDY4IC8gVVRNIHpvbmUgMzJOfFdHUyA4NHwAAAAAAAAAAAAAAAAAAAAAe4QeQQAAAPlf"
        "41ZBAAAAAAAAAAABAAEAAAAHAAAEAAABAAEAAQQAAAEAAQACBLGHFgAAAAEIsYcHABYABggAAQixhwcAFgAGCAAA"
        "AQCOI00gekEAAGxC"
    ),
}


@pytest.mark.parametrize("name", sorted(FUZZED))
def test_inputs_the_fuzzer_found_are_refused(tmp_path, name):
    path = tmp_path / "f_20240101.tif"
    path.write_bytes(base64.b64decode(FUZZED[name]))
    result = outcome(lambda: read_stack([path]).values, [path])
    assert isinstance(result, Refused)


def _vrt(path: Path, width: int, height: int, source: Path | None) -> Path:
    """A VRT declaring ``width x height`` px, ``source``'s band at its top-left (none: all
    nodata)."""
    band = f"<SimpleSource><SourceFilename>{source}</SourceFilename></SimpleSource>"
    path.write_text(
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>EPSG:32632</SRS>'
        f"<GeoTransform>500000, 10, 0, 6000000, 0, -10</GeoTransform>"
        f'<VRTRasterBand dataType="UInt16" band="1"><NoDataValue>0</NoDataValue>'
        f"{band if source else ''}</VRTRasterBand></VRTDataset>"
    )
    return path


def _sevens(path: Path) -> Path:
    return _write(path, np.full((1, SIZE, SIZE), 7, np.uint16))


@cases(40)
@given(width=st.integers(1, 10**7), height=st.integers(1, 10**7), alone=st.booleans())
def test_declared_sizes_are_read_lazily_or_refused_before_reading(width, height, alone):
    with tempfile.TemporaryDirectory() as tmp:
        tif = _sevens(Path(tmp) / "f_20240101.tif")
        vrt = _vrt(Path(tmp) / "f_20240102.vrt", width, height, tif)
        files = [vrt] if alone else [tif, vrt]
        result = outcome(lambda: read_stack(files)[-1, 0, :SIZE, :SIZE].values, files)
        if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
            assert isinstance(result, Refused)
            assert f"{vrt}: the raster is {width} x {height} px" in str(result.error)
        else:
            covered = result[: min(height, SIZE), : min(width, SIZE)]
            assert (covered == 7).all() and np.isnan(result).sum() == result.size - covered.size


def test_a_huge_empty_vrt_is_refused_naming_its_size_and_the_limit(tmp_path):
    vrt = _vrt(tmp_path / "f_20240101.vrt", 10**6, 10**6, None)  # 3.6 TiB as float32
    result = outcome(lambda: read_stack([vrt]), [vrt])
    assert isinstance(result, Refused)
    assert "1000000 x 1000000 px" in str(result.error)
    assert f"at most {MAX_PIXELS:,} px" in str(result.error)


def test_an_all_nodata_frame_is_searched_for_valid_pixels_in_blocks(tmp_path):
    vrt = _vrt(tmp_path / "f_20240101.vrt", 3000, 3000, None)  # 36 MB a frame as float32
    result = outcome(lambda: read_stack([vrt]), [vrt])
    assert isinstance(result, Refused) and "every pixel" in str(result.error)


def test_a_resolution_making_a_huge_grid_is_refused(tmp_path):
    tif = _sevens(tmp_path / "f_20240101.tif")
    with pytest.raises(DataError, match=r"f_20240101\.tif: the stack's grid .*resolution=0\.001"):
        read_stack([tif], resolution=1e-3)


@pytest.mark.parametrize(
    "stamp, valid",
    [
        ("23000101", False),
        ("16770921", False),
        ("16770922", True),
        ("22620410", True),
        ("22620411", False),
        ("00010101", False),
        ("99991231", False),
    ],
)
def test_dates_datetime64_ns_cannot_hold_are_refused(tmp_path, stamp, valid):
    files = [_sevens(tmp_path / f"f_{d}.tif") for d in sorted(["20240101", stamp])]
    result = outcome(lambda: read_stack(files), files)
    if valid:
        assert np.datetime64(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}") in result.time.values
    else:
        assert isinstance(result, Refused)
        assert f"f_{stamp}.tif: the date" in str(result.error)
        assert "from 1677-09-22 to 2262-04-10" in str(result.error)


@cases(40)
@given(
    day=st.one_of(st.dates(), st.dates(date(1600, 1, 1), date(2300, 12, 31))),
    second=st.integers(0, 86399),
)
def test_dates_in_names_read_as_written_or_are_refused(day, second):
    stamp = f"{day:%Y%m%d}{second // 3600:02d}{second // 60 % 60:02d}{second % 60:02d}"
    with tempfile.TemporaryDirectory() as tmp:
        path = _sevens(Path(tmp) / f"f_{stamp}.tif")
        result = outcome(lambda: read_stack(tmp).time.values, [path])
    if TIME_RANGE[0] <= np.datetime64(day) <= TIME_RANGE[1]:
        expected = np.datetime64(day, "ns") + np.timedelta64(second, "s")
        np.testing.assert_array_equal(result, [expected])
    else:
        assert isinstance(result, Refused)
