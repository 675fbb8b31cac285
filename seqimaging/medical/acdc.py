"""ACDC: the Automated Cardiac Diagnosis Challenge (MICCAI 2017), 5 diagnostic groups."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from seqimaging.errors import DataError, DatasetNotFoundError
from seqimaging.medical.base import CineDataset, CineRecord, parse_number
from seqimaging.medical.sampling import CineSampling
from seqimaging.medical.volumes import PhaseMasks, read_labels


class ACDC(CineDataset):
    """The ACDC cines with their diagnosis as ``label``.

    Layout: ``root/<split>/patientNNN/patientNNN_4d.nii.gz`` and ``Info.cfg`` (lines such
    as ``ED: 1``, ``ES: 12``, ``Group: DCM``, ``Height: 184.0``, ``NbFrame: 30``,
    ``Weight: 95.0``). ED and ES there are 1-based (they match the ``frameMM`` file
    numbers) and become 0-based ``meta["ed"]``/``meta["es"]``; ``meta`` keeps
    ``height_cm``, ``weight_kg`` and ``nb_frames``. Each patient is its own group.

    Args:
        root: the folder holding ``training/`` and ``testing/`` (ACDC's ``database``).
        split: an official split, ``"training"`` (patients 001–100) or ``"testing"``
            (101–150).
        sampling: how a cine becomes a sample (:class:`CineSampling`).
        transform: a function applied to each sample (e.g.
            :class:`~seqimaging.medical.CineAugmentation`).

    Raises:
        DatasetNotFoundError: no ``root/<split>`` folder, or no patient folders in it.
        DataError: a missing cine or Info.cfg, a missing or unknown Info.cfg key, an
            unknown group, or ED/ES outside ``1..NbFrame``.

    Example:
        >>> data = ACDC("ACDC/database", "training", CineSampling(slices=3, frames=16))
        >>> data.class_names[data[0]["label"]], data[0]["frames"].shape
        ('DCM', torch.Size([16, 3, 64, 64]))
    """

    class_names = ("NOR", "MINF", "DCM", "HCM", "RV")
    info_keys: ClassVar[dict[str, type]] = {
        "ED": int,
        "ES": int,
        "Group": str,
        "Height": float,
        "NbFrame": int,
        "Weight": float,
    }
    cine_pattern = "{patient}_4d.nii.gz"
    mask_pattern = "{patient}_frame{frame:02d}_gt.nii.gz"  # frames 1-based, as in Info.cfg
    mask_labels = ("background", "RV", "MYO", "LV")  # the structure of each mask label

    def __init__(
        self,
        root: str | Path,
        split: Literal["training", "testing"] = "training",
        sampling: CineSampling | None = None,
        *,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        if split not in ("training", "testing"):
            raise DataError(f"split must be 'training' or 'testing', got {split!r}")
        folder = Path(root) / split
        patients = sorted(p for p in folder.glob("patient[0-9][0-9][0-9]") if p.is_dir())
        if not patients:
            raise DatasetNotFoundError(
                f"{folder}: no patientNNN folders; download ACDC from "
                f"https://humanheart-project.creatis.insa-lyon.fr/database/ and pass the folder "
                f"that holds training/ and testing/ as root"
            )
        super().__init__([self._record(p) for p in patients], sampling, transform=transform)

    @classmethod
    def masks(cls, record: CineRecord) -> PhaseMasks | None:
        """The ground-truth masks ``patientNNN_frameMM_gt.nii.gz`` at ED and ES, relabelled
        from ACDC's (1 RV, 2 MYO, 3 LV) to :data:`~seqimaging.medical.volumes.LABELS`,
        axes ``(z, y, x)``; ``None`` where they are missing (the testing split of some
        releases).

        Raises:
            DataError: masks that are not 3-D, unknown label values, or ED and ES masks of
                different voxel sizes.
        """
        paths = [
            record.path.with_name(cls.mask_pattern.format(patient=record.id, frame=phase + 1))
            for phase in (record.ed, record.es)
        ]
        if not all(path.is_file() for path in paths):
            return None
        (ed, spacing), (es, es_spacing) = (read_labels(p, cls.mask_labels) for p in paths)
        if not np.allclose(spacing, es_spacing):
            raise DataError(
                f"{paths[1]}: voxel size (z, y, x) {es_spacing} mm; expected that of the ED "
                f"mask {paths[0].name}, {spacing} mm"
            )
        return PhaseMasks(ed, es, spacing, record.id)

    def _record(self, folder: Path) -> CineRecord:
        path = folder / self.cine_pattern.format(patient=folder.name)
        if not path.is_file():
            raise DataError(f"{path}: no such file; expected the patient's 4D cine")
        info = self.read_info(folder / "Info.cfg")
        for key in ("ED", "ES"):
            if not 1 <= info[key] <= info["NbFrame"]:
                raise DataError(
                    f"{folder / 'Info.cfg'}: {key} is {info[key]}; expected 1..NbFrame "
                    f"({info['NbFrame']}), 1-based"
                )
        return CineRecord(
            id=folder.name,
            path=path,
            label=self.class_index(info["Group"], "Group", folder.name, folder / "Info.cfg"),
            ed=info["ED"] - 1,
            es=info["ES"] - 1,
            n_frames=info["NbFrame"],
            info={
                "height_cm": info["Height"],
                "weight_kg": info["Weight"],
                "nb_frames": info["NbFrame"],
            },
        )

    @classmethod
    def read_info(cls, path: Path) -> dict:
        """The ``Key: value`` lines of an ``Info.cfg``, typed as :attr:`info_keys` says.

        The keys and values are ASCII; bytes that are not UTF-8 (a Latin-1 byte) are read
        as U+FFFD, so they fail where they stand in a key or value.

        Raises:
            DataError: no such file, a line without ``:``, a missing, repeated or unknown
                key, or a value of the wrong type, not finite, or not UTF-8 text.
        """
        if not path.is_file():
            raise DataError(f"{path}: no such file; expected the patient's Info.cfg")
        info: dict = {}
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, colon, value = line.partition(":")
            key = key.strip()
            if not colon or key not in cls.info_keys or key in info:
                problem = "no ':'" if not colon else f"key {key!r} is unknown or repeated"
                raise DataError(
                    f"{path}: line {number} {line!r}: {problem}; expected 'Key: value' lines "
                    f"with the keys {sorted(cls.info_keys)} once each"
                )
            info[key] = cls._value(value.strip(), key, path)
        missing = sorted(cls.info_keys.keys() - info.keys())
        if missing:
            raise DataError(f"{path}: no {missing}; expected the keys {sorted(cls.info_keys)}")
        return info

    @classmethod
    def _value(cls, text: str, key: str, path: Path) -> Any:
        """The value ``text`` of ``key`` typed as :attr:`info_keys` says."""
        if "\ufffd" in text:
            raise DataError(
                f"{path}: {key} is {text!r}, with bytes that are not UTF-8 (Latin-1?); "
                f"expected an ASCII value"
            )
        kind = cls.info_keys[key]
        return text if kind is str else parse_number(text, key, path, kind)
