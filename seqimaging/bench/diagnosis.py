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
and sizes are fixed (:data:`~seqimaging.bench.recipes.FULL`), the same for every model,
split and data set, and were set without looking at any test patient; no validation
set, no early stopping, the last epoch's model is scored. The models of
:data:`SEARCHES` choose their settings, :data:`CHOSEN` among :data:`CANDIDATES` and
:data:`STATIC_CHOSEN` (the static model, so that it is compared at its best too) between
1× and 3× the epochs, by 3-fold cross-validation inside the training patients of the
official split (:func:`~seqimaging.evaluation.selection.nested`; inside each outer fold
when there is no official test part), so the test patients never take part in a choice.
``--seed`` seeds the folds, the initialisation, the batch order and the bootstrap.

**Input and models.** One sample per patient: the 3 mid-ventricular slices as channels,
3.5 mm pixels, 32 × 32 around the heart, and phases that are a row of
:data:`~seqimaging.bench.recipes.PHASES`: the cycle from end-diastole (ED) resampled to
10 phases; the same with end-systole (ES) at phase 4 (``CineSampling(es_at=4)``, systole
and diastole resampled apart); or ED and ES only. The deep models
(:class:`~seqimaging.bench.recipes.Recipe`, :data:`FIXED`) share one small CNN per frame
(``encoder="small"``): the static ED frame (``static_classifier``), the classic CNN+LSTM
(each frame's features pooled to a vector, then ``nn.LSTM``: ``cnn_lstm_classifier``),
the ConvLSTM over feature maps (``convlstm_classifier``) on the even cycle and on the
ED/ES-aligned one, the latter also pretrained: its encoder and ConvLSTM start from a
forecaster of the second half of each training patient's cycle from the first (no
labels, ``init_from``); and :data:`CHOSEN`, the ConvLSTM whose phases (a row of
:data:`~seqimaging.bench.recipes.PHASES`), input (``inputs="frames"`` or
``"frames+differences"``: each phase minus ED beside it) and length of training (1× or
3× the epochs) the inner cross-validation chooses. Their ``*_regressor`` twins estimate
the EF, the choice made on the MAE. The classical baseline, :data:`CLASSICAL`, is
:func:`~seqimaging.medical.features.feature_classifier` on volumes, ejection fractions,
wall thickness and thickening measured in the ground-truth masks at ED and ES
(:func:`~seqimaging.medical.features.feature_matrix`), as the best challenge entries did
from their segmentations; on phantoms the masks are exact, so it is an oracle.

**Scores**, each with a percentile-bootstrap 95% CI over patients: the diagnosis scores
of :func:`~seqimaging.evaluation.diagnosis_scores` (accuracy, balanced accuracy, macro
F1, macro one-vs-rest AUROC; per class, sensitivity and specificity), beside the
majority class of the training patients (their class frequencies as probabilities);
the EF scores of :func:`~seqimaging.evaluation.ef_scores` (MAE in EF points, R², bias
and 95% limits of agreement, with a Bland–Altman plot), beside the training patients'
mean EF. Differences between models (:data:`PAIRS`: pretrained − scratch, chosen ConvLSTM −
chosen static, chosen − plain ConvLSTM) have paired bootstrap CIs, the same resampled patients
for both. The reference EF is counted in the ground-truth masks at ED and ES
(``ACDC.ejection_fraction``, ``MnMs.ejection_fraction``); patients without masks take
part in the diagnosis only. The regressors are scored on the official split (on
cross-validation when no test patient has masks). :data:`PUBLISHED_ACDC` lists the
published ACDC test accuracies beside them (real data: not comparable with phantoms);
none is listed for M&Ms, a segmentation challenge. Run times are in the README.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from seqimaging.bench.recipes import FULL, PHASES, QUICK, DiagnosisConfig, Recipe, RecipeRunner
from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.data import InMemory
from seqimaging.evaluation import bootstrap_cases, diagnosis_scores, ef_scores
from seqimaging.evaluation.clinical import balanced_accuracy
from seqimaging.evaluation.selection import nested
from seqimaging.medical import ACDC, CineDataset, CineRecord, MnMs, known_classes
from seqimaging.medical.features import feature_classifier, feature_matrix
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

