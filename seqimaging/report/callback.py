"""A Lightning callback that writes ``report.md`` with figures after ``trainer.test``."""

from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

from seqimaging.report.document import Report
from seqimaging.report.logs import loss_curves_figure
from seqimaging.report.plots import confusion_matrix_figure, skill_figure


class TestReport(Callback):
    """After testing, write ``report.md`` and ``metrics.json`` to the run's folder.

    The report holds the test metrics; the confusion matrix (``test/confusion_matrix``)
    when the task computed one; the skill in MSE over persistence (``test/skill_mse``)
    against lead time for forecasts; and the loss curves when a CSVLogger wrote
    ``metrics.csv`` in the same folder. The ``seqimaging`` CLI adds it; in a script pass
    ``Trainer(callbacks=[TestReport()])``.
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
        if "test/confusion_matrix" in values:
            matrix = values["test/confusion_matrix"].numpy()
            names = pl_module.hparams.get("class_names") or [str(i) for i in range(len(matrix))]
            report.figure(
                confusion_matrix_figure(matrix, names),
                "confusion_matrix.png",
                "Confusion matrix (rows: true class)",
            )
        if "test/skill_mse" in values:
            report.figure(
                skill_figure(values["test/skill_mse"].numpy()),
                "skill_by_lead.png",
                "Skill in MSE over persistence against lead time",
            )
        log = folder / "metrics.csv"
        curves = loss_curves_figure({"": log}) if log.is_file() else None
        if curves is not None:
            report.figure(curves, "training_curves.png", "Loss per epoch")
        report.write(metrics={"test": scalars})
