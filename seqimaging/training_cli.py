"""``seqimaging fit|validate|test|predict``: LightningCLI with the project's defaults.

Defaults, each overridable in the YAML:

- seed 0 (``seed_everything``);
- CSV and TensorBoard logs, both in a new ``runs/<date>_<time>/``, created by the
  process that uses it (never an existing one, even for runs started in the same
  second); the CSV log is continued, not replaced, when the run is resumed or tested;
- the command's config in the run folder: ``config.yaml`` for the command that made the
  run, ``config-<command>.yaml`` (``-2``, ``-3``…) for each later one; none is rewritten;
- a ``checkpoint`` section (Lightning's ModelCheckpoint) keeping the best ``val/loss`` and
  ``last.ckpt``, written atomically and loaded with ``weights_only=True``
  (:class:`~seqimaging.tasks.checkpoints.SafeCheckpointIO`), with the random states
  (:class:`~seqimaging.tasks.checkpoints.RandomState`);
- bf16 autocast where the GPU or CPU computes bf16 natively (AVX512-BF16, AMX), float32
  elsewhere (:func:`~seqimaging.tasks.training.default_precision`;
  ``--trainer.precision`` or ``$SEQIMAGING_PRECISION`` to choose);
- the data module's own DDP-aware sampler (``use_distributed_sampler: false``);
- ``fit`` writes the model card (``model_card.md`` and ``.json``: architecture, FLOPs,
  input contract, data and split, validation metrics beside the baselines, versions;
  :class:`~seqimaging.report.ModelCard`) to the run folder and keeps it in every
  checkpoint; ``test`` writes ``report.md`` with the metrics and figures
  (:class:`~seqimaging.report.TestReport`), ``predict`` writes ``predictions.pt``.

``--ckpt_path last`` takes the newest run's ``last.ckpt`` under the logs' folder, ``best``
its best checkpoint (the ``best_model_path`` recorded in ``last.ckpt``, else the newest
``best-*.ckpt``), and any
``--ckpt_path runs/<run>/checkpoints/<file>.ckpt`` that run's checkpoint; ``fit`` then
resumes in that run's folder, and ``validate``, ``test`` and ``predict`` write there too,
so a run's logs, report and predictions stay together.

Before anything is written, a checkpoint is verified (CRC-32, finite weights, no code;
:func:`~seqimaging.tasks.checkpoints.load_checkpoint`) and must come from the config's
task class. ``validate``, ``test`` and ``predict`` then take the model's settings from the
checkpoint, as LightningCLI does; a resumed ``fit`` refuses a config whose model or data
settings differ from the checkpoint's, since the restored optimiser and loops would go on
with the old ones. ``trainer.max_epochs`` must be positive, or -1 (no limit) only beside
``max_steps`` or ``max_time``.
"""

import os
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.trainer.states import TrainerFn

from seqimaging.errors import SeqImagingError
from seqimaging.files import atomic_write, first_free
from seqimaging.report import ModelCard, TestReport
from seqimaging.runs import claim_run_folder
from seqimaging.tasks import PredictionWriter, SequenceTask
from seqimaging.tasks.checkpoints import (
    LIGHTNING_KEYS,
    CheckpointError,
    RandomState,
    SafeCheckpointIO,
    find_checkpoint,
    load_checkpoint,
)
from seqimaging.tasks.training import default_precision

RUN_FOLDER = "SEQIMAGING_RUN_FOLDER"
"""Environment variable by which a command hands its run folder to the ranks it launches
(Lightning's DDP launcher re-runs the command once per extra rank, with ``LOCAL_RANK``
set): ``<pid>:<folder>``, used only by such a child of process ``pid``, and removed when
the command ends."""

CSV_LOGGER = "seqimaging.tasks.logs.ResumableCSVLogger"

FROM_DATA = ("class_names",)
"""Task settings that fit fills in from the data when the config leaves them ``None``."""


def plain(value: Any) -> Any:
    """``value`` as YAML would hold it: namespaces as dicts, tuples as lists."""
    if isinstance(value, Namespace):
        value = value.as_dict()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def changed_settings(section: str, saved: dict, given: Namespace) -> list[str]:
    """``section.init_args.KEY: saved → given`` for every setting the config changes."""
    given = plain(given.get("init_args") or Namespace())
    return [
        f"{section}.init_args.{key}: {value!r} in the checkpoint, {given[key]!r} in the config"
        for key, value in plain(saved).items()
        if key not in LIGHTNING_KEYS
        and key in given
        and given[key] != value
        and not (key in FROM_DATA and given[key] is None)
    ]


def check_max_epochs(trainer: Namespace) -> None:
    """Refuse a ``max_epochs`` that would train for ever or not at all."""
    epochs = trainer.get("max_epochs")
    bounded = (trainer.get("max_steps") or -1) > 0 or trainer.get("max_time") is not None
    if epochs is None or epochs >= 1 or (epochs == -1 and bounded):
        return
    raise SeqImagingError(
        f"--trainer.max_epochs={epochs}: expected a positive number of epochs, or -1 (no "
        "limit) together with --trainer.max_steps or --trainer.max_time"
    )


