"""Training shared by the benchmarks: a fixed budget, no validation, no logs, no checkpoints."""

import warnings

import lightning as L
import torch
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import Tensor

from seqimaging.tasks.base import SequenceTask
from seqimaging.tasks.checkpoints import SafeCheckpointIO


def bench_device(device: str | None) -> str:
    """``device``, or CUDA when present, else the CPU."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def _trainer(device: str | None, **budget) -> L.Trainer:
    """A Trainer with no validation, logs, checkpoints or progress bar."""
    return L.Trainer(
        accelerator=bench_device(device),
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        plugins=[SafeCheckpointIO()],
        **budget,
    )


def _ignore_notices() -> None:
    """Inside ``warnings.catch_warnings()``: Lightning's notices about few workers and
    batches, and about the missing validation loop, expected at these sizes."""
    warnings.simplefilter("ignore", PossibleUserWarning)
    warnings.filterwarnings("ignore", message=".*no `val_dataloader`")


def fit(
    task: SequenceTask,
    data,
    *,
    device: str | None,
    max_steps: int = -1,
    max_epochs: int | None = None,
) -> SequenceTask:
    """Train ``task`` on ``data`` (a loader or data module) for a fixed budget; return it
    in eval mode. Nothing is selected during training, so there is no validation."""
    with warnings.catch_warnings():
        _ignore_notices()
        _trainer(device, max_steps=max_steps, max_epochs=max_epochs).fit(task, data)
    return task.eval()


def predict(task: SequenceTask, loader, *, device: str | None) -> Tensor:
    """``task``'s predictions on every batch of ``loader``, concatenated (on the CPU)."""
    with warnings.catch_warnings():
        _ignore_notices()
        return torch.cat(_trainer(device).predict(task, loader)).cpu()


def random_turn(*images: Tensor) -> tuple[Tensor, ...]:
    """The same one of the 8 flips and quarter turns (drawn from torch's global generator)
    applied to the last two axes of every image."""
    k, flip = int(torch.randint(4, ())), bool(torch.randint(2, ()))
    turned = (torch.rot90(x, k, dims=(-2, -1)) for x in images)
    return tuple(x.flip(-1) if flip else x for x in turned)
