"""The plain-text lists the action datasets ship (one entry per line, fields split by
spaces), and the base of the datasets whose official splits they are."""

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Literal

from seqimaging.errors import DataError, DatasetNotFoundError
from seqimaging.video.base import VideoDataset, VideoRecord

SPLITS, FOLDS = (1, 2, 3), ("train", "test")
"""The official splits and folds of UCF101 and HMDB51."""


class OfficialSplit(VideoDataset, ABC):
    """The clips of one fold of an official split, read from the lists in ``root/lists``.

    A subclass names the folder (``lists``), says where to get the dataset
    (``download``) and reads the lists into records (:meth:`read`, which also sets
    ``class_names``).

    Raises:
        DataError: a split or fold that is not official.
        DatasetNotFoundError: no list folder under ``root``.
    """

    lists: str
    download: str

    def __init__(
        self,
        root: str | Path,
        split: Literal[1, 2, 3] = 1,
        fold: Literal["train", "test"] = "train",
        **kwargs,
    ) -> None:
        root = Path(root)
        if split not in SPLITS or fold not in FOLDS:
            raise DataError(
                f"{self.lists}: the splits are {SPLITS} and folds {FOLDS}; got {split}, {fold}"
            )
        lists = root / self.lists
        if not lists.is_dir():
            raise DatasetNotFoundError(
                f"{lists} does not exist; {self.download} and unpack it into {root}"
            )
        super().__init__(self.read(root, lists, split, fold), **kwargs)

    @abstractmethod
    def read(self, root: Path, lists: Path, split: int, fold: str) -> list[VideoRecord]:
        """The records of ``fold`` of ``split``; sets ``class_names``."""


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
