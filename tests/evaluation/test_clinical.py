"""Diagnosis scores and label metrics against scikit-learn, on hand-made and random cases."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from seqimaging.evaluation import diagnosis_scores
from seqimaging.evaluation.clinical import accuracy, balanced_accuracy, macro_f1


def test_diagnosis_scores_agree_with_scikit_learn():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    probabilities = np.eye(3)[[0, 1, 1, 1, 2, 0, 2]] * 0.8 + 0.2 / 3
    scores = diagnosis_scores(y, probabilities, ["a", "b", "c"], n_boot=50, seed=0)
    predicted = probabilities.argmax(1)
    assert scores["confusion_matrix"] == confusion_matrix(y, predicted).tolist()
    assert scores["balanced_accuracy"][0] == pytest.approx(balanced_accuracy_score(y, predicted))
    assert scores["sensitivity"]["c"][0] == pytest.approx(2 / 3)
    assert scores["specificity"]["a"][0] == pytest.approx(4 / 5)
    low, high = scores["accuracy"][1:]
    assert low <= scores["accuracy"][0] <= high


@pytest.mark.parametrize("seed", range(5))
def test_label_metrics_equal_scikit_learn_on_resamples_missing_classes(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 12)
    predicted = np.where(rng.random(12) < 0.6, y, rng.integers(0, 6, 12))  # class 5: never true
    for draw in rng.integers(0, 12, size=(40, 12)):  # resamples miss some classes
        t, p = y[draw], predicted[draw]
        assert accuracy(t, p) == pytest.approx(accuracy_score(t, p))
        assert macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro", zero_division=0))
        with warnings.catch_warnings():  # a predicted class missing from t: expected here
            warnings.simplefilter("ignore")
            assert balanced_accuracy(t, p) == pytest.approx(balanced_accuracy_score(t, p))
