"""Short CPU trainings on MovingShapes: the models learn what only time can tell."""

import lightning as L
import pytest

from seqimaging.data import SequenceDataModule
from seqimaging.tasks import ClassificationTask, ForecastTask
from seqimaging.testing import MovingShapes

SMALL = {"stride": 2, "width": 8, "hidden_channels": 16}


def _fit_and_test(task, dataset, trainer, epochs):
    L.seed_everything(0)
    data = SequenceDataModule(dataset, batch_size=16, val_fraction=0.0, test_fraction=0.25)
    trainer(max_epochs=epochs).fit(task, data)
    return trainer().test(task, data, verbose=False)[0]


def test_forecaster_beats_persistence(trainer):
    L.seed_everything(0)
    task = ForecastTask(
        "convlstm_forecaster",
        horizon=3,
        lr=3e-3,
        teacher_forcing=1.0,
        teacher_forcing_steps=40,
        model_kwargs={"stride": 2, "width": 8, "hidden_channels": 16},
    )
    result = _fit_and_test(task, MovingShapes(128, frames=4, horizon=3, size=16), trainer, 8)
    for k in (1, 2, 3):
        assert result[f"test/skill_mse_lead{k}"] > 0.2, result


@pytest.mark.parametrize(
    ("model", "chance_only"), [("convlstm_classifier", False), ("static_classifier", True)]
)
def test_direction_needs_time(trainer, model, chance_only):
    """Direction of motion: the temporal model learns it, a single frame cannot tell it."""
    L.seed_everything(0)
    task = ClassificationTask(model, num_classes=4, lr=3e-3, model_kwargs=SMALL)
    result = _fit_and_test(task, MovingShapes(192, frames=4, size=16), trainer, 20)
    if chance_only:
        assert result["test/balanced_accuracy"] < 0.45, result
    else:
        assert result["test/balanced_accuracy"] > 0.8, result
