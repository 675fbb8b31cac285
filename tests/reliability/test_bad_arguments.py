"""Nonsense task arguments fail at construction, naming the argument and what was expected.

The model name does not exist, so every check is shown to run before the model is built.
A forecast horizon that the data do not have fails at the first batch, before a step.
"""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from seqimaging.errors import SeqImagingError
from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask
from seqimaging.testing import MovingShapes

NOWHERE = "no_such_model"
POSITIVE = "a finite number > 0"
NON_NEGATIVE = "a finite number ≥ 0"
CASES = [
    (ClassificationTask, {"lr": -1}, f"lr=-1 is out of range; expected {POSITIVE}"),
    (RegressionTask, {"lr": 0}, f"lr=0 is out of range; expected {POSITIVE}"),
    (ForecastTask, {"lr": float("nan")}, f"lr=nan is out of range; expected {POSITIVE}"),
    (ClassificationTask, {"lr": float("inf")}, f"lr=inf is out of range; expected {POSITIVE}"),
    (ClassificationTask, {"lr": "fast"}, f"lr='fast' is out of range; expected {POSITIVE}"),
    (
        RegressionTask,
        {"weight_decay": -0.1},
        f"weight_decay=-0.1 is out of range; expected {NON_NEGATIVE}",
    ),
    (
        ClassificationTask,
        {"optimizer": "sgd", "momentum": -0.5},
        f"momentum=-0.5 is out of range; expected {NON_NEGATIVE}",
    ),
    (ForecastTask, {"patience": -1}, "patience=-1 is out of range; expected a whole number ≥ 0"),
    (
        ClassificationTask,
        {"num_classes": 1},
        "num_classes=1 is out of range; expected a whole number ≥ 2",
    ),
    (
        ClassificationTask,
        {"num_classes": 2.5},
        "num_classes=2.5 is out of range; expected a whole number ≥ 2",
    ),
    (
        ClassificationTask,
        {"num_classes": 4, "class_names": ["a", "b", "c"]},
        "class_names has 3 entries (['a', 'b', 'c']); expected num_classes=4, one per class",
    ),
    (
        ClassificationTask,
        {"num_classes": 2, "class_weights": [1.0, 2.0, 3.0]},
        "class_weights has 3 entries ([1.0, 2.0, 3.0]); expected num_classes=2, one per class",
    ),
    (
        ClassificationTask,
        {"label_smoothing": 1.5},
        "label_smoothing=1.5 is out of range; expected a finite number ≥ 0 and ≤ 1",
    ),
    (
        ClassificationTask,
        {"in_channels": 0},
        "in_channels=0 is out of range; expected a whole number ≥ 1",
    ),
    (
        RegressionTask,
        {"num_targets": 0},
        "num_targets=0 is out of range; expected a whole number ≥ 1",
    ),
    (
        RegressionTask,
        {"target_std": float("inf")},
        "target_std is [inf]; expected finite values",
    ),
    (ForecastTask, {"horizon": 0}, "horizon=0 is out of range; expected a whole number ≥ 1"),
    (ForecastTask, {"data_range": 0.0}, f"data_range=0.0 is out of range; expected {POSITIVE}"),
    (
        ForecastTask,
        {"teacher_forcing": 2.0},
        "teacher_forcing=2.0 is out of range; expected a finite number ≥ 0 and ≤ 1",
    ),
]


@pytest.mark.parametrize(
    ("task", "arguments", "message"), CASES, ids=[str(list(c[1].items())) for c in CASES]
)
def test_a_nonsense_argument_fails_at_construction_naming_it(task, arguments, message):
    with pytest.raises(SeqImagingError) as raised:
        task(NOWHERE, **arguments)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("task", "arguments"),
    [
        (ClassificationTask, {"weight_decay": 0, "momentum": 0, "label_smoothing": 0.0}),
        (ClassificationTask, {"num_classes": 3, "class_names": ["a", "b", "c"]}),
        (RegressionTask, {"lr": 1e-8, "patience": 0}),
        (ForecastTask, {"horizon": 1, "teacher_forcing": 1.0}),
    ],
)
def test_the_bounds_themselves_are_admitted(task, arguments):
    with pytest.raises(SeqImagingError, match=f"unknown model '{NOWHERE}'"):
        task(NOWHERE, **arguments)  # past the argument checks, failing only at the model


def test_a_horizon_the_data_do_not_have_fails_at_the_first_batch(quiet):
    task = ForecastTask(horizon=3, model_kwargs={"stride": 2, "width": 4, "hidden_channels": 4})
    weights = {k: v.clone() for k, v in task.state_dict().items()}
    data = DataLoader(
        MovingShapes(4, frames=3, horizon=2, size=8), batch_size=2, collate_fn=collate
    )
    trainer = L.Trainer(**quiet)
    with pytest.raises(SeqImagingError) as raised:
        trainer.fit(task, data)
    assert str(raised.value) == (
        "horizon=3 but the data's future has 2 frames (samples ['shapes-00000', "
        "'shapes-00001']); expected horizon=2, or data with 3 future frames"
    )
    assert all(torch.equal(v, weights[k]) for k, v in task.state_dict().items())
