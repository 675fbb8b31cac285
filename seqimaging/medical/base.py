"""The small base every cine dataset shares: records in, samples out."""

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seqimaging.errors import DataError, DatasetNotFoundError, SeqImagingError
from seqimaging.medical.cube import MAX_AXIS, MAX_VOXELS
from seqimaging.medical.reader import read_cine
from seqimaging.medical.sampling import (
    CineSampling,
    cycle_positions,
    farthest_phase,
    mid_slices,
    resample_cycle,
)
from seqimaging.medical.transforms import crop_and_normalise, zoomed_size
from seqimaging.medical.volumes import PhaseMasks


@dataclass(frozen=True)
class CineRecord:
    """One patient's cine and what a dataset's index file says about it.

    Args:
        id: unique id of the cine, e.g. ``"patient001"``.
        path: the cine (anything :func:`~seqimaging.medical.read_cine` reads).
        group: the patient, for splits; defaults to ``id``.
        label: class index, or None.
        target: regression targets (e.g. LVEF %), or None.
        ed: end-diastolic phase, 0-based, or None.
        es: end-systolic phase, 0-based, or None.
        n_frames: the number of phases the index file promises (checked), or None.
        info: anything else to pass on in ``meta`` (height, weight, vendor, ...).
    """

    id: str
    path: Path
    group: str | None = None
    label: int | None = None
    target: tuple[float, ...] | None = None
    ed: int | None = None
    es: int | None = None
    n_frames: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


