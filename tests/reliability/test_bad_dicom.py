"""Malformed DICOM cine series: missing or odd tags, mixed series, duplicates, damaged files."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from _checks import Refused, cases, outcome
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from seqimaging.errors import DataError
from seqimaging.medical import CineRecord, CineSampling, read_cine
from seqimaging.medical.base import CineDataset

SLICES, PHASES, ROWS, COLS = 2, 3, 4, 5
MR = "1.2.840.10008.5.1.4.1.1.4"
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
)
SAMPLING = CineSampling(slices=1, frames=4, spacing=None, size=None)
ODD_VALUES = st.sampled_from(["", "abc", "nan", "inf", "-0", "1e400", "1\\2", "0\\0\\0\\0\\0\\0"])


def _image(series: str, z: int, t: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = MR
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = series
    ds.InstanceNumber = z * PHASES + t + 1
    ds.Rows, ds.Columns = ROWS, COLS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0, 0, 8.0 * z]
    ds.PixelSpacing = [1.5, 1.25]
    ds.SliceThickness = 8.0
    ds.TriggerTime = 40.0 * t
    ds.PixelData = np.full((ROWS, COLS), 10 * z + t, np.uint16).tobytes()
    return ds


def _series(folder: Path, series: str | None = None) -> list[Path]:
    """A valid cine of SLICES x PHASES tiny images in ``folder``."""
    series = series or generate_uid()
    paths = []
    for z in range(SLICES):
        for t in range(PHASES):
            path = folder / f"im{z}{t}.dcm"
            _image(series, z, t).save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


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
    _series(folder)
    CineDataset([CineRecord("c", folder)], SAMPLING)[0]


def test_a_valid_series_reads():
    with tempfile.TemporaryDirectory() as tmp:
        cube = _check(Path(tmp), _series(Path(tmp)))
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
            st.integers(0, SLICES * PHASES - 1),
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
        files = _series(folder)
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
    duplicates=st.lists(st.integers(0, SLICES * PHASES - 1), max_size=2),
    removed=st.lists(st.integers(0, SLICES * PHASES - 1), max_size=2),
    other_series=st.integers(0, 2),
    junk=st.sampled_from([None, b"", b"not dicom", b"DICM" * 40]),
)
def test_duplicates_gaps_mixed_series_and_junk_files(duplicates, removed, other_series, junk):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _series(folder)
        for i in duplicates:
            shutil.copy(files[i], folder / f"copy{i}.dcm")
        for i in set(removed) - set(duplicates):
            files[i].unlink()
        other = _series(Path(tempfile.mkdtemp(dir=tmp)))[:other_series]
        for i, path in enumerate(other):
            shutil.move(path, folder / f"other{i}.dcm")
        if junk is not None:
            (folder / "junk.dcm").write_bytes(junk)
        result = _check(folder, sorted(folder.iterdir()))
        changed = duplicates or removed or other_series or junk is not None
        assert isinstance(result, Refused) == bool(changed)


@cases(40)
@given(
    index=st.integers(0, SLICES * PHASES - 1),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=6),
    keep=st.floats(0, 1),
)
def test_flipped_bytes_and_truncated_files(index, flips, keep):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _series(folder)
        raw = bytearray(files[index].read_bytes())
        for position, xor in flips:
            raw[position % len(raw)] ^= xor
        files[index].write_bytes(bytes(raw[: int(keep * len(raw))]))
        _check(folder, files)


def test_missing_trigger_time_position_and_spacing_are_named():
    for tag in ("TriggerTime", "ImagePositionPatient", "PixelSpacing"):
        with tempfile.TemporaryDirectory() as tmp:
            files = _series(Path(tmp))
            ds = pydicom.dcmread(files[2])
            delattr(ds, tag)
            ds.save_as(files[2])
            with pytest.raises(DataError, match=f"{files[2]}: no {tag}"):
                read_cine(tmp)
