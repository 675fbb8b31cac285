"""Sunnybrook Cardiac Data (CC0): cine with LV ejection fraction from expert contours."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqimaging.errors import DataError
from seqimaging.medical.base import CineDataset, CineRecord, parse_number, read_rows
from seqimaging.medical.sampling import CineSampling


class Sunnybrook(CineDataset):
    """Sunnybrook cines with LVEF (%) as ``target`` and the patient group as ``label``.

    Layout: ``root/labels.csv`` with one row per patient (``subject_id``, ``group``,
    ``ed_frame``, ``es_frame`` 0-based, ``lv_edv_ml``, ``lv_esv_ml``, ``lv_ef_percent``,
    ``age``, ``sex``, ...) and ``root/<subject_id>_cine.nii.gz``; ``data_cards/
    sunnybrook.md`` describes it. ``meta`` keeps age, sex, EDV and ESV.

    Args:
        root: the folder holding ``labels.csv`` and the cines.
        sampling: how a cine becomes a sample (:class:`CineSampling`).
        transform: a function applied to each sample (e.g.
            :class:`~seqimaging.medical.CineAugmentation`).

    Raises:
        DatasetNotFoundError: no ``labels.csv``.
        DataError: a missing column or cine, an unknown group, or a non-numeric value.

    Example:
        >>> data = Sunnybrook("tests/data/sunnybrook")
        >>> data[0]["target"], data.class_names[data[0]["label"]]
        (tensor([26.2000]), 'HF-I')
    """

    class_names = ("HF-I", "HF-NI", "HYP", "N")
    columns = ("subject_id", "group", "ed_frame", "es_frame", "lv_ef_percent")
    cine_pattern = "{subject}_cine.nii.gz"

    def __init__(
        self,
        root: str | Path,
        sampling: CineSampling | None = None,
        *,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        root = Path(root)
        table = root / "labels.csv"
        records = []
        for row in read_rows(table, self.columns):
            subject = row["subject_id"]
            path = root / self.cine_pattern.format(subject=subject)
            if not path.is_file():
                raise DataError(f"{path}: no such file; expected the cine {table} lists")
            records.append(
                CineRecord(
                    id=subject,
                    path=path,
                    label=self.class_index(row["group"], "group", subject, table),
                    target=(parse_number(row["lv_ef_percent"], "lv_ef_percent", table),),
                    ed=parse_number(row["ed_frame"], f"ed_frame of {subject}", table, int),
                    es=parse_number(row["es_frame"], f"es_frame of {subject}", table, int),
                    info={key: row.get(key) for key in ("age", "sex", "lv_edv_ml", "lv_esv_ml")},
                )
            )
        super().__init__(records, sampling, transform=transform)
