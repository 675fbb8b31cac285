"""``seqimaging bench acdc`` and ``seqimaging bench mnms``: diagnosis and LV ejection
fraction from cardiac cine MRI, beside baselines and published results.

**Data.** ACDC: ``--root`` holds ``training/`` (100 patients) and ``testing/`` (50), as
:class:`~seqimaging.medical.ACDC` reads them; 5 groups. M&Ms: ``--root`` holds the
information CSV (the ``*.csv`` under it whose header has ``External code``) and the
``<code>_sa.nii.gz`` cines at any depth, as :class:`~seqimaging.medical.MnMs` reads them;
subjects under a ``Training`` folder train (labelled and unlabelled alike: the CSV gives
every subject's pathology), those under ``Testing`` are the test set, ``Validation`` is
not used. The classes are those of the training subjects; test subjects of another class
are left out and counted. Without a test split (no ``testing/`` for ACDC, no ``Training``
folder for M&Ms: then every subject trains) there is cross-validation only. Without
``--root`` the data are phantoms (:func:`~seqimaging.medical.phantoms.make_acdc_like`,
:func:`~seqimaging.medical.phantoms.make_mnms_like`) with ACDC's numbers of training and
test patients per group (20 and 10), written once under ``<out>/data`` and reused, and
every output says loudly that they are a stand-in.

**Evaluation.** (1) The official split: each model trains on all training patients and
is scored once on the test patients. (2) 5-fold cross-validation on the training
patients: folds of whole patients, stratified by diagnosis
(:func:`~seqimaging.splits.group_folds`); each patient is predicted by the model that did
not see it, and the pooled out-of-fold predictions are scored once. Epochs, learning rate
and sizes are fixed (:data:`FULL`), the same for every model, split and data set, and
were set without looking at any test patient; nothing is chosen during a run: no
validation set, no early stopping, the last epoch's model is scored. ``--seed`` seeds
the folds, the initialisation, the batch order and the bootstrap.

**Input and models.** One sample per patient: the 3 mid-ventricular slices as channels,
the cycle from end-diastole (ED) resampled to 10 phases, 3.5 mm pixels, 32 × 32 around
the heart (:class:`~seqimaging.medical.CineSampling`). Three models share one small CNN
per frame (``encoder="small"``, no pretrained weights): the ConvLSTM over feature maps
(``convlstm_classifier``), the classic CNN+LSTM (each frame's features pooled to a vector,
then ``nn.LSTM``: ``cnn_lstm_classifier``) and the static ED frame
(``static_classifier``); their ``*_regressor`` twins estimate the EF.

**Scores**, each with a percentile-bootstrap 95% CI over patients: the diagnosis scores
of :func:`~seqimaging.evaluation.diagnosis_scores` (accuracy, balanced accuracy, macro
F1, macro one-vs-rest AUROC; per class, sensitivity and specificity), beside the
majority class of the training patients (their class frequencies as probabilities);
the EF scores of :func:`~seqimaging.evaluation.ef_scores` (MAE in EF points, R², bias
and 95% limits of agreement, with a Bland–Altman plot), beside the training patients'
mean EF. The reference EF is counted in the ground-truth masks at ED and ES
(``ACDC.ejection_fraction``, ``MnMs.ejection_fraction``); patients without masks take
part in the diagnosis only. The regressors are scored on the official split (on
cross-validation when no test patient has masks). :data:`PUBLISHED_ACDC` lists the
published ACDC test accuracies beside them (real data: not comparable with phantoms);
none is listed for M&Ms, a segmentation challenge. Run times are in the README.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.data import InMemory
from seqimaging.evaluation import diagnosis_scores, ef_scores
from seqimaging.medical import ACDC, CineDataset, CineRecord, CineSampling, MnMs, known_classes
from seqimaging.medical.phantoms import make_acdc_like, make_mnms_like
from seqimaging.models.baselines import class_frequencies
from seqimaging.report import (
    agreement_rows,
    bland_altman_figure,
    class_rows,
    confusion_matrix_figure,
    interval_rows,
)
from seqimaging.splits import group_folds
from seqimaging.tasks import ClassificationTask, RegressionTask, SequenceTask
from seqimaging.tasks.training import fit_predict

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
    batch_size: int = 8
    lr: float = 3e-3
    bootstrap: int = 1000

    def sampling(self) -> CineSampling:
        return CineSampling(slices=SLICES, frames=self.frames, spacing=self.spacing, size=self.size)

    def model_kwargs(self) -> dict:
        return {
            "encoder": "small",
            "stride": 4,
            "width": self.width,
            "hidden_channels": self.hidden_channels,
            "pooling": "mean",
        }


FULL = DiagnosisConfig(20, 10, 5, 20, frames=10, size=32, spacing=3.5, width=16, hidden_channels=32)
QUICK = DiagnosisConfig(
    3, 2, 2, 1, frames=6, size=24, spacing=4.5, width=8, hidden_channels=8, bootstrap=200
)
MODELS = {  # label: (classifier, regressor)
    "ConvLSTM": ("convlstm_classifier", "convlstm_regressor"),
    "CNN+LSTM": ("cnn_lstm_classifier", "cnn_lstm_regressor"),
    "static (ED frame)": ("static_classifier", "static_regressor"),
}
MAJORITY, MEAN = "majority class", "training mean"
PUBLISHED_ACDC = (  # method, test accuracy, source
    ("challenge best", 0.96, "Bernard et al., IEEE TMI 2018"),
    ("Isensee et al.: segmentation-derived features", 0.92, "STACOM 2017"),
    ("Zheng et al.: apparent-flow motion features", 0.94, "Med. Image Anal. 2019"),
    ("Snaauw et al.: end to end from images", 0.78, "ISBI 2019, about 0.78"),
)


def _acdc_split(root: Path) -> tuple[list[CineRecord], list[CineRecord], int]:
    """ACDC's official split: ``training/`` and, where present, ``testing/``."""
    test = ACDC(root, "testing").records if (root / "testing").is_dir() else []
    return ACDC(root, "training").records, test, 0


