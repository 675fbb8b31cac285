import pytest
import torch
from torch.utils.data import DataLoader

from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask
from seqimaging.testing import MovingShapes

SMALL = {"stride": 2, "width": 4, "hidden_channels": 8}


@pytest.mark.parametrize(
    "make",
    [
        lambda: ClassificationTask(
            "convlstm_classifier", num_classes=4, class_weights=[1, 2, 1, 1], model_kwargs=SMALL
        ),
        lambda: RegressionTask(
            "static_regressor", target_mean=2.0, target_std=0.5, model_kwargs=SMALL
        ),
        lambda: ForecastTask("convlstm_forecaster", horizon=2, model_kwargs=SMALL),
    ],
    ids=["classification", "regression", "forecast"],
)
def test_load_from_checkpoint_rebuilds_the_same_model(trainer, tmp_path, make):
    data = DataLoader(
        MovingShapes(8, frames=3, horizon=2, size=12), batch_size=4, collate_fn=collate
    )
    task = make()
    fit = trainer()
    fit.fit(task, data)
    path = tmp_path / "task.ckpt"
    fit.save_checkpoint(path)
    restored = type(task).load_from_checkpoint(path)  # torch.load(weights_only=True) inside
    batch = next(iter(data))
    task.eval()
    with torch.no_grad():
        torch.testing.assert_close(restored.predict_step(batch, 0), task.predict_step(batch, 0))
    assert restored.hparams == task.hparams
