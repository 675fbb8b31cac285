"""A user's own clips, listed in a CSV: ``path,label[,group,start,end]``.

``path`` is relative to the CSV's folder (or absolute); ``label`` a class name; ``group``
what a split keeps together (a patient, an actor, a recording session; default the file);
``start`` and ``end`` seconds of a range of the file (default all of it).

Example:
    >>> clips = VideoTable("clips.csv", training=True)  # doctest: +SKIP
    >>> clips.class_names  # doctest: +SKIP
    ('fall', 'sit', 'walk')
"""

import csv
import math
from pathlib import Path

from seqimaging.errors import DataError
from seqimaging.video.base import VideoDataset, VideoRecord


def _seconds(value: str | None, table: Path, line: int, column: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise DataError(f"{table}, line {line}: {column} {value!r}; expected seconds >= 0")
    return seconds


class VideoTable(VideoDataset):
    """The clips of a CSV with columns ``path``, ``label`` and optionally ``group``,
    ``start``, ``end``.

    Args:
        table: the CSV file.
        class_names: the classes in label order; default the labels found, sorted.
        **kwargs: as :class:`~seqimaging.video.VideoDataset`.

    Raises:
        DataError: no ``path`` or ``label`` column, a blank path or label, a label not in
            ``class_names``, a time that is not seconds, an end not after its start, one
            file range listed twice, or a file that does not exist.

    A clip's id is its path as written, without the suffix (and ``@<start>`` for a range).
    """

    def __init__(
        self, table: str | Path, *, class_names: tuple[str, ...] | None = None, **kwargs
    ) -> None:
        table = Path(table)
        if not table.is_file():
            raise DataError(f"{table}: no such CSV file; expected path,label[,group,start,end]")
        with table.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
        if not rows or not {"path", "label"} <= set(rows[0]):
            raise DataError(f"{table}: no rows, or no 'path' and 'label' columns")
        for column in ("path", "label"):
            blank = [i for i, r in enumerate(rows, start=2) if not (r[column] or "").strip()]
            if blank:
                raise DataError(f"{table}, line {blank[0]}: blank {column}; expected one")
        self.class_names = class_names or tuple(sorted({r["label"].strip() for r in rows}))
        records, seen = [], {}
        for line, row in enumerate(rows, start=2):
            path = table.parent / row["path"].strip()
            start = _seconds(row.get("start"), table, line, "start")
            end = _seconds(row.get("end"), table, line, "end")
            if start is not None and end is not None and not end > start:
                raise DataError(f"{table}, line {line}: end {end:g} is not after start {start:g}")
            key = (path.resolve(), start, end)
            if key in seen:
                raise DataError(f"{table}, lines {seen[key]} and {line}: the same clip twice")
            seen[key] = line
            label = self.class_index(row["label"].strip(), table)
            name = Path(row["path"].strip()).with_suffix("").as_posix()  # unique per file
            ident = name if start is None else f"{name}@{start:g}"
            group = (row.get("group") or "").strip() or str(path)
            records.append(VideoRecord(ident, path, label, group, start, end))
        super().__init__(records, **kwargs)
