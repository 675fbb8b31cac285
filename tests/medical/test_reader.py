"""read_cine against nibabel and pydicom reading the same files, and its errors."""

import gzip
import shutil
import sys

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from seqimaging.errors import DataError, MissingExtraError, SeqImagingError
from seqimaging.medical import read_cine

# The Sunnybrook UIDs have components with leading zeros: pydicom reads them, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")


def test_nifti_cube_is_nibabels_array_transposed_and_loads_lazily(sunnybrook):
    path = sunnybrook / "SCD0000101_cine.nii.gz"
    cube = read_cine(path)
    image = nib.load(path)
    expected = np.asarray(image.dataobj, dtype=np.float32).transpose(3, 2, 1, 0)
    assert cube.dims == ("time", "z", "y", "x")
    assert cube.shape == (20, 3, 64, 64) and cube.dtype == np.float32
    assert not isinstance(cube.variable._data, np.ndarray)  # nothing read yet
    np.testing.assert_array_equal(cube.isel(time=7, z=1).values, expected[7, 1])
    np.testing.assert_array_equal(cube.values, expected)
    zooms = image.header.get_zooms()
    assert cube.attrs["spacing"] == pytest.approx((zooms[2], zooms[1], zooms[0]))
    np.testing.assert_array_equal(cube.attrs["affine"], image.affine)
    assert cube.attrs["frame_interval_ms"] == pytest.approx(38.278, abs=1e-3)
    np.testing.assert_allclose(cube["time"].values, np.arange(20) * zooms[3])


def test_dicom_series_matches_nibabels_read_of_the_nifti_made_from_it(sunnybrook):
    dicom = read_cine(sunnybrook / "dicom" / "SCD0000101")
    image = nib.load(sunnybrook / "SCD0000101_cine.nii.gz")
    expected = image.get_fdata().transpose(3, 2, 1, 0)  # (x, y, z, t) -> (t, z, y, x)
    np.testing.assert_array_equal(dicom.values, expected)  # slice and phase order, voxels
    zooms = image.header.get_zooms()
    # 10 mm along the normal, where SliceLocation would say 6.72 mm
    assert dicom.attrs["spacing"] == pytest.approx((zooms[2], zooms[1], zooms[0]), abs=1e-4)
    np.testing.assert_allclose(dicom.attrs["affine"], image.affine, atol=1e-3)
    assert dicom.attrs["frame_interval_ms"] == pytest.approx(zooms[3], abs=0.5)
    assert np.all(np.diff(dicom["time"].values) > 0)


def test_dicom_slices_follow_the_normal_not_instance_numbers(sunnybrook):
    cube = read_cine(sunnybrook / "dicom" / "SCD0000101")
    first = pydicom.dcmread(sunnybrook / "dicom" / "SCD0000101" / "101.dcm")
    np.testing.assert_array_equal(cube.values[0, 2], first.pixel_array)  # slice 101–120 is last
    assert first.TriggerTime == min(
        pydicom.dcmread(p, stop_before_pixels=True).TriggerTime
        for p in (sunnybrook / "dicom" / "SCD0000101").glob("1[01]?.dcm")
    )


def test_dicom_series_order_does_not_depend_on_file_names(sunnybrook, tmp_path):
    files = sorted((sunnybrook / "dicom" / "SCD0000101").glob("*.dcm"))
    for i, j in enumerate(np.random.default_rng(0).permutation(len(files))):
        shutil.copy(files[j], tmp_path / f"im{i:02d}")
    np.testing.assert_array_equal(
        read_cine(tmp_path).values, read_cine(sunnybrook / "dicom" / "SCD0000101").values
    )


