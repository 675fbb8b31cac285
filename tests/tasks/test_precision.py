import math

import pytest
from torch.utils.data import DataLoader

from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask
from seqimaging.testing import MovingShapes

SMALL = {"stride": 2, "width": 4, "hidden_channels": 8}


@pytest.mark.parametrize(
    "task",
    [
        lambda: ClassificationTask("convlstm_classifier", num_classes=4, model_kwargs=SMALL),
        lambda: RegressionTask("cnn_lstm_regressor", model_kwargs=SMALL | {"encoder": "small"}),
        lambda: ForecastTask("convlstm_forecaster", horizon=2, model_kwargs=SMALL),
    ],
    ids=["classification", "regression", "forecast"],
)
def test_tasks_train_under_bf16_autocast(trainer, task):
    """``precision="bf16-mixed"`` (CPU autocast here, CUDA on a GPU) trains with finite loss."""
    data = DataLoader(
        MovingShapes(8, frames=3, horizon=2, size=12), batch_size=4, collate_fn=collate
    )
    fit = trainer(precision="bf16-mixed", max_epochs=2)
    module = task()
    fit.fit(module, data)
    loss = fit.callback_metrics["train/loss_epoch"].item()
    assert math.isfinite(loss) and fit.global_step == 4
