"""Settings chosen by cross-validation inside the training cases, nested in the evaluation."""

import numpy as np
import pytest

from seqimaging.errors import SeqImagingError
from seqimaging.evaluation.selection import nested, select
from seqimaging.splits import group_folds

GROUPS = [f"patient{i // 2}" for i in range(40)]  # two cases per patient
LABELS = [(i // 2) % 4 for i in range(40)]
Y = np.array(LABELS)


def _accuracy(cases, predicted):
    return float((Y[cases] == predicted).mean())


class Recorder:
    """A candidate that predicts the truth on a fraction of the cases, and records calls."""

    def __init__(self, right: float):
        self.right, self.calls = right, []

    def __call__(self, train, test):
        self.calls.append((np.array(train), np.array(test)))
        wrong = np.arange(len(test)) >= self.right * len(test)
        return np.where(wrong, (Y[test] + 1) % 4, Y[test])


def test_the_best_candidate_is_chosen_and_ties_go_to_the_first():
    candidates = {"poor": Recorder(0.2), "good": Recorder(0.9), "also good": Recorder(0.9)}
    choice = select(candidates, np.arange(40), GROUPS, LABELS, _accuracy, folds=4)
    assert choice.chosen == "good"
    assert choice.scores["poor"] < choice.scores["good"] == choice.scores["also good"]
    assert all(len(c.calls) == 4 for c in candidates.values())


def test_inner_folds_split_patients_and_stay_inside_the_training_cases():
    candidate = Recorder(1.0)
    train = np.arange(0, 30)
    select({"c": candidate}, train, GROUPS, LABELS, _accuracy, folds=3, seed=1)
    seen = np.concatenate([test for _, test in candidate.calls])
    assert sorted(seen.tolist()) == train.tolist()  # every training case scored once
    for fit_on, test in candidate.calls:
        assert set(fit_on) | set(test) <= set(train)
        assert not {GROUPS[i] for i in fit_on} & {GROUPS[i] for i in test}


def test_nested_never_shows_a_parts_test_cases_to_a_choice():
    log = []
    right = {"poor": 0.3, "good": 0.8}

    def candidate(name):
        def fit(train, test):
            log.append((set(train), set(test)))
            return Recorder(right[name])(train, test)

        return fit

    parts = group_folds(GROUPS, LABELS, 4, seed=0)
    predictions, choices = nested(
        {name: candidate(name) for name in right}, parts, GROUPS, LABELS, _accuracy, folds=3
    )
    assert [c.chosen for c in choices] == ["good"] * 4
    test_cases = np.concatenate([test for _, test in parts])
    assert predictions.shape == (40,)
    assert _accuracy(test_cases, predictions) == pytest.approx(0.8, abs=0.05)
    calls_per_part = 3 * len(right) + 1  # inner folds × candidates, then the chosen one
    assert len(log) == 4 * calls_per_part
    for k, (train, test) in enumerate(parts):
        calls = log[k * calls_per_part : (k + 1) * calls_per_part]
        for fit_on, scored in calls[:-1]:
            assert fit_on | scored <= set(train)  # choosing sees the part's training cases
        assert calls[-1] == (set(train), set(test))


def test_no_candidates_is_an_error():
    with pytest.raises(SeqImagingError, match="no candidates"):
        select({}, np.arange(10), GROUPS[:10], None, _accuracy)
