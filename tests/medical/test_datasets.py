"""The cine datasets on phantoms, the Sunnybrook subset and tiny generated tables."""

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from seqimaging.data import SequenceDataModule
from seqimaging.errors import DataError, DatasetNotFoundError, SeqImagingError
from seqimaging.medical import ACDC, CineDataset, CineSampling, CineTable, MnMs, Sunnybrook
from seqimaging.medical.phantoms import make_acdc_like
from seqimaging.sample import collate

# The Sunnybrook UIDs have components with leading zeros: pydicom reads them, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")

SMALL = CineSampling(slices=2, frames=6, spacing=4.0, size=24)


@pytest.fixture(scope="module")
def acdc_root(tmp_path_factory):
    return make_acdc_like(tmp_path_factory.mktemp("acdc"), n_per_class=1, seed=0)


@pytest.fixture
def acdc_copy(acdc_root, tmp_path):
    return shutil.copytree(acdc_root, tmp_path / "acdc")


def test_acdc_samples_follow_the_contract(acdc_root):
    data = ACDC(acdc_root, "training", SMALL)
    assert len(data) == 5 and data.labels == [0, 1, 2, 3, 4]
    assert data.groups == [f"patient{i:03d}" for i in range(1, 6)]
    sample = data[2]
    assert sample["frames"].shape == (6, 2, 24, 24) and sample["frames"].dtype == torch.float32
    assert 0 <= sample["frames"].min() and sample["frames"].max() <= 1
    torch.testing.assert_close(sample["times"], torch.arange(6) / 6)
    assert sample["label"].dtype == torch.int64 and data.class_names[sample["label"]] == "DCM"
    meta = sample["meta"]
    info = (acdc_root / "training" / "patient003" / "Info.cfg").read_text()
    assert f"ES: {meta['es'] + 1}\n" in info and meta["ed"] == 0  # 1-based in the file
    assert meta["nb_frames"] == int(info.split("NbFrame: ")[1].split()[0])
    assert {"height_cm", "weight_kg", "spacing", "frame_interval_ms"} <= meta.keys()
    batch = collate([data[0], data[1]])
    assert batch["frames"].shape == (2, 6, 2, 24, 24)


def test_each_slice_a_sample_keeps_patients_in_one_split(acdc_root):
    data = ACDC(acdc_root, "training", CineSampling(slices=None, frames=4, spacing=4.0, size=16))
    assert len(data) > 5 and len(set(data.groups)) == 5
    dm = SequenceDataModule(data, val_fraction=0.2, test_fraction=0.2)
    dm.setup()
    parts = [
        {data.groups[i] for i in p} for p in (dm.train_indices, dm.val_indices, dm.test_indices)
    ]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    sample = data[0]
    assert sample["frames"].shape[1] == 1 and sample["meta"]["id"].endswith("_z00")


def test_native_frames_keep_t_and_align_at_ed(sunnybrook):
    whole = {"slices": 1, "frames": None, "spacing": None, "size": None, "percentiles": (0, 100)}
    raw = CineSampling(**whole, align_ed=False)
    aligned = CineSampling(**whole)
    a = Sunnybrook(sunnybrook, raw)[0]
    b = Sunnybrook(sunnybrook, aligned)[0]
    assert a["frames"].shape == (20, 1, 64, 64)
    ed = b["meta"]["ed"]
    assert ed == 18 and b["meta"]["es_phase"] == pytest.approx(((7 - 18) % 20) / 20)
    torch.testing.assert_close(b["frames"][0], a["frames"][ed])
    torch.testing.assert_close(b["frames"][-1], a["frames"][ed - 1])


def test_es_at_puts_end_systole_at_that_phase(sunnybrook):
    whole = {"slices": 1, "spacing": None, "size": None, "percentiles": (0, 100)}
    native = Sunnybrook(sunnybrook, CineSampling(**whole, frames=None))[0]
    aligned = Sunnybrook(sunnybrook, CineSampling(**whole, frames=10, es_at=3))[0]
    meta = native["meta"]
    es = (meta["es"] - meta["ed"]) % 20  # ES in the cycle from ED: phase 9 of 20
    # each sample is scaled to [0, 1] over its own frames: the same affine map for all
    before, after = np.asarray(native["frames"]), np.asarray(aligned["frames"])
    scale, offset = np.polyfit(before[0].ravel(), after[0].ravel(), 1)
    np.testing.assert_allclose(after[0], scale * before[0] + offset, atol=1e-5)
    np.testing.assert_allclose(after[3], scale * before[es] + offset, atol=1e-5)
    assert not np.allclose(after[3], scale * before[3] + offset, atol=1e-3)
    # systole in 3 steps of es / 3 phases, diastole in 7 of (20 - es) / 7
    expected = np.r_[np.arange(3) * es / 3, es + np.arange(7) * (20 - es) / 7] / 20
    np.testing.assert_allclose(aligned["times"].numpy(), expected, rtol=1e-6)
    assert aligned["times"][3].item() == pytest.approx(meta["es_phase"])


def test_es_at_needs_es_frames_and_ed_alignment(acdc_root, tmp_path):
    for bad in ({"frames": None}, {"align_ed": False}, {"frames": 6, "es_at": 6}):
        with pytest.raises(SeqImagingError, match="es_at="):
            CineSampling(**({"es_at": 2} | bad))
    table = tmp_path / "cines.csv"
    cine = next((acdc_root / "training").rglob("*_4d.nii.gz"))
    table.write_text(f"path,label,ed\n{cine},NOR,0\n")
    data = CineTable(table, sampling=CineSampling(frames=6, es_at=2, slices=1))
    with pytest.raises(DataError, match=r"has no ES phase; .*es_at=2\) .*or find_es=True"):
        data[0]


