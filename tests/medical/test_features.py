"""Cardiac features from masks: analytic rings, the ACDC and M&Ms readers, the classifier."""

import math

import nibabel as nib
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from seqimaging.errors import DataError
from seqimaging.medical import ACDC, CineRecord, MnMs, read_cine
from seqimaging.medical.features import (
    FEATURE_NAMES,
    cardiac_features,
    feature_classifier,
    feature_matrix,
    segment_thickness,
)
from seqimaging.medical.phantoms import MNMS_CSV, make_acdc_like, make_mnms_like
from seqimaging.medical.volumes import LABELS, PhaseMasks, read_labels

LV, MYO, RV = (LABELS.index(name) for name in ("LV", "MYO", "RV"))
SPACINGS = [(8.0, 1.25, 1.25), (10.0, 1.8, 1.4)]  # (z, y, x) mm; the second anisotropic


def heart(spacing, radius, wall, rv=10.0, rv_at=50.0, shape=(5, 110, 110), slices=4) -> np.ndarray:
    """Label volume ``(z, y, x)``: on the first ``slices`` slices an LV disc of ``radius``
    mm in a myocardial ring ``wall`` mm thick (a number, or a function of the angle; 0 is
    a gap), and an RV disc of radius ``rv`` mm ``rv_at`` mm to its right (+x); the
    remaining slices are empty."""
    _, dy, dx = spacing
    y, x = np.meshgrid(
        (np.arange(shape[1]) - shape[1] / 2) * dy,
        (np.arange(shape[2]) - shape[2] / 2) * dx,
        indexing="ij",
    )
    rho, theta = np.hypot(y, x), np.arctan2(y, x)
    plane = np.zeros(shape[1:], np.uint8)
    plane[rho < radius + (wall(theta) if callable(wall) else wall)] = MYO
    plane[rho < radius] = LV
    plane[np.hypot(y, x - rv_at) < rv] = RV
    volume = np.zeros(shape, np.uint8)
    volume[:slices] = plane
    return volume


def features(ed, es, spacing) -> dict[str, float]:
    return cardiac_features(PhaseMasks(ed, es, spacing, "ring"))


@pytest.mark.parametrize("spacing", SPACINGS)
def test_ring_volumes_and_thickness_match_the_geometry(spacing):
    radius, wall = 25.0, 8.0
    ed = heart(spacing, radius, wall)
    result = features(ed, heart(spacing, 17.0, 11.0), spacing)
    slab = spacing[0] * 4 / 1000  # ml per mm² over the 4 filled slices
    assert result["lv_edv_ml"] == pytest.approx(math.pi * radius**2 * slab, rel=0.02)
    myo = math.pi * ((radius + wall) ** 2 - radius**2) * slab
    assert result["myo_ed_ml"] == pytest.approx(myo, rel=0.03)
    assert result["rv_edv_ml"] == pytest.approx(math.pi * 10.0**2 * slab, rel=0.05)  # 8 pixels
    assert result["myo_lv_edv_ratio"] == pytest.approx(myo / (math.pi * radius**2 * slab), 0.04)
    assert result["thickness_ed_mean_mm"] == pytest.approx(wall, abs=0.3)
    assert result["thickness_ed_max_mm"] == pytest.approx(wall, abs=0.5)
    assert result["thickness_es_mean_mm"] == pytest.approx(11.0, abs=0.3)
    thickness = segment_thickness(ed, spacing[1:])
    assert thickness.shape == (5, 6) and np.isnan(thickness[4]).all()  # the empty slice
    np.testing.assert_allclose(thickness[:4], wall, atol=0.5)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_thickness_stops_at_the_rv_and_skips_gaps_in_the_wall(spacing):
    def gapped(theta):  # no myocardium over 90°: the cavity meets the background there
        return np.where(np.abs(np.angle(np.exp(1j * (theta + 2.0)))) < np.pi / 4, 0.0, 8.0)

    touching = heart(spacing, 25.0, 8.0, rv_at=25.0 + 8.0 + 10.0)  # LV, MYO, then RV
    np.testing.assert_allclose(segment_thickness(touching, spacing[1:])[:4], 8.0, atol=0.5)
    thickness = segment_thickness(heart(spacing, 25.0, gapped), spacing[1:])[:4]
    assert (np.isnan(thickness).sum(axis=1) >= 1).all()  # a segment mostly in the gap
    np.testing.assert_allclose(thickness[~np.isnan(thickness)], 8.0, atol=0.5)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_ejection_fractions_of_two_rings_match_the_geometry(spacing):
    ed = heart(spacing, 25.0, 8.0, rv=12.0)
    es = heart(spacing, 17.0, 11.0, rv=8.0)
    result = features(ed, es, spacing)
    assert result["lv_ef_percent"] == pytest.approx(100 * (1 - 17.0**2 / 25.0**2), abs=2.0)
    assert result["rv_ef_percent"] == pytest.approx(100 * (1 - 8.0**2 / 12.0**2), abs=4.0)
    assert result["lv_esv_ml"] == pytest.approx(math.pi * 17.0**2 * spacing[0] * 4e-3, rel=0.03)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_uniform_thickening_is_the_relative_change_of_the_wall(spacing):
    result = features(heart(spacing, 25.0, 8.0), heart(spacing, 17.0, 11.0), spacing)
    assert result["thickening_mean"] == pytest.approx((11.0 - 8.0) / 8.0, abs=0.06)
    assert result["thickening_min"] == pytest.approx((11.0 - 8.0) / 8.0, abs=0.1)
    assert result["thickening_std"] < 0.05


