"""``seqimaging classify``: class probabilities of unlabelled cines from a trained checkpoint.

The input is a folder of 4-D NIfTI cines (``*.nii``/``*.nii.gz`` at any depth, such as
ACDC's ``patientNNN/patientNNN_4d.nii.gz`` or M&Ms's ``<code>_sa.nii.gz``; 3-D
``*_frameMM*`` and mask ``*_gt*`` files are skipped), or a CSV table read by
:class:`~seqimaging.medical.CineTable` (a ``label`` column, if any, is ignored). Each cine
is sampled as at training: the checkpoint's ``data`` ``sampling`` (recorded when the
task was fit on a cine dataset), else
:class:`~seqimaging.medical.CineSampling`'s defaults; ``sampling`` options override either.
"""

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.files import atomic_write
from seqimaging.inference.checkpoint import trained_task
from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask
from seqimaging.tasks.checkpoints import find_checkpoint


def cine_paths(folder: Path) -> list[Path]:
    """The 4-D NIfTI cines under ``folder``, sorted (ACDC frames and masks left out)."""
    found = sorted(p for p in folder.rglob("*.nii*") if p.name.lower().endswith((".nii", ".gz")))
    cines = [p for p in found if "_gt" not in p.name and "_frame" not in p.name]
    if not cines:
        raise DataError(f"{folder}: no *.nii or *.nii.gz cines; expected 4-D NIfTI files")
    return cines


def read_input(path: Path, sampling: Any):
    """The unlabelled cine dataset of a folder or a CSV table."""
    from seqimaging.medical import CineDataset, CineRecord, CineTable

    if path.is_dir():
        records = [CineRecord(id=_cine_id(p, path), path=p) for p in cine_paths(path)]
        return CineDataset(records, sampling)
    if path.is_file() and path.suffix.lower() == ".csv":
        data = CineTable(path, sampling=sampling)
        data.records = [replace(r, label=None) for r in data.records]
        return data
    raise DataError(f"--input {path}: expected a folder of 4-D NIfTI cines or a CSV table")


def _cine_id(path: Path, root: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return str(path.relative_to(root).parent / name)


def classify(
    ckpt_path: str | Path,
    input: str | Path,
    out: str | Path,
    *,
    batch_size: int = 8,
    device: str = "cpu",
    sampling: dict[str, Any] | None = None,
) -> Path:
    """Write ``out``: a CSV of ``id, predicted, p_<class>...`` for every cine of ``input``.

    Args:
        ckpt_path: a :class:`~seqimaging.tasks.ClassificationTask` checkpoint, or
            ``last`` / ``best``: the newest run's under ``runs/``.
        input: a folder of 4-D NIfTI cines or a CSV table (see the module).
        out: the CSV to write (atomically); an existing file is refused.
        batch_size: cines per forward pass.
        device: ``"cpu"`` or ``"cuda"``.
        sampling: :class:`~seqimaging.medical.CineSampling` options over the checkpoint's.

    Raises:
        SeqImagingError: ``out`` exists, the checkpoint is not a classifier, or a cine's
            channels differ from the model's ``in_channels`` (before anything is written).
    """
    from seqimaging.medical import CineSampling

    out = Path(out)
    if out.exists():
        raise SeqImagingError(f"--out {out} exists; classify never overwrites, pick a new name")
    if batch_size < 1:
        raise SeqImagingError(f"--batch_size must be at least 1, got {batch_size}")
    task, checkpoint = trained_task(find_checkpoint(ckpt_path), ClassificationTask)
    options = dict((checkpoint.get("data") or {}).get("sampling") or {}) | dict(sampling or {})
    if "percentiles" in options:
        options["percentiles"] = tuple(options["percentiles"])
    data = read_input(Path(input), CineSampling(**options))
    expected = task.hparams.in_channels
    first = data[0]
    if first["frames"].shape[1] != expected:
        raise SeqImagingError(
            f"{first['meta']['path']}: samples have {first['frames'].shape[1]} channels "
            f"(slices={data.sampling.slices}); the model expects in_channels={expected}"
        )
    names = list(task.hparams.class_names or range(task.hparams.num_classes))
    task.to(device)
    rows = []
    with torch.no_grad():
        for batch in DataLoader(data, batch_size=batch_size, collate_fn=collate):
            channels = batch["frames"].shape[2]
            if channels != expected:
                raise SeqImagingError(
                    f"{batch['meta'][0]['path']}: {channels} channels; the model expects "
                    f"in_channels={expected}"
                )
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            probabilities = task.predict_step(batch, 0).cpu()
            for meta, p in zip(batch["meta"], probabilities, strict=True):
                rows.append([meta["id"], names[int(p.argmax())], *(f"{v:.6f}" for v in p)])
    with atomic_write(out, "w") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "predicted", *(f"p_{name}" for name in names)])
        writer.writerows(rows)
    return out


def given_sampling(**options: int | None) -> dict[str, int]:
    """The CineSampling options given on the command line (the others from the checkpoint)."""
    return {key: value for key, value in options.items() if value is not None}
