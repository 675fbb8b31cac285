"""Saving what ``trainer.predict`` returns, with the ids of the samples it belongs to."""

from pathlib import Path

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from seqimaging.files import atomic_write, first_free


class PredictionWriter(BasePredictionWriter):
    """Write ``predictions.pt`` (``predictions`` tensor, sample ``ids``) after predicting.

    The file goes to ``output_dir``, or to the trainer's log directory; under DDP each
    rank writes ``predictions_rank<r>.pt``. An existing file is never overwritten: the next
    prediction goes to ``predictions-2.pt``, ``predictions-3.pt``… The write is atomic
    (temporary file, then rename), and the file loads with ``torch.load(path, weights_only=True)``.
    """

    def __init__(self, output_dir: str | Path | None = None) -> None:
        super().__init__(write_interval="batch")
        self.output_dir = output_dir
        self._predictions: list[torch.Tensor] = []
        self._ids: list[str] = []

    def on_predict_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._predictions, self._ids = [], []

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx
    ) -> None:
        self._predictions.append(prediction.detach().cpu())
        metas = batch.get("meta") if isinstance(batch, dict) else None
        ids = [str(m.get("id", "")) for m in metas] if metas else [""] * len(prediction)
        self._ids.extend(ids)

    def on_predict_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._predictions:
            return
        directory = Path(self.output_dir or trainer.log_dir or trainer.default_root_dir)
        directory.mkdir(parents=True, exist_ok=True)
        stem = (
            "predictions" if trainer.world_size == 1 else f"predictions_rank{trainer.global_rank}"
        )
        with atomic_write(first_free(directory, stem, ".pt")) as file:
            torch.save({"predictions": torch.cat(self._predictions), "ids": self._ids}, file)
