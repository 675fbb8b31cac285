"""NaN pixels: masked where the domain says so (nodata, clouds), never fed to the loss.

Medical NaN or infinite voxels are a DataError instead: see test_bad_nifti.py and the
non-finite cases of test_bad_dicom.py.
"""

import numpy as np
import pytest
import torch
import xarray as xr
from _checks import cases
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from seqimaging.geo import CubeWindows
from seqimaging.sample import collate
from seqimaging.tasks import ForecastTask

TINY = {"stride": 2, "width": 4, "hidden_channels": 4}
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
