"""Writing files so that nothing is ever half-written: temporary name, then rename.

Every file the toolkit writes — checkpoints, predictions, JSON records — goes through
:func:`atomic_write`: the data are written beside the target under a temporary name of
this process, flushed and fsynced, and renamed over the target in one step, so a run
killed at any moment, or a full disk, leaves the previous file as it was. Folders (zarr
stores, generated data sets) are written aside whole and moved into place by
:func:`atomic_folder` and :func:`cached_folder`: a reader never sees a half-made folder.
"""

import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from seqimaging.errors import SeqImagingError


def first_free(folder: Path, stem: str, suffix: str) -> Path:
    """``<stem><suffix>`` in ``folder``, else ``<stem>-2<suffix>``, ``<stem>-3<suffix>``…:
    the first that does not exist, for records that are never overwritten."""
    for n in itertools.count(1):
        path = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if not path.exists():
            return path
    raise AssertionError("unreachable")


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path``.

    The file gets the permissions ``open`` would give it (``0o666`` less the umask), is
    flushed and fsynced before the rename, and the folder after it. If the block raises
    (a full disk, a kill signal), the temporary file is removed and ``path`` is untouched.

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
        os.fchmod(descriptor, 0o666 & ~_umask())
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
def _scratch(path: Path) -> Iterator[Path]:
    """A fresh folder beside ``path``, removed afterwards with whatever is left in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _made(new: Path, target: Path) -> Path:
    if not new.exists():
        raise SeqImagingError(f"nothing was written for {target}; expected a folder there")
    return new


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A path beside ``path`` to write a folder (or file) into; on success it takes the
    place of ``path``, on failure it is removed and ``path`` is untouched.

    An existing folder at ``path`` is first renamed aside, then removed once the new one
    is in place, so ``path`` is at every moment the old folder or the new one.
    """
    path = Path(path)
    with _scratch(path) as scratch:
        new = scratch / path.name
        yield new
        _made(new, path)
        if path.is_dir():
            path.rename(scratch / "previous")
        new.replace(path)
    _fsync_folder(path.parent)


def cached_folder(folder: str | Path, make: Callable[[Path], Any]) -> Path:
    """``folder``, made once by ``make(path)`` if missing, written aside and moved into
    place whole.

    For generated data (phantoms, synthetic series) that later runs reuse: a run stopped
    while making it leaves no half-made folder, and of two processes making it at once
    the first to finish wins; the other uses its folder.
    """
    folder = Path(folder)
    if folder.is_dir():
        return folder
    with _scratch(folder) as scratch:
        make(scratch / folder.name)
        new = _made(scratch / folder.name, folder)
        try:
            new.rename(folder)
        except OSError:  # made meanwhile by another process: keep theirs
            if not folder.is_dir():
                raise
    _fsync_folder(folder.parent)
    return folder
