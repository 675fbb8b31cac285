"""CineTable: your own cines, listed in a CSV."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqimaging.errors import DataError
from seqimaging.medical.base import CineDataset, CineRecord, parse_number, read_rows
from seqimaging.medical.sampling import CineSampling


class CineTable(CineDataset):
    """Cines listed in a CSV with the columns ``path`` and optionally ``label``, ``group``,
    ``ed``, ``es`` (0-based) and the target columns you name.

    ``path`` is a 4D NIfTI, a DICOM series folder or a multi-frame DICOM, relative to the
    CSV's folder or absolute. ``label`` holds class names; ``group`` the patient (default:
    the path), so that several cines of one patient stay in one split.

    Args:
        csv: the table.
        targets: columns holding regression targets, e.g. ``("lvef",)``.
        class_names: the classes in index order; default the sorted labels found.
        sampling: how a cine becomes a sample (:class:`CineSampling`).
        transform: a function applied to each sample (e.g.
            :class:`~seqimaging.medical.CineAugmentation`).

    Raises:
        DatasetNotFoundError: no such CSV.
        DataError: a missing column or cine, a label not in ``class_names``, a non-numeric
            target, ED or ES.

    Example:
        >>> data = CineTable("cines.csv", targets=("lvef",))  # doctest: +SKIP
    """

    def __init__(
        self,
        csv: str | Path,
        *,
        targets: Sequence[str] = (),
        class_names: Sequence[str] | None = None,
        sampling: CineSampling | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        csv = Path(csv)
        rows = read_rows(csv, ("path", *targets))
        labelled = "label" in rows[0]
        if labelled:
            names = sorted({row["label"] for row in rows}) if class_names is None else class_names
            self.class_names = tuple(names)
        records = []
        for number, row in enumerate(rows, start=2):
            path = csv.parent / row["path"]
            if not path.exists():
                raise DataError(f"{csv}: line {number}: {path} does not exist; expected a cine")
            phases = {
                key: parse_number(row[key], f"line {number}: {key}", csv, int)
                for key in ("ed", "es")
                if row.get(key)
            }
            records.append(
                CineRecord(
                    id=row["path"],
                    path=path,
                    group=row.get("group") or row["path"],
                    label=(
                        self.class_index(row["label"], "label", f"line {number}", csv)
                        if labelled
                        else None
                    ),
                    target=tuple(parse_number(row[t], f"line {number}: {t}", csv) for t in targets)
                    or None,
                    **phases,
                )
            )
        super().__init__(records, sampling, transform=transform)
