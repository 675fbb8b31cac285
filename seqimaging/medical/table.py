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
        DataError: a missing column or cine, a blank or non-UTF-8 path or label, a label
            not in ``class_names``, a target, ED or ES that is not a finite number, or a
            cine in two rows (it could have two labels, or land in two splits).

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
        _check_text(rows, ("path", "label") if labelled else ("path",), csv)
        if labelled:
            names = sorted({row["label"] for row in rows}) if class_names is None else class_names
            self.class_names = tuple(names)
        records = [
            self._record(row, f"line {number}", csv, targets, labelled)
            for number, row in enumerate(rows, start=2)
        ]
        _check_repeats(rows, csv)
        super().__init__(records, sampling, transform=transform)

    def _record(
        self, row: dict[str, str], line: str, csv: Path, targets: Sequence[str], labelled: bool
    ) -> CineRecord:
        """The record of one row (``line`` in errors)."""
        path = csv.parent / row["path"]
        if not path.exists():
            raise DataError(f"{csv}: {line}: {path} does not exist; expected a cine")
        phases = {
            key: parse_number(row[key], f"{line}: {key}", csv, int)
            for key in ("ed", "es")
            if row.get(key)
        }
        return CineRecord(
            id=row["path"],
            path=path,
            group=row.get("group") or row["path"],
            label=self.class_index(row["label"], "label", line, csv) if labelled else None,
            target=tuple(parse_number(row[t], f"{line}: {t}", csv) for t in targets) or None,
            **phases,
        )


def _check_text(rows: list[dict[str, str]], columns: Sequence[str], csv: Path) -> None:
    """Raise :class:`DataError` for the first row whose value in one of ``columns`` is
    blank or holds bytes that are not UTF-8 (read as U+FFFD)."""
    for number, row in enumerate(rows, start=2):
        for column in columns:
            value = row.get(column)
            if not value or "\ufffd" in value:
                problem = "is blank" if not value else f"{value!r} holds bytes that are not UTF-8"
                raise DataError(
                    f"{csv}: line {number}: {column} {problem}; expected a {column} in every "
                    f"row, as UTF-8 text"
                )


def _check_repeats(rows: list[dict[str, str]], csv: Path) -> None:
    """Raise :class:`DataError` naming both lines where two rows list the same cine (one
    file, however its paths are spelled; they are known to exist)."""
    first: dict[Path, tuple[int, dict[str, str]]] = {}
    for number, row in enumerate(rows, start=2):
        cine = (csv.parent / row["path"]).resolve()
        if cine in first:
            earlier, other = first[cine]
            differ = [
                f"{column} {other.get(column)!r} and {row.get(column)!r}"
                for column in ("label", "group")
                if other.get(column) != row.get(column)
            ]
            raise DataError(
                f"{csv}: lines {earlier} and {number} both list the cine {cine}"
                f"{' (' + ', '.join(differ) + ')' if differ else ''}; expected each cine in "
                f"one row, with one label and one group (else it could be in two splits)"
            )
        first[cine] = number, row
