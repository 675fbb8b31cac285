"""Diagnosis scores against scikit-learn, on a small hand-made case."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from seqimaging.evaluation import diagnosis_scores


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
