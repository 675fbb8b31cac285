"""Train a few steps on 1 process or on 2 DDP processes (gloo): ``ddp_train.py OUT DEVICES``.

Rank 0 writes the per-step global training loss and the final weights to ``OUT``. The
global batch is 8 either way, so the two runs should follow the same trajectory.
"""

import sys
from pathlib import Path

import lightning as L
import torch

from seqimaging.data import SequenceDataModule
from seqimaging.tasks import ClassificationTask
from seqimaging.testing import MovingShapes


class RecordLoss(L.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.losses.append(trainer.callback_metrics["train/loss_step"].item())


def main(out: Path, devices: int) -> None:
    torch.set_num_threads(1)
    L.seed_everything(0)
    task = ClassificationTask(
        "convlstm_classifier",
        num_classes=4,
        lr=1e-2,
        model_kwargs={"stride": 2, "width": 4, "hidden_channels": 8},
    )
    data = SequenceDataModule(
        MovingShapes(48, frames=3, size=12, group_size=3),
        batch_size=8 // devices,
        val_fraction=0.0,
        test_fraction=0.0,
        samples_per_group=2,
    )
    record = RecordLoss()
    trainer = L.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        max_steps=6,
        use_distributed_sampler=False,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[record],
    )
    trainer.fit(task, data)
    if trainer.global_rank == 0:
        state = {k: v.detach().clone() for k, v in task.state_dict().items()}
        torch.save({"losses": record.losses, "state": state}, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
