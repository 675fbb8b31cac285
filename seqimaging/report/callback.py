"""A Lightning callback that writes ``report.md`` with figures after ``trainer.test``."""

from pathlib import Path

import numpy as np
from lightning.pytorch import Callback, LightningModule, Trainer

from seqimaging.report.document import Report
from seqimaging.report.logs import epoch_metrics
from seqimaging.report.plots import confusion_matrix_figure, curves_figure


class TestReport(Callback):
    """After testing, write ``report.md`` and ``metrics.json`` to the run's folder.

    The report holds the test metrics; the confusion matrix when the task computed one;
    the skill over persistence against lead time for forecasts; and the loss curves when
    a CSVLogger wrote ``metrics.csv`` in the same folder. The ``seqimaging`` CLI adds it;
    in a script pass ``Trainer(callbacks=[TestReport()])``.
    """

    def __init__(self, output_dir: str | Path | None = None) -> None:
        self.output_dir = output_dir

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        folder = Path(self.output_dir or trainer.log_dir or trainer.default_root_dir)
        values = getattr(pl_module, "last_metrics", {})
        report = Report(folder, f"Test report: {type(pl_module).__name__}")
        scalars = {k: float(v) for k, v in trainer.callback_metrics.items() if v.dim() == 0}
        report.table([{"metric": k, "value": v} for k, v in sorted(scalars.items())], digits=4)
        for name, value in values.items():
            if name.endswith("confusion_matrix"):
                names = pl_module.hparams.get("class_names") or [str(i) for i in range(len(value))]
                report.figure(
                    confusion_matrix_figure(value.numpy(), names),
                    "confusion_matrix.png",
                    "Confusion matrix (rows: true class)",
                )
            elif name.endswith("skill") and value.dim() == 1:
                leads = np.arange(1, len(value) + 1)
                report.figure(
                    curves_figure(
                        {"model": (leads, value.numpy())},
                        xlabel="lead time",
                        ylabel="skill over persistence",
                    ),
                    "skill_by_lead.png",
                    "Skill over persistence against lead time",
                )
        log = folder / "metrics.csv"
        if log.is_file():
            table = epoch_metrics(log)
            curves = {
                c: (table[c].dropna().index.to_numpy(), table[c].dropna().to_numpy())
                for c in ("train/loss_epoch", "val/loss")
                if c in table
            }
            if curves:
                report.figure(
                    curves_figure(curves, xlabel="epoch", ylabel="loss"),
                    "training_curves.png",
                    "Loss per epoch",
                )
        report.write(metrics={"test": scalars})