def _enhanced(files, path, order):
    """An enhanced MR multi-frame DICOM holding the images of ``files`` in ``order``."""
    images = [pydicom.dcmread(f) for f in files]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    first = images[0]
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit"):
        setattr(ds, keyword, getattr(first, keyword))
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelRepresentation = first.PixelRepresentation
    ds.NumberOfFrames = len(images)
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = first.ImageOrientationPatient
    shared.PixelMeasuresSequence = Sequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = first.PixelSpacing
    shared.PixelMeasuresSequence[0].SliceThickness = first.SliceThickness
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for i in order:
        item = Dataset()
        item.PlanePositionSequence = Sequence([Dataset()])
        item.PlanePositionSequence[0].ImagePositionPatient = images[i].ImagePositionPatient
        item.CardiacSynchronizationSequence = Sequence([Dataset()])
        item.CardiacSynchronizationSequence[0].NominalCardiacTriggerDelayTime = float(
            images[i].TriggerTime
        )
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = np.stack([images[i].pixel_array for i in order]).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_multiframe_dicom_matches_the_series(sunnybrook, tmp_path):
    files = sorted((sunnybrook / "dicom" / "SCD0000101").glob("*.dcm"))
    order = np.random.default_rng(1).permutation(len(files))
    multi = read_cine(_enhanced(files, tmp_path / "cine.dcm", order))
    series = read_cine(sunnybrook / "dicom" / "SCD0000101")
    np.testing.assert_array_equal(multi.values, series.values)
    assert multi.attrs["spacing"] == pytest.approx(series.attrs["spacing"])
    np.testing.assert_allclose(multi.attrs["affine"], series.attrs["affine"])


def test_reading_modifies_no_input(sunnybrook, digest):
    before = digest(sunnybrook)
    for path in (sunnybrook / "dicom" / "SCD0000101", sunnybrook / "SCD0000201_cine.nii.gz"):
        read_cine(path).load()
    assert digest(sunnybrook) == before


def test_nifti_with_unknown_time_unit_has_nan_times(tmp_path, write_nifti):
    path = write_nifti(tmp_path / "c.nii", np.zeros((4, 4, 2, 3), np.int16))
    image = nib.load(path)
    image.header.set_xyzt_units("mm", "unknown")
    nib.save(image, tmp_path / "d.nii")
    cube = read_cine(tmp_path / "d.nii")
    assert np.isnan(cube.attrs["frame_interval_ms"]) and np.isnan(cube["time"].values).all()
    assert cube.attrs["spacing"] == (8.0, 1.25, 1.5)


def _error(path, *words):
    with pytest.raises(DataError) as info:
        read_cine(path).load()
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return message


def test_3d_nifti_is_refused(tmp_path, write_nifti):
    _error(write_nifti(tmp_path / "frame01.nii.gz", np.zeros((4, 4, 2), np.int16)), "3-D", "4-D")


def test_truncated_gzip_is_refused_when_read(tmp_path, write_nifti):
    path = write_nifti(tmp_path / "c.nii.gz", np.random.default_rng(0).random((16, 16, 4, 8)))
    data = gzip.compress(gzip.decompress(path.read_bytes()))
    path.write_bytes(data[: len(data) // 2])
    _error(path, "truncated")


def test_truncated_header_is_refused(tmp_path, write_nifti):
    path = write_nifti(tmp_path / "c.nii.gz", np.zeros((4, 4, 2, 3), np.int16))
    path.write_bytes(path.read_bytes()[:40])
    _error(path, "NIfTI")


def test_empty_folder_is_refused(tmp_path):
    _error(tmp_path, "empty")


def test_missing_path_is_refused(tmp_path):
    _error(tmp_path / "nothing.nii.gz", "no such file")


def test_unequal_phase_counts_are_refused(sunnybrook, tmp_path):
    for path in (sunnybrook / "dicom" / "SCD0000101").glob("*.dcm"):
        if path.name != "125.dcm":
            shutil.copy(path, tmp_path)
    _error(tmp_path, "unequal numbers of phases", "19 at", "20 at")


def test_one_phase_per_slice_is_3d_and_refused(sunnybrook, tmp_path):
    for name in ("101.dcm", "121.dcm", "141.dcm"):
        shutil.copy(sunnybrook / "dicom" / "SCD0000101" / name, tmp_path)
    _error(tmp_path, "3-D", "4-D")


def test_a_file_that_is_not_dicom_is_refused(sunnybrook, tmp_path):
    shutil.copy(sunnybrook / "dicom" / "SCD0000101" / "101.dcm", tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"notes\.txt"):
        read_cine(tmp_path)


def test_errors_are_project_errors():
    assert issubclass(DataError, SeqImagingError)


def test_a_missing_extra_is_named(sunnybrook, monkeypatch):
    monkeypatch.setitem(sys.modules, "nibabel", None)
    with pytest.raises(MissingExtraError, match="medical"):
        read_cine(sunnybrook / "SCD0000101_cine.nii.gz")
