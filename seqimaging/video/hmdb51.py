"""HMDB51 (Kuehne et al., ICCV 2011): 6 766 clips of 51 actions from films and the web.

Layout (as distributed, each class's ``.rar`` unpacked into its folder)::

    root/<class>/<clip>.avi
    root/testTrainMulti_7030_splits/<class>_test_split<N>.txt   "<clip>.avi 1|2|0"

In a split file 1 marks a training clip, 2 a test clip and 0 a clip the split does not use.
A clip's name is ``<source video>_<class>_<tags>_<n>``; the source video is its group,
so a validation split cut from the training clips keeps clips of one film together.

Example:
    >>> test = HMDB51("hmdb51", split=1, fold="test")  # doctest: +SKIP
"""

from pathlib import Path

from seqimaging.errors import DataError
from seqimaging.video.base import VideoRecord
from seqimaging.video.lists import OfficialSplit, list_lines

MARKS = {"train": "1", "test": "2"}
"""The mark of each fold in the split files (0: unused)."""


class HMDB51(OfficialSplit):
    """The clips of one fold of an official HMDB51 split.

    Args:
        root: the folder of the class folders and ``testTrainMulti_7030_splits/``.
        split: 1, 2 or 3.
        fold: ``"train"`` (marked 1) or ``"test"`` (marked 2).
        **kwargs: as :class:`~seqimaging.video.VideoDataset`.

    Raises:
        DatasetNotFoundError: no split folder under ``root``.
        DataError: a split file names a clip that is not in its class folder, or marks one
            with anything but 0, 1 or 2.
    """

    lists = "testTrainMulti_7030_splits"
    download = (
        "download HMDB51 (https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-"
        "database/: hmdb51_org.rar and test_train_splits.rar)"
    )

    def read(self, root: Path, lists: Path, split: int, fold: str) -> list[VideoRecord]:
        suffix = f"_test_split{split}.txt"
        files = sorted(lists.glob(f"*{suffix}"))
        if not files:
            raise DataError(f"{lists}: no <class>{suffix} files; expected HMDB51's split files")
        self.class_names = tuple(f.name.removesuffix(suffix) for f in files)
        return [
            record
            for label, listing in enumerate(files)
            for record in self._records(listing, label, root, MARKS[fold])
        ]

    def _records(self, listing: Path, label: int, root: Path, mark: str) -> list[VideoRecord]:
        name = self.class_names[label]
        records = []
        for fields in list_lines(listing):
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise DataError(
                    f"{listing}: line {' '.join(fields)!r}; expected '<clip>.avi 0|1|2'"
                )
            if fields[1] != mark:
                continue
            path = root / name / fields[0]
            if not path.is_file():
                raise DataError(f"{listing}: names {fields[0]}, which is not at {path}")
            stem = Path(fields[0]).stem
            group = stem.split(f"_{name}_")[0] if f"_{name}_" in stem else stem
            records.append(VideoRecord(stem, path, label, group))
        return records
