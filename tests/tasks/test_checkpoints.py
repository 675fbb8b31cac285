import errno
import os
import random

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask
from seqimaging.tasks.base import NonFiniteLossError
from seqimaging.tasks.checkpoints import (
    CheckpointError,
    RandomState,
    SafeCheckpointIO,
    load_checkpoint,
)
from seqimaging.testing import MovingShapes


class RunsCode:
    """Pickles as a call to os.system: what a malicious checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_checkpoint_with_pickled_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match=r"refused to load .*evil\.ckpt"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError):
        SafeCheckpointIO().load_checkpoint(path)
    assert not marker.exists()


def test_truncated_and_missing_checkpoints_are_clear_errors(tmp_path):
    path = tmp_path / "good.ckpt"
    SafeCheckpointIO().save_checkpoint({"w": torch.arange(1000.0)}, path)
    (tmp_path / "cut.ckpt").write_bytes(path.read_bytes()[:500])
    with pytest.raises(
        CheckpointError, match=r"cut\.ckpt \(500 bytes\) is not a readable checkpoint"
    ):
        load_checkpoint(tmp_path / "cut.ckpt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.ckpt")


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path):
    io = SafeCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"w": torch.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(Exception, match="pickle"):
        io.save_checkpoint({"w": torch.zeros(3), "bad": lambda: None}, path)  # fails mid-write
    assert path.read_bytes() == before
    torch.testing.assert_close(io.load_checkpoint(path)["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_a_full_disk_during_a_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    io = SafeCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"w": torch.ones(3)}, path)
    before = path.read_bytes()

    def write_half_then_fail(obj, file):
        file.write(before[: len(before) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"w": torch.zeros(3)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_random_states_come_back_when_training_resumes(tmp_path):
    callback = RandomState()
    torch.manual_seed(1), np.random.seed(2), random.seed(3)  # noqa: NPY002
    path = tmp_path / "s.ckpt"
    SafeCheckpointIO().save_checkpoint({"random": callback.state_dict()}, path)
    expected = torch.rand(3), np.random.rand(3), random.random()  # noqa: NPY002
    torch.manual_seed(9), np.random.seed(9), random.seed(9)  # noqa: NPY002
    callback.load_state_dict(load_checkpoint(path)["random"])
    callback.on_train_start(None, None)
    again = torch.rand(3), np.random.rand(3), random.random()  # noqa: NPY002
    torch.testing.assert_close(again[0], expected[0])
    np.testing.assert_array_equal(again[1], expected[1])
    assert again[2] == expected[2]


class NaNAfter(MovingShapes):
    """MovingShapes whose sample ``bad`` holds NaN."""

    bad = 1

    def __getitem__(self, index):
        sample = super().__getitem__(index)
        if index == self.bad:
            sample["frames"][0, 0, 0, 0] = float("nan")
        return sample


def test_non_finite_loss_stops_training_naming_step_and_samples(tmp_path):
    kwargs = {"stride": 2, "width": 4, "hidden_channels": 8}
    task = ClassificationTask("convlstm_classifier", num_classes=4, model_kwargs=kwargs)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    options = {
        "accelerator": "cpu",
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "callbacks": [checkpoint],
        "plugins": [SafeCheckpointIO()],
    }
    clean = DataLoader(MovingShapes(8, frames=3, size=12), batch_size=4, collate_fn=collate)
    L.Trainer(max_epochs=1, **options).fit(task, clean)
    saved = (tmp_path / "last.ckpt").read_bytes()
    weights = {k: v.clone() for k, v in task.state_dict().items()}
    poisoned = DataLoader(NaNAfter(8, frames=3, size=12), batch_size=4, collate_fn=collate)
    with pytest.raises(
        NonFiniteLossError, match=r"at step 0 .*batch 0, samples \[.*'shapes-00001'"
    ):
        L.Trainer(max_epochs=1, **options).fit(task, poisoned)
    assert (tmp_path / "last.ckpt").read_bytes() == saved
    # the failing step changed nothing: the NaN never reached the weights
    state = task.state_dict()
    assert all(torch.equal(state[k], v) for k, v in weights.items() if "weight" in k)
