"""The plain-text lists the action datasets ship: one entry per line, fields split by spaces."""

from pathlib import Path

from seqimaging.errors import DataError, DatasetNotFoundError

SPLITS, FOLDS = (1, 2, 3), ("train", "test")
"""The official splits and folds of UCF101 and HMDB51."""


def split_lists(root: Path, folder: str, split: int, fold: str, get: str) -> Path:
    """``root / folder``, where a dataset's split lists are, after checking ``split`` and
    ``fold``; ``get`` says where to download the dataset when the folder is missing."""
    if split not in SPLITS or fold not in FOLDS:
        raise DataError(f"{folder}: the splits are {SPLITS} and folds {FOLDS}; got {split}, {fold}")
    lists = root / folder
    if not lists.is_dir():
        raise DatasetNotFoundError(f"{lists} does not exist; {get} and unpack it into {root}")
    return lists


def list_lines(path: str | Path) -> list[list[str]]:
    """The whitespace-separated fields of each non-blank line of ``path``.

    Raises:
        DataError: the file is missing or not text.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such list file; expected the dataset's split files")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); expected a list of clips") from err
    return [line.split() for line in text.splitlines() if line.strip()]


def class_list(path: str | Path) -> tuple[str, ...]:
    """The class names of a ``classInd.txt`` (``"1 ApplyEyeMakeup"`` …), in its numbering.

    Raises:
        DataError: a line is not ``<number> <name>``, or the numbers are not 1, 2, … in order.
    """
    names = []
    for number, fields in enumerate(list_lines(path), start=1):
        if len(fields) != 2 or fields[0] != str(number):
            raise DataError(
                f"{path}: line {' '.join(fields)!r} where '{number} <class name>' was expected"
            )
        names.append(fields[1])
    if not names:
        raise DataError(f"{path}: lists no class; expected '1 <class name>' lines")
    return tuple(names)