def _mnms_split(root: Path) -> tuple[list[CineRecord], list[CineRecord], int]:
    """M&Ms's official split: cines under ``Training`` and ``Testing`` (every cine trains
    without a ``Training`` folder); and how many CSV subjects are not under ``root``."""
    data = MnMs(root, MnMs.information_csv(root))
    split = {
        folder: [r for r in data.records if folder in r.path.relative_to(root).parts]
        for folder in ("Training", "Testing")
    }
    train, test = (split["Training"], split["Testing"]) if split["Training"] else (data.records, [])
    return train, test, len(data.missing)


@dataclass(frozen=True)
class Cohort:
    """A cine data set of the benchmark: its reader, official split, phantoms, anchors."""

    name: str
    title: str
    dataset: type[ACDC | MnMs]
    split: Callable[[Path], tuple[list[CineRecord], list[CineRecord], int]]
    make_stand_in: Callable[..., Path]
    published: tuple[tuple[str, float, str], ...] = ()


COHORTS = {
    "acdc": Cohort("acdc", "ACDC", ACDC, _acdc_split, make_acdc_like, PUBLISHED_ACDC),
    "mnms": Cohort("mnms", "M&Ms", MnMs, _mnms_split, make_mnms_like),
}


def bench_acdc(out: Path, options: BenchOptions) -> dict:
    """Run the ACDC benchmark into ``out``; return what ``results.json`` holds."""
    return _bench(COHORTS["acdc"], out, options)


def bench_mnms(out: Path, options: BenchOptions) -> dict:
    """Run the M&Ms benchmark into ``out``; return what ``results.json`` holds."""
    return _bench(COHORTS["mnms"], out, options)


def _bench(cohort: Cohort, out: Path, options: BenchOptions) -> dict:
    config = QUICK if options.quick else FULL
    root = Path(
        options.root
        or BenchRecord.stand_in_data(
            out,
            f"{cohort.name}-{config.train_per_class}+{config.test_per_class}-seed{options.seed}",
            lambda d: cohort.make_stand_in(
                d, config.train_per_class, options.seed, test_per_class=config.test_per_class
            ),
        )
    )
    train, all_test, missing = cohort.split(root)
    stand_in = options.root is None
    train, test, classes = known_classes(train, all_test, cohort.dataset.class_names)
    left_out = len(all_test) - len(test)
    source = "phantoms (written once, before the timed run)" if stand_in else cohort.title
    notes = [
        f"{source} in `{root}`: {len(train)} training and {len(test)} test patients, "
        f"classes {', '.join(classes)}"
    ]
    if left_out:
        notes.append(f"{left_out} test patients of classes absent from training left out")
    if missing:
        notes.append(f"{missing} subjects of the information CSV not found under the root")
    record = BenchRecord(
        cohort.name,
        out,
        f"{cohort.title} diagnosis and LV ejection fraction",
        data="; ".join(notes),
        stand_in=stand_in,
        split=(f"official, {len(train)} training → {len(test)} test patients; " if test else "")
        + f"{config.folds}-fold cross-validation on the training patients (folds of patients "
        "stratified by diagnosis, out-of-fold predictions pooled)",
        seed=options.seed,
    )
    sampling = config.sampling()
    train = _load(train, sampling, cohort.dataset.ejection_fraction)
    test = _load(test, sampling, cohort.dataset.ejection_fraction)

    diagnosis = {}
    if test:
        diagnosis["official"] = _diagnosis(
            [(_labels_only(train), _labels_only(test))], classes, config, options
        )
    diagnosis["cross_validation"] = _diagnosis(
        _folds(_labels_only(train), config.folds, options.seed), classes, config, options
    )
    _report_diagnosis(record, diagnosis, cohort.published, stand_in, config.bootstrap)

    train, test = _with_ef(train), _with_ef(test)
    ef = None
    if train:
        split = "official" if test else "cross_validation"
        parts = [(train, test)] if test else _folds(train, config.folds, options.seed)
        ef = {"split": split, **_ejection_fraction(parts, config, options)}
        _report_ef(record, ef)
    else:
        record.section("LV ejection fraction", "No training patient has masks: no EF regression.")
    metrics = {
        "diagnosis": diagnosis,
        "ejection_fraction": ef,
        "published": [
            {"method": method, "accuracy": accuracy, "source": source, "data": "ACDC test set"}
            for method, accuracy, source in cohort.published
        ],
        "left_out_test_patients": left_out,
    }
    return record.write(
        metrics,
        config,
        root=str(root),
        sampling=asdict(sampling),
        models=MODELS,
        model_kwargs=config.model_kwargs(),
    )


