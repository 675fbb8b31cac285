"""Malformed DICOM cine series: missing or odd tags, scaled or skewed orientations, pixel
data of the wrong length, repeated instance UIDs, mixed series, duplicates, damaged files."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from _checks import Refused, cases, outcome
from fuzz_readers import COLS, PHASES, ROWS, SLICES, write_dicom_series
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from seqimaging.errors import DataError
from seqimaging.medical import CineRecord, CineSampling, read_cine
from seqimaging.medical.base import CineDataset

N = SLICES * PHASES
TAGS = (
    "TriggerTime",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "RescaleSlope",
    "RescaleIntercept",
    "SeriesInstanceUID",
    "PixelData",
    "Rows",
    "NumberOfFrames",
    "SOPInstanceUID",
    "Columns",
    "SamplesPerPixel",
    "BitsAllocated",
)
SAMPLING = CineSampling(slices=1, frames=4, spacing=2.0, size=None)
ODD_VALUES = st.sampled_from(
    [
        "",
        "abc",
        "nan",
        "inf",
        "-0",
        "1e400",
        "1e30",
        "1\\2",
        "1e-3\\1e-3",
        "0\\0\\0\\0\\0\\0",
        "6\\0\\0\\0\\6\\0",  # scaled direction cosines
        "1\\0\\0\\1\\0\\0",  # parallel ones
    ]
)


def _check(folder: Path, files: list[Path]):
    def read():
        cube = read_cine(folder)
        assert cube.sizes["time"] >= 2 and cube.values.shape == cube.shape
        assert all(np.isfinite(s) and s > 0 for s in cube.attrs["spacing"])
        assert np.isfinite(cube["time"].values).all()
        sample = CineDataset([CineRecord("c", folder)], SAMPLING)[0]
        assert np.isfinite(cube.values).all(), "non-finite voxels reached a sample"
        assert sample["frames"].isfinite().all()
        return cube

    return outcome(read, [folder, *files])


@pytest.fixture(autouse=True, scope="module")
def _warm(tmp_path_factory):
    """Imports and first-use caches, outside the allocation bound of the cases."""
    folder = tmp_path_factory.mktemp("warm")
    write_dicom_series(folder)
    CineDataset([CineRecord("c", folder)], SAMPLING)[0]


def test_a_valid_series_reads():
    with tempfile.TemporaryDirectory() as tmp:
        cube = _check(Path(tmp), write_dicom_series(Path(tmp)))
        assert cube.shape == (PHASES, SLICES, ROWS, COLS)
        assert cube.attrs["spacing"] == (8.0, 1.5, 1.25)


def _set_raw(ds: Dataset, tag: str, value: str) -> None:
    """Set ``tag`` to ``value`` as written, unchecked (a US tag gets ``len(value)``)."""
    vr = pydicom.datadict.dictionary_VR(tag)
    if vr == "US":
        setattr(ds, tag, len(value))
    elif vr.startswith("O"):
        setattr(ds, tag, value.encode())
    else:
        if tag not in ds:
            ds.add_new(tag, vr, None)
        ds[tag]._value = value


@cases(60)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, N - 1),
            st.sampled_from(TAGS),
            st.one_of(st.none(), ODD_VALUES),  # None deletes the tag
        ),
        min_size=1,
        max_size=3,
    )
)
def test_missing_or_odd_tags(edits):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_dicom_series(folder)
        for index, tag, value in edits:
            ds = pydicom.dcmread(files[index])
            if value is None:
                if tag in ds:
                    delattr(ds, tag)
            else:
                _set_raw(ds, tag, value)
            ds.save_as(files[index])
        _check(folder, files)


@cases(40)
@given(
    duplicates=st.lists(st.integers(0, N - 1), max_size=2),
    removed=st.lists(st.integers(0, N - 1), max_size=2),
    other_series=st.integers(0, 2),
    junk=st.sampled_from([None, b"", b"not dicom", b"DICM" * 40]),
)
def test_duplicates_gaps_mixed_series_and_junk_files(duplicates, removed, other_series, junk):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_dicom_series(folder)
        for i in duplicates:
            shutil.copy(files[i], folder / f"copy{i}.dcm")
        for i in set(removed) - set(duplicates):
            files[i].unlink()
        other = write_dicom_series(Path(tempfile.mkdtemp(dir=tmp)))[:other_series]
        for i, path in enumerate(other):
            shutil.move(path, folder / f"other{i}.dcm")
        if junk is not None:
            (folder / "junk.dcm").write_bytes(junk)
        result = _check(folder, sorted(folder.iterdir()))
        changed = duplicates or removed or other_series or junk is not None
        assert isinstance(result, Refused) == bool(changed)


@cases(40)
@given(
    index=st.integers(0, N - 1),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    keep=st.floats(0, 1),
)
def test_flipped_bytes_and_truncated_files(index, flips, keep):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_dicom_series(folder)
        raw = bytearray(files[index].read_bytes())
        for position, xor in flips:
            raw[position % len(raw)] ^= xor
        files[index].write_bytes(bytes(raw[: int(keep * len(raw))]))
        _check(folder, files)


def test_missing_trigger_time_position_and_spacing_are_named():
    for tag in ("TriggerTime", "ImagePositionPatient", "PixelSpacing"):
        with tempfile.TemporaryDirectory() as tmp:
            files = write_dicom_series(Path(tmp))
            ds = pydicom.dcmread(files[2])
            delattr(ds, tag)
            ds.save_as(files[2])
            with pytest.raises(DataError, match=f"{files[2]}: no {tag}"):
                read_cine(tmp)


def _edit(path: Path, **tags) -> None:
    """Set DICOM ``tags`` of the file ``path``."""
    ds = pydicom.dcmread(path)
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.save_as(path)


@cases(30)
@given(
    row_scale=st.sampled_from([1.0, 6.0, 1e-3, 0.0]),
    col_scale=st.sampled_from([1.0, 6.0, 1e-3, 0.0]),
    skew=st.sampled_from([0.0, 1e-5, 1e-2, 1.0]),
    files=st.sampled_from(["all", "one"]),
)
def test_scaled_orientation_is_normalised_and_skewed_or_zero_refused(
    row_scale, col_scale, skew, files
):
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dicom_series(Path(tmp))
        unscaled = read_cine(tmp)
        orientation = [row_scale, 0, 0, col_scale * skew, col_scale, 0]
        for path in paths if files == "all" else paths[3:4]:
            _edit(path, ImageOrientationPatient=orientation)
        result = _check(Path(tmp), paths)
        if row_scale and col_scale and skew < 1e-3:
            assert result.attrs["spacing"] == (8.0, 1.5, 1.25)
            np.testing.assert_allclose(result.attrs["affine"], unscaled.attrs["affine"], atol=1e-4)
        else:
            assert isinstance(result, Refused)
            assert "ImageOrientationPatient" in str(result.error)


@cases(20)
@given(
    index=st.integers(0, N - 1),
    length=st.sampled_from([0.5, 1.5, 2, 3]).map(lambda f: int(f * ROWS * COLS * 2)),
    everywhere=st.booleans(),
)
def test_pixel_data_of_another_length_is_refused_with_byte_counts(index, length, everywhere):
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dicom_series(Path(tmp))
        for path in paths if everywhere else paths[index : index + 1]:
            _edit(path, PixelData=bytes(length))
        result = _check(Path(tmp), paths)
        assert isinstance(result, Refused)
        assert f"Pixel Data holds {length:,} bytes; expected {ROWS * COLS * 2}" in str(result.error)


@cases(10)
@given(pair=st.lists(st.integers(0, N - 1), min_size=2, max_size=2, unique=True))
def test_two_images_of_one_sop_instance_uid_are_refused_naming_both(pair):
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dicom_series(Path(tmp))
        source, copy = pair
        _edit(paths[copy], SOPInstanceUID=pydicom.dcmread(paths[source]).SOPInstanceUID)
        result = _check(Path(tmp), paths)
        assert isinstance(result, Refused)
        first, second = sorted([paths[source], paths[copy]])
        assert f"{second}: has the SOPInstanceUID" in str(result.error)
        assert str(first) in str(result.error)


def test_pixel_data_of_twice_rows_by_columns_is_refused_not_read_as_two_frames():
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dicom_series(Path(tmp))
        for path in paths:
            _edit(path, PixelData=pydicom.dcmread(path).PixelData * 2)
        with pytest.raises(DataError, match=f"{paths[0]}: Pixel Data holds 80 bytes; expected 40"):
            read_cine(tmp)


def test_orientation_scaled_by_six_gives_the_true_slice_spacing():
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_dicom_series(Path(tmp)):
            _edit(path, ImageOrientationPatient=[6, 0, 0, 0, 6, 0])
        assert read_cine(tmp).attrs["spacing"] == (8.0, 1.5, 1.25)


def test_an_image_pixel_tag_written_with_a_text_vr_is_refused():
    """The atheris run's finding: SamplesPerPixel as a UI string made the expected length
    of the pixel data a string."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dicom_series(Path(tmp))
        ds = pydicom.dcmread(paths[0])
        del ds.SamplesPerPixel
        ds.add_new(0x00280002, "UI", "1")
        ds.save_as(paths[0])
        with pytest.raises(DataError, match=f"{paths[0]}: the pixel data cannot be decoded"):
            read_cine(tmp)
