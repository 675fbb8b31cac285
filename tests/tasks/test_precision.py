import math

import pytest
import torch
from torch.utils.data import DataLoader

from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask, training
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


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16-mixed"), (False, "32-true")])
def test_the_default_precision_is_bf16_where_the_cpu_computes_it(monkeypatch, native, expected):
    monkeypatch.delenv(training.PRECISION, raising=False)
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: native)
    assert training.default_precision("cpu") == expected
    assert training.quiet_trainer(device="cpu", max_steps=1).precision == expected
    monkeypatch.setenv(training.PRECISION, "32-true")  # the user's choice wins
    assert training.default_precision("cpu") == "32-true"


def test_cpu_bf16_is_read_from_what_torch_detects(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not training.cpu_has_bf16()
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert training.cpu_has_bf16()


def test_metrics_are_computed_in_float32_under_bf16(trainer):
    """Persistence scores the same SSIM whatever the training precision."""
    data = DataLoader(
        MovingShapes(8, frames=3, horizon=2, size=16), batch_size=4, collate_fn=collate
    )
    scores = {}
    for precision in ("32-true", "bf16-mixed"):
        task = ForecastTask("persistence_forecaster", horizon=2)
        scores[precision] = trainer(precision=precision).test(task, data, verbose=False)[0]
    for name in ("test/ssim", "test/mse", "test/psnr"):
        assert scores["bf16-mixed"][name] == pytest.approx(scores["32-true"][name], rel=1e-6)
