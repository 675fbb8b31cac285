"""Tiny end-to-end runs, one per domain: files → reader → dataset → a few training steps."""

from pathlib import Path

import lightning as L
import torch

from seqimaging.data import SequenceDataModule
from seqimaging.geo import CubeWindows, read_stack
from seqimaging.geo.synthetic import make_cloud_series
from seqimaging.medical import ACDC, CineSampling
from seqimaging.medical.phantoms import make_acdc_like
from seqimaging.tasks import ClassificationTask, ForecastTask

TINY = {"stride": 4, "width": 4, "hidden_channels": 4}


def cine_inputs(root: Path) -> Path:
    """Five ACDC-like phantom patients (one per group)."""
    return make_acdc_like(root, n_per_class=1, seed=0)


def cloud_inputs(root: Path) -> Path:
    """A synthetic cloud series of 8 frames of 32x32 px, one frame in another CRS."""
    return make_cloud_series(root, n_frames=8, seed=0, size=32)


def _fit(task: L.LightningModule, data: SequenceDataModule) -> tuple[dict, dict]:
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
    )
    trainer.fit(task, data)
    metrics = {k: v.clone() for k, v in trainer.callback_metrics.items()}
    return metrics, {k: v.clone() for k, v in task.state_dict().items()}


def cine_run(root: Path, seed: int = 0) -> tuple[dict, dict]:
    """ACDC-phantom diagnosis: final metrics and weights."""
    L.seed_everything(seed, verbose=False)
    dataset = ACDC(root, "training", CineSampling(slices=1, frames=4, size=32))
    data = SequenceDataModule(dataset, batch_size=2, val_fraction=0.2, test_fraction=0, seed=seed)
    task = ClassificationTask(
        "convlstm_classifier", in_channels=1, num_classes=5, model_kwargs=TINY, lr=1e-2
    )
    return _fit(task, data)


def cloud_run(folder: Path, seed: int = 0) -> tuple[dict, dict]:
    """Synthetic-cloud forecast of 2 frames from 3: final metrics and weights."""
    L.seed_everything(seed, verbose=False)
    cube = read_stack(folder)
    windows = CubeWindows(cube, context=3, horizon=2, patch=16, region=16, random_patches=True)
    data = SequenceDataModule(windows, batch_size=2, val_fraction=0.25, test_fraction=0, seed=seed)
    task = ForecastTask("convlstm_forecaster", in_channels=2, horizon=2, model_kwargs=TINY, lr=1e-2)
    return _fit(task, data)


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Same keys and bitwise-equal tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
