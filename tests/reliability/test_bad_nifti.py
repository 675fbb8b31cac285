"""Malformed NIfTI cines: header fields, flipped bytes, truncation, absurd sizes, implausible
voxel sizes and frame intervals, NaN voxels."""

import gzip
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from _checks import Refused, cases, outcome
from hypothesis import given
from hypothesis import strategies as st

from seqimaging.errors import DataError
from seqimaging.medical import CineRecord, CineSampling, read_cine
from seqimaging.medical.base import CineDataset

SHAPE = (4, 3, 2, 3)  # x, y, z, t
SAMPLING = CineSampling(slices=1, frames=4, spacing=2.0, size=None)

floats = st.sampled_from([0.0, -1.0, 1.5, 0.02, 50.0, np.nan, np.inf, -np.inf, 1e30, 1e-30])
ints = st.sampled_from([-32768, -1, 0, 1, 2, 3, 4, 5, 7, 8, 255, 32767])
# header field: (byte offset, struct format of one value, count, values)
FIELDS = {
    "dim": (40, "h", 8, ints),
    "pixdim": (76, "f", 8, floats),
    "datatype": (70, "h", 1, st.sampled_from([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 2304, 999])),
    "bitpix": (72, "h", 1, ints),
    "vox_offset": (108, "f", 1, st.sampled_from([0.0, -352.0, 352.0, 353.0, 1e9, np.nan])),
    "scl_slope": (112, "f", 1, floats),
    "scl_inter": (116, "f", 1, floats),
    "xyzt_units": (123, "B", 1, st.integers(0, 255)),
    "sizeof_hdr": (0, "i", 1, st.sampled_from([0, 348, 540, -1, 2**31 - 1])),
}


def _valid(dtype=np.int16) -> bytes:
    """A tiny valid 4D NIfTI-1 (mm, ms), as bytes."""
    data = np.arange(np.prod(SHAPE)).reshape(SHAPE).astype(dtype)
    image = nib.Nifti1Image(data, np.diag([1.5, 1.25, 8.0, 1.0]))
    image.header.set_zooms((1.5, 1.25, 8.0, 40.0))
    image.header.set_xyzt_units("mm", "msec")
    return image.to_bytes()


VALID = _valid()


def _write(folder: Path, raw: bytes, compressed: bool) -> Path:
    path = folder / ("cine.nii.gz" if compressed else "cine.nii")
    path.write_bytes(gzip.compress(raw, mtime=0) if compressed else raw)
    return path


def _read_all(path: Path):
    """What training does with a cine: read it, then make a sample of it."""
    cube = read_cine(path)
    values = cube.values
    assert cube.dims == ("time", "z", "y", "x") and values.shape == cube.shape
    assert all(np.isfinite(s) and s > 0 for s in cube.attrs["spacing"])
    sample = CineDataset([CineRecord("c", path)], SAMPLING)[0]
    assert np.isfinite(values).all(), "NaN voxels reached a sample"
    assert sample["frames"].isfinite().all()
    return cube


def _check(path: Path) -> None:
    outcome(lambda: _read_all(path), [path])


@cases(60)
@given(
    changes=st.lists(
        st.sampled_from(sorted(FIELDS)).flatmap(
            lambda name: st.tuples(
                st.just(name), st.integers(0, FIELDS[name][2] - 1), FIELDS[name][3]
            )
        ),
        min_size=1,
        max_size=3,
    ),
    compressed=st.booleans(),
)
def test_header_fields_set_to_odd_values(tmp_path, changes, compressed):
    raw = bytearray(VALID)
    for name, index, value in changes:
        offset, fmt, _, _ = FIELDS[name]
        struct.pack_into("<" + fmt, raw, offset + index * struct.calcsize(fmt), value)
    _check(_write(tmp_path, bytes(raw), compressed))


@cases(60)
@given(
    flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)), max_size=8),
    keep=st.integers(0, len(VALID)),
    compressed=st.booleans(),
)
def test_flipped_bytes_and_truncation(tmp_path, flips, keep, compressed):
    raw = bytearray(VALID)
    for position, xor in flips:
        raw[position] ^= xor
    _check(_write(tmp_path, bytes(raw[:keep]), compressed))


