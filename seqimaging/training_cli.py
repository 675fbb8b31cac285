"""``seqimaging fit|validate|test|predict``: LightningCLI with the project's defaults.

Defaults, each overridable in the YAML:

- seed 0 (``seed_everything``);
- CSV and TensorBoard logs, both in a new ``runs/<date>_<time>/`` (never an existing one);
  the CSV log is continued, not replaced, when the run is resumed or tested;
- a ``checkpoint`` section (Lightning's ModelCheckpoint) keeping the best ``val/loss`` and
  ``last.ckpt``, written atomically and loaded with ``weights_only=True``
  (:class:`~seqimaging.tasks.checkpoints.SafeCheckpointIO`), with the random states
  (:class:`~seqimaging.tasks.checkpoints.RandomState`);
- bf16 autocast when the GPU supports it;
- the data module's own DDP-aware sampler (``use_distributed_sampler: false``);
- ``test`` writes ``report.md`` with the metrics and figures to the run folder
  (:class:`~seqimaging.report.TestReport`), ``predict`` writes ``predictions.pt``.

``--ckpt_path last`` takes the newest run's ``last.ckpt`` under the logs' folder, and any
``--ckpt_path runs/<run>/checkpoints/<file>.ckpt`` that run's checkpoint; ``fit`` then
resumes in that run's folder, and ``validate``, ``test`` and ``predict`` write there too,
so a run's logs, report and predictions stay together.
"""

from pathlib import Path

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from seqimaging.report import TestReport
from seqimaging.runs import fresh_run_name
from seqimaging.tasks import PredictionWriter, SequenceTask
from seqimaging.tasks.checkpoints import CheckpointError, RandomState, SafeCheckpointIO


def newest_last_checkpoint(runs: Path) -> Path:
    """The most recently written ``<runs>/<run>/checkpoints/last.ckpt``."""
    candidates = sorted(runs.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise CheckpointError(f"--ckpt_path last: no {runs}/<run>/checkpoints/last.ckpt to resume")
    return candidates[-1]


class SeqImagingCLI(LightningCLI):
    """LightningCLI with a ``checkpoint`` section and resuming into the stopped run's folder."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/loss",
                "checkpoint.save_last": True,
                "checkpoint.filename": "best-{epoch}",
            }
        )

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        if not config.get("ckpt_path"):
            return
        loggers = config.trainer.logger or []
        if config.ckpt_path == "last":
            runs = Path(loggers[0].init_args.save_dir if loggers else "runs")
            config.ckpt_path = str(newest_last_checkpoint(runs))
        checkpoint = Path(config.ckpt_path)
        if checkpoint.parent.name != "checkpoints":
            return
        run = checkpoint.parent.parent
        for logger in loggers:
            logger.init_args.save_dir, logger.init_args.version = str(run.parent), run.name


def run_lightning(argv: list[str] | None) -> SeqImagingCLI:
    """Run LightningCLI over any :class:`~seqimaging.tasks.SequenceTask` and data module."""
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    run_dir = {"save_dir": "runs", "name": "", "version": fresh_run_name(Path("runs"))}
    loggers = [
        {"class_path": kind, "init_args": run_dir}
        for kind in (
            "seqimaging.tasks.logs.ResumableCSVLogger",
            "lightning.pytorch.loggers.TensorBoardLogger",
        )
    ]
    return SeqImagingCLI(
        SequenceTask,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        seed_everything_default=0,
        trainer_defaults={
            "default_root_dir": "runs",
            "logger": loggers,
            "log_every_n_steps": 10,
            "callbacks": [PredictionWriter(), RandomState(), TestReport()],
            "plugins": [SafeCheckpointIO()],
            "precision": "bf16-mixed" if bf16 else "32-true",
            "use_distributed_sampler": False,
        },
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
        args=argv,
    )
