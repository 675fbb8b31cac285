"""`seqimaging forecast`: a trained forecaster continues a user's series, whole scene."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from lightning.pytorch import Trainer

from seqimaging.cli import main
from seqimaging.data import SequenceDataModule
from seqimaging.errors import SeqImagingError
from seqimaging.inference.forecast import forecast, forecaster_from, read_input
from seqimaging.inference.scene import Tiling, forecast_scene
from seqimaging.models.tiling import tiled_forecast
from seqimaging.tasks import ClassificationTask, ForecastTask

pytest.importorskip("monai")
pytest.importorskip("zarr")
from seqimaging.geo import CubeWindows, open_cube, read_radar, save_cube

TINY = {"hidden_channels": 4, "width": 4, "stride": 2}


def series(path, bands=1, step_minutes=10, frames=6):
    rng = np.random.default_rng(0)
    values = rng.random((frames, bands, 40, 36), dtype=np.float32)
    values[:, :, :4, :4] = np.nan
    times = np.datetime64("2024-05-01T12:00") + np.arange(frames) * np.timedelta64(
        step_minutes, "m"
    )
    cube = xr.DataArray(
        values,
        dims=("time", "band", "y", "x"),
        coords={
            "time": times,
            "band": [f"b{i}" for i in range(bands)],
            "y": 5e5 - 100 * (np.arange(40) + 0.5),
            "x": 1e5 + 100 * (np.arange(36) + 0.5),
        },
        attrs={"crs": "EPSG:3067", "transform": [100.0, 0.0, 1e5, 0.0, -100.0, 5e5]},
        name="rain",
    )
    return save_cube(cube, path)


def fit_checkpoint(tmp_path, task, windows):
    """A checkpoint of ``task`` after one step on ``windows``."""
    data = SequenceDataModule(windows, batch_size=2, val_fraction=0, test_fraction=0)
    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(task, data)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("forecaster")
    cube = series(tmp / "train.zarr")
    torch.manual_seed(0)
    task = ForecastTask("convlstm_forecaster", in_channels=1, horizon=2, model_kwargs=TINY)
    windows = CubeWindows(open_cube(cube), context=3, horizon=2, patch=16, region=16)
    return fit_checkpoint(tmp, task, windows), cube


def test_the_checkpoint_records_the_training_windows(trained):
    _, hparams, data = forecaster_from(trained[0])
    assert data == {
        "context": 3,
        "horizon": 2,
        "patch": 16,
        "time_step_s": 600.0,
        "bands": ["b0"],
        "scale": {"kind": "identity", "low": [0.0], "high": [1.0]},
    }
    assert hparams["horizon"] == 2


def test_forecast_command_writes_the_whole_scene_forecast(trained, tmp_path):
    checkpoint, cube_path = trained
    out = tmp_path / "next.zarr"
    main(
        [
            "forecast",
            "--ckpt_path",
            str(checkpoint),
            "--input",
            str(cube_path),
            "--out",
            str(out),
            "--horizon",
            "4",
            "--scheduler",
            "sync",
        ]
    )
    written = xr.open_dataset(out, engine="zarr", consolidated=False)["rain"]
    assert written.sizes == {"time": 4, "band": 1, "y": 40, "x": 36}
    expected_times = np.datetime64("2024-05-01T12:50") + np.arange(1, 5) * np.timedelta64(10, "m")
    np.testing.assert_array_equal(written.time.values, expected_times)
    model, _, _ = forecaster_from(checkpoint)
    expected = forecast_scene(
        model, open_cube(cube_path), context=3, horizon=4, tiling=Tiling(16, block=1024)
    ).values
    np.testing.assert_allclose(written.values, expected, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_a_model_trained_on_scaled_values_forecasts_in_the_input_units(tmp_path):
    raw = open_cube(series(tmp_path / "raw.zarr")) * 40.0 + 5.0
    torch.manual_seed(0)
    task = ForecastTask("convlstm_forecaster", in_channels=1, horizon=2, model_kwargs=TINY)
    windows = CubeWindows(raw, context=3, horizon=2, patch=16, region=16, scale="min_max")
    checkpoint = fit_checkpoint(tmp_path, task, windows)
    low, high = float(raw.min()), float(raw.max())
    model, _, data = forecaster_from(checkpoint)
    assert data["scale"] == {"kind": "min_max", "low": [low], "high": [high]}
    source = save_cube(raw.assign_attrs(crs="EPSG:3067"), tmp_path / "input.zarr")
    out = forecast(checkpoint, source, tmp_path / "next.zarr", scheduler="sync")
    written = xr.open_dataset(out, engine="zarr", consolidated=False)["rain"].values
    frames = torch.from_numpy((raw.values[-3:] - low) / (high - low))
    mask = frames.isfinite().all(dim=1, keepdim=True)
    with torch.no_grad():
        scaled = tiled_forecast(model, torch.where(mask, frames, 0.0), mask, 16, horizon=2)[0]
    expected = (scaled * (high - low) + low).masked_fill(~mask[-1], float("nan")).numpy()
    np.testing.assert_allclose(written, expected, rtol=1e-4, atol=1e-4, equal_nan=True)
    assert np.nanmax(written) > 5.0 + 0.5 * 40  # in the input's units, not 0 … 1


def test_last_and_best_name_the_newest_run_checkpoints(trained, tmp_path, monkeypatch):
    checkpoint, cube_path = trained
    folder = tmp_path / "runs" / "20240501_120000" / "checkpoints"
    folder.mkdir(parents=True)
    shutil.copy(checkpoint, folder / "last.ckpt")
    monkeypatch.chdir(tmp_path)
    by_word = forecast("last", cube_path, tmp_path / "last.zarr", scheduler="sync")
    by_path = forecast(checkpoint, cube_path, tmp_path / "path.zarr", scheduler="sync")
    read = [xr.open_dataset(p, engine="zarr", consolidated=False) for p in (by_word, by_path)]
    xr.testing.assert_equal(read[0]["rain"], read[1]["rain"])
    assert "checkpoint runs/20240501_120000/checkpoints/last.ckpt" in read[0].attrs["source"]
    with pytest.raises(SeqImagingError, match=r"no best_model_path in last\.ckpt, no best-"):
        forecast("best", cube_path, tmp_path / "best.zarr")


def test_an_unusable_recorded_scale_names_the_checkpoint(trained, tmp_path):
    checkpoint, cube_path = trained
    saved = torch.load(checkpoint, weights_only=True)
    saved["data"]["scale"] = {"kind": "log", "low": [0.0], "high": [1.0]}
    torch.save(saved, tmp_path / "odd.ckpt")
    with pytest.raises(SeqImagingError, match=r"odd\.ckpt: its recorded value scale .* 'log'"):
        forecast(tmp_path / "odd.ckpt", cube_path, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()


def test_a_radar_folder_is_read_as_its_last_context_frames():
    folder = Path(__file__).parents[1] / "data" / "fmi_radar"
    cube = read_input(folder, radar="fmi", last=3)
    assert cube.sizes["time"] == 3 and cube.encoding["source"] == str(folder)
    xr.testing.assert_identical(cube, read_radar(folder, "fmi").isel(time=slice(-3, None)))


def test_bad_requests_are_refused_before_anything_is_written(trained, tmp_path):
    checkpoint, cube_path = trained
    out = tmp_path / "out.zarr"
    with pytest.raises(SeqImagingError, match="horizon=0"):
        forecast(checkpoint, cube_path, out, horizon=0)
    with pytest.raises(SeqImagingError, match=r"2 bands; .*in_channels=1"):
        forecast(checkpoint, series(tmp_path / "two.zarr", bands=2), out)
    with pytest.raises(SeqImagingError, match=r"time step of 300 s; .* 600 s apart"):
        forecast(checkpoint, series(tmp_path / "fast.zarr", step_minutes=5), out)
    with pytest.raises(SeqImagingError, match="does not exist"):
        forecast(checkpoint, tmp_path / "none.zarr", out)
    assert not out.exists()
    out.mkdir()
    with pytest.raises(SeqImagingError, match="never written over"):
        forecast(checkpoint, cube_path, out)


def test_a_classifier_checkpoint_is_refused(tmp_path):
    cube = series(tmp_path / "c.zarr")
    windows = CubeWindows(open_cube(cube), context=3, patch=16, region=16, labels=lambda r, t: 0)
    task = ClassificationTask(
        "convlstm_classifier",
        in_channels=1,
        num_classes=2,
        model_kwargs={"hidden_channels": 4, "width": 4},
    )
    checkpoint = fit_checkpoint(tmp_path, task, windows)
    with pytest.raises(
        SeqImagingError, match="holds a ClassificationTask; expected a ForecastTask"
    ):
        forecast(checkpoint, cube, tmp_path / "o.zarr")
