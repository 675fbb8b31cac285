"""CubeWindows from a YAML config: ``cube`` as a zarr store or a GeoTIFF folder path."""

from pathlib import Path

import pytest
import torch

from seqimaging.errors import DataError
from seqimaging.geo import CubeWindows, min_max_scaled, read_stack, save_cube
from seqimaging.geo.synthetic import make_cloud_series
from seqimaging.training_cli import run_lightning

CONFIG = Path(__file__).parents[2] / "examples" / "configs" / "satellite_forecast.yaml"
CUBE = "--data.init_args.dataset.init_args.cube"
TINY = [
    "--trainer.max_epochs=1",
    "--trainer.limit_train_batches=2",
    "--trainer.limit_val_batches=1",
    "--trainer.enable_progress_bar=false",
    "--data.init_args.dataset.init_args.context=3",
    "--data.init_args.dataset.init_args.horizon=2",
    "--model.init_args.horizon=2",
]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A 12-frame synthetic GeoTIFF series; the working folder is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    return make_cloud_series(tmp_path / "series", n_frames=12, seed=1, size=64)


def _fit(*words: str):
    cli = run_lightning(["fit", "--config", str(CONFIG), *TINY, *words])
    assert list(Path("runs").rglob("last.ckpt")), "fit saved no checkpoint"
    return cli.datamodule.dataset


def test_fit_on_a_zarr_cube_path(folder, tmp_path):
    cube = read_stack(folder).sel(band=["reflectance"])
    zarr = save_cube(cube, tmp_path / "cloud_cube.zarr")
    dataset = _fit(CUBE, str(zarr))
    assert isinstance(dataset, CubeWindows) and dataset.cube.chunks is not None  # lazy
    assert dataset.cube.sizes == cube.sizes and len(dataset.regions) == 16
    assert dataset.windows == CubeWindows(cube, 3, 2, patch=16, region=16).windows
    scaled = CubeWindows(min_max_scaled(cube), 3, 2, patch=16, region=16)
    torch.testing.assert_close(dataset[0]["frames"], scaled[0]["frames"])  # scale: min_max


def test_fit_on_a_geotiff_folder_path(folder):
    bands = "--model.init_args.in_channels=2"  # reflectance and rain
    dataset = _fit(CUBE, str(folder), bands)
    assert isinstance(dataset, CubeWindows) and list(dataset.cube.band.values) == [
        "reflectance", "rain"
    ]  # fmt: skip


def test_a_path_that_is_no_cube_is_a_clear_error(tmp_path):
    tif = tmp_path / "frame.tif"
    tif.write_bytes(b"")
    for path in (tif, tmp_path / "missing"):
        with pytest.raises(DataError, match=r"expected a \.zarr store or \.nc file") as info:
            CubeWindows(str(path), context=2)
        assert str(path) in str(info.value)
    with pytest.raises(DataError, match=r"expected a .* DataArray or the path"):
        CubeWindows(42, context=2)


def test_a_bad_path_in_the_config_stops_the_command(tmp_path, monkeypatch, capsys):
    from seqimaging.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIG), CUBE, "no/such/cube.tif"])
    assert exit_info.value.code != 0
    assert "no/such/cube.tif" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.ckpt"))
