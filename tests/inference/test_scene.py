"""Whole-scene forecasts: blocks stitched without seams, any scheduler, any size."""

import numpy as np
import pytest
import torch
import xarray as xr

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo import ValueScale
from seqimaging.inference.scene import Tiling, dask_scheduler, forecast_scene, future_times
from seqimaging.models import Persistence
from seqimaging.models.tiling import tiled_forecast

pytest.importorskip("monai")
da = pytest.importorskip("dask.array")


class Pointwise(torch.nn.Module):
    """A forecaster that sees each pixel alone: the same wherever the window lies."""

    def forward(self, frames, mask=None, horizon=2):
        last, first = frames[:, -1], frames[:, 0]
        return torch.stack([last + k * (last - first) for k in range(1, horizon + 1)], dim=1)


class PlusTenth(torch.nn.Module):
    """The last frame plus 0.1, in the model's units."""

    def forward(self, frames, mask=None, horizon=2):
        return (frames[:, -1:] + 0.1).expand(-1, horizon, -1, -1, -1)


def scene(frames=4, bands=2, height=70, width=53, step="10min", seed=0):
    rng = np.random.default_rng(seed)
    values = rng.random((frames, bands, height, width), dtype=np.float32)
    values[:, :, :6, :9] = np.nan  # outside coverage
    times = np.datetime64("2024-05-01T12:00") + np.arange(frames) * np.timedelta64(10, "m")
    cube = xr.DataArray(
        da.from_array(values, chunks=(1, bands, 32, 32)),
        dims=("time", "band", "y", "x"),
        coords={
            "time": times,
            "band": [f"b{i}" for i in range(bands)],
            "y": 1000.0 - np.arange(height),
            "x": np.arange(width) + 0.5,
        },
        attrs={"crs": "EPSG:3067", "transform": [1.0, 0.0, 0.0, 0.0, -1.0, 1000.5]},
    )
    return cube, values


def test_blocks_of_a_pointwise_model_equal_the_model_on_the_whole_grid():
    cube, values = scene()
    forecast = forecast_scene(
        Pointwise(), cube, context=3, horizon=2, tiling=Tiling(patch=16, block=20)
    )
    assert forecast.chunks[2][0] == 32 and forecast.shape == (2, 2, 70, 53)
    with dask_scheduler("sync"):
        got = forecast.values
    last, first = values[-1], values[-3]
    expected = np.stack([last + k * (last - first) for k in (1, 2)])
    valid = np.isfinite(expected)
    np.testing.assert_allclose(got[valid], expected[valid], rtol=1e-5, atol=1e-5)
    assert np.isnan(got[:, :, :6, :9]).all()


def test_a_block_as_large_as_the_scene_is_tiled_forecast_itself():
    cube, values = scene(bands=1, height=40, width=36)
    torch.manual_seed(0)
    from seqimaging.models import build_model

    model = build_model("convlstm_forecaster", in_channels=1, horizon=2, hidden_channels=4, width=4)
    got = forecast_scene(model, cube, context=4, horizon=2, tiling=Tiling(16, block=64)).values
    frames = torch.from_numpy(values)
    mask = frames.isfinite().all(dim=1, keepdim=True)
    expected = tiled_forecast(model, torch.where(mask, frames, 0.0), mask, 16, horizon=2)[0]
    expected = expected.masked_fill(~mask[-1], float("nan")).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_persistence_forecast_keeps_times_grid_and_attrs():
    cube, values = scene()
    forecast = forecast_scene(Persistence(), cube, context=2, horizon=3, tiling=Tiling(16))
    assert list(forecast.time.values) == list(
        cube.time.values[-1] + np.arange(1, 4) * np.timedelta64(10, "m")
    )
    assert forecast.attrs["crs"] == "EPSG:3067"
    assert forecast.attrs["reference_time"] == "2024-05-01T12:30:00"
    np.testing.assert_array_equal(forecast.x, cube.x)
    got = forecast.values
    np.testing.assert_allclose(got[2], values[-1], rtol=1e-5, atol=1e-5, equal_nan=True)


def test_the_forecast_comes_back_in_the_cube_units():
    cube, values = scene()
    scale = ValueScale("min_max", low=-1.0, high=3.0)
    got = forecast_scene(PlusTenth(), cube, context=2, horizon=2, tiling=Tiling(16), scale=scale)
    np.testing.assert_allclose(got.values[1], values[-1] + 0.4, rtol=1e-5, equal_nan=True)
    unscaled = forecast_scene(PlusTenth(), cube, context=2, horizon=2, tiling=Tiling(16))
    np.testing.assert_allclose(unscaled.values[1], values[-1] + 0.1, rtol=1e-5, equal_nan=True)
    with pytest.raises(SeqImagingError, match="expected a ValueScale"):
        forecast_scene(PlusTenth(), cube, context=2, horizon=2, tiling=Tiling(16), scale="dbr")
    three = ValueScale("min_max", low=(0, 0, 0), high=(1, 1, 1))
    with pytest.raises(DataError, match="has 2 bands; its min_max scale has 3"):
        forecast_scene(PlusTenth(), cube, context=2, horizon=2, tiling=Tiling(16), scale=three)


def test_local_cluster_gives_the_single_process_forecast():
    distributed = pytest.importorskip("distributed")
    cube, _ = scene(bands=1, height=48, width=40)
    torch.manual_seed(1)
    from seqimaging.models import build_model

    model = build_model("convlstm_forecaster", in_channels=1, horizon=2, hidden_channels=4, width=4)
    tiling = Tiling(16, block=16)
    with dask_scheduler("sync"):
        alone = forecast_scene(model, cube, context=3, horizon=2, tiling=tiling).values
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        dask_scheduler(cluster.scheduler_address),
    ):
        shared = forecast_scene(model, cube, context=3, horizon=2, tiling=tiling).values
    np.testing.assert_array_equal(shared, alone)


def test_uneven_context_and_bad_settings_are_refused():
    times = np.datetime64("2024-01-01") + np.array([0, 1, 3]) * np.timedelta64(1, "h")
    with pytest.raises(DataError, match="not evenly spaced"):
        future_times(times, 2, "radar.zarr")
    cube, _ = scene()
    with pytest.raises(SeqImagingError, match="horizon=0"):
        forecast_scene(Persistence(), cube, context=2, horizon=0, tiling=Tiling(16))
    with pytest.raises(SeqImagingError, match="context=9"):
        forecast_scene(Persistence(), cube, context=9, horizon=1, tiling=Tiling(16))
    with pytest.raises(SeqImagingError, match="overlap"):
        Tiling(16, overlap=1.0)
    with pytest.raises(SeqImagingError, match="tcp://"), dask_scheduler("cluster-7"):
        pass