@cases(30)
@given(keep=st.integers(0, 200), flip=st.integers(0, 199))
def test_truncated_or_damaged_gzip(tmp_path, keep, flip):
    packed = bytearray(gzip.compress(VALID, mtime=0))
    packed[flip % len(packed)] ^= 0x55
    path = tmp_path / "cine.nii.gz"
    path.write_bytes(bytes(packed[:keep]))
    _check(path)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_header_claiming_a_trillion_voxels_is_refused_before_allocation(tmp_path, compressed):
    raw = bytearray(VALID)
    struct.pack_into("<5h", raw, 40, 4, 10000, 10000, 100, 100)  # 10^12 voxels
    path = _write(tmp_path, bytes(raw), compressed)
    result = outcome(lambda: read_cine(path), [path])  # fails on > 64 MiB allocated
    assert isinstance(result, Refused)
    assert "10,000" not in str(result.error) and "2,000,000,000,000 bytes" in str(result.error)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_nifti2_header_claiming_a_billion_frames_is_refused_before_allocation(
    tmp_path, compressed
):
    raw = bytearray(nib.Nifti2Image(np.zeros((1, 1, 1, 2), np.uint8), np.eye(4)).to_bytes())
    struct.pack_into("<q", raw, 48, 10**9)  # dim[4] of the NIfTI-2 header
    if compressed:  # 1 MiB that does not compress: room for 1.1 GB of voxels
        noise = np.random.default_rng(0).bytes(2**20)
        path = tmp_path / "cine.nii.gz"
        path.write_bytes(gzip.compress(bytes(raw), mtime=0) + gzip.compress(noise, mtime=0))
    else:  # a sparse file of 10^9 bytes of voxels, taking no room on disk
        path = _write(tmp_path, bytes(raw), False)
        with open(path, "r+b") as f:
            f.truncate(len(raw) + 10**9)
    result = outcome(lambda: read_cine(path), [path])  # fails on > 64 MiB allocated
    assert isinstance(result, Refused)
    assert "1,000,000,000 voxels" in str(result.error) and "at most 4096" in str(result.error)


@pytest.mark.parametrize("pixdim", [0.0, np.nan, 1e-3, 1e3, 1e30])
def test_zero_non_finite_or_implausible_voxel_size_is_refused(tmp_path, pixdim):
    raw = bytearray(VALID)
    struct.pack_into("<3f", raw, 80, pixdim, 1.0, 1.0)
    path = _write(tmp_path, bytes(raw), False)
    result = outcome(lambda: _read_all(path), [path])
    assert isinstance(result, Refused)
    assert "voxel size (z, y, x)" in str(result.error) and "0.01-100 mm" in str(result.error)


@pytest.mark.parametrize(("interval", "unit"), [(1e-3, "msec"), (1e5, "msec"), (1e30, "sec")])
def test_implausible_frame_interval_is_refused(tmp_path, interval, unit):
    image = nib.Nifti1Image.from_bytes(VALID)
    image.header["pixdim"][4] = interval
    image.header.set_xyzt_units("mm", unit)
    path = _write(tmp_path, image.to_bytes(), True)
    with pytest.raises(DataError, match=f"{path}: the time between phases is .* 0.1-10000 ms"):
        read_cine(path)


@pytest.mark.parametrize(
    ("pixdim", "spacing", "size"), [(0.02, 2.0, "0 x 0"), (1.5, 1e-4, "45000 x 60000")]
)
def test_resampling_to_an_empty_or_huge_image_is_refused(tmp_path, pixdim, spacing, size):
    raw = bytearray(VALID)
    struct.pack_into("<2f", raw, 80, pixdim, pixdim)
    path = _write(tmp_path, bytes(raw), False)
    sampling = CineSampling(slices=1, frames=4, spacing=spacing, size=None)
    result = outcome(lambda: CineDataset([CineRecord("c", path)], sampling)[0], [path])
    assert isinstance(result, Refused)
    assert f"gives {size} pixels; expected 1 to 4096" in str(result.error)


def test_negative_voxel_size_is_its_magnitude_and_bad_frame_interval_unknown(tmp_path):
    raw = bytearray(VALID)
    struct.pack_into("<4f", raw, 80, -1.5, 1.25, -8.0, -40.0)
    cube = read_cine(_write(tmp_path, bytes(raw), True))
    assert cube.attrs["spacing"] == (8.0, 1.25, 1.5)
    assert np.isnan(cube.attrs["frame_interval_ms"]) and np.isnan(cube["time"].values).all()


@pytest.mark.parametrize("dtype", [np.complex64, np.float64])
def test_complex_voxels_are_refused_and_float64_read(tmp_path, dtype):
    path = _write(tmp_path, _valid(dtype), True)
    if dtype is np.complex64:
        with pytest.raises(DataError, match="complex64 voxels"):
            read_cine(path)
    else:
        assert read_cine(path).values.dtype == np.float32


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_voxels_never_reach_a_sample(tmp_path, bad):
    data = np.ones(SHAPE, np.float32)
    data[1, 1, 0, 2] = bad
    path = tmp_path / "nan.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    with pytest.raises(DataError, match=r"nan\.nii\.gz: 1 of .* NaN or infinite"):
        CineDataset([CineRecord("c", path)], SAMPLING)[0]


@pytest.fixture(autouse=True, scope="module")
def _warm(tmp_path_factory):
    """Imports and first-use caches, outside the allocation bound of the cases."""
    _read_all(_write(tmp_path_factory.mktemp("warm"), VALID, True))
