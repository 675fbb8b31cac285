"""A CSV logger that continues a run's ``metrics.csv`` instead of deleting it."""

import csv
import io
from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from seqimaging.files import atomic_write, first_free


def _csv(header: list[str], rows: list[dict[str, str]]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


class _AppendingWriter(ExperimentWriter):
    """Lightning's writer deletes an existing ``metrics.csv``; this one keeps its rows and
    header, and appends (widening the header when new metrics appear).

    With ``resumed_at`` (the global step of the checkpoint a fit resumes from), rows of
    steps from ``resumed_at`` on, logged after that checkpoint by the attempt that
    stopped, move to ``metrics-superseded.csv``: the resumed run logs those steps again,
    and ``metrics.csv`` then holds each step once.
    """

    def __init__(self, log_dir: str, resumed_at: int | None = None) -> None:
        self.resumed_at = resumed_at
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        if not self._fs.isfile(self.metrics_file_path):
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
        self.metrics_keys = list(reader.fieldnames or [])
        if self.resumed_at is not None:
            self._set_aside(rows)

    def _set_aside(self, rows: list[dict[str, str]]) -> None:
        later = [row for row in rows if float(row.get("step") or -1) >= self.resumed_at]
        if not later:
            return
        kept = [row for row in rows if float(row.get("step") or -1) < self.resumed_at]
        metrics = Path(self.metrics_file_path)
        with atomic_write(first_free(metrics.parent, "metrics-superseded", ".csv"), "w") as file:
            file.write(_csv(self.metrics_keys, later))
        with atomic_write(metrics, "w") as file:
            file.write(_csv(self.metrics_keys, kept))


class ResumableCSVLogger(CSVLogger):
    """Lightning's ``CSVLogger``, except that a run resumed, tested or validated in its own
    folder adds to the training log rather than losing it.

    Args:
        save_dir, name, version, prefix, flush_logs_every_n_steps: ``CSVLogger``'s.
        resumed_at: the global step of the checkpoint a fit resumes from (the command
            line sets it); see :class:`_AppendingWriter`.
    """

    def __init__(
        self,
        save_dir: str | Path,
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        prefix: str = "",
        flush_logs_every_n_steps: int = 100,
        resumed_at: int | None = None,
    ) -> None:
        super().__init__(save_dir, name, version, prefix, flush_logs_every_n_steps)
        self.resumed_at = resumed_at

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir, resumed_at=self.resumed_at)
        return self._experiment