def test_find_es_finds_end_systole_in_the_cine_within_a_phase(acdc_root):
    records = ACDC(acdc_root, "training").records
    found = CineDataset(
        [replace(r, es=None) for r in records], CineSampling(slices=3, frames=None, find_es=True)
    )
    for i, record in enumerate(records):
        meta = found[i]["meta"]
        assert meta["es"] is None
        phases = meta["nb_frames"]
        true = (record.es - record.ed) % phases
        assert abs(round(meta["es_phase"] * phases) - true) <= 1
    aligned = CineDataset(
        [replace(records[0], es=None)], CineSampling(frames=6, es_at=2, find_es=True)
    )
    assert aligned[0]["times"][2].item() == pytest.approx(found[0]["meta"]["es_phase"])


def test_sunnybrook_has_ef_target_and_reads_no_shared_folder(sunnybrook, digest):
    before = digest(sunnybrook)
    data = Sunnybrook(sunnybrook, SMALL)
    sample = data[1]
    assert sample["target"].tolist() == pytest.approx([25.5])
    assert sample["meta"]["group"] == "SCD0000201" and sample["meta"]["es"] == 6
    assert digest(sunnybrook) == before


def test_mnms_reads_its_csv_with_0_based_phases(acdc_root, tmp_path):
    for i, patient in enumerate(("patient001", "patient003")):
        folder = tmp_path / "Training" / "Labeled" / f"A{i}"
        folder.mkdir(parents=True)
        shutil.copy(
            acdc_root / "training" / patient / f"{patient}_4d.nii.gz", folder / f"A{i}_sa.nii.gz"
        )
    csv = tmp_path / "info.csv"
    csv.write_text(
        ",External code,VendorName,Vendor,Centre,ED,ES,Age,Pathology,Sex,Height,Weight\n"
        "0,A0,Siemens,A,1,0,4,60,NOR,M,180,80\n"
        "1,A1,Philips,B,2,0,5,50,DCM,F,165,60\n"
        "2,Z9,GE,C,3,0,5,40,HCM,F,165,60\n"
    )
    data = MnMs(tmp_path, csv, SMALL)
    assert data.labels == [0, 2] and data.missing == ["Z9"]
    meta = data[1]["meta"]
    assert meta["es"] == 5 and meta["vendor_name"] == "Philips"


def test_cine_table_with_labels_targets_and_groups(sunnybrook, tmp_path):
    csv = tmp_path / "cines.csv"
    dicom = sunnybrook / "dicom" / "SCD0000101"
    csv.write_text(
        f"path,label,group,lvef,ed,es\n{dicom},HF,p1,26.2,18,7\n"
        f"{sunnybrook / 'SCD0000201_cine.nii.gz'},N,p2,60,19,6\n"
    )
    data = CineTable(csv, targets=("lvef",), sampling=SMALL)
    assert data.class_names == ("HF", "N") and data.labels == [0, 1]
    assert data.groups == ["p1", "p2"]
    sample = data[0]
    assert sample["target"].tolist() == pytest.approx([26.2]) and sample["meta"]["ed"] == 18


def _edit_info(root, patient, old, new):
    path = root / "training" / patient / "Info.cfg"
    path.write_text(path.read_text().replace(old, new))
    return path


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("Group: NOR", "Group: XYZ", ["'XYZ'", "expected one of"]),
        ("Group: NOR\n", "", ["no ['Group']"]),
        ("Height:", "Hieght:", ["'Hieght'", "unknown"]),
        ("ED: 1", "ED: 0", ["ED is 0", "1-based"]),
        ("ED: 1", "ED: one", ["'one'", "number"]),
    ],
)
def test_bad_info_cfg_is_refused(acdc_copy, old, new, words):
    path = _edit_info(acdc_copy, "patient001", old, new)
    with pytest.raises(DataError) as info:
        ACDC(acdc_copy, "training")
    assert str(path) in str(info.value)
    assert all(word in str(info.value) for word in words)


def test_nbframe_that_disagrees_with_the_cine_is_refused(acdc_copy):
    path = acdc_copy / "training" / "patient002" / "Info.cfg"
    n = int(path.read_text().split("NbFrame: ")[1].split()[0])
    _edit_info(acdc_copy, "patient002", f"NbFrame: {n}", f"NbFrame: {n + 1}")
    data = ACDC(acdc_copy, "training", SMALL)
    with pytest.raises(DataError, match=r"patient002_4d\.nii\.gz: has .* phases but"):
        data[1]


def test_nan_voxels_are_refused(tmp_path, write_nifti):
    data = np.ones((8, 8, 3, 4), np.float32)
    data[2, 3, 1, 2] = np.nan
    write_nifti(tmp_path / "nan.nii.gz", data)
    (tmp_path / "t.csv").write_text("path\nnan.nii.gz\n")
    with pytest.raises(DataError, match=r"nan\.nii\.gz: 1 of .* NaN"):
        CineTable(tmp_path / "t.csv", sampling=CineSampling(slices=3))[0]


def test_missing_datasets_say_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="download ACDC"):
        ACDC(tmp_path, "training")
    with pytest.raises(DatasetNotFoundError):
        Sunnybrook(tmp_path)


def test_too_few_slices_are_refused(sunnybrook):
    with pytest.raises(DataError, match="has 3 slices; expected at least 4"):
        Sunnybrook(sunnybrook, CineSampling(slices=4))[0]
