import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from torch.utils.data import DataLoader

from seqimaging.errors import SeqImagingError
from seqimaging.sample import collate
from seqimaging.tasks import RegressionTask
from seqimaging.testing import MovingShapes


def test_metrics_agree_with_scikit_learn_in_target_units(trainer):
    data = DataLoader(MovingShapes(24, frames=3, size=12, seed=2), batch_size=8, collate_fn=collate)
    task = RegressionTask(
        "convlstm_regressor",
        model_kwargs={"stride": 4, "width": 4, "hidden_channels": 8},
        target_mean=2.0,
        target_std=0.5,
        loss="huber",
    )
    trainer().fit(task, data)
    logged = trainer().test(task, data, verbose=False)[0]
    predicted = torch.cat(trainer().predict(task, data)).numpy()[:, 0]
    speed = np.array([data.dataset[i]["target"][0].item() for i in range(24)])
    assert logged["test/mae"] == pytest.approx(skm.mean_absolute_error(speed, predicted), rel=1e-5)
    assert logged["test/rmse"] == pytest.approx(
        skm.root_mean_squared_error(speed, predicted), rel=1e-5
    )
    assert logged["test/r2"] == pytest.approx(skm.r2_score(speed, predicted), rel=1e-4, abs=1e-5)


def test_predictions_are_in_target_units():
    task = RegressionTask(
        "static_regressor",
        num_targets=2,
        model_kwargs={"stride": 1, "width": 4},
        target_mean=[50.0, -3.0],
        target_std=[10.0, 2.0],
    )
    batch = {"frames": torch.rand(3, 2, 1, 8, 8)}
    standardised = task.model(batch)
    np.testing.assert_allclose(
        task.predict_step(batch, 0).detach(),
        (standardised * torch.tensor([10.0, 2.0]) + torch.tensor([50.0, -3.0])).detach(),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_std": 0.0}, "target_std must be positive"),
        ({"num_targets": 2, "target_mean": [1.0, 2.0, 3.0]}, "target_mean has 3 values"),
    ],
)
def test_bad_standardisation_is_a_clear_error(options, message):
    with pytest.raises(SeqImagingError, match=message):
        RegressionTask("static_regressor", model_kwargs={"stride": 1, "width": 4}, **options)
