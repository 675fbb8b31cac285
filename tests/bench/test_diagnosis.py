"""``seqimaging bench acdc|mnms --quick`` end to end on phantoms; metrics against scikit-learn."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    r2_score,
    recall_score,
    roc_auc_score,
)

from seqimaging.bench.diagnosis import (
    CHOSEN,
    CLASSICAL,
    FIXED,
    MAJORITY,
    MEAN,
    PAIRS,
    PUBLISHED_ACDC,
    SEARCHES,
)
from seqimaging.bench.record import STAND_IN_WARNING
from seqimaging.cli import main
from seqimaging.evaluation import macro_auroc
from seqimaging.medical import ACDC, MnMs

DIAGNOSIS = ("accuracy", "balanced_accuracy", "macro_f1", "macro_auroc")


def _run(tmp_path_factory, name: str) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp(name)
    main(["bench", name, "--quick", "--out", str(out)])
    folder = out / name
    return folder, json.loads((folder / "results.json").read_text())


@pytest.fixture(scope="module")
def acdc(tmp_path_factory):
    return _run(tmp_path_factory, "acdc")


@pytest.fixture(scope="module")
def mnms(tmp_path_factory):
    return _run(tmp_path_factory, "mnms")


def _check_interval(value: list) -> None:
    assert len(value) == 3
    estimate, low, high = value
    assert low <= estimate <= high


@pytest.mark.parametrize("bench", ["acdc", "mnms"])
def test_every_metric_has_an_interval_and_equals_scikit_learn(bench, request):
    _, result = request.getfixturevalue(bench)
    assert result["data"]["stand_in"] is True
    assert set(result["diagnosis"]) == {"official", "cross_validation"}
    for name, split in result["diagnosis"].items():
        classes, predictions = split["classes"], split["predictions"]
        y = np.array(predictions["label"])
        assert len(y) == split["test_patients"] and len(set(predictions["id"])) == len(y)
        chosen = set(SEARCHES) if name == "official" else set()  # chosen inside the official split
        assert set(split["scores"]) == {MAJORITY, CLASSICAL, *FIXED} | chosen
        balanced = {k: v["balanced_accuracy"][0] for k, v in split["scores"].items()}
        _check_differences(split["differences"], balanced)
        for label, scores in split["scores"].items():
            for metric in DIAGNOSIS:
                _check_interval(scores[metric])
            for key in ("sensitivity", "specificity"):
                assert list(scores[key]) == classes
                for value in scores[key].values():
                    _check_interval(value)
            predicted = np.array(predictions[label])
            probabilities = np.array(split["probabilities"][label])
            np.testing.assert_array_equal(predicted, probabilities.argmax(axis=1))
            f1 = f1_score(y, predicted, average="macro", zero_division=0)
            auroc = roc_auc_score(y, probabilities, multi_class="ovr", labels=range(len(classes)))
            assert scores["accuracy"][0] == pytest.approx(accuracy_score(y, predicted))
            assert scores["balanced_accuracy"][0] == pytest.approx(
                balanced_accuracy_score(y, predicted)
            )
            assert scores["macro_f1"][0] == pytest.approx(f1)
            assert scores["macro_auroc"][0] == pytest.approx(auroc)
            matrix = confusion_matrix(y, predicted, labels=range(len(classes)))
            assert split["scores"][label]["confusion_matrix"] == matrix.tolist()
            recall = recall_score(y, predicted, average=None, labels=range(len(classes)))
            specificity = [
                1 - (matrix[:, c].sum() - matrix[c, c]) / (len(y) - matrix[c].sum())
                for c in range(len(classes))
            ]
            for c, name in enumerate(classes):
                assert scores["sensitivity"][name][0] == pytest.approx(recall[c])
                assert scores["specificity"][name][0] == pytest.approx(specificity[c])
    ef = result["ejection_fraction"]
    reference = np.array(ef["predictions"]["ef"])
    assert ef["split"] == "official" and set(ef["scores"]) == {MEAN, *FIXED, *SEARCHES}
    _check_differences(ef["differences"], {k: -v["mae"][0] for k, v in ef["scores"].items()})
    for label, scores in ef["scores"].items():
        predicted = np.array(ef["predictions"][label])
        _check_interval(scores["mae"])
        _check_interval(scores["r2"])
        assert scores["mae"][0] == pytest.approx(mean_absolute_error(reference, predicted))
        assert scores["r2"][0] == pytest.approx(r2_score(reference, predicted))
        low, high = scores["limits_of_agreement"]
        assert low < scores["bias"] < high


def _check_differences(differences: dict, values: dict[str, float]) -> None:
    """Each pair's difference is the difference of the two models' scores ``values``."""
    pairs = [(m, r) for m, r in PAIRS if m in values and r in values]
    assert set(differences) == {f"{m} − {r}" for m, r in pairs}
    for model, reference in pairs:
        estimate, low, high = differences[f"{model} − {reference}"]
        assert estimate == pytest.approx(values[model] - values[reference])
        assert low <= estimate <= high


@pytest.mark.parametrize("bench", ["acdc", "mnms"])
def test_settings_are_chosen_inside_the_training_patients_only(bench, request):
    folder, result = request.getfixturevalue(bench)
    official = result["diagnosis"]["official"]
    assert set(official["selection"]) == set(SEARCHES)
    for label, candidates in SEARCHES.items():
        (selection,) = official["selection"][label]  # one part: the official split
        assert selection["chosen"] in candidates and set(selection["scores"]) == set(candidates)
        (ef_selection,) = result["ejection_fraction"]["selection"][label]
        assert all(score <= 0 for score in ef_selection["scores"].values())  # minus the MAE
    assert result["diagnosis"]["cross_validation"]["selection"] is None
    report = (folder / "results.md").read_text()
    assert f"'{CHOSEN}': each candidate's balanced accuracy in the inner" in report


def _acdc_ef(record) -> float:
    ed, es = (
        (
            nib.load(record.path.parent / f"{record.id}_frame{phase + 1:02d}_gt.nii.gz").get_fdata()
            == 3
        ).sum()
        for phase in (record.ed, record.es)
    )
    return 100 * (ed - es) / ed


def test_acdc_baselines_equal_values_computed_from_the_data(acdc):
    _, result = acdc
    root = result["settings"]["root"]
    train, test = ACDC(root, "training").records, ACDC(root, "testing").records
    official = result["diagnosis"]["official"]
    assert official["predictions"]["id"] == [r.id for r in test]
    y_test = np.array([r.label for r in test])
    np.testing.assert_array_equal(official["predictions"]["label"], y_test)
    counts = np.bincount([r.label for r in train], minlength=len(ACDC.class_names))
    majority = set(official["predictions"][MAJORITY])
    assert len(majority) == 1 and counts[majority.pop()] == counts.max()
    guess = official["predictions"][MAJORITY][0]
    assert official["scores"][MAJORITY]["accuracy"][0] == pytest.approx(np.mean(y_test == guess))
    assert official["scores"][MAJORITY]["balanced_accuracy"][0] == pytest.approx(1 / 5)
    assert official["scores"][MAJORITY]["macro_auroc"][0] == pytest.approx(0.5)

    # cross-validation: each fold's majority is that of the other folds' patients
    predictions = result["diagnosis"]["cross_validation"]["predictions"]
    label = {r.id: r.label for r in train}
    assert sorted(predictions["id"]) == sorted(label)
    folds = np.array(predictions["fold"])
    ids, guesses = np.array(predictions["id"]), np.array(predictions[MAJORITY])
    assert len(set(folds)) == 2
    for fold in set(folds):
        counts = np.bincount([label[i] for i in ids[folds != fold]], minlength=5)
        assert len(set(guesses[folds == fold])) == 1
        assert counts[guesses[folds == fold][0]] == counts.max() > counts.min()
    accuracy = result["diagnosis"]["cross_validation"]["scores"][MAJORITY]["accuracy"][0]
    assert accuracy == pytest.approx(np.mean([label[i] for i in ids] == guesses))

    ef = result["ejection_fraction"]
    np.testing.assert_allclose(ef["predictions"]["ef"], [_acdc_ef(r) for r in test])
    np.testing.assert_allclose(ef["predictions"][MEAN], np.mean([_acdc_ef(r) for r in train]))
    baseline = np.full(len(test), np.mean([_acdc_ef(r) for r in train]))
    assert ef["scores"][MEAN]["mae"][0] == pytest.approx(
        np.mean(np.abs(baseline - [_acdc_ef(r) for r in test]))
    )


def test_acdc_report_warns_and_lists_the_published_anchors(acdc):
    folder, result = acdc
    report = (folder / "results.md").read_text()
    assert report.count(STAND_IN_WARNING) == 2
    for method, accuracy, _ in PUBLISHED_ACDC:
        assert f"| {method} | {accuracy:.2f} |" in report
    assert "not comparable with phantoms" in report
    assert [p["accuracy"] for p in result["published"]] == [a for _, a, _ in PUBLISHED_ACDC]
    for figure in ("bland_altman.png", "confusion_matrix.png"):
        assert (folder / figure).stat().st_size > 1000
        assert f"]({figure})" in report
    assert result["seed"] == 0 and result["wall_time_s"] > 0 and "Split:" in report


def test_mnms_reads_its_phantoms_by_official_split(mnms):
    folder, result = mnms
    root = Path(result["settings"]["root"])
    data = MnMs(root, next(root.glob("*.csv")))
    testing = [r for r in data.records if r.path.relative_to(root).parts[0] == "Testing"]
    official = result["diagnosis"]["official"]
    assert official["predictions"]["id"] == [r.id for r in testing]
    assert official["classes"] == ["NOR", "HCM", "DCM", "ARV", "IHD"]
    names = [MnMs.class_names[r.label] for r in testing]
    assert [official["classes"][y] for y in official["predictions"]["label"]] == names
    reference = []
    for record in testing:
        truth = nib.load(record.path.with_name(f"{record.id}_sa_gt.nii.gz")).get_fdata()
        ed, es = ((truth[..., phase] == 1).sum() for phase in (record.ed, record.es))
        reference.append(100 * (ed - es) / ed)
    np.testing.assert_allclose(result["ejection_fraction"]["predictions"]["ef"], reference)
    report = (folder / "results.md").read_text()
    assert STAND_IN_WARNING in report and result["published"] == []
    assert (folder / "bland_altman.png").is_file()


def test_macro_auroc_is_scikit_learns_and_survives_a_missing_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 40)
    probabilities = rng.dirichlet(np.ones(4), 40)
    probabilities[:, 2] = np.round(probabilities[:, 2], 1)  # ties
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    expected = roc_auc_score(y, probabilities, multi_class="ovr")
    assert macro_auroc(y, probabilities) == pytest.approx(expected)
    present = y != 3
    per_class = [roc_auc_score(y[present] == c, probabilities[present, c]) for c in range(3)]
    assert macro_auroc(y[present], probabilities[present]) == pytest.approx(np.mean(per_class))
