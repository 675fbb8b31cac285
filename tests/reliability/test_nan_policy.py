"""NaN pixels: masked where the domain says so (nodata, clouds), never fed to the loss.

An unmasked NaN or inf stops every stage naming the batch and the samples that hold it:
training when the loss turns non-finite, validation, test and prediction before the
batch is used. Medical NaN or infinite voxels are a DataError when read instead: see
test_bad_nifti.py and the non-finite cases of test_bad_dicom.py.
"""

import lightning as L
import numpy as np
import pytest
import torch
import xarray as xr
from _checks import cases
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from torch import nn
from torch.utils.data import DataLoader

from seqimaging.errors import DataError
from seqimaging.geo import CubeWindows
from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask, PredictionWriter, RegressionTask
from seqimaging.tasks.base import NonFiniteInputError, NonFiniteLossError
from seqimaging.testing import MovingShapes

TINY = {"stride": 2, "width": 4, "hidden_channels": 4}
BAD = 5
"""The poisoned sample: the second of batch 1 with batches of 4."""
TIMES = np.datetime64("2024-01-01") + np.arange(6) * np.timedelta64(1, "D")


def _cube(seed: int, cloud: float, fill: float) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (6, 2, 8, 8)).astype(np.float32)
    clouds = rng.uniform(size=(6, 1, 8, 8)) < cloud
    values = np.where(clouds, np.float32(fill), values)
    return xr.DataArray(values, dims=("time", "band", "y", "x"), coords={"time": TIMES})


@cases(25)
@given(seed=st.integers(0, 2**16), cloud=st.floats(0, 0.6), bad=st.sampled_from([np.nan, np.inf]))
def test_invalid_pixels_are_zero_and_masked_in_every_window(seed, cloud, bad):
    cube = _cube(seed, cloud, bad)
    windows = CubeWindows(cube, context=3, horizon=2, min_valid=0.0)
    for index in range(len(windows)):
        sample = windows[index]
        start = windows.windows[index].start
        valid = torch.from_numpy(np.isfinite(cube.values[start : start + 5]).all(1, keepdims=True))
        frames = torch.cat([sample["frames"], sample["future"]])
        mask = torch.cat([sample["mask"], sample["future_mask"]])
        assert frames.isfinite().all() and torch.equal(mask, valid)
        assert (frames[~mask.expand_as(frames)] == 0).all()


def test_a_forecast_loss_ignores_what_lies_under_the_clouds():
    torch.manual_seed(0)
    task = ForecastTask("convlstm_forecaster", in_channels=2, horizon=2, model_kwargs=TINY)
    windows = CubeWindows(_cube(0, 0.3, np.nan), context=3, horizon=2, min_valid=0.0)
    batch = collate([windows[i] for i in range(len(windows))])
    hidden = ~batch["future_mask"].expand_as(batch["future"])
    assert hidden.any()
    losses = []
    for fill in (0.0, 1e6, -1e6):  # what a masked pixel holds must not matter
        batch["future"] = batch["future"].masked_fill(hidden, fill)
        with pytest.warns(UserWarning):  # self.log outside a Trainer
            losses.append(task.step(batch, "train"))
    assert losses[0].isfinite() and losses[0] == losses[1] == losses[2]


def test_nan_rescale_of_a_dicom_is_refused(tmp_path):
    """A NaN slope would make every voxel NaN: the reader names the tag instead."""
    from seqimaging.errors import DataError
    from seqimaging.medical.dicom import _rescale

    ds = Dataset()
    ds.RescaleSlope = "1"
    ds["RescaleSlope"]._value = "nan"
    with pytest.raises(DataError, match=r"x\.dcm: RescaleSlope is 'nan'"):
        _rescale(np.ones((2, 2), np.uint16), ds, tmp_path / "x.dcm")


class Poisoned(MovingShapes):
    """Moving shapes whose sample :data:`BAD` holds ``value`` in ``key``; with ``hidden``,
    every sample also holds NaN in ``frames`` and ``future`` under a False mask pixel."""

    def __init__(self, key=None, value=float("nan"), hidden=False):
        super().__init__(8, frames=3, horizon=2, size=8)
        self.key, self.value, self.hidden = key, value, hidden

    def __getitem__(self, index):
        sample = super().__getitem__(index)
        if self.hidden:
            for key, mask in (("frames", "mask"), ("future", "future_mask")):
                sample[mask] = torch.ones_like(sample[key][:, :1], dtype=torch.bool)
                sample[mask][-1, 0, 0, 0] = False
                sample[key][-1, :, 0, 0] = float("nan")
        if index == BAD and self.key is not None:
            sample[self.key].view(-1)[-1] = self.value
        return sample


def _loader(dataset):
    return DataLoader(dataset, batch_size=4, collate_fn=collate)


