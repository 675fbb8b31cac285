"""Run records through the command line: one folder per process, no config rewritten,
no checkpoint of another task or of damaged bytes loaded, no endless or empty training."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from seqimaging.cli import main

CONFIGS = Path(__file__).parents[2] / "examples" / "configs"
FORECAST, CLASSIFY = str(CONFIGS / "forecast.yaml"), str(CONFIGS / "classification.yaml")
TINY = [
    "--trainer.max_epochs=1",
    "--trainer.limit_train_batches=2",
    "--trainer.limit_val_batches=1",
    "--trainer.limit_test_batches=1",
    "--trainer.enable_progress_bar=false",
    "--data.init_args.dataset.init_args.num_samples=64",
]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _refused(capsys, *words: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(words))
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def _files(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def forecast_run(tmp_path, monkeypatch) -> Path:
    """A finished forecast run in ``tmp_path/runs``; the working folder is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", FORECAST, *TINY])
    (run,) = (tmp_path / "runs").iterdir()
    return run


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    script = "from seqimaging.cli import main; main()"
    command = [sys.executable, "-c", script, "fit", "--config", FORECAST, *TINY]
    environment = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=environment, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-2000:]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert {p.name for p in folder.glob("*.yaml")} == {"config.yaml", "hparams.yaml"}
        assert (folder / "metrics.csv").is_file() and (folder / "checkpoints/last.ckpt").is_file()


def test_later_commands_add_their_config_beside_the_runs(forecast_run):
    before = (forecast_run / "config.yaml").read_bytes()
    checkpoint = str(forecast_run / "checkpoints" / "last.ckpt")
    for _ in range(2):
        main(["test", "--config", FORECAST, *TINY, "--ckpt_path", checkpoint])
    assert (forecast_run / "config.yaml").read_bytes() == before
    assert (forecast_run / "config-test.yaml").is_file()
    assert (forecast_run / "config-test-2.yaml").is_file()


def test_resuming_with_other_settings_is_refused_before_anything_is_written(forecast_run, capsys):
    before = _files(forecast_run.parent)
    err = _refused(
        capsys,
        "fit",
        "--config",
        FORECAST,
        *TINY,
        "--trainer.max_epochs=2",
        "--model.init_args.lr=0.5",
        "--ckpt_path",
        "last",
    )
    assert "model.init_args.lr: 0.003 in the checkpoint, 0.5 in the config" in err
    assert _files(forecast_run.parent) == before


def test_a_checkpoint_of_another_task_is_refused(forecast_run, capsys):
    checkpoint = str(forecast_run / "checkpoints" / "last.ckpt")
    err = _refused(capsys, "test", "--config", CLASSIFY, *TINY, "--ckpt_path", checkpoint)
    assert "holds a seqimaging.tasks.ForecastTask" in err and "ClassificationTask" in err


def _flip_weight_bytes(path: Path) -> None:
    """Zero 16 bytes inside the largest stored tensor, as a failing disk would."""
    with zipfile.ZipFile(path) as archive:
        entry = max(archive.infolist(), key=lambda e: e.file_size)
    data = bytearray(path.read_bytes())
    start = entry.header_offset + 30 + len(entry.filename) + len(entry.extra) + 64
    data[start : start + 16] = bytes(b ^ 0xFF for b in data[start : start + 16])
    path.write_bytes(bytes(data))


def _nan_weights(path: Path) -> None:
    checkpoint = torch.load(path, weights_only=True)
    for value in checkpoint["state_dict"].values():
        if value.is_floating_point():
            value.fill_(float("nan"))
    torch.save(checkpoint, path)


DAMAGE = {
    "flipped bytes": (_flip_weight_bytes, "CRC-32"),
    "NaN weights": (_nan_weights, "NaN or infinite weights"),
    "empty file": (lambda path: path.write_bytes(b""), "not a readable checkpoint"),
    "truncated": (lambda path: path.write_bytes(path.read_bytes()[:5000]), "checkpoint"),
}


@pytest.mark.parametrize("command", ["test", "predict", "fit"])
@pytest.mark.parametrize("damage", DAMAGE, ids=str)
def test_a_damaged_checkpoint_is_refused_naming_it(forecast_run, capsys, damage, command):
    harm, expected = DAMAGE[damage]
    checkpoint = forecast_run / "checkpoints" / "damaged.ckpt"
    checkpoint.write_bytes((forecast_run / "checkpoints" / "last.ckpt").read_bytes())
    harm(checkpoint)
    before = _files(forecast_run.parent)
    err = _refused(capsys, command, "--config", FORECAST, *TINY, "--ckpt_path", str(checkpoint))
    assert str(checkpoint) in err and expected in err
    assert _files(forecast_run.parent) == before


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("--trainer.max_epochs=-1", "max_epochs=-1"),
        ("--trainer.max_epochs=-2", "max_epochs=-2"),
        ("--trainer.max_epochs=0", "max_epochs=0"),
        ("--data.init_args.batch_size=0", "batch_size"),
        ("--data.init_args.num_workers=-1", "num_workers"),
        ("--data.init_args.val_fraction=1.5", "val_fraction"),
    ],
)
def test_nonsense_run_settings_are_refused_before_a_run_folder_is_made(
    tmp_path, monkeypatch, capsys, setting, expected
):
    monkeypatch.chdir(tmp_path)
    err = _refused(capsys, "fit", "--config", FORECAST, *TINY, setting)
    assert expected in err
    assert not list(tmp_path.rglob("*.yaml")) and not list(tmp_path.rglob("*.ckpt"))


def test_no_epoch_limit_is_allowed_with_a_step_limit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    limits = ["--trainer.max_epochs=-1", "--trainer.max_steps=4"]
    main(["fit", "--config", FORECAST, *TINY, *limits])  # epochs of 2 steps
    (checkpoint,) = tmp_path.glob("runs/*/checkpoints/last.ckpt")
    assert torch.load(checkpoint, weights_only=True)["global_step"] == 4
