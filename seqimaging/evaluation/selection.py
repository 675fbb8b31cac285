"""Settings chosen honestly: by cross-validation inside the training cases, nested in the
evaluation, so the test cases of an evaluation never take part in a choice.

A candidate is a function ``(train, test) → predictions``: it trains one setting (a
model, its inputs, its epochs...) on the cases at indices ``train`` and predicts those at
``test``. :func:`select` scores every candidate by ``folds``-fold cross-validation over
the groups of the training cases (the out-of-fold predictions pooled, then scored once)
and keeps the best; :func:`nested` does that inside each ``(train, test)`` part of an
evaluation (the official split, or each fold of an outer cross-validation) and predicts
the part's test cases with the setting chosen for it.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1] * 10)
    >>> candidates = {"always 0": lambda train, test: np.zeros(len(test)),
    ...               "the truth": lambda train, test: y[test]}
    >>> accuracy = lambda cases, predicted: float((y[cases] == predicted).mean())
    >>> choice = select(candidates, np.arange(20), range(20), y, accuracy)
    >>> choice.chosen, choice.scores
    ('the truth', {'always 0': 0.5, 'the truth': 1.0})
"""

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from seqimaging.errors import SeqImagingError
from seqimaging.splits import group_folds

Candidate = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``(train indices, test indices) → predictions for test``, first axis the test cases."""

Score = Callable[[np.ndarray, np.ndarray], float]
"""``(case indices, their predictions) → score``, higher is better."""


@dataclass(frozen=True)
class Selection:
    """What :func:`select` chose, and every candidate's cross-validated score."""

    chosen: str
    scores: dict[str, float]


def select(
    candidates: Mapping[str, Candidate],
    train: np.ndarray,
    groups: Sequence[Hashable],
    labels: Sequence[Hashable] | None,
    score: Score,
    *,
    folds: int = 3,
    seed: int = 0,
) -> Selection:
    """The candidate with the best ``folds``-fold cross-validated score on cases ``train``.

    Folds are of whole groups (``groups[i]`` is case ``i``'s patient) stratified by
    ``labels`` (:func:`~seqimaging.splits.group_folds`); each candidate's out-of-fold
    predictions are pooled and scored once. Ties go to the candidate listed first, so list
    the simplest first.

    Raises:
        SeqImagingError: no candidates.
    """
    if not candidates:
        raise SeqImagingError("no candidates to select from; expected at least one")
    train = np.asarray(train)
    inner = group_folds(
        [groups[i] for i in train],
        None if labels is None else [labels[i] for i in train],
        folds,
        seed=seed,
    )
    cases = np.concatenate([train[test] for _, test in inner])
    scores = {
        name: float(score(cases, np.concatenate([fit(train[a], train[b]) for a, b in inner])))
        for name, fit in candidates.items()
    }
    return Selection(max(scores, key=scores.__getitem__), scores)


def nested(
    candidates: Mapping[str, Candidate],
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
    groups: Sequence[Hashable],
    labels: Sequence[Hashable] | None,
    score: Score,
    *,
    folds: int = 3,
    seed: int = 0,
) -> tuple[np.ndarray, list[Selection]]:
    """For each ``(train, test)`` part: :func:`select` on ``train``, then the chosen
    candidate trained on all of ``train`` predicts ``test``. Returns the predictions of
    every part's test cases in order, and each part's selection."""
    predictions, selections = [], []
    for train, test in parts:
        choice = select(candidates, train, groups, labels, score, folds=folds, seed=seed)
        predictions.append(candidates[choice.chosen](np.asarray(train), np.asarray(test)))
        selections.append(choice)
    return np.concatenate(predictions), selections