def _trainer(**options):
    quiet = {"enable_progress_bar": False, "enable_model_summary": False, "logger": False}
    return L.Trainer(accelerator="cpu", max_epochs=1, enable_checkpointing=False, **quiet | options)


TASKS = {
    "classification": lambda: ClassificationTask(num_classes=4, model_kwargs=TINY),
    "regression": lambda: RegressionTask(model_kwargs=TINY),
    "forecast": lambda: ForecastTask(horizon=2, model_kwargs=TINY),
}
STAGES = {
    "validation": lambda trainer, task, data: trainer.validate(task, data, verbose=False),
    "test": lambda trainer, task, data: trainer.test(task, data, verbose=False),
    "predict": lambda trainer, task, data: trainer.predict(task, data),
}


@pytest.mark.parametrize(
    ("stage", "task", "key", "value"),
    [
        ("validation", "classification", "frames", float("nan")),
        ("validation", "forecast", "future", float("inf")),
        ("test", "regression", "target", float("nan")),
        ("test", "forecast", "frames", float("-inf")),
        ("predict", "classification", "frames", float("nan")),
        ("predict", "forecast", "times", float("nan")),
    ],
)
def test_an_unmasked_non_finite_value_stops_evaluation_naming_the_sample(
    tmp_path, stage, task, key, value
):
    writer = PredictionWriter(tmp_path)
    run = STAGES[stage]
    with pytest.raises(NonFiniteInputError) as raised:
        run(_trainer(callbacks=[writer]), TASKS[task](), _loader(Poisoned(key, value)))
    assert isinstance(raised.value, DataError)
    assert str(raised.value).startswith(
        f"{stage} batch 1 (epoch 0): samples ['shapes-0000{BAD}'] hold NaN or inf in {key},"
    )
    assert not list(tmp_path.iterdir())  # no prediction file


def test_a_non_finite_target_of_a_predict_batch_is_not_used_and_no_error(tmp_path):
    data = _loader(Poisoned("target"))
    predictions = _trainer().predict(TASKS["regression"](), data)
    assert torch.cat(predictions).isfinite().all()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_nan_under_the_masks_is_no_error_and_the_metrics_are_finite(stage):
    task = TASKS["forecast"]()
    outputs = STAGES[stage](_trainer(), task, _loader(Poisoned(hidden=True)))
    if stage == "predict":
        assert torch.cat(outputs).isfinite().all()
    else:
        assert task.last_metrics and all(v.isfinite().all() for v in task.last_metrics.values())


def _loss_gradients_and_metrics(task, batch):
    """The test loss of ``batch``, the gradients of the weights and the test metrics."""
    task.zero_grad()
    task.test_metrics.reset()
    loss = task.step(batch, "test")
    loss.backward()
    grads = [p.grad.clone() for p in task.parameters()]
    return loss.detach(), grads, {k: v.clone() for k, v in task.test_metrics.compute().items()}


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")
@pytest.mark.parametrize("fill", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    "options", [{"loss": "mse"}, {"loss": "l1", "loss_weights": [(0.5, 2.0)]}, {"loss": "huber"}]
)
def test_nan_or_inf_under_the_future_mask_give_the_loss_gradients_and_metrics_of_zeros(
    fill, options
):
    torch.manual_seed(0)
    task = ForecastTask(horizon=2, model_kwargs=TINY, **options)
    batch = collate([Poisoned(hidden=True)[i] for i in range(4)])
    hidden = ~batch["future_mask"].expand_as(batch["future"])
    results = [
        _loss_gradients_and_metrics(
            task, dict(batch, future=batch["future"].masked_fill(hidden, v))
        )
        for v in (0.0, fill)
    ]
    (loss, grads, metrics), (other_loss, other_grads, other_metrics) = results
    assert loss.isfinite() and torch.equal(loss, other_loss)
    assert all(torch.equal(a, b) for a, b in zip(grads, other_grads, strict=True))
    assert all(v.isfinite().all() and torch.equal(v, other_metrics[k]) for k, v in metrics.items())


class NaNOutput(nn.Module):
    """A regressor whose prediction is NaN whatever the (finite) input."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))

    def forward(self, batch):
        return self.weight * torch.full((len(batch["frames"]), 1), float("nan"))


def test_a_nan_training_batch_names_only_the_sample_that_holds_it():
    with pytest.raises(NonFiniteLossError) as raised:
        _trainer().fit(TASKS["classification"](), _loader(Poisoned("frames")))
    message = str(raised.value)
    assert f"batch 1, samples ['shapes-0000{BAD}'], NaN or inf in frames)" in message
    assert "shapes-00004" not in message


def test_a_nan_loss_of_finite_inputs_names_the_whole_batch():
    with pytest.raises(NonFiniteLossError) as raised:
        _trainer().fit(RegressionTask(NaNOutput()), _loader(Poisoned()))
    ids = [f"shapes-0000{i}" for i in range(4)]
    assert f"batch 0, samples {ids}, every input finite)" in str(raised.value)
