"""Diagnosis from cardiac cine MRI: does the heart's motion tell more than one frame?

Trains the ConvLSTM classifier and the static single-frame baseline (the end-diastolic
frame only) on ACDC-like beating-heart phantoms, or on real ACDC with ``--root``, with the
same patients and seed. With ``--root``, ACDC's official parts are used when both are
there: the models train on ``training/`` (100 patients) and are scored once on
``testing/`` (50); with ``training/`` only (and on the phantoms) 30% of its patients are
held out, split by patient and stratified by group. Prints each model's balanced
accuracy on the test patients with a bootstrap 95% CI, next to the majority class, and
writes each model's confusion matrix as a PNG. The phantom groups differ mostly in how
the heart moves (ejection fraction, an akinetic segment, right-ventricular function), so
one frame is not enough.

    python examples/cardiac_cine_classification.py            # phantoms: about 2 min on 2 CPU cores
    python examples/cardiac_cine_classification.py --root /data/ACDC/database
"""

import argparse
import tempfile
from pathlib import Path

import lightning as L
import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from seqimaging.data import InMemory, SequenceDataModule
from seqimaging.evaluation import bootstrap_ci
from seqimaging.medical import ACDC, CineSampling
from seqimaging.medical.phantoms import make_acdc_like
from seqimaging.models.baselines import class_frequencies
from seqimaging.report.plots import confusion_matrix_figure, save_figure
from seqimaging.tasks import ClassificationTask
from seqimaging.tasks.training import fit, predict

# 3 mid-ventricular slices as channels, 10 phases from end-diastole, 112 mm around the heart
SAMPLING = CineSampling(slices=3, frames=10, spacing=3.5, size=32)
MODELS = {"ConvLSTM": "convlstm_classifier", "static (ED frame)": "static_classifier"}


def main(
    root: str | Path | None = None,
    *,
    n_per_class: int = 80,
    epochs: int = 60,
    seed: int = 0,
    n_boot: int = 2000,
    out: str | Path = "runs/cardiac_cine",
) -> dict[str, tuple[float, float, float]]:
    """Train both models; return ``{model: (balanced accuracy, CI low, CI high)}``."""
    with tempfile.TemporaryDirectory() as tmp:
        if root is None:
            root = make_acdc_like(tmp, n_per_class=n_per_class, seed=seed)
        split = _patients(Path(root), seed)
    split.setup()
    data = split.dataset
    labels = np.array(data.labels)
    y_true = np.array([int(sample["label"]) for sample in split.test_set])
    majority = class_frequencies(labels[split.train_indices], len(data.class_names)).argmax()
    results = {
        "majority class": bootstrap_ci(
            y_true,
            np.full_like(y_true, majority),
            balanced_accuracy_score,
            n_boot=n_boot,
            seed=seed,
        )
    }
    for name, model in MODELS.items():
        L.seed_everything(seed, verbose=False)
        task = ClassificationTask(
            model,
            in_channels=SAMPLING.slices,
            num_classes=len(data.class_names),
            lr=3e-3,
            scheduler="cosine",
            model_kwargs={"stride": 4, "width": 16, "hidden_channels": 32, "pooling": "mean"},
        )
        fit(task, split.train_dataloader(), max_epochs=epochs)
        y_pred = predict(task, split.test_dataloader()).argmax(dim=1).numpy()
        results[name] = bootstrap_ci(
            y_true, y_pred, balanced_accuracy_score, n_boot=n_boot, seed=seed
        )
        matrix = confusion_matrix(y_true, y_pred, labels=range(len(data.class_names)))
        figure = confusion_matrix_figure(matrix, data.class_names)
        figure.suptitle(f"{name}: held-out patients")
        save_figure(figure, Path(out) / f"confusion_{model}.png")
    print(
        f"{len(split.train_indices)} training and {len(y_true)} test patients "
        f"(class counts {np.bincount(y_true, minlength=len(data.class_names)).tolist()}), "
        f"seed {seed}; confusion matrices in {out}"
    )
    for name, (value, low, high) in results.items():
        print(f"{name:20s} balanced accuracy {value:.3f} (95% CI {low:.3f}–{high:.3f})")
    return results


def _patients(root: Path, seed: int) -> SequenceDataModule:
    """ACDC's official ``training``/``testing`` parts where both exist; else ``training``
    with 30% of its patients held out (stratified by group)."""
    training = InMemory(ACDC(root, "training", SAMPLING))
    if (root / "testing").is_dir():
        testing = InMemory(ACDC(root, "testing", SAMPLING))
        return SequenceDataModule(
            training, test_dataset=testing, batch_size=16, val_fraction=0.0, seed=seed
        )
    return SequenceDataModule(
        training, batch_size=16, val_fraction=0.0, test_fraction=0.3, seed=seed
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", help="an ACDC folder holding training/ and testing/ (default: phantoms)"
    )
    parser.add_argument("--n-per-class", type=int, default=80, help="phantom patients per group")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/cardiac_cine", help="folder for the PNGs")
    args = parser.parse_args()
    main(args.root, n_per_class=args.n_per_class, epochs=args.epochs, seed=args.seed, out=args.out)