class CineDataset(Dataset):
    """Samples in the contract of :mod:`seqimaging.sample` from a list of cine records.

    Subclasses read their index file into :class:`CineRecord` s and set ``class_names``.
    A sample has ``frames`` float32 ``[T, C, H, W]`` (C mid-ventricular slices, or one
    slice), ``times`` float32 ``[T]`` as the fraction of the cardiac cycle (from ED when
    ``sampling.align_ed``; phases are taken to span one cycle evenly; with
    ``sampling.es_at`` systole and diastole are resampled apart), ``label`` and/or
    ``target`` where the records have them, and ``meta``: ``id``, ``group`` (the patient),
    ``path``, ``slices`` (z indices), ``spacing`` (z, y, x mm of the file),
    ``frame_interval_ms``, ``ed``/``es`` (0-based phases of the file), ``es_phase``
    (ES as a fraction of the cycle from the sample's first phase, ED when aligned; found
    in the cine with ``sampling.find_es`` where the record has no ES) and
    the record's ``info``.

    ``labels`` and ``groups`` hold one entry per sample without loading any cine, for
    :class:`~seqimaging.data.SequenceDataModule`; with ``sampling.slices=None`` the slice
    counts are read from the headers (NIfTI) once.

    Args:
        records: the cines.
        sampling: how a cine becomes a sample (:class:`CineSampling`; its defaults if None).
        transform: a function applied to each sample (:mod:`seqimaging.transforms`), e.g.
            :class:`~seqimaging.medical.CineAugmentation` for training data.
    """

    class_names: tuple[str, ...] = ()

    def __init__(
        self,
        records: Sequence[CineRecord],
        sampling: CineSampling | None = None,
        *,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ):
        self.records = list(records)
        self.sampling = sampling or CineSampling()
        self.transform = transform
        if self.sampling.slices is None:
            self._index = [
                (i, z)
                for i, record in enumerate(self.records)
                for z in range(read_cine(record.path).sizes["z"])
            ]
        else:
            self._index = [(i, None) for i in range(len(self.records))]
        chosen = [self.records[i] for i, _ in self._index]
        self.groups = [r.group or r.id for r in chosen]
        labelled = all(r.label is not None for r in chosen)
        self.labels = [r.label for r in chosen] if labelled and chosen else None

    @classmethod
    def masks(cls, record: CineRecord) -> PhaseMasks | None:
        """The record's ground-truth masks at ED and ES; ``None`` where there are none (a
        dataset with masks overrides this)."""
        return None

    @classmethod
    def ejection_fraction(cls, record: CineRecord) -> float | None:
        """LV EF in % from the masks at ED and ES (:meth:`masks`), or ``None`` without them."""
        masks = cls.masks(record)
        return None if masks is None else masks.lv_ejection_fraction()

    def class_index(self, name: str, column: str, subject: str, where: Path) -> int:
        """The index of class ``name`` in :attr:`class_names`, or a :class:`DataError`
        naming the file ``where``, the subject and the ``column`` it was read from."""
        if name not in self.class_names:
            raise DataError(
                f"{where}: {subject} has {column} {name!r}; expected one of {self.class_names}"
            )
        return self.class_names.index(name)

    def data_settings(self) -> dict[str, Any]:
        """What a model trained on this dataset expects of new cines, recorded in its
        checkpoints: the ``sampling`` (:class:`CineSampling`'s fields)."""
        return {"sampling": asdict(self.sampling)}

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i, z = self._index[index]
        record = self.records[i]
        s = self.sampling
        cube = read_cine(record.path)
        n_t, n_z = cube.sizes["time"], cube.sizes["z"]
        if z is None and n_z < s.slices:
            raise DataError(
                f"{record.path}: has {n_z} slices; expected at least {s.slices} "
                f"(CineSampling.slices), or use slices=None for one sample per slice"
            )
        slices = range(z, z + 1) if z is not None else mid_slices(n_z, s.slices)
        values = cube.isel(z=slice(slices.start, slices.stop)).values
        _check(record, values, n_t)
        ed = record.ed if record.ed is not None and s.align_ed else 0
        values = np.roll(values, -ed, axis=0)
        es = None if record.es is None else (record.es - ed) % n_t
        if es is None and s.find_es and record.ed is not None:
            es = farthest_phase(values)
        positions = np.arange(n_t, dtype=np.float64)
        if s.frames is not None:
            positions = _positions(record, n_t, s, es)
            values = resample_cycle(values, s.frames, positions)
        _check_resampled(record, values.shape, cube.attrs["spacing"][1:], s.spacing)
        frames = crop_and_normalise(
            values,
            cube.attrs["spacing"][1:],
            spacing=s.spacing,
            size=s.size,
            percentiles=s.percentiles,
        )
        meta = {
            "id": record.id if z is None else f"{record.id}_z{z:02d}",
            "group": record.group or record.id,
            "path": str(record.path),
            "slices": list(slices),
            "spacing": cube.attrs["spacing"],
            "frame_interval_ms": cube.attrs["frame_interval_ms"],
            "ed": record.ed,
            "es": record.es,
            "es_phase": None if es is None else es / n_t,
            **record.info,
        }
        sample = {
            "frames": frames,
            "times": torch.as_tensor(positions / n_t, dtype=torch.float32),
            "meta": meta,
        }
        if record.label is not None:
            sample["label"] = torch.tensor(record.label, dtype=torch.int64)
        if record.target is not None:
            sample["target"] = torch.tensor(record.target, dtype=torch.float32)
        return sample if self.transform is None else self.transform(sample)


def known_classes(
    train: Sequence[CineRecord], test: Sequence[CineRecord], class_names: Sequence[str]
) -> tuple[list[CineRecord], list[CineRecord], list[str]]:
    """The classes of the training records, in the order of ``class_names``; the records
    with labels renumbered as indices into them, and the test records of other classes
    left out (a model cannot predict a class it never saw).

    Example:
        >>> hcm = CineRecord("p1", Path("p1.nii"), label=2)
        >>> nor = CineRecord("p2", Path("p2.nii"), label=0)
        >>> train, test, classes = known_classes([hcm], [hcm, nor], ["NOR", "DCM", "HCM"])
        >>> classes, [r.label for r in train], len(test)
        (['HCM'], [0], 1)
    """
    classes = [class_names[c] for c in sorted({r.label for r in train})]
    index = {class_names.index(c): i for i, c in enumerate(classes)}
    renumbered = [replace(r, label=index[r.label]) for r in test if r.label in index]
    return [replace(r, label=index[r.label]) for r in train], renumbered, classes


