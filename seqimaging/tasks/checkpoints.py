"""Checkpoints that survive a hard kill, refuse pickled code, and resume bit for bit.

- :class:`SafeCheckpointIO` writes a checkpoint to a temporary file in the same folder,
  flushes and fsyncs it, then renames it over the old one: a run killed at any moment
  leaves the last complete checkpoint. It loads through :func:`load_checkpoint`:
  ``torch.load(weights_only=True)`` after checking the CRC-32 of every entry of the zip
  archive ``torch.save`` writes, then every weight finite; a refused file is a
  :class:`CheckpointError` naming it and what is wrong.
- :class:`RandomState` stores the torch, CUDA, NumPy and Python random states in each
  checkpoint and puts them back when training resumes, so that a resumed run draws the
  same random numbers (teacher forcing, augmentation, worker seeds) as one never stopped.
- :func:`find_checkpoint` reads ``--ckpt_path last`` and ``best`` as the newest run's.
"""

import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.plugins.io import TorchCheckpointIO

from seqimaging.errors import SeqImagingError
from seqimaging.files import atomic_write

LIGHTNING_KEYS = ("_class_path", "_instantiator")
"""Hyperparameter entries LightningCLI adds to a checkpoint, not settings of the task."""


class CheckpointError(SeqImagingError):
    """A checkpoint cannot be loaded safely: unreadable, truncated, or carrying code."""


def _check_archive(path: Path) -> None:
    """Every entry of a zip checkpoint matches its CRC-32 (a flipped byte does not)."""
    if not zipfile.is_zipfile(path):
        return  # not an archive: torch.load says what it is
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise CheckpointError(f"{path} is a damaged checkpoint archive: {err}") from err
    if damaged is not None:
        raise CheckpointError(
            f"{path} is damaged: the CRC-32 of its entry {damaged} does not match its "
            "bytes (the file changed after it was written); use another checkpoint"
        )


def _check_finite(path: Path, checkpoint: dict[str, Any]) -> None:
    """The model's floating-point weights are finite."""
    weights = checkpoint.get("state_dict", {}) if isinstance(checkpoint, dict) else {}
    bad = [
        name
        for name, value in weights.items()
        if torch.is_tensor(value) and value.is_floating_point() and not value.isfinite().all()
    ]
    if bad:
        raise CheckpointError(
            f"{path} holds NaN or infinite weights in {len(bad)} of {len(weights)} tensors "
            f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}); a model with them "
            "predicts nothing but NaN; use a checkpoint from before training diverged"
        )


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` of a verified file, with clear errors.

    Raises :class:`CheckpointError` when the file is missing, fails its CRC-32, holds
    objects other than tensors and plain data, is truncated, or has non-finite weights.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    _check_archive(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refused to load {path}: it holds objects other than tensors and plain data "
            f"(possibly code), which weights_only loading does not execute ({err})"
        ) from err
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(
            f"{path} ({path.stat().st_size} bytes) is not a readable checkpoint (truncated?): "
            f"{err or type(err).__name__}"
        ) from err
    _check_finite(path, checkpoint)
    return checkpoint


def _newest_last(runs: Path) -> Path:
    """The most recently written ``<runs>/<run>/checkpoints/last.ckpt``."""
    candidates = sorted(runs.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise CheckpointError(f"--ckpt_path last: no {runs}/<run>/checkpoints/last.ckpt")
    return candidates[-1]


def _newest_best(runs: Path) -> Path:
    """The best checkpoint of the newest run: the ``best_model_path`` its ``last.ckpt``
    records (ModelCheckpoint's state), else its newest ``best-*.ckpt``."""
    files = [*runs.glob("*/checkpoints/last.ckpt"), *runs.glob("*/checkpoints/best-*.ckpt")]
    newest = max(files, key=lambda p: p.stat().st_mtime_ns, default=None)
    if newest is None:
        raise CheckpointError(
            f"--ckpt_path best: no {runs}/<run>/checkpoints/best-*.ckpt or last.ckpt; fit with "
            "a monitored checkpoint first, or pass the checkpoint's path"
        )
    run = newest.parent
    if (run / "last.ckpt").is_file():
        states = load_checkpoint(run / "last.ckpt").get("callbacks") or {}
        for key, state in states.items():
            best = state.get("best_model_path") if "ModelCheckpoint" in str(key) else None
            if best and Path(best).is_file():
                return Path(best)
    found = sorted(run.glob("best-*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise CheckpointError(
            f"--ckpt_path best: the newest run {run.parent} has no best checkpoint (no "
            "best_model_path in last.ckpt, no best-*.ckpt); is checkpoint.monitor logged?"
        )
    return found[-1]


NEWEST = {"last": _newest_last, "best": _newest_best}
"""The checkpoints ``--ckpt_path`` can name by a word."""


def find_checkpoint(path: str | Path, runs: str | Path = "runs") -> Path:
    """``path``, or for ``last`` / ``best`` (:data:`NEWEST`, unless a file has that name)
    the newest run's ``last.ckpt`` / best checkpoint under the runs folder ``runs``."""
    newest = NEWEST.get(str(path))
    return Path(path) if newest is None or Path(path).is_file() else newest(Path(runs))


class SafeCheckpointIO(TorchCheckpointIO):
    """Atomic, fsynced checkpoint writes; ``weights_only=True`` loads."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        with atomic_write(path) as file:  # a full disk, a kill: the old checkpoint stays
            torch.save(checkpoint, file)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_checkpoint(path, map_location=map_location)


class RandomState(Callback):
    """Save the random states with each checkpoint; restore them when training resumes.

    They are put back at the start of training, after the loops have restored their
    progress, which is where a run that was never stopped stands when it takes up the
    next epoch.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        version, words, gauss = random.getstate()
        # the legacy global NumPy state is the one libraries (MONAI transforms) draw from
        _, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002
        state = {
            "torch": torch.get_rng_state(),
            "numpy": [torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
            "python": [version, torch.tensor(words, dtype=torch.int64), gauss],
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = state_dict

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._loaded is None:
            return
        state, self._loaded = self._loaded, None
        torch.set_rng_state(state["torch"])
        keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state(  # noqa: NPY002
            ("MT19937", keys.numpy().astype(np.uint32), position, has_gauss, cached)
        )
        version, words, gauss = state["python"]
        random.setstate((version, tuple(words.tolist()), gauss))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
