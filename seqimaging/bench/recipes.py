"""How the cine benchmarks train a deep model: a :class:`Recipe` (its builders, the
phases its samples hold, what its encoder sees, whether it starts pretrained) and the
fixed sizes of a run (:class:`DiagnosisConfig`).

A recipe is trained by :meth:`RecipeRunner.predict`: one part's training patients → its test
patients' predictions. A pretrained recipe first trains a ConvLSTM forecaster to predict
the second half of each training patient's cycle from the first half (every start phase,
wrapping around the cycle; no labels), then starts the classifier's or regressor's
encoder and ConvLSTM from it (``init_from``, :mod:`seqimaging.models.transfer`). A
forecaster is trained once per set of training patients and phases, and shared by the
classifier and the regressor of that part.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from seqimaging.choices import Choices
from seqimaging.medical import CineSampling, CineWindows
from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask, SequenceTask
from seqimaging.tasks.training import fit_predict, quiet_trainer, small_run_notices_hidden

SLICES = 3  # mid-ventricular slices, the channels of a frame


@dataclass(frozen=True)
class DiagnosisConfig:
    """Sizes of a run: :data:`FULL` by default, :data:`QUICK` with ``--quick``."""

    train_per_class: int  # phantom patients per group, training
    test_per_class: int  # phantom patients per group, testing
    folds: int
    epochs: int
    frames: int
    size: int
    spacing: float
    width: int
    hidden_channels: int
    es_at: int  # the phase of ES in "ED/ES-aligned" samples
    inner_folds: int = 3
    pretrain_epochs: int = 4
    batch_size: int = 8
    lr: float = 3e-3
    bootstrap: int = 1000

    def sampling(self, phases: str) -> CineSampling:
        """The samples of a row of :data:`PHASES`."""
        return CineSampling(
            slices=SLICES, spacing=self.spacing, size=self.size, **PHASES[phases](self)
        )

    def model_kwargs(self, inputs: str = "frames") -> dict:
        return {
            "encoder": "small",
            "stride": 4,
            "width": self.width,
            "hidden_channels": self.hidden_channels,
            "pooling": "mean",
            "inputs": inputs,
        }


FULL = DiagnosisConfig(
    20, 10, 5, 20, frames=10, size=32, spacing=3.5, width=16, hidden_channels=32, es_at=4
)
QUICK = DiagnosisConfig(
    5, 2, 2, 1, frames=6, size=24, spacing=4.5, width=8, hidden_channels=8, es_at=2,
    inner_folds=2, pretrain_epochs=1, bootstrap=200,
)  # fmt: skip

PHASES: Choices[Callable[[DiagnosisConfig], dict]] = Choices(
    "cine phases",
    {
        "cycle": lambda c: {"frames": c.frames},
        "ED/ES-aligned": lambda c: {"frames": c.frames, "es_at": c.es_at},
        "ED and ES": lambda c: {"frames": 2, "es_at": 1},
    },
)
"""The phases of a sample, as :class:`~seqimaging.medical.CineSampling` options: the
cycle from ED resampled evenly; resampled with ES at phase ``es_at`` (systole and
diastole apart, so a phase is the same moment of the contraction in every patient); or
the two phases only."""


@dataclass(frozen=True)
class Recipe:
    """One way to train a deep model for the benchmark.

    Attributes:
        classifier, regressor: registered builders for the diagnosis and for the EF.
        phases: a row of :data:`PHASES`.
        inputs: what the encoder sees, a row of
            :data:`~seqimaging.models.seqnet.FRAME_INPUTS`.
        pretrained: start the encoder and ConvLSTM from a forecaster of the training
            patients' cycles.
        epoch_factor: train for this many times the run's epochs.
    """

    classifier: str
    regressor: str
    phases: str = "cycle"
    inputs: str = "frames"
    pretrained: bool = False
    epoch_factor: int = 1


@dataclass
class RecipeRunner:
    """Trains recipes on parts of a cohort's samples (one list per row of :data:`PHASES`,
    the same patients in the same order) and predicts their test patients."""

    samples: dict[str, list[dict]]
    classes: list[str]
    config: DiagnosisConfig
    seed: int
    folder: Path  # where the forecasters' checkpoints go
    device: str | None = None
    _forecasters: dict[tuple, Path] = field(default_factory=dict)
    _without_ef: dict[str, list[dict]] = field(init=False)

    def __post_init__(self) -> None:
        # some patients have an EF target, some not; a diagnosis batch needs one set of keys
        self._without_ef = {
            phases: [{k: v for k, v in s.items() if k != "target"} for s in samples]
            for phases, samples in self.samples.items()
        }

    def predict(
        self, recipe: Recipe, kind: str, parts: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        """``recipe``'s ``kind`` (``"diagnosis"``: class probabilities, ``"ef"``: the EF)
        model of each ``(train, test)`` part of patient indices, trained for the fixed
        epochs on ``train``, predicting ``test``; pooled in order."""
        samples = (self._without_ef if kind == "diagnosis" else self.samples)[recipe.phases]
        sample_parts = [([samples[i] for i in a], [samples[i] for i in b]) for a, b in parts]
        predictions = fit_predict(
            lambda train: self._task(recipe, kind, train),
            sample_parts,
            batch_size=self.config.batch_size,
            seed=self.seed,
            device=self.device,
            max_epochs=self.config.epochs * recipe.epoch_factor,
        ).numpy()
        return predictions if kind == "diagnosis" else predictions[:, 0]

    def _task(self, recipe: Recipe, kind: str, train: list[dict]) -> SequenceTask:
        c = self.config
        options = {
            "in_channels": SLICES,
            "lr": c.lr,
            "scheduler": "cosine",
            "model_kwargs": c.model_kwargs(recipe.inputs),
            "init_from": self.forecaster(recipe.phases, train) if recipe.pretrained else None,
        }
        if kind == "diagnosis":
            return ClassificationTask(
                recipe.classifier,
                num_classes=len(self.classes),
                class_names=self.classes,
                **options,
            )
        targets = [float(s["target"][0]) for s in train]
        return RegressionTask(
            recipe.regressor,
            target_mean=float(np.mean(targets)),
            target_std=float(np.std(targets)) or 1.0,
            **options,
        )

    def forecaster(self, phases: str, train: list[dict]) -> Path:
        """The checkpoint of a forecaster of ``train``'s cycles (trained once per set)."""
        key = (phases, tuple(s["meta"]["id"] for s in train))
        if key not in self._forecasters:
            path = self.folder / f"forecaster-{len(self._forecasters)}.ckpt"
            self._forecasters[key] = self._pretrain(train, path)
        return self._forecasters[key]

    def _pretrain(self, train: list[dict], path: Path) -> Path:
        c = self.config
        phases = train[0]["frames"].shape[0]
        context = max(1, phases // 2)
        windows = CineWindows(
            {s["meta"]["id"]: s["frames"][None].numpy() for s in train},
            context,
            phases - context,
        )
        L.seed_everything(self.seed, verbose=False)
        kwargs = c.model_kwargs()
        task = ForecastTask(
            "convlstm_forecaster",
            in_channels=SLICES,
            horizon=phases - context,
            lr=c.lr,
            scheduler="cosine",
            model_kwargs={k: kwargs[k] for k in ("stride", "width", "hidden_channels")},
        )
        loader = DataLoader(windows, batch_size=c.batch_size, shuffle=True, collate_fn=collate)
        trainer = quiet_trainer(device=self.device, max_epochs=c.pretrain_epochs)
        with small_run_notices_hidden():
            trainer.fit(task, loader)
        trainer.save_checkpoint(path)
        return path
