"""The one quiet fixed-budget Trainer and what is built on it."""

import torch

from seqimaging.tasks import ClassificationTask
from seqimaging.tasks.training import fit, fit_predict, quiet_trainer, step_loader
from seqimaging.testing import MovingShapes

KWARGS = {"stride": 2, "width": 4, "hidden_channels": 4}


def _task(train=None) -> ClassificationTask:
    return ClassificationTask(in_channels=1, num_classes=4, model_kwargs=KWARGS)


def test_without_validation_data_the_validation_loop_is_off():
    trainer = quiet_trainer(max_steps=1)
    assert trainer.limit_val_batches == 0 and trainer.num_sanity_val_steps == 0
    assert quiet_trainer(validate=True, max_steps=1).num_sanity_val_steps == 2
    assert trainer.logger is None and not trainer.checkpoint_callback


def test_step_loader_has_at_least_the_batches_of_the_steps():
    data = MovingShapes(5, frames=2, size=8)
    loader = step_loader(data, steps=7, batch_size=2)
    assert len(loader) >= 7 and next(iter(loader))["frames"].shape[0] == 2


def test_fit_trains_for_the_budget_and_returns_the_task_in_eval_mode():
    task = fit(_task(), step_loader(MovingShapes(8, frames=2, size=8), 3, 4), max_steps=3)
    assert task.global_step == 3 and not task.training


def test_fit_predict_pools_each_parts_test_predictions_in_order_and_repeats():
    samples = [MovingShapes(12, frames=2, size=8)[i] for i in range(12)]
    parts = [(samples[:8], samples[8:10]), (samples[4:], samples[:3])]
    first = fit_predict(_task, parts, batch_size=4, seed=1, max_steps=2)
    again = fit_predict(_task, parts, batch_size=4, seed=1, max_steps=2)
    assert first.shape == (5, 4)
    torch.testing.assert_close(first.sum(1), torch.ones(5))  # class probabilities
    torch.testing.assert_close(first, again, rtol=0, atol=0)
