"""Kinetics-400/600/700 (Kay et al., 2017; Carreira et al., 2018, 2019): 10 s YouTube clips.

Layout (as the usual downloaders leave it)::

    root/<split>.csv                     "label,youtube_id,time_start,time_end,split"
    root/<split>/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4

Each file is the clip already cut to its 10 s (the names carry the times); a clip that
could not be downloaded is skipped with a count in ``missing`` (YouTube videos disappear;
every Kinetics copy lacks some), unless ``strict``. The YouTube id is the group.

Example:
    >>> val = Kinetics("kinetics400", "validate")  # doctest: +SKIP
    >>> len(val.missing)  # doctest: +SKIP
"""

import csv
from pathlib import Path

from seqimaging.errors import DataError, DatasetNotFoundError
from seqimaging.video.base import VideoDataset, VideoRecord

COLUMNS = ("label", "youtube_id", "time_start", "time_end")
"""The CSV columns read (``split`` and ``is_cc`` are ignored: the file is the split)."""


class Kinetics(VideoDataset):
    """The clips of one Kinetics annotation CSV that are present under ``root``.

    Args:
        root: the folder of ``<split>.csv`` and ``<split>/``.
        split: ``"train"``, ``"validate"`` or ``"test"`` (the CSV's and folder's name).
        class_names: the classes in label order; default the CSV's labels, sorted.
        strict: a listed clip that is missing is an error rather than skipped.
        **kwargs: as :class:`~seqimaging.video.VideoDataset`.

    Raises:
        DatasetNotFoundError: no ``<split>.csv`` under ``root``.
        DataError: the CSV lacks a column or has a time that is not a number; a label
            not in ``class_names``; with ``strict``, a missing clip.
    """

    pattern = "{youtube_id}_{start:06d}_{end:06d}.mp4"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        class_names: tuple[str, ...] | None = None,
        strict: bool = False,
        **kwargs,
    ) -> None:
        root = Path(root)
        table = root / f"{split}.csv"
        if not table.is_file():
            raise DatasetNotFoundError(
                f"{table} does not exist; get the annotations from "
                f"https://github.com/cvdfoundation/kinetics-dataset and the clips with its "
                f"download scripts into {root / split}"
            )
        with table.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
        lacking = [c for c in COLUMNS if rows and c not in rows[0]]
        if not rows or lacking:
            raise DataError(f"{table}: no rows, or no column {lacking}; expected {COLUMNS}")
        self.class_names = class_names or tuple(sorted({r["label"] for r in rows}))
        records, self.missing = [], []
        for line, row in enumerate(rows, start=2):
            record = self._record(row, table, line, root / split)
            (records if record.path.is_file() else self.missing).append(record)
        if strict and self.missing:
            raise DataError(
                f"{table}: {len(self.missing)} listed clips are missing, the first "
                f"{self.missing[0].path}"
            )
        super().__init__(records, **kwargs)

    def _record(self, row: dict, table: Path, line: int, folder: Path) -> VideoRecord:
        try:
            start, end = int(float(row["time_start"])), int(float(row["time_end"]))
        except ValueError as err:
            raise DataError(f"{table}, line {line}: time_start/time_end are not numbers") from err
        label = self.class_index(row["label"], table)
        name = self.pattern.format(youtube_id=row["youtube_id"], start=start, end=end)
        return VideoRecord(Path(name).stem, folder / row["label"] / name, label, row["youtube_id"])
