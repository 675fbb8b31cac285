"""Bootstrap confidence intervals over cases, and Bland–Altman limits of agreement."""

import warnings
from collections.abc import Callable

import numpy as np

from seqimaging.errors import SeqImagingError


def bootstrap_ci(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """A metric and its percentile-bootstrap confidence interval over cases (patients).

    The metric of ``n_boot`` resamples of the ``n`` cases, drawn with replacement as
    ``numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))``; the interval is
    the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles (``numpy.percentile``,
    linear) of those values. Pass one entry per independent case (patient, not slice).
    Warnings raised by ``metric`` on a resample (e.g. a class missing from it) are
    silenced; those on all cases are not.

    Args:
        y_true: true labels or values, one per case.
        y_pred: predictions (labels, probabilities, values), one per case, first axis cases.
        metric: ``metric(y_true, y_pred) -> float``, e.g. scikit-learn's
            ``balanced_accuracy_score``.
        n_boot: number of resamples.
        level: coverage of the interval, in (0, 1).
        seed: seed of the resampling.

    Returns:
        ``(estimate, low, high)``: the metric on all cases and the interval's bounds.

    Raises:
        SeqImagingError: no cases, lengths that differ, ``n_boot < 1`` or ``level``
            outside (0, 1).

    Example:
        >>> from sklearn.metrics import accuracy_score
        >>> y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
        >>> estimate, low, high = bootstrap_ci(y, np.ones(8, int), accuracy_score)
        >>> estimate, low <= estimate <= high
        (0.625, True)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_pred) != len(y_true):
        raise SeqImagingError(
            f"y_true has {len(y_true)} cases and y_pred {len(y_pred)}; expected the same number"
        )
    return bootstrap_cases(
        lambda i: metric(y_true[i], y_pred[i]), len(y_true), n_boot=n_boot, level=level, seed=seed
    )


def bootstrap_cases(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """A statistic of ``n`` cases and its percentile-bootstrap confidence interval.

    The general form of :func:`bootstrap_ci`, for statistics that pool counts over cases
    (CSI, RMSE over pixels): ``statistic(indices)`` computes the value on the cases at
    ``indices`` (with repeats). Resampling and percentiles as in :func:`bootstrap_ci`.

    Example:
        >>> errors = np.array([1.0, 2.0, 3.0, 4.0])
        >>> estimate, low, high = bootstrap_cases(lambda i: errors[i].mean(), 4)
        >>> estimate, 1.0 <= low <= estimate <= high <= 4.0
        (2.5, True)
    """
    if n == 0:
        raise SeqImagingError("no cases to bootstrap; expected at least 1")
    if n_boot < 1 or not 0 < level < 1:
        raise SeqImagingError(f"expected n_boot >= 1 and 0 < level < 1, got {n_boot}, {level}")
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    with warnings.catch_warnings():  # a resample may miss a class: expected, not news
        warnings.simplefilter("ignore")
        values = np.array([statistic(i) for i in draws], dtype=np.float64)
    low, high = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(statistic(np.arange(n))), float(low), float(high)


def limits_of_agreement(difference: np.ndarray) -> tuple[float, float, float]:
    """Bland and Altman's bias and 95% limits of agreement: mean, mean ∓ 1.96 SD.

    Example:
        >>> limits_of_agreement(np.array([1.0, 3.0]))
        (2.0, -0.771..., 4.771...)
    """
    bias, spread = float(difference.mean()), 1.96 * float(difference.std(ddof=1))
    return bias, bias - spread, bias + spread


def bootstrap_per_lead(
    statistic: Callable[[np.ndarray, int], float], n: int, leads: int, *, n_boot: int, seed: int
) -> list[list[float]]:
    """``[estimate, low, high]`` of ``statistic(cases, lead)`` for each lead, bootstrapped
    over the ``n`` cases with the same resamples for every lead (as :func:`bootstrap_cases`)."""
    return [
        list(bootstrap_cases(lambda i, k=k: statistic(i, k), n, n_boot=n_boot, seed=seed))
        for k in range(leads)
    ]
