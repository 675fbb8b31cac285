"""M&Ms: the Multi-Centre, Multi-Vendor & Multi-Disease cardiac segmentation challenge."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from seqimaging.errors import DatasetNotFoundError
from seqimaging.medical.base import CineDataset, CineRecord, parse_number, read_rows
from seqimaging.medical.sampling import CineSampling
from seqimaging.medical.volumes import PhaseMasks, read_labels


class MnMs(CineDataset):
    """The M&Ms short-axis cines with their pathology as ``label``.

    The information CSV has the columns ``External code, VendorName, Vendor, Centre, ED,
    ES, Age, Pathology, Sex, Height, Weight``; ED and ES are already 0-based indices into
    ``<code>_sa.nii.gz``, found anywhere under ``root`` (``Training/Labeled``,
    ``Validation``, ``Testing`` ...). The CSV lists every subject of every split: rows
    whose cine is not under ``root`` are skipped and listed in ``missing``. ``meta`` keeps
    the vendor, centre, age, sex, height and weight.

    Args:
        root: the folder holding the cines, at any depth.
        csv: the information CSV.
        sampling: how a cine becomes a sample (:class:`CineSampling`).
        transform: a function applied to each sample (e.g.
            :class:`~seqimaging.medical.CineAugmentation`).

    Raises:
        DatasetNotFoundError: no CSV, or none of its cines under ``root``.
        DataError: a missing column, an unknown pathology, or ED/ES that are not integers.
    """

    class_names = ("NOR", "HCM", "DCM", "HHD", "ARV", "AHS", "IHD", "LVNC")
    columns = ("External code", "ED", "ES", "Pathology")
    info_columns: ClassVar[dict[str, str]] = {
        "VendorName": "vendor_name",
        "Vendor": "vendor",
        "Centre": "centre",
        "Age": "age",
        "Sex": "sex",
        "Height": "height_cm",
        "Weight": "weight_kg",
    }
    cine_pattern = "{code}_sa.nii.gz"
    mask_pattern = "{code}_sa_gt.nii.gz"
    mask_labels = ("background", "LV", "MYO", "RV")  # the structure of each mask label
    csv_column = "External code"  # the column that tells the information CSV from others

    def __init__(
        self,
        root: str | Path,
        csv: str | Path,
        sampling: CineSampling | None = None,
        *,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        root, csv = Path(root), Path(csv)
        rows = read_rows(csv, self.columns)
        found = {p.name: p for p in root.rglob(self.cine_pattern.format(code="*"))}
        records, self.missing = [], []
        for row in rows:
            code = row["External code"]
            path = found.get(self.cine_pattern.format(code=code))
            if path is None:
                self.missing.append(code)
                continue
            records.append(
                CineRecord(
                    id=code,
                    path=path,
                    label=self.class_index(row["Pathology"], "Pathology", code, csv),
                    ed=parse_number(row["ED"], f"ED of {code}", csv, int),
                    es=parse_number(row["ES"], f"ES of {code}", csv, int),
                    info={new: row.get(old) for old, new in self.info_columns.items()},
                )
            )
        if not records:
            raise DatasetNotFoundError(
                f"{root}: none of the {len(rows)} cines that {csv} lists ({self.cine_pattern}); "
                f"download M&Ms from https://www.ub.edu/mnms/ and pass the folder holding them"
            )
        super().__init__(records, sampling, transform=transform)

    @classmethod
    def information_csv(cls, root: str | Path) -> Path:
        """The CSV under ``root`` whose header has ``External code``: M&Ms's information CSV.

        Raises:
            DatasetNotFoundError: no such CSV under ``root``.
        """
        root = Path(root)
        for path in sorted(root.rglob("*.csv")):
            with open(path, encoding="utf-8-sig", errors="replace") as file:
                if cls.csv_column in file.readline():
                    return path
        raise DatasetNotFoundError(
            f"{root}: no CSV with an {cls.csv_column!r} column; expected M&Ms's information "
            "CSV (e.g. 211230_M&Ms_Dataset_information_diagnosis_opendataset.csv) under it"
        )

    @classmethod
    def masks(cls, record: CineRecord) -> PhaseMasks | None:
        """The frames ED and ES (the CSV's) of ``<code>_sa_gt.nii.gz``, in
        :data:`~seqimaging.medical.volumes.LABELS` (the same as M&Ms's: 1 LV, 2 MYO, 3 RV),
        axes ``(z, y, x)``; ``None`` where the subject has no masks.

        Raises:
            DataError: a mask that is not 4-D or unknown label values.
        """
        path = record.path.with_name(cls.mask_pattern.format(code=record.id))
        if not path.is_file():
            return None
        (ed, es), spacing = read_labels(path, cls.mask_labels, (record.ed, record.es))
        return PhaseMasks(ed, es, spacing, record.id)