def _positions(record: CineRecord, n_t: int, s: CineSampling, es: int | None) -> np.ndarray:
    """The phases of the cine (from ED) that the sample's ``s.frames`` phases resample;
    ``es`` is ES counted from ED (from the record, or found in the cine)."""
    if s.es_at is not None and (record.ed is None or es is None):
        missing, hint = ("ED", "") if record.ed is None else ("ES", ", or find_es=True")
        raise DataError(
            f"{record.path}: {record.id} has no {missing} phase; CineSampling(es_at="
            f"{s.es_at}) aligns each cycle on ED and ES and needs both{hint}"
        )
    try:
        return cycle_positions(n_t, s.frames, es, s.es_at)
    except SeqImagingError as err:
        raise DataError(f"{record.path}: {record.id}: {err}") from err


def _check(record: CineRecord, values: np.ndarray, n_t: int) -> None:
    """Raise :class:`DataError` for NaN voxels or phases that disagree with the record."""
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise DataError(
            f"{record.path}: {bad} of {values.size} voxels read are NaN or infinite; expected "
            f"finite intensities"
        )
    if record.n_frames is not None and record.n_frames != n_t:
        raise DataError(
            f"{record.path}: has {n_t} phases but its index file says {record.n_frames}; "
            f"expected them to agree"
        )
    for name, phase in [("ED", record.ed), ("ES", record.es)]:
        if phase is not None and not 0 <= phase < n_t:
            raise DataError(
                f"{record.path}: {name} phase {phase} (0-based) is outside the {n_t} phases "
                f"of the cine; expected 0 <= {name} < {n_t}"
            )


def _check_resampled(
    record: CineRecord,
    shape: tuple[int, ...],
    pixel_spacing: tuple[float, float],
    spacing: float | None,
) -> None:
    """Raise :class:`DataError` where resampling frames of ``shape`` ``[T, C, H, W]`` to
    ``spacing`` mm would make an empty image, or one beyond the limits of a cube."""
    if spacing is None:
        return
    size = zoomed_size(shape[2:], pixel_spacing, spacing)
    voxels = math.prod(shape[:2]) * math.prod(size)
    if min(size) < 1 or max(size) > MAX_AXIS or voxels > MAX_VOXELS:
        raise DataError(
            f"{record.path}: resampling its {shape[2]} x {shape[3]} pixels of "
            f"{pixel_spacing[0]:g} x {pixel_spacing[1]:g} mm to {spacing:g} mm "
            f"(CineSampling.spacing) gives {size[0]} x {size[1]} pixels; expected 1 to "
            f"{MAX_AXIS} along each side and at most {MAX_VOXELS:,} voxels in all"
        )


def read_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """The rows of CSV file ``path`` as dicts (names and values stripped of spaces).

    Bytes that are not UTF-8 (e.g. Latin-1 accents in a centre's name) become U+FFFD, so
    they fail where a value must be a number or a class name, and nowhere else.

    Raises:
        DatasetNotFoundError: no such file.
        DataError: not CSV, a column of ``required`` is missing, or there are no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file; expected the dataset's CSV table")
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.DictReader(f)
        try:
            fields = [name.strip() for name in reader.fieldnames or []]
            rows = [
                {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
                for row in reader
            ]
        except csv.Error as err:
            raise DataError(f"{path}: line {reader.line_num}: {err}; expected a CSV table") from err
    missing = [name for name in required if name not in fields]
    if missing:
        raise DataError(f"{path}: no column(s) {missing}; expected columns {list(required)}")
    if not rows:
        raise DataError(f"{path}: has no rows; expected one row per cine")
    return rows


def parse_number(text: str, what: str, where: Path, kind: type = float) -> Any:
    """``kind(text)``, or a :class:`DataError` naming ``what`` and the file ``where``
    when that fails or is not finite (``nan``, ``inf``, ``1e999``)."""
    try:
        number = kind(text)
        finite = math.isfinite(number)
    except (ValueError, OverflowError):  # not a number, or an int beyond any float
        finite = False
    if not finite:
        raise DataError(f"{where}: {what} is {text!r}; expected a finite number ({kind.__name__})")
    return number
