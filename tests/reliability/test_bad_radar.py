"""Malformed FMI radar composites: odd codes, dtypes, names and damaged files."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from _checks import cases, outcome
from hypothesis import given
from hypothesis import strategies as st
from rasterio.transform import from_origin

from seqimaging.errors import DataError
from seqimaging.geo import read_fmi_radar

SIZE = 8
NAMES = st.sampled_from(
    ["201609281445", "201609281450", "201613281445", "201609281460", "2016092814", "abcdefghijkl"]
)


def _write(path: Path, codes: np.ndarray, crs: str | None = "EPSG:3067") -> Path:
    profile = {
        "driver": "GTiff",
        "height": codes.shape[-2],
        "width": codes.shape[-1],
        "count": 1,
        "dtype": codes.dtype,
        "transform": from_origin(50000, 7800000, 1000, 1000),
        "crs": crs,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(codes.reshape(1, *codes.shape[-2:]))
    return path


def _check(folder: Path, files: list[Path]):
    def read():
        rain = read_fmi_radar(folder).values
        assert not np.isinf(rain).any() and (rain[np.isfinite(rain)] >= 0).all()
        return rain

    return outcome(read, [folder, *files])


@pytest.fixture(autouse=True, scope="module")
def _warm(tmp_path_factory):
    """Imports and first-use caches, outside the allocation bound of the cases."""
    folder = tmp_path_factory.mktemp("warm")
    _write(folder / "201609281445_FINUTM.tif", np.zeros((SIZE, SIZE), np.uint8))
    _check(folder, [])


@cases(40)
@given(
    frames=st.lists(
        st.tuples(
            NAMES,
            st.sampled_from(["uint8", "uint16", "int16", "float32"]),
            st.sampled_from([0, 1, 100, 254, 255, 256, -1, 1e6, np.nan, np.inf]),
            st.sampled_from([None, "EPSG:3067", "EPSG:4326"]),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda f: f[0],
    )
)
def test_odd_codes_dtypes_crs_and_names(frames):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for t, (name, dtype, code, crs) in enumerate(frames):
            codes = np.random.default_rng(t).integers(0, 255, (SIZE, SIZE)).astype(np.float64)
            codes[:2] = code
            if dtype != "float32":
                info = np.iinfo(dtype)
                codes = np.clip(np.nan_to_num(codes), info.min, info.max)
            path = Path(tmp) / f"{name}_FINUTM.tif"
            files.append(_write(path, codes.astype(dtype), crs))
        _check(Path(tmp), files)


@cases(30)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=8),
    keep=st.floats(0, 1),
)
def test_flipped_bytes_and_truncated_files(flips, keep):
    with tempfile.TemporaryDirectory() as tmp:
        codes = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE)).astype(np.uint8)
        good = _write(Path(tmp) / "201609281445_FINUTM.tif", codes)
        bad = _write(Path(tmp) / "201609281450_FINUTM.tif", codes)
        raw = bytearray(bad.read_bytes())
        for position, xor in flips:
            raw[position % len(raw)] ^= xor
        bad.write_bytes(bytes(raw[: int(keep * len(raw))]))
        _check(Path(tmp), [good, bad])


def test_a_composite_outside_coverage_everywhere_is_refused(tmp_path):
    _write(tmp_path / "201609281445_FINUTM.tif", np.full((SIZE, SIZE), 255, np.uint8))
    with pytest.raises(DataError, match="every pixel of the stack is nodata"):
        read_fmi_radar(tmp_path)