@pytest.mark.parametrize("spacing", SPACINGS)
def test_a_segment_that_does_not_thicken_shows_in_the_minimum(spacing):
    def wall(theta):  # 8 mm in a 120° wedge at ES, as at ED; 11 mm elsewhere
        return np.where(np.abs(np.angle(np.exp(1j * (theta - 1.0)))) < np.pi / 3, 8.0, 11.0)

    result = features(heart(spacing, 25.0, 8.0), heart(spacing, 25.0, wall), spacing)
    assert abs(result["thickening_min"]) < 0.03
    assert result["thickening_mean"] > 0.2 and result["thickening_std"] > 0.1
    assert result["thickness_es_max_mm"] == pytest.approx(11.0, abs=0.5)


def test_feature_matrix_has_a_column_per_feature_name():
    spacing = SPACINGS[0]
    masks = PhaseMasks(heart(spacing, 25.0, 8.0), heart(spacing, 17.0, 11.0), spacing, "p")
    result = cardiac_features(masks)
    assert tuple(result) == FEATURE_NAMES
    matrix = feature_matrix([masks, masks])
    assert matrix.shape == (2, len(FEATURE_NAMES)) and matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix[1], list(result.values()))
    assert feature_matrix([]).shape == (0, len(FEATURE_NAMES))


@pytest.mark.parametrize(("structure", "phase"), [("LV", "ED"), ("MYO", "ES"), ("RV", "ES")])
def test_masks_without_a_structure_raise_naming_the_patient(structure, phase):
    spacing = SPACINGS[0]
    ed, es = heart(spacing, 25.0, 8.0), heart(spacing, 17.0, 11.0)
    emptied = ed if phase == "ED" else es
    emptied[emptied == LABELS.index(structure)] = 0
    with pytest.raises(DataError, match=rf"patient042: no {structure} voxels at {phase}"):
        cardiac_features(PhaseMasks(ed, es, spacing, "patient042"))


def test_masks_of_different_shapes_raise():
    spacing = SPACINGS[0]
    ed, es = heart(spacing, 25.0, 8.0), heart(spacing, 17.0, 11.0, slices=3)[:4]
    with pytest.raises(DataError, match="p7: masks of shapes"):
        cardiac_features(PhaseMasks(ed, es, spacing, "p7"))


def test_unknown_label_values_raise_naming_the_file(tmp_path, write_nifti):
    volume = np.zeros((8, 8, 3), np.uint8)
    volume[2, 2, 1] = 4
    path = write_nifti(tmp_path / "p_gt.nii.gz", volume)
    with pytest.raises(DataError, match=r"p_gt.nii.gz: label values \[0, 4\]"):
        read_labels(path, ACDC.mask_labels)
    volume[2, 2, 1] = 3
    labels, spacing = read_labels(write_nifti(path, volume), ACDC.mask_labels)
    assert labels.shape == (3, 8, 8) and labels[1, 2, 2] == LV and spacing == (8.0, 1.25, 1.5)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    acdc = make_acdc_like(tmp_path_factory.mktemp("acdc"), 1, seed=0)
    mnms = make_mnms_like(tmp_path_factory.mktemp("mnms"), 1, seed=0)
    return ACDC(acdc, "training"), MnMs(mnms, mnms / MNMS_CSV)


