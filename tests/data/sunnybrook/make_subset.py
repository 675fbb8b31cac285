"""Make this folder, a small subset of the Sunnybrook Cardiac Data (CC0), from a full copy.

Run once by a maintainer, never by the tests or the package::

    python tests/data/sunnybrook/make_subset.py /path/to/sunnybrook

``/path/to/sunnybrook`` holds ``SCD0000{1,2}01_cine.nii.gz``, ``labels.csv`` and
``dicom/SCD0000101/{101..160}.dcm`` (data_cards/sunnybrook.md says where they come from).
Every kept voxel keeps its original int16 value; only the field of view shrinks:

- the two NIfTI files: a 64 x 64 in-plane window at x, y = 32..95 of the 128 x 128
  heart-centred crop, and slices z = 4..6, with all 20 phases (nibabel's ``slicer``
  updates the affine);
- the 60 DICOM files (z = 4..6 of SCD0000101, 20 phases each): the same window, that is
  rows 107..170 and columns 99..162 of the 256 x 256 images; Rows, Columns and
  ImagePositionPatient are updated to match and the smallest/largest pixel value tags
  dropped; every other element is unchanged;
- ``labels.csv``: the rows of the two patients, with ``n_slices`` set to 3.
"""

import csv
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

HERE = Path(__file__).parent
PATIENTS = ("SCD0000101", "SCD0000201")
WINDOW = slice(32, 96)  # x and y in the 128 x 128 NIfTI
SLICES = slice(4, 7)
DICOM_ROW0, DICOM_COL0 = 75 + 32, 67 + 32  # SCD0000101's heart crop offset, plus WINDOW.start


def crop_nifti(source: Path) -> None:
    for patient in PATIENTS:
        image = nib.load(source / f"{patient}_cine.nii.gz")
        nib.save(image.slicer[WINDOW, WINDOW, SLICES, :], HERE / f"{patient}_cine.nii.gz")


def crop_dicom(source: Path) -> None:
    out = HERE / "dicom" / "SCD0000101"
    out.mkdir(parents=True, exist_ok=True)
    size = WINDOW.stop - WINDOW.start
    for path in sorted((source / "dicom" / "SCD0000101").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array[DICOM_ROW0 : DICOM_ROW0 + size, DICOM_COL0 : DICOM_COL0 + size]
        iop = np.array(ds.ImageOrientationPatient, dtype=float)
        d_row, d_col = (float(v) for v in ds.PixelSpacing)
        ipp = np.array(ds.ImagePositionPatient, dtype=float)
        ipp += DICOM_COL0 * d_col * iop[:3] + DICOM_ROW0 * d_row * iop[3:]
        ds.ImagePositionPatient = [f"{v:.5f}" for v in ipp]
        ds.Rows, ds.Columns = pixels.shape
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        for keyword in ("SmallestImagePixelValue", "LargestImagePixelValue"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.save_as(out / path.name)


def copy_labels(source: Path) -> None:
    with open(source / "labels.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = [row | {"n_slices": "3"} for row in reader if row["subject_id"] in PATIENTS]
        fields = reader.fieldnames
    with open(HERE / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    src = Path(sys.argv[1])
    crop_nifti(src)
    crop_dicom(src)
    copy_labels(src)