FIXED = {  # label: recipe, the same settings for every part
    "static (ED frame)": Recipe("static_classifier", "static_regressor"),
    "CNN+LSTM": Recipe("cnn_lstm_classifier", "cnn_lstm_regressor"),
    "ConvLSTM": Recipe("convlstm_classifier", "convlstm_regressor"),
    "ConvLSTM, ED/ES-aligned": Recipe(
        "convlstm_classifier", "convlstm_regressor", phases="ED/ES-aligned"
    ),
    "ConvLSTM, ED/ES-aligned, pretrained": Recipe(
        "convlstm_classifier", "convlstm_regressor", phases="ED/ES-aligned", pretrained=True
    ),
}
CANDIDATES = {  # the settings the inner cross-validation chooses from, simplest first
    f"{phases}, {inputs}, {factor}× epochs": Recipe(
        "convlstm_classifier", "convlstm_regressor", phases, inputs, epoch_factor=factor
    )
    for factor in (1, 3)
    for inputs in ("frames", "frames+differences")
    for phases in PHASES
}
CHOSEN = "ConvLSTM, settings by inner CV"
STATIC_CHOSEN = "static (ED frame), epochs by inner CV"
SEARCHES = {  # label: the candidates its inner cross-validation chooses from
    CHOSEN: CANDIDATES,
    STATIC_CHOSEN: {
        f"{factor}× epochs": Recipe("static_classifier", "static_regressor", epoch_factor=factor)
        for factor in (1, 3)
    },
}
CLASSICAL = "classical: mask features (oracle masks on phantoms)"
MAJORITY, MEAN = "majority class", "training mean"
PAIRS = (  # (model, reference): differences reported with a paired bootstrap CI
    ("ConvLSTM, ED/ES-aligned, pretrained", "ConvLSTM, ED/ES-aligned"),
    (CHOSEN, STATIC_CHOSEN),
    (CHOSEN, "ConvLSTM"),
)
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