def _report_diagnosis(
    record: BenchRecord, diagnosis: dict, published: Sequence[tuple], stand_in: bool, n_boot: int
) -> None:
    for split, result in diagnosis.items():
        record.section(
            f"Diagnosis, {_describe(split, result)}",
            f"Estimate (bootstrap 95% CI over the {result['test_patients']} test patients, "
            f"{n_boot} resamples); per class: sensitivity and specificity.",
        )
        record.table(_diagnosis_rows(result, published if split == "official" else (), stand_in))
        record.table(class_rows(result["scores"], result["classes"]))
    split = next(iter(diagnosis))
    model = next(iter(MODELS))
    record.figure(
        confusion_matrix_figure(
            np.array(diagnosis[split]["scores"][model]["confusion_matrix"]),
            diagnosis[split]["classes"],
        ),
        "confusion_matrix.png",
        f"{model} confusion matrix, {_describe(split, diagnosis[split])} (rows: true class)",
    )


def _report_ef(record: BenchRecord, ef: dict) -> None:
    record.section(
        f"LV ejection fraction, {_describe(ef['split'], ef)}",
        "Patients with masks; the reference EF is counted in the masks at ED and ES. MAE in "
        "EF points and R², estimate (bootstrap 95% CI); bias and 95% limits of agreement of "
        "predicted − reference.",
    )
    record.table(agreement_rows(ef["scores"]))
    predictions = {label: np.array(values) for label, values in ef["predictions"].items()}
    record.figure(
        bland_altman_figure(predictions["ef"], {m: predictions[m] for m in MODELS}),
        "bland_altman.png",
        "Bland–Altman plots of the EF regressors: predicted − reference against their mean "
        "(solid: bias; dashed: 95% limits of agreement)",
    )


def _labels_only(samples: list[dict]) -> list[dict]:
    """The samples without ``target`` (some have none: a batch needs the same keys)."""
    return [{k: v for k, v in s.items() if k != "target"} for s in samples]


def _with_ef(samples: list[dict]) -> list[dict]:
    return [s for s in samples if "target" in s]


def _describe(split: str, result: dict) -> str:
    train, test = result["train_patients"], result["test_patients"]
    if split == "official":
        return f"official split: {train[0]} training → {test} test patients"
    return f"{len(train)}-fold cross-validation of {test} patients, out-of-fold predictions pooled"


def _load(
    records: list[CineRecord],
    sampling: CineSampling,
    ejection_fraction: Callable[[CineRecord], float | None],
) -> list[dict]:
    """The patients' samples, with the EF as ``target`` where the masks give one."""
    records = [
        replace(r, target=None if (ef := ejection_fraction(r)) is None else (ef,)) for r in records
    ]
    return InMemory(CineDataset(records, sampling)).samples


def _folds(samples: list[dict], folds: int, seed: int) -> list[tuple[list, list]]:
    """``(train, test)`` samples of each cross-validation fold (groups: patients)."""
    groups = [s["meta"]["group"] for s in samples]
    labels = [int(s["label"]) for s in samples]
    return [
        ([samples[i] for i in train], [samples[i] for i in test])
        for train, test in group_folds(groups, labels, folds, seed=seed)
    ]


