"""Diagnosis and ejection-fraction scores as clinical papers report them, with bootstrap CIs.

Every score is ``[estimate, low, high]``: the value on all cases (patients) and its
percentile-bootstrap 95% interval (:func:`~seqimaging.evaluation.bootstrap.bootstrap_ci`).
Accuracy, balanced accuracy, macro F1, MAE and R² are scikit-learn's.
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    r2_score,
)

from seqimaging.evaluation.bootstrap import bootstrap_ci, limits_of_agreement


def macro_auroc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean one-vs-rest AUROC over the classes with both positive and negative cases.

    Each class's AUROC is the Mann–Whitney statistic of its probability (ties count one
    half), so with every class present this is scikit-learn's
    ``roc_auc_score(y_true, probabilities, multi_class="ovr")``, at a fraction of its cost
    (it runs on every bootstrap resample).
    """
    aucs = []
    for c in range(probabilities.shape[1]):
        positive = y_true == c
        n_pos = int(positive.sum())
        n_neg = len(y_true) - n_pos
        if n_pos and n_neg:
            ranks = rankdata(probabilities[:, c])
            aucs.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(aucs))


def diagnosis_scores(
    y_true: np.ndarray, probabilities: np.ndarray, classes: Sequence[str], n_boot: int, seed: int
) -> dict:
    """The diagnosis metrics of class probabilities ``[N, K]``, each ``[estimate, low, high]``.

    Sensitivity and specificity per class resample that class's patients, or the others';
    they are ``None`` for a class without such patients. ``confusion_matrix`` (rows: true
    class, columns: predicted) has no interval.
    """
    predicted = probabilities.argmax(axis=1)

    def ci(metric: Callable, truth: np.ndarray = y_true, values: np.ndarray = predicted) -> list:
        return list(bootstrap_ci(truth, values, metric, n_boot=n_boot, seed=seed))

    def agreement(truth: np.ndarray, values: np.ndarray) -> float:
        return float(np.mean(truth == values))

    scores = {
        "accuracy": ci(accuracy_score),
        "balanced_accuracy": ci(balanced_accuracy_score),
        "macro_f1": ci(lambda t, p: f1_score(t, p, average="macro", zero_division=0)),
        "macro_auroc": ci(macro_auroc, values=probabilities),
        "sensitivity": {},
        "specificity": {},
        "confusion_matrix": confusion_matrix(
            y_true, predicted, labels=range(len(classes))
        ).tolist(),
    }
    for c, name in enumerate(classes):
        positive, called = y_true == c, predicted == c
        for key, cases in (("sensitivity", positive), ("specificity", ~positive)):
            scores[key][name] = (
                ci(agreement, positive[cases], called[cases]) if cases.any() else None
            )
    return scores


def ef_scores(reference: np.ndarray, predicted: np.ndarray, n_boot: int, seed: int) -> dict:
    """MAE and R² (``[estimate, low, high]``), bias and 95% limits of agreement of EF."""
    bias, low, high = limits_of_agreement(predicted - reference)
    return {
        "mae": list(
            bootstrap_ci(reference, predicted, mean_absolute_error, n_boot=n_boot, seed=seed)
        ),
        "r2": list(bootstrap_ci(reference, predicted, r2_score, n_boot=n_boot, seed=seed)),
        "bias": bias,
        "limits_of_agreement": [low, high],
    }
