"""The trained task of a checkpoint, for applying it to new data."""

import importlib
from pathlib import Path
from typing import Any

from seqimaging.errors import SeqImagingError
from seqimaging.tasks import SequenceTask
from seqimaging.tasks.checkpoints import LIGHTNING_KEYS, CheckpointError, load_checkpoint


def trained_task[T: SequenceTask](path: str | Path, kind: type[T]) -> tuple[T, dict[str, Any]]:
    """The task of the verified checkpoint ``path`` (:func:`load_checkpoint`), rebuilt from
    its hyperparameters with its weights, in eval mode, and the checkpoint.

    The task's class is the checkpoint's ``"task"`` entry (every
    :class:`~seqimaging.tasks.SequenceTask` writes it), else LightningCLI's
    ``_class_path``; one that is not a ``kind`` is a :class:`SeqImagingError` saying
    which task the file holds.
    """
    checkpoint = load_checkpoint(path)
    saved = dict(checkpoint.get("hyper_parameters") or {})
    class_path = checkpoint.get("task") or saved.get("_class_path")
    if not class_path:
        raise CheckpointError(
            f"{path} does not say which task it holds; expected a {kind.__name__}"
        )
    module, _, name = class_path.rpartition(".")
    try:
        task_class = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise CheckpointError(f"{path}: its task {class_path} cannot be imported") from err
    if not (isinstance(task_class, type) and issubclass(task_class, kind)):
        raise SeqImagingError(f"{path} holds a {name}; expected a {kind.__name__} checkpoint")
    task = task_class(**{k: v for k, v in saved.items() if k not in LIGHTNING_KEYS})
    try:
        task.load_state_dict(checkpoint.get("state_dict") or {})
    except RuntimeError as err:
        raise CheckpointError(
            f"{path}: its weights do not fit the model its hyperparameters describe: {err}"
        ) from err
    return task.eval(), checkpoint
