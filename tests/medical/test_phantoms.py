"""The ACDC- and M&Ms-like phantoms: layouts, masks, variety and the dynamics that tell the
groups apart."""

import nibabel as nib
import numpy as np
import pytest

from seqimaging.errors import SeqImagingError
from seqimaging.medical import ACDC, CineSampling, MnMs, phantoms
from seqimaging.medical.phantoms import (
    GROUPS,
    MNMS_CSV,
    MNMS_PATHOLOGY,
    make_acdc_like,
    make_mnms_like,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_acdc_like(tmp_path_factory.mktemp("phantoms"), n_per_class=2, seed=5)


def test_layout_and_variety(root):
    patients = sorted((root / "training").iterdir())
    assert [p.name for p in patients] == [f"patient{i:03d}" for i in range(1, 11)]
    shapes, zooms = set(), set()
    for folder in patients:
        image = nib.load(folder / f"{folder.name}_4d.nii.gz")
        info = ACDC.read_info(folder / "Info.cfg")
        assert image.ndim == 4 and image.get_data_dtype() == np.int16
        assert 12 <= image.shape[3] <= 35 and info["NbFrame"] == image.shape[3]
        assert info["ED"] == 1 and 1 < info["ES"] < info["NbFrame"]
        shapes.add(image.shape)
        zooms.add(image.header.get_zooms())
    assert len(shapes) > 5 and len(zooms) == 10
    assert [ACDC.read_info(p / "Info.cfg")["Group"] for p in patients] == list(GROUPS) * 2


@pytest.mark.parametrize("group", GROUPS)
def test_groups_differ_in_ejection_fractions_as_the_table_says(group):
    rng = np.random.default_rng(0)
    yx = (np.indices((256, 256)).transpose(1, 2, 0) + 0.5) * 0.5
    expected = {"NOR": (0.55, 0.65), "MINF": (0.25, 0.5), "DCM": (0.1, 0.25), "HCM": (0.76, 0.88)}
    for _ in range(3):
        heart = phantoms._heart(group, rng, fov=128.0)
        ed = [m.sum() for m in phantoms._heart_masks(heart, yx, 1.0, 0.0, 0.5)]
        es = [m.sum() for m in phantoms._heart_masks(heart, yx, 1.0, 1.0, 0.5)]
        lv_ef, rv_ef = 1 - es[0] / ed[0], 1 - es[1] / ed[1]
        low, high = expected.get(group, (0.55, 0.65))
        assert low - 0.02 < lv_ef < high + 0.02
        assert (0.08 < rv_ef < 0.27) if group == "RV" else (0.48 < rv_ef < 0.62)


def test_same_seed_same_voxels(root, tmp_path):
    again = make_acdc_like(tmp_path, n_per_class=1, seed=5)
    for name in ("patient001", "patient005"):
        a = nib.load(root / "training" / name / f"{name}_4d.nii.gz").get_fdata()
        b = nib.load(again / "training" / name / f"{name}_4d.nii.gz").get_fdata()
        np.testing.assert_array_equal(a, b)


def test_existing_patients_are_not_overwritten(root):
    with pytest.raises(SeqImagingError, match="already holds patients"):
        make_acdc_like(root, n_per_class=1)


def _lv_ef(folder, name, ed, es) -> float:
    """LV EF from the ACDC-layout masks at 1-based frames ``ed`` and ``es`` (label 3)."""
    ed, es = (
        (nib.load(folder / f"{name}_frame{phase:02d}_gt.nii.gz").get_fdata() == 3).sum()
        for phase in (ed, es)
    )
    return 1 - es / ed


def test_masks_give_each_group_its_ejection_fraction(root):
    expected = {"NOR": (0.55, 0.65), "MINF": (0.25, 0.5), "DCM": (0.1, 0.25), "HCM": (0.76, 0.88)}
    for folder in sorted((root / "training").iterdir()):
        info = ACDC.read_info(folder / "Info.cfg")
        masks = [
            nib.load(folder / f"{folder.name}_frame{phase:02d}_gt.nii.gz")
            for phase in (info["ED"], info["ES"])
        ]
        for mask in masks:
            assert mask.shape == nib.load(folder / f"{folder.name}_4d.nii.gz").shape[:3]
            assert set(np.unique(mask.get_fdata())) == {0, 1, 2, 3}
        low, high = expected.get(info["Group"], (0.55, 0.65))
        assert low - 0.06 < _lv_ef(folder, folder.name, info["ED"], info["ES"]) < high + 0.06


def test_testing_patients_follow_the_training_ones(root, tmp_path):
    again = make_acdc_like(tmp_path, n_per_class=1, seed=5, test_per_class=1)
    assert [r.id for r in ACDC(again, "testing").records] == [
        f"patient{i:03d}" for i in range(6, 11)
    ]
    for name in ("patient001", "patient008"):
        split = "training" if name == "patient001" else "testing"
        a = nib.load(root / "training" / name / f"{name}_4d.nii.gz").get_fdata()
        b = nib.load(again / split / name / f"{name}_4d.nii.gz").get_fdata()
        np.testing.assert_array_equal(a, b)


def test_mnms_layout_holds_the_same_hearts_for_the_mnms_reader(root, tmp_path):
    mnms_root = make_mnms_like(tmp_path, n_per_class=1, seed=5, test_per_class=1)
    sampling = CineSampling(slices=3, frames=8, spacing=None, size=None)
    mnms = MnMs(mnms_root, mnms_root / MNMS_CSV, sampling)
    acdc = ACDC(root, "training", sampling)
    assert mnms.missing == [] and len(mnms) == 10
    splits = [r.path.relative_to(mnms_root).parts[:-2] for r in mnms.records]
    assert splits == [("Training", "Labeled")] * 5 + [("Testing",)] * 5
    for i, record in enumerate(mnms.records):
        assert MnMs.class_names[record.label] == MNMS_PATHOLOGY[GROUPS[i % 5]]
        truth = nib.load(record.path.with_name(f"{record.id}_sa_gt.nii.gz")).get_fdata()
        labelled = np.flatnonzero(truth.reshape(-1, truth.shape[-1]).any(axis=0))
        assert sorted(labelled) == sorted([record.ed, record.es]) and record.ed != record.es
        folder = root / "training" / acdc.records[i].id
        info = ACDC.read_info(folder / "Info.cfg")
        lv = (truth[..., record.es] == 1).sum() / (truth[..., record.ed] == 1).sum()
        assert 1 - lv == pytest.approx(_lv_ef(folder, folder.name, info["ED"], info["ES"]))
        # the reader rolls the cycle to start at the CSV's ED: the same frames as ACDC's
        np.testing.assert_array_equal(mnms[i]["frames"], acdc[i]["frames"])


def test_mnms_phantoms_are_not_overwritten(tmp_path):
    make_mnms_like(tmp_path, n_per_class=1)
    with pytest.raises(SeqImagingError, match="already holds"):
        make_mnms_like(tmp_path, n_per_class=1)


def test_sunnybrook_phantoms_read_back_with_ed_late_in_the_cycle(tmp_path):
    from seqimaging.medical import Sunnybrook
    from seqimaging.medical.phantoms import make_sunnybrook_like

    root = make_sunnybrook_like(tmp_path / "a", n_patients=2, seed=1)
    sampling = CineSampling(slices=None, frames=None, align_ed=False, spacing=None, size=None)
    data = Sunnybrook(root, sampling)
    assert [r.id for r in data.records] == ["SCD0000101", "SCD0000201"]
    assert {Sunnybrook.class_names[label] for label in data.labels} == {"HF-I"}
    for record in data.records:
        assert record.ed in (18, 19) and record.es != record.ed
        assert 5 < record.target[0] < 30  # DCM: LV ejection fraction 10–25 %
        cine = nib.load(record.path).get_fdata()  # (x, y, z, t)
        assert cine.shape[3] == 20 and 6 <= cine.shape[2] <= 8
        brightness = cine.sum(axis=(0, 1, 2))  # blood is brightest: more of it at ED
        assert brightness[record.ed] > brightness[record.es]
    assert data[0]["meta"]["frame_interval_ms"] > 0
    again = make_sunnybrook_like(tmp_path / "b", n_patients=1, seed=1)
    np.testing.assert_array_equal(
        nib.load(again / "SCD0000101_cine.nii.gz").get_fdata(),
        nib.load(root / "SCD0000101_cine.nii.gz").get_fdata(),
    )
    with pytest.raises(SeqImagingError, match=r"already holds labels\.csv"):
        make_sunnybrook_like(root, n_patients=1)
