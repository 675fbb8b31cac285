"""One quiet Trainer for scripts, benchmarks, examples and the demo.

A fixed budget (``max_steps`` or ``max_epochs``), nothing selected during training:
no checkpoint callback, no model summary, no progress bar and no logger unless asked,
checkpoints written atomically (:class:`~seqimaging.tasks.checkpoints.SafeCheckpointIO`).
Without validation data the validation loop and its sanity check are off, and
Lightning's notices about small runs are not shown.

Example:
    >>> from seqimaging.data import SequenceDataModule
    >>> from seqimaging.tasks import ClassificationTask
    >>> from seqimaging.testing import MovingShapes
    >>> data = SequenceDataModule(MovingShapes(16, frames=3, size=8), batch_size=4)
    >>> task = fit(ClassificationTask(in_channels=1, num_classes=4), data, max_steps=2)
"""

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import Tensor
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from seqimaging.data import SequenceDataModule
from seqimaging.sample import collate
from seqimaging.tasks.base import SequenceTask
from seqimaging.tasks.checkpoints import SafeCheckpointIO


def default_device(device: str | None = None) -> str:
    """``device``, or CUDA when present, else the CPU."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


PRECISION = "SEQIMAGING_PRECISION"
"""Environment variable that sets every default precision (``32-true``, ``bf16-mixed``…)."""


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as PyTorch detects it;
    elsewhere bf16 is emulated and slower than float32."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def default_precision(device: str | None = None) -> str:
    """Lightning's ``precision`` for ``device`` (:func:`default_device`): ``$SEQIMAGING_PRECISION``
    when set, else ``"bf16-mixed"`` on a GPU or CPU that computes bf16 natively (float32
    master weights; the ConvLSTM keeps its cell state in float32), else ``"32-true"``."""
    if os.environ.get(PRECISION):
        return os.environ[PRECISION]
    if default_device(device) == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = cpu_has_bf16()
    return "bf16-mixed" if native else "32-true"


def quiet_trainer(
    *,
    device: str | None = None,
    validate: bool = False,
    logger: Any = False,
    progress: bool = False,
    **settings: Any,
) -> L.Trainer:
    """A Trainer on one device with a fixed budget; ``settings`` are further Trainer
    arguments (``max_steps``, ``max_epochs``, ``precision`` (default
    :func:`default_precision`), ``log_every_n_steps``...).

    Args:
        device: ``"cpu"`` or ``"cuda"``; default CUDA when present.
        validate: run the validation loop (and its sanity check) when ``fit`` is given
            validation data; off, there is none.
        logger: a Lightning logger, or ``False``.
        progress: show the progress bar.
    """
    if not validate:
        settings |= {"limit_val_batches": 0, "num_sanity_val_steps": 0}
    settings.setdefault("precision", default_precision(device))
    return L.Trainer(
        accelerator=default_device(device),
        devices=1,
        logger=logger,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        plugins=[SafeCheckpointIO()],
        **settings,
    )


@contextmanager
def small_run_notices_hidden() -> Iterator[None]:
    """Lightning's notices about few workers and batches, and about a missing validation
    loop, expected at the sizes of benchmarks and examples, hidden inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PossibleUserWarning)
        warnings.filterwarnings("ignore", message=".*no `val_dataloader`")
        yield


def fit(
    task: SequenceTask,
    data: Any,
    val_data: Any = None,
    *,
    device: str | None = None,
    **settings: Any,
) -> SequenceTask:
    """Train ``task`` on ``data`` (a loader or data module) with :func:`quiet_trainer`
    (``validate`` when ``val_data`` is given); return it in eval mode."""
    trainer = quiet_trainer(device=device, validate=val_data is not None, **settings)
    with small_run_notices_hidden():
        trainer.fit(task, data, val_data)
    return task.eval()


def predict(task: SequenceTask, loader: Any, *, device: str | None = None) -> Tensor:
    """``task``'s predictions on every batch of ``loader``, concatenated (on the CPU)."""
    with small_run_notices_hidden():
        return torch.cat(quiet_trainer(device=device).predict(task, loader)).cpu()


def step_loader(
    dataset: Dataset, steps: int, batch_size: int, generator: torch.Generator | None = None
) -> DataLoader:
    """Shuffled batches of ``dataset``, repeated as often as ``steps`` batches need: the
    data of a fixed number of optimiser steps (``fit(..., max_steps=steps)``)."""
    repeats = -(-steps * batch_size // len(dataset))
    return DataLoader(
        ConcatDataset([dataset] * repeats),
        batch_size=batch_size,
        shuffle=True,
        collate_fn=collate,
        generator=generator,
    )


def scores_on_test(task: SequenceTask, loader: Any, trainer: L.Trainer) -> dict[str, list]:
    """``trainer.test`` of ``task`` on ``loader``; every metric (per lead, per class...) by
    its name without the ``test/`` prefix, as a list or a number."""
    trainer.test(task, loader, verbose=False)
    return {name.removeprefix("test/"): v.tolist() for name, v in task.last_metrics.items()}


def fit_predict(
    make_task: Callable[[Sequence[dict]], SequenceTask],
    parts: Sequence[tuple[Sequence[dict], Sequence[dict]]],
    *,
    batch_size: int,
    seed: int,
    device: str | None = None,
    **settings: Any,
) -> Tensor:
    """For each ``(train, test)`` part: seed, build ``make_task(train)``, train it on
    ``train`` with :func:`fit` (``settings``: the budget), predict ``test``; return the
    predictions of all parts' test samples in order (out-of-fold predictions, for
    cross-validation)."""
    predictions = []
    for train, test in parts:
        L.seed_everything(seed, verbose=False)
        task = make_task(train)
        data = SequenceDataModule(
            train, test_dataset=test, batch_size=batch_size, val_fraction=0, seed=seed
        )
        fit(task, data, device=device, **settings)
        predictions.append(predict(task, data.test_dataloader(), device=device))
    return torch.cat(predictions)