class RunConfig(SaveConfigCallback):
    """The command's config in its run folder, never over an earlier one.

    ``config.yaml`` for the command that made the run, ``config-<stage>.yaml`` (then
    ``-2``, ``-3``…) for every later one: a resumed fit, a test, a prediction.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.already_saved:
            return
        if trainer.is_global_zero:
            with atomic_write(self.free_name(Path(trainer.log_dir), stage), "w") as file:
                file.write(self.parser.dump(self.config, skip_none=False))
        self.already_saved = True

    @staticmethod
    def free_name(folder: Path, stage: str) -> Path:
        """``config.yaml`` for a fit in a new folder, else the first free
        ``config-<stage>.yaml``, ``config-<stage>-2.yaml``…"""
        command = TrainerFn(stage).value
        if command == "fit" and not (folder / "config.yaml").exists():
            return folder / "config.yaml"
        return first_free(folder, f"config-{command}", ".yaml")


class SeqImagingCLI(LightningCLI):
    """LightningCLI with a ``checkpoint`` section, verified checkpoints, resuming into the
    stopped run's folder and a new run folder per process otherwise."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/loss",
                "checkpoint.save_last": True,
                "checkpoint.filename": "best-{epoch}",
            }
        )

    def _parse_ckpt_path(self) -> None:
        """Replaces LightningCLI's: it loaded any file unverified and put the checkpoint's
        task in place of the config's."""
        self._resumed_at: int | None = None
        if not self.config.get("subcommand"):
            return
        command = self.config.subcommand
        config = self.config[command]
        if not config.get("ckpt_path"):
            return
        loggers = config.trainer.logger or []
        runs = loggers[0].init_args.save_dir if loggers else "runs"
        config.ckpt_path = str(find_checkpoint(config.ckpt_path, runs))
        checkpoint = load_checkpoint(config.ckpt_path)
        saved = dict(checkpoint.get("hyper_parameters") or {})
        task = saved.get("_class_path")
        if task is not None and task != config.model.class_path:
            raise CheckpointError(
                f"--ckpt_path {config.ckpt_path} holds a {task}, but the config's model is a "
                f"{config.model.class_path}; pass the config the checkpoint was trained with"
            )
        if command == "fit":
            self._check_unchanged(config, checkpoint)
            self._resumed_at = checkpoint.get("global_step")
        elif saved:
            hparams = {k: v for k, v in saved.items() if k not in LIGHTNING_KEYS}
            model = {"class_path": config.model.class_path, "dict_kwargs": hparams}
            self.config = self.parser.parse_object({command: {"model": model}}, self.config)

    @staticmethod
    def _check_unchanged(config: Namespace, checkpoint: dict) -> None:
        """A resumed fit goes on with the checkpoint's settings: refuse other ones."""
        changes = changed_settings("model", checkpoint.get("hyper_parameters") or {}, config.model)
        if isinstance(config.data, Namespace):
            saved = checkpoint.get("datamodule_hyper_parameters") or {}
            changes += changed_settings("data", saved, config.data)
        if changes:
            raise CheckpointError(
                f"resuming from {config.ckpt_path} with other settings than it was trained "
                f"with ({'; '.join(changes)}); the restored optimiser and loops would go on "
                "with the checkpoint's. Resume with the run's own config, or start a new run "
                "(no --ckpt_path) to change them"
            )

    def before_instantiate_classes(self) -> None:
        self._claimed: Path | None = None
        config = self.config[self.subcommand]
        check_max_epochs(config.trainer)
        loggers = config.trainer.logger or []
        run = self._resumed_run(config) or self._new_run(loggers)
        for logger in loggers:
            if logger.init_args.get("version") is None:
                logger.init_args.save_dir, logger.init_args.version = str(run.parent), run.name
            if logger.class_path == CSV_LOGGER:
                logger.init_args.resumed_at = self._resumed_at

    @staticmethod
    def _resumed_run(config: Namespace) -> Path | None:
        """The run folder of ``--ckpt_path runs/<run>/checkpoints/<file>``, if it is one."""
        checkpoint = Path(config.ckpt_path) if config.get("ckpt_path") else None
        if checkpoint is None or checkpoint.parent.name != "checkpoints":
            return None
        return checkpoint.parent.parent

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except BaseException:
            if self._claimed is not None and not any(self._claimed.iterdir()):
                self._claimed.rmdir()  # a refused setting leaves no empty run behind
            raise

    def _new_run(self, loggers: list[Namespace]) -> Path:
        """A folder of this process's own, or the one its launching process claimed."""
        pid, _, folder = os.environ.get(RUN_FOLDER, "").partition(":")
        launched = os.environ.get("LOCAL_RANK", "0") != "0" and pid == str(os.getppid())
        if folder and launched:
            return Path(folder)
        runs = Path(loggers[0].init_args.save_dir if loggers else "runs")
        run = self._claimed = claim_run_folder(runs)
        os.environ[RUN_FOLDER] = f"{os.getpid()}:{run.resolve()}"
        return run


def run_lightning(argv: list[str] | None) -> SeqImagingCLI:
    """Run LightningCLI over any :class:`~seqimaging.tasks.SequenceTask` and data module."""
    run_dir = {"save_dir": "runs", "name": "", "version": None}  # set when the run starts
    loggers = [
        {"class_path": kind, "init_args": run_dir}
        for kind in (CSV_LOGGER, "lightning.pytorch.loggers.TensorBoardLogger")
    ]
    try:
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
                "callbacks": [PredictionWriter(), RandomState(), TestReport(), ModelCard()],
                "plugins": [SafeCheckpointIO()],
                "precision": default_precision(),
                "use_distributed_sampler": False,
            },
            save_config_callback=RunConfig,
            auto_configure_optimizers=False,
            args=argv,
        )
    finally:
        os.environ.pop(RUN_FOLDER, None)
