"""bootstrap_ci against a direct numpy computation and against theory."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from seqimaging.errors import SeqImagingError
from seqimaging.evaluation import bootstrap_ci


def test_bootstrap_ci_equals_a_direct_numpy_computation():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, 40)
    y_pred = np.where(rng.random(40) < 0.7, y_true, rng.integers(0, 3, 40))
    estimate, low, high = bootstrap_ci(
        y_true, y_pred, balanced_accuracy_score, n_boot=300, level=0.9, seed=7
    )
    draws = np.random.default_rng(7).integers(0, 40, size=(300, 40))
    values = [balanced_accuracy_score(y_true[d], y_pred[d]) for d in draws]
    assert estimate == balanced_accuracy_score(y_true, y_pred)
    assert (low, high) == tuple(np.percentile(values, [5, 95]))
    assert low < estimate < high


def test_bootstrap_ci_of_a_mean_matches_the_normal_interval():
    x = np.random.default_rng(0).normal(10.0, 2.0, 400)

    def mean(_, values):
        return values.mean()

    estimate, low, high = bootstrap_ci(x, x, mean, n_boot=4000)
    half = 1.96 * x.std() / np.sqrt(len(x))
    assert estimate == pytest.approx(x.mean())
    assert low == pytest.approx(x.mean() - half, abs=0.03)
    assert high == pytest.approx(x.mean() + half, abs=0.03)


def test_bootstrap_ci_is_reproducible_and_narrows_with_more_cases():
    def width(n):
        y = np.arange(n) % 2
        pred = np.where(np.arange(n) % 5 == 0, 1 - y, y)
        _, low, high = bootstrap_ci(y, pred, balanced_accuracy_score, n_boot=200)
        return high - low

    assert width(40) == width(40)
    assert width(400) < width(40) / 2


@pytest.mark.parametrize(
    "y_pred, kwargs", [([0, 1], {}), ([0, 1, 1], {"n_boot": 0}), ([0, 1, 1], {"level": 1.0})]
)
def test_bootstrap_ci_refuses_bad_arguments(y_pred, kwargs):
    with pytest.raises(SeqImagingError):
        bootstrap_ci([0, 1, 1], y_pred, balanced_accuracy_score, **kwargs)