def _out_of_fold(
    make_task: Callable[[list[dict]], SequenceTask],
    parts: list[tuple[list, list]],
    config: DiagnosisConfig,
    options: BenchOptions,
) -> np.ndarray:
    """Each part's model, trained for the fixed epochs, on its test patients, pooled."""
    return fit_predict(
        make_task,
        parts,
        batch_size=config.batch_size,
        seed=options.seed,
        device=options.device,
        max_epochs=config.epochs,
    ).numpy()


def _pooled(parts: list[tuple[list, list]], predictions: dict[str, list]) -> dict:
    """What every pooled evaluation records: sizes, and the predictions per test patient."""
    test = [s for _, part in parts for s in part]
    return {
        "train_patients": [len(train) for train, _ in parts],
        "test_patients": len(test),
        "predictions": {
            "id": [s["meta"]["id"] for s in test],
            "fold": [k for k, (_, part) in enumerate(parts) for _ in part],
            **predictions,
        },
    }


def _diagnosis(
    parts: list[tuple[list, list]],
    classes: list[str],
    config: DiagnosisConfig,
    options: BenchOptions,
) -> dict:
    """Train the classifiers on each part, predict its test patients; score them pooled."""
    y = np.array([int(s["label"]) for _, part in parts for s in part])
    frequencies = [
        class_frequencies([int(s["label"]) for s in train], len(classes)) for train, _ in parts
    ]
    probabilities = {
        MAJORITY: np.concatenate(
            [np.tile(f, (len(part), 1)) for f, (_, part) in zip(frequencies, parts, strict=True)]
        )
    }
    for label, (classifier, _) in MODELS.items():
        make_task = partial(_classifier, classifier, classes, config)
        probabilities[label] = _out_of_fold(make_task, parts, config, options)
    predicted = {label: p.argmax(axis=1) for label, p in probabilities.items()}
    outcome = {"label": y.tolist()} | {k: p.tolist() for k, p in predicted.items()}
    return _pooled(parts, outcome) | {
        "classes": classes,
        "scores": {
            label: diagnosis_scores(y, p, classes, config.bootstrap, options.seed)
            for label, p in probabilities.items()
        },
        "probabilities": {label: p.tolist() for label, p in probabilities.items()},
    }


def _classifier(
    classifier: str, classes: list[str], config: DiagnosisConfig, train: list[dict]
) -> ClassificationTask:
    """A classifier of ``classes`` (the training patients do not change how it is made)."""
    return ClassificationTask(
        classifier,
        in_channels=SLICES,
        num_classes=len(classes),
        class_names=classes,
        lr=config.lr,
        scheduler="cosine",
        model_kwargs=config.model_kwargs(),
    )


def _regressor(regressor: str, config: DiagnosisConfig, train: list[dict]) -> RegressionTask:
    """An EF regressor whose targets are standardised by ``train``'s EFs."""
    targets = [float(s["target"][0]) for s in train]
    return RegressionTask(
        regressor,
        in_channels=SLICES,
        target_mean=float(np.mean(targets)),
        target_std=float(np.std(targets)) or 1.0,
        lr=config.lr,
        scheduler="cosine",
        model_kwargs=config.model_kwargs(),
    )


def _ejection_fraction(
    parts: list[tuple[list, list]], config: DiagnosisConfig, options: BenchOptions
) -> dict:
    """Train the regressors on each part, predict its test patients' EF; score them pooled."""
    ef = np.array([float(s["target"][0]) for _, part in parts for s in part])
    predictions = {
        MEAN: np.concatenate(
            [np.full(len(part), np.mean([s["target"][0] for s in train])) for train, part in parts]
        )
    }
    for label, (_, regressor) in MODELS.items():
        make_task = partial(_regressor, regressor, config)
        predictions[label] = _out_of_fold(make_task, parts, config, options)[:, 0]
    outcome = {"ef": ef.tolist()} | {k: p.tolist() for k, p in predictions.items()}
    return _pooled(parts, outcome) | {
        "scores": {
            label: ef_scores(ef, p, config.bootstrap, options.seed)
            for label, p in predictions.items()
        },
    }


DIAGNOSIS_COLUMNS = {
    "accuracy": "accuracy",
    "balanced accuracy": "balanced_accuracy",
    "macro F1": "macro_f1",
    "macro AUROC": "macro_auroc",
}


def _diagnosis_rows(result: dict, published: Sequence[tuple], stand_in: bool) -> list[dict]:
    rows = [
        row | {"source": "this run" + (" (baseline)" if row["model"] == MAJORITY else "")}
        for row in interval_rows(result["scores"], DIAGNOSIS_COLUMNS)
    ]
    caveat = "; not comparable with phantoms" if stand_in else ""
    rows += [
        {
            "model": method,
            "accuracy": f"{accuracy:.2f}",
            "source": f"published ({source}), real ACDC test set{caveat}",
        }
        for method, accuracy, source in published
    ]
    return rows