def test_acdc_and_mnms_layouts_give_the_same_features(layouts):
    acdc, mnms = layouts
    assert len(acdc) == len(mnms) == 5
    for a, m in zip(acdc.records, mnms.records, strict=True):
        ours, theirs = ACDC.masks(a), MnMs.masks(m)
        assert ours.source == a.id and theirs.source == m.id
        np.testing.assert_allclose(ours.spacing, theirs.spacing)
        np.testing.assert_allclose(
            list(cardiac_features(ours).values()), list(cardiac_features(theirs).values())
        )


def test_masks_are_in_the_cine_cubes_axis_order(layouts):
    for dataset, record in ((type(d), d.records[2]) for d in layouts):
        masks = dataset.masks(record)
        cube = read_cine(record.path)
        assert masks.ed.shape == masks.es.shape == cube.shape[1:]
        np.testing.assert_allclose(masks.spacing, cube.attrs["spacing"], rtol=1e-6)
        assert set(np.unique(masks.ed)) == {0, LV, MYO, RV}


def test_ejection_fraction_is_the_lv_voxel_count_of_the_mask_files(layouts):
    acdc, mnms = layouts
    for a, m in zip(acdc.records, mnms.records, strict=True):
        ed, es = (
            (nib.load(a.path.with_name(f"{a.id}_frame{p + 1:02d}_gt.nii.gz")).get_fdata() == 3)
            for p in (a.ed, a.es)
        )
        expected = 100 * (1 - es.sum() / ed.sum())
        assert ACDC.ejection_fraction(a) == pytest.approx(expected, rel=1e-12)
        truth = nib.load(m.path.with_name(f"{m.id}_sa_gt.nii.gz")).get_fdata() == 1
        assert MnMs.ejection_fraction(m) == pytest.approx(
            100 * (1 - truth[..., m.es].sum() / truth[..., m.ed].sum()), rel=1e-12
        )
        assert MnMs.ejection_fraction(m) == pytest.approx(expected, rel=1e-12)


def test_patients_without_masks_have_none(layouts, tmp_path):
    record = layouts[0].records[0]
    moved = CineRecord(id=record.id, path=tmp_path / record.path.name, ed=0, es=1)
    assert ACDC.masks(moved) is None and ACDC.ejection_fraction(moved) is None
    assert MnMs.masks(moved) is None and MnMs.ejection_fraction(moved) is None


@pytest.fixture(scope="module")
def phantom_features(tmp_path_factory):
    root = make_acdc_like(tmp_path_factory.mktemp("groups"), 6, seed=0, test_per_class=2)
    splits = {}
    for split in ("training", "testing"):
        records = ACDC(root, split).records
        splits[split] = (
            feature_matrix([ACDC.masks(r) for r in records]),
            np.array([r.label for r in records]),
        )
    return splits


@pytest.fixture(scope="module")
def fitted(phantom_features):
    return feature_classifier(seed=3).fit(*phantom_features["training"])


def test_classifier_separates_the_phantom_groups(phantom_features, fitted):
    x_test, y_test = phantom_features["testing"]
    assert np.isfinite(x_test).all()
    # measured: 1.0 on these 10 test patients (chance is 0.2)
    assert balanced_accuracy_score(y_test, fitted.predict(x_test)) >= 0.7
    probabilities = fitted.predict_proba(x_test)
    assert probabilities.shape == (10, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert list(fitted.classes_) == [0, 1, 2, 3, 4]


def test_classifier_fit_is_deterministic_for_a_seed(phantom_features, fitted):
    again = feature_classifier(seed=3).fit(*phantom_features["training"])
    x_test, _ = phantom_features["testing"]
    assert again.best_params_.keys() == fitted.best_params_.keys()
    assert str(again.best_params_) == str(fitted.best_params_)
    np.testing.assert_array_equal(again.predict_proba(x_test), fitted.predict_proba(x_test))