@dataclass
class Cases:
    """A cohort's patients for one run, training ones first: what every model is scored on.

    The parts of an evaluation are ``(train, test)`` arrays of indices into these lists;
    ``ef`` is NaN where a patient has no masks; ``features``
    (:func:`~seqimaging.medical.features.feature_matrix`) is ``None`` unless every patient
    has masks.
    """

    ids: list[str]
    groups: list[str]
    labels: np.ndarray
    ef: np.ndarray
    features: np.ndarray | None
    classes: list[str]
    runner: RecipeRunner

    @property
    def config(self) -> DiagnosisConfig:
        return self.runner.config

    @property
    def seed(self) -> int:
        return self.runner.seed

    def folds(self, train: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The outer cross-validation of patients ``train``: folds of whole patients,
        stratified by diagnosis."""
        folds = group_folds(
            [self.groups[i] for i in train], self.labels[train], self.config.folds, seed=self.seed
        )
        return [(train[a], train[b]) for a, b in folds]


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
        "stratified by diagnosis, out-of-fold predictions pooled); settings of "
        f"{' and '.join(repr(label) for label in SEARCHES)} chosen by "
        f"{config.inner_folds}-fold cross-validation inside each part's training patients",
        seed=options.seed,
    )
    with TemporaryDirectory(prefix="forecasters-") as folder:
        cases = _cases(cohort, train + test, classes, config, options, Path(folder))
        trained = np.arange(len(train))
        official = [(trained, np.arange(len(train), len(cases.ids)))] if test else []
        evaluations = {"official": official} if test else {}
        evaluations["cross_validation"] = cases.folds(trained)
        # the choice of settings is nested in the official split, or in the outer CV without one
        choose = "official" if test else "cross_validation"
        diagnosis = {
            split: _diagnosis(cases, parts, choose=split == choose)
            for split, parts in evaluations.items()
        }
        ef = _ejection_fraction(cases, trained, official)
    if cases.features is None:
        record.text(f"Some patients have no masks at ED and ES: no '{CLASSICAL}' row.")
    _report_diagnosis(record, diagnosis, cohort.published, stand_in, config.bootstrap)
    if ef is None:
        record.section("LV ejection fraction", "No training patient has masks: no EF regression.")
    else:
        _report_ef(record, ef, config.bootstrap)
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
        sampling={phases: asdict(config.sampling(phases)) for phases in PHASES},
        models={label: asdict(recipe) for label, recipe in FIXED.items()},
        searches={
            label: {name: asdict(recipe) for name, recipe in recipes.items()}
            for label, recipes in SEARCHES.items()
        },
        model_kwargs=config.model_kwargs(),
    )


def _cases(
    cohort: Cohort,
    records: list[CineRecord],
    classes: list[str],
    config: DiagnosisConfig,
    options: BenchOptions,
    folder: Path,
) -> Cases:
    """The patients' samples for every row of :data:`PHASES`, labels, EF and features."""
    masks = [cohort.dataset.masks(r) for r in records]  # read once: the EF and the features
    efs = [None if m is None else m.lv_ejection_fraction() for m in masks]
    records = [
        replace(r, target=None if ef is None else (ef,)) for r, ef in zip(records, efs, strict=True)
    ]
    samples = {
        phases: InMemory(CineDataset(records, config.sampling(phases))).samples for phases in PHASES
    }
    return Cases(
        ids=[r.id for r in records],
        groups=[r.group or r.id for r in records],
        labels=np.array([r.label for r in records]),
        ef=np.array([np.nan if ef is None else ef for ef in efs]),
        features=None if any(m is None for m in masks) else feature_matrix(masks),
        classes=classes,
        runner=RecipeRunner(samples, classes, config, options.seed, folder, options.device),
    )


def _pooled(cases: Cases, parts: list[tuple[np.ndarray, np.ndarray]], predictions: dict) -> dict:
    """What every pooled evaluation records: sizes, and the predictions per test patient."""
    test = np.concatenate([b for _, b in parts])
    return {
        "train_patients": [len(a) for a, _ in parts],
        "test_patients": len(test),
        "predictions": {
            "id": [cases.ids[i] for i in test],
            "fold": [k for k, (_, b) in enumerate(parts) for _ in b],
            **predictions,
        },
    }


def _chosen(
    cases: Cases, kind: str, parts: list, score: Callable[[np.ndarray, np.ndarray], float]
) -> tuple[dict[str, np.ndarray], dict[str, list[dict]]]:
    """Each search of :data:`SEARCHES`: the predictions of the candidate chosen inside each
    part, and the choices."""
    predictions, choices = {}, {}
    for label, recipes in SEARCHES.items():
        candidates = {
            name: lambda a, b, recipe=recipe: cases.runner.predict(recipe, kind, [(a, b)])
            for name, recipe in recipes.items()
        }
        predictions[label], selections = nested(
            candidates,
            parts,
            cases.groups,
            list(cases.labels),
            score,
            folds=cases.config.inner_folds,
            seed=cases.seed,
        )
        choices[label] = [asdict(selection) for selection in selections]
    return predictions, choices


def _classical(cases: Cases, parts: list) -> np.ndarray:
    """Class probabilities of :func:`~seqimaging.medical.features.feature_classifier` on
    the mask features, trained on each part's training patients."""
    k, outputs = len(cases.classes), []
    for train, test in parts:
        model = feature_classifier(seed=cases.seed, folds=cases.config.inner_folds)
        model.fit(cases.features[train], cases.labels[train])
        full = np.zeros((len(test), k))
        full[:, model.classes_] = model.predict_proba(cases.features[test])
        outputs.append(full)
    return np.concatenate(outputs)


def _diagnosis(cases: Cases, parts: list, *, choose: bool) -> dict:
    """Every classifier trained on each part, predicting its test patients, pooled;
    :data:`CHOSEN` too where ``choose``."""
    y = np.concatenate([cases.labels[b] for _, b in parts])
    probabilities = {
        MAJORITY: np.concatenate(
            [
                np.tile(
                    class_frequencies(cases.labels[a].tolist(), len(cases.classes)), (len(b), 1)
                )
                for a, b in parts
            ]
        )
    }
    if cases.features is not None:
        probabilities[CLASSICAL] = _classical(cases, parts)
    for label, recipe in FIXED.items():
        probabilities[label] = cases.runner.predict(recipe, "diagnosis", parts)
    selection = None
    if choose:
        chosen, selection = _chosen(
            cases,
            "diagnosis",
            parts,
            lambda idx, p: balanced_accuracy(cases.labels[idx], p.argmax(axis=1)),
        )
        probabilities |= chosen
    predicted = {label: p.argmax(axis=1) for label, p in probabilities.items()}
    n_boot, seed = cases.config.bootstrap, cases.seed
    return _pooled(
        cases, parts, {"label": y.tolist()} | {k: p.tolist() for k, p in predicted.items()}
    ) | {
        "classes": cases.classes,
        "scores": {
            label: diagnosis_scores(y, p, cases.classes, n_boot, seed)
            for label, p in probabilities.items()
        },
        "differences": _differences(
            predicted, lambda i, p: balanced_accuracy(y[i], p[i]), len(y), n_boot, seed
        ),
        "selection": selection,
        "probabilities": {label: p.tolist() for label, p in probabilities.items()},
    }


def _differences(
    predicted: dict[str, np.ndarray],
    score: Callable[[np.ndarray, np.ndarray], float],
    n: int,
    n_boot: int,
    seed: int,
) -> dict[str, list]:
    """``model − reference`` of ``score`` for each pair of :data:`PAIRS` run here, with a
    paired percentile-bootstrap CI (the same resampled patients for both)."""
    return {
        f"{model} − {reference}": list(
            bootstrap_cases(
                lambda i, m=model, r=reference: score(i, predicted[m]) - score(i, predicted[r]),
                n,
                n_boot=n_boot,
                seed=seed,
            )
        )
        for model, reference in PAIRS
        if model in predicted and reference in predicted
    }


def _ejection_fraction(cases: Cases, trained: np.ndarray, official: list) -> dict | None:
    """The regressors on the patients with masks: on the official split where its test
    patients have them (settings chosen inside it), else cross-validated."""
    has_ef = ~np.isnan(cases.ef)
    train = trained[has_ef[trained]]
    if not len(train):
        return None
    test = official[0][1][has_ef[official[0][1]]] if official else np.array([], int)
    split = "official" if len(test) else "cross_validation"
    parts = [(train, test)] if len(test) else cases.folds(train)
    ef = np.concatenate([cases.ef[b] for _, b in parts])
    predictions = {MEAN: np.concatenate([np.full(len(b), cases.ef[a].mean()) for a, b in parts])}
    for label, recipe in FIXED.items():
        predictions[label] = cases.runner.predict(recipe, "ef", parts)
    chosen, selection = _chosen(
        cases, "ef", parts, lambda idx, p: -float(np.mean(np.abs(cases.ef[idx] - p)))
    )
    predictions |= chosen
    n_boot, seed = cases.config.bootstrap, cases.seed

    def mae(i: np.ndarray, p: np.ndarray) -> float:  # negated: higher is better, as bacc
        return -float(np.mean(np.abs(ef[i] - p[i])))

    return {
        "split": split,
        **_pooled(
            cases, parts, {"ef": ef.tolist()} | {k: p.tolist() for k, p in predictions.items()}
        ),
    } | {
        "scores": {label: ef_scores(ef, p, n_boot, seed) for label, p in predictions.items()},
        "differences": _differences(predictions, mae, len(ef), n_boot, seed),
        "selection": selection,
    }


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
        shown = [m for m in (CLASSICAL, STATIC_CHOSEN, CHOSEN) if m in result["scores"]]
        record.table(class_rows({m: result["scores"][m] for m in shown}, result["classes"]))
        _report_choices(record, result, "balanced accuracy", "balanced accuracy", n_boot)
    split = next(iter(diagnosis))
    model = CHOSEN if CHOSEN in diagnosis[split]["scores"] else "ConvLSTM"
    record.figure(
        confusion_matrix_figure(
            np.array(diagnosis[split]["scores"][model]["confusion_matrix"]),
            diagnosis[split]["classes"],
        ),
        "confusion_matrix.png",
        f"{model} confusion matrix, {_describe(split, diagnosis[split])} (rows: true class)",
    )


def _report_choices(
    record: BenchRecord, result: dict, metric: str, scored: str, n_boot: int
) -> None:
    """The paired differences in ``metric``, and every candidate's ``scored`` (the absolute
    value of its score) in the inner cross-validation."""
    differences = result["differences"]
    if differences:
        record.text(
            f"Differences in {metric} (paired bootstrap 95% CI, {n_boot} resamples of the "
            "same patients for both models):"
        )
        record.table(
            [{"difference": name, metric: _interval(v)} for name, v in differences.items()]
        )
    for label, selections in (result["selection"] or {}).items():
        record.text(
            f"'{label}': each candidate's {scored} in the inner cross-validation of each "
            "part's training patients (out-of-fold predictions pooled); the chosen one is "
            "trained on all of them and scored once on the part's test patients."
        )
        record.table(
            [
                {"part": k, "chosen": s["chosen"]}
                | {name: f"{abs(v):.3f}" for name, v in s["scores"].items()}
                for k, s in enumerate(selections)
            ]
        )


def _interval(value: list) -> str:
    estimate, low, high = value
    return f"{estimate:+.3f} ({low:+.3f} to {high:+.3f})"


def _report_ef(record: BenchRecord, ef: dict, n_boot: int) -> None:
    record.section(
        f"LV ejection fraction, {_describe(ef['split'], ef)}",
        "Patients with masks; the reference EF is counted in the masks at ED and ES (so a "
        "model on the masks' volumes would be exact: no classical row). MAE in EF points "
        "and R², estimate (bootstrap 95% CI); bias and 95% limits of agreement of "
        "predicted − reference.",
    )
    record.table(agreement_rows(ef["scores"]))
    _report_choices(record, ef, "MAE reduction [EF points]", "MAE [EF points]", n_boot)
    predictions = {label: np.array(values) for label, values in ef["predictions"].items()}
    shown = [m for m in (STATIC_CHOSEN, "ConvLSTM", CHOSEN) if m in predictions]
    record.figure(
        bland_altman_figure(predictions["ef"], {m: predictions[m] for m in shown}),
        "bland_altman.png",
        "Bland–Altman plots of EF regressors: predicted − reference against their mean "
        "(solid: bias; dashed: 95% limits of agreement)",
    )


def _describe(split: str, result: dict) -> str:
    train, test = result["train_patients"], result["test_patients"]
    if split == "official":
        return f"official split: {train[0]} training → {test} test patients"
    return f"{len(train)}-fold cross-validation of {test} patients, out-of-fold predictions pooled"


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
