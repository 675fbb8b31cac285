"""The ACDC-like phantoms: layout, variety and the dynamics that tell the groups apart."""

import nibabel as nib
import numpy as np
import pytest

from seqimaging.errors import SeqImagingError
from seqimaging.medical import ACDC, phantoms
from seqimaging.medical.phantoms import GROUPS, make_acdc_like


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
