"""Writing files so that nothing is ever half-written: temporary name, fsync, rename.

Every file the toolkit writes — checkpoints, predictions, JSON records, cubes, generated
data folders — goes through :func:`atomic_write` or :func:`atomic_folder`: the data are
written beside the target under a temporary name of this process, flushed to disk, and
renamed over the target in one step. A run killed at any moment, or a full disk, leaves
the previous file as it was and no temporary file behind.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path``.

    The file is flushed and fsynced before the rename, and the folder after it. If the
    block raises (a full disk, a kill signal), the temporary file is removed and
    ``path`` is untouched.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "note.txt"
        >>> with atomic_write(target, "w") as file:
        ...     _ = file.write("complete")
        >>> target.read_text()
        'complete'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON with :func:`atomic_write`; return the path."""
    with atomic_write(path, "w") as file:
        json.dump(data, file, indent=2, default=str)
    return Path(path)


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write a folder (a zarr store, a data set) into;
    on success it replaces ``path`` (an existing folder there is removed first), on
    failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield scratch / path.name
        if path.is_dir():
            shutil.rmtree(path)
        (scratch / path.name).replace(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def cached_folder(folder: str | Path, make: Callable[[Path], Any]) -> Path:
    """``folder``, made once by ``make(path)`` through :func:`atomic_folder` if missing.

    Used for generated data (phantoms, synthetic series) that later runs reuse: a run
    stopped while making it leaves no half-made folder for the next one to trust.
    """
    folder = Path(folder)
    if not folder.is_dir():
        with atomic_folder(folder) as scratch:
            make(scratch)
    return folder
