"""Diagnosis and ejection-fraction scores as clinical papers report them, with bootstrap CIs.

Every score is ``[estimate, low, high]``: the value on all cases (patients) and its
percentile-bootstrap 95% interval (:func:`~seqimaging.evaluation.bootstrap.bootstrap_ci`).
Accuracy, balanced accuracy and macro F1 equal scikit-learn's (tested), computed from one
``numpy.bincount`` confusion matrix, since they run on every bootstrap resample; MAE and R²
are scikit-learn's.
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix, mean_absolute_error, r2_score

from seqimaging.evaluation.bootstrap import bootstrap_ci, limits_of_agreement


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts ``[K, K]`` (rows: true class, columns: predicted) of integer labels."""
    k = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The fraction of cases whose label is predicted (``sklearn.metrics.accuracy_score``)."""
    return float(np.mean(y_true == y_pred))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes that occur in ``y_true``, as
    ``sklearn.metrics.balanced_accuracy_score``."""
    counts = _confusion(y_true, y_pred)
    present = counts.sum(axis=1) > 0
    return float(np.mean(np.diag(counts)[present] / counts.sum(axis=1)[present]))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean F1 over the classes in ``y_true`` or ``y_pred``, 0 where it is undefined, as
    ``sklearn.metrics.f1_score(average="macro", zero_division=0)``."""
    counts = _confusion(y_true, y_pred)
    hits, truths, calls = np.diag(counts), counts.sum(axis=1), counts.sum(axis=0)
    present = (truths + calls) > 0
    return float(np.mean(2 * hits[present] / (truths + calls)[present]))


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

    scores = {
        "accuracy": ci(accuracy),
        "balanced_accuracy": ci(balanced_accuracy),
        "macro_f1": ci(macro_f1),
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
                ci(accuracy, positive[cases], called[cases]) if cases.any() else None
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
