"""A run killed with SIGKILL resumes with ``--ckpt_path last`` and ends bit for bit where an
uninterrupted run with the same seed ends (CPU)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from seqimaging.tasks.checkpoints import load_checkpoint

CONFIG = Path(__file__).parents[1] / "examples" / "configs" / "forecast.yaml"
SMALL = [
    "--trainer.max_epochs=3",
    "--trainer.enable_progress_bar=false",
    "--data.init_args.dataset.init_args.num_samples=192",
    "--data.init_args.dataset.init_args.size=16",
]


def _command(*extra: str) -> list[str]:
    script = "from seqimaging.cli import main; main()"
    return [sys.executable, "-c", script, "fit", "--config", str(CONFIG), *SMALL, *extra]


def _environment() -> dict[str, str]:
    return os.environ | {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def _final(cwd: Path) -> tuple[dict, pd.DataFrame]:
    (checkpoint,) = cwd.glob("runs/*/checkpoints/last.ckpt")
    (metrics,) = cwd.glob("runs/*/metrics.csv")
    return load_checkpoint(checkpoint), pd.read_csv(metrics)


@pytest.mark.parametrize(
    "checkpoints",
    [[], ["--checkpoint.every_n_train_steps=3"]],
    ids=["at-epoch-ends", "every-3-steps"],
)
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, checkpoints):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir(), killed.mkdir()
    options = [*checkpoints, "--trainer.log_every_n_steps=1"]
    subprocess.run(
        _command(*options),
        cwd=whole,
        env=_environment(),
        check=True,
        capture_output=True,
        timeout=300,
    )

    process = subprocess.Popen(
        _command(*options),
        cwd=killed,
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not list(killed.glob("runs/*/checkpoints/last.ckpt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.05)  # a few steps on: on an idle machine 0.3 s could reach the last epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    (checkpoint,) = killed.glob("runs/*/checkpoints/last.ckpt")
    stopped_at = load_checkpoint(checkpoint)["epoch"]
    assert stopped_at < 2, "the run finished before it was killed; nothing was resumed"

    subprocess.run(
        _command(*options, "--ckpt_path", "last"),
        cwd=killed,
        env=_environment(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert len(list(killed.glob("runs/*"))) == 1  # resumed in the same run folder
    expected, expected_metrics = _final(whole)
    resumed, resumed_metrics = _final(killed)
    assert resumed["epoch"] == expected["epoch"] == 2
    for name, value in expected["state_dict"].items():
        assert torch.equal(resumed["state_dict"][name], value), name
    epochs_logged = set(resumed_metrics.dropna(subset=["val/skill_mse"])["epoch"])
    assert epochs_logged == {0, 1, 2}  # the log from before the kill is kept
    final = expected_metrics.dropna(subset=["val/skill_mse"]).iloc[-1]
    again = resumed_metrics.dropna(subset=["val/skill_mse"]).iloc[-1]
    for name in ("val/skill_mse", "val/mse"):
        assert again[name] == final[name], name
    # each step logged once: what the killed attempt logged after its checkpoint is set aside
    steps = resumed_metrics.dropna(subset=["train/loss_step"]).set_index("step")["train/loss_step"]
    wanted = expected_metrics.dropna(subset=["train/loss_step"]).set_index("step")
    assert steps.index.is_unique
    assert steps.to_dict() == wanted["train/loss_step"].to_dict()


STEPPED = [
    "--checkpoint.every_n_train_steps=4",
    "--checkpoint.save_top_k=-1",
    "--checkpoint.monitor=null",
    "--checkpoint.filename={epoch}-{step}",
]


def test_resume_in_mid_epoch_equals_an_uninterrupted_run(tmp_path):
    """Checkpoints every 4 steps of 8-batch epochs: resumed from step 12 (the middle of
    epoch 1) and from step 8 (the last batch of epoch 0, before its validation), each run
    ends where the uninterrupted one does, weights and validation log."""
    whole = tmp_path / "whole"
    whole.mkdir()
    subprocess.run(
        _command(*STEPPED), cwd=whole, env=_environment(), check=True, capture_output=True
    )
    expected, expected_metrics = _final(whole)
    assert expected["global_step"] == 24
    for step in (12, 8):
        (saved,) = whole.glob(f"runs/*/checkpoints/*-step={step}.ckpt")
        resumed_folder = tmp_path / f"from-{step}"
        copy = resumed_folder / "runs" / "stopped" / "checkpoints" / "mid.ckpt"
        copy.parent.mkdir(parents=True)
        copy.write_bytes(saved.read_bytes())
        subprocess.run(
            _command(*STEPPED, "--ckpt_path", str(copy)),
            cwd=resumed_folder,
            env=_environment(),
            check=True,
            capture_output=True,
        )
        resumed, resumed_metrics = _final(resumed_folder)
        assert resumed["global_step"] == 24, step
        for name, value in expected["state_dict"].items():
            assert torch.equal(resumed["state_dict"][name], value), (step, name)
        logged = resumed_metrics.dropna(subset=["val/mse"]).set_index("epoch")["val/mse"]
        wanted = expected_metrics.dropna(subset=["val/mse"]).set_index("epoch")["val/mse"]
        assert logged.to_dict() == wanted.loc[logged.index].to_dict(), step
        assert logged.index.is_unique and logged.index.max() == 2, step
