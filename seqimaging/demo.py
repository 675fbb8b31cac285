"""``seqimaging demo``: the whole toolkit on embedded data, with honest baselines.

1. Writes ACDC-layout beating-heart phantoms and a synthetic GeoTIFF cloud series into a
   cache folder, and reads them back through the readers users call
   (:class:`~seqimaging.medical.ACDC`, :func:`~seqimaging.geo.read_stack`).
2. Diagnosis: trains the ConvLSTM classifier and the static single-frame baseline on one
   patient-level split; reports balanced accuracy and macro F1 with bootstrap 95% CIs
   next to the majority class.
3. Forecasting: trains the ConvLSTM forecaster on region-split windows; reports MSE, MAE
   and SSIM per lead time next to persistence, and the skill over persistence.
4. Writes ``<out>/<date>_<time>/``: ``report.md`` with the figures, ``metrics.json``
   (metrics, versions, hardware, seed, config), ``config.yaml``, the checkpoints and
   the training logs.

On a CPU the same seed gives the same numbers.
"""

import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.loggers import CSVLogger
from sklearn.metrics import balanced_accuracy_score, f1_score
from torch.utils.data import DataLoader

from seqimaging.data import InMemory, SequenceDataModule
from seqimaging.evaluation import bootstrap_ci
from seqimaging.report import (
    GREY,
    REFLECTANCE,
    Report,
    confusion_matrix_figure,
    curves_figure,
    epoch_metrics,
    image_strip_figure,
    importance_figure,
    save_gif,
    temporal_occlusion,
)
from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask
from seqimaging.tasks.checkpoints import SafeCheckpointIO
from seqimaging.training_cli import fresh_run_name


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo; :data:`FULL` by default, :data:`QUICK` with ``--quick``."""

    patients_per_group: int
    cine_frames: int
    cine_size: int
    cine_epochs: int
    cloud_frames: int
    cloud_size: int
    forecast_epochs: int
    bootstrap: int = 2000
    batch_size: int = 16


FULL = DemoConfig(80, 10, 32, 60, 40, 64, 40)
QUICK = DemoConfig(30, 8, 24, 30, 40, 64, 20, bootstrap=500)
CLASSIFIERS = {"ConvLSTM": "convlstm_classifier", "static (ED frame)": "static_classifier"}
CONTEXT, HORIZON, REGION = 6, 3, 16


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/seqimaging/demo``, or ``~/.cache/seqimaging/demo``."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqimaging" / "demo"


def cached_folder(folder: Path, make) -> Path:
    """``make(tmp)`` once into ``folder`` (written aside, then renamed: never half-made)."""
    if not folder.is_dir():
        partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        make(partial)
        partial.rename(folder)
    return folder


def _trainer(run: Path, name: str, epochs: int, *, progress: bool) -> L.Trainer:
    return L.Trainer(
        max_epochs=epochs,
        accelerator="auto",
        logger=CSVLogger(run / "logs", name=name, version=""),
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=1,
        plugins=[SafeCheckpointIO()],
    )


def _ci(y_true: np.ndarray, y_pred: np.ndarray, metric, config: DemoConfig, seed: int) -> list:
    return list(bootstrap_ci(y_true, y_pred, metric, n_boot=config.bootstrap, seed=seed))


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return f1_score(y_true, y_pred, average="macro", zero_division=0)


def diagnosis(
    config: DemoConfig, cache: Path, run: Path, report: Report, seed: int, progress: bool
) -> dict:
    """Train and evaluate the classifiers on the phantoms; add the section to ``report``."""
    from seqimaging.medical import ACDC, CineSampling
    from seqimaging.medical.phantoms import make_acdc_like

    name = f"phantoms-{config.patients_per_group}-seed{seed}"
    root = cached_folder(cache / name, lambda d: make_acdc_like(d, config.patients_per_group, seed))
    sampling = CineSampling(slices=3, frames=config.cine_frames, spacing=3.5, size=config.cine_size)
    data = InMemory(ACDC(root, "training", sampling))
    split = SequenceDataModule(
        data, batch_size=config.batch_size, val_fraction=0.15, test_fraction=0.3, seed=seed
    )
    split.setup()
    labels = np.array(data.labels)
    y_true = labels[split.test_indices]
    majority = np.full_like(y_true, np.bincount(labels[split.train_indices]).argmax())
    results = {
        "majority class": {
            "balanced_accuracy": _ci(y_true, majority, balanced_accuracy_score, config, seed),
            "macro_f1": _ci(y_true, majority, _macro_f1, config, seed),
        }
    }
    curves, tasks = {}, {}
    for label, model in CLASSIFIERS.items():
        L.seed_everything(seed, verbose=False)
        task = ClassificationTask(
            model,
            in_channels=sampling.slices,
            num_classes=len(data.class_names),
            class_names=list(data.class_names),
            lr=3e-3,
            scheduler="cosine",
            model_kwargs={"stride": 4, "width": 16, "hidden_channels": 32, "pooling": "mean"},
        )
        trainer = _trainer(run, model, config.cine_epochs, progress=progress)
        trainer.fit(task, split)
        trainer.save_checkpoint(run / "checkpoints" / f"{model}.ckpt")
        probabilities = torch.cat(trainer.predict(task, split.test_dataloader()))
        y_pred = probabilities.argmax(dim=1).numpy()
        results[label] = {
            "balanced_accuracy": _ci(y_true, y_pred, balanced_accuracy_score, config, seed),
            "macro_f1": _ci(y_true, y_pred, _macro_f1, config, seed),
            "confusion_matrix": _confusion(y_true, y_pred, len(data.class_names)).tolist(),
        }
        curves[label] = epoch_metrics(Path(trainer.logger.log_dir) / "metrics.csv")
        tasks[label] = task

    report.heading("Diagnosis: ACDC-like cine phantoms")
    report.text(
        f"{len(data)} phantom patients (5 groups), split by patient: "
        f"{len(split.train_indices)} train, {len(split.val_indices)} validation, "
        f"{len(y_true)} test; seed {seed}. Balanced accuracy and macro F1 on the test "
        f"patients with bootstrap 95% CIs ({config.bootstrap} resamples)."
    )
    report.table(_diagnosis_rows(results))
    convlstm = next(iter(CLASSIFIERS))
    report.figure(
        confusion_matrix_figure(
            np.array(results[convlstm]["confusion_matrix"]), list(data.class_names)
        ),
        "confusion_matrix.png",
        "ConvLSTM confusion matrix on the test patients (rows: true group)",
    )
    report.figure(
        _importance(tasks[convlstm], data, split.test_indices, y_true),
        "cine_importance.png",
        "A test patient's mid slice over the cycle, and how much hiding each frame "
        "lowers the ConvLSTM's confidence (temporal occlusion)",
    )
    report.figure(
        _curves_figure(curves, "loss"), "training_curves_diagnosis.png", "Diagnosis: loss per epoch"
    )
    return results


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    return np.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(
        classes, classes
    )


def _diagnosis_rows(results: dict) -> list[dict]:
    def cell(value: list) -> str:
        estimate, low, high = value
        return f"{estimate:.3f} ({low:.3f}–{high:.3f})"

    return [
        {
            "model": name,
            "balanced accuracy (95% CI)": cell(r["balanced_accuracy"]),
            "macro F1 (95% CI)": cell(r["macro_f1"]),
        }
        for name, r in results.items()
    ]


def _importance(task: ClassificationTask, data, test_indices, y_true):
    """Temporal occlusion for a typical test patient: correctly classified, with the median
    confidence of those (the surest ones barely react to any single frame)."""
    model = task.model.eval()
    frames = torch.stack([data[int(i)]["frames"] for i in test_indices])
    with torch.no_grad():
        probabilities = model(frames).softmax(-1)
    correct = np.flatnonzero(probabilities.argmax(-1).numpy() == y_true)
    candidates = correct if len(correct) else np.arange(len(frames))
    confidence = probabilities.max(-1).values.numpy()[candidates]
    best = int(candidates[np.argsort(confidence)[len(candidates) // 2]])
    importance = temporal_occlusion(model, frames[best])
    mid = frames.shape[2] // 2
    figure = importance_figure(frames[best, :, mid].numpy(), importance.numpy(), scale=GREY)
    figure.axes[-1].set_ylabel("drop in log-odds")
    figure.suptitle(f"group {data.class_names[y_true[best]]}", fontsize=9)
    return figure


def _curves_figure(tables: dict, what: str):
    curves = {}
    for name, table in tables.items():
        for stage in ("train", "val"):
            column = f"{stage}/{what}_epoch" if stage == "train" else f"{stage}/{what}"
            if column in table:
                series = table[column].dropna()
                curves[f"{name} {stage}"] = (series.index.to_numpy(), series.to_numpy())
    return curves_figure(curves, xlabel="epoch", ylabel=what)


def forecasting(
    config: DemoConfig, cache: Path, run: Path, report: Report, seed: int, progress: bool
) -> dict:
    """Train and evaluate the forecaster on the cloud series; add the section to ``report``."""
    from seqimaging.geo import CubeWindows, read_stack
    from seqimaging.geo.synthetic import make_cloud_series

    name = f"clouds-{config.cloud_frames}x{config.cloud_size}-seed{seed}"
    folder = cached_folder(
        cache / name,
        lambda d: make_cloud_series(
            d, n_frames=config.cloud_frames, seed=seed, size=config.cloud_size
        ),
    )
    cube = read_stack(folder).sel(band=["reflectance"]).load()
    low, high = float(cube.min()), float(cube.max())
    cube = (cube - low) / (high - low)
    windows = CubeWindows(cube, CONTEXT, HORIZON, patch=REGION, region=REGION, time_unit="h")
    train, val, test = windows.split(val_fraction=0.15, test_fraction=0.25, seed=seed)
    loaders = [
        DataLoader(
            InMemory(part), batch_size=config.batch_size, shuffle=shuffle, collate_fn=collate
        )
        for part, shuffle in ((train, True), (val, False), (test, False))
    ]
    L.seed_everything(seed, verbose=False)
    task = ForecastTask(
        "convlstm_forecaster",
        in_channels=1,
        horizon=HORIZON,
        lr=3e-3,
        model_kwargs={"stride": 2, "width": 16, "hidden_channels": 32},
    )
    trainer = _trainer(run, "convlstm_forecaster", config.forecast_epochs, progress=progress)
    trainer.fit(task, loaders[0], loaders[1])
    trainer.save_checkpoint(run / "checkpoints" / "convlstm_forecaster.ckpt")
    results = {}
    for label, model in (
        ("ConvLSTM", task),
        ("persistence", ForecastTask("persistence_forecaster", horizon=HORIZON)),
    ):
        trainer.test(model, loaders[2], verbose=False)
        results[label] = {k.split("/")[1]: v.tolist() for k, v in model.last_metrics.items()}
    skill = results["ConvLSTM"]["skill"]

    report.heading("Forecasting: synthetic cloud series")
    report.text(
        f"{config.cloud_frames} hourly GeoTIFF frames of {config.cloud_size}² pixels (a nodata "
        f"border, one frame in another CRS, read back with `read_stack`), windows of {CONTEXT} "
        f"→ {HORIZON} frames on {REGION}-pixel regions split by region: {len(train)} train, "
        f"{len(val)} validation, {len(test)} test windows; seed {seed}. Reflectance scaled to "
        "[0, 1]; MSE and MAE per pixel; skill = 1 − MSE / MSE of persistence."
    )
    report.table(_forecast_rows(results), digits=4)
    sample = test[int(np.argmax([(w["future"] - w["frames"][-1]).abs().mean() for w in test]))]
    with torch.no_grad():
        forecast = task.model.eval()(collate([sample]))[0, :, 0].numpy()
    context, truth = sample["frames"][:, 0].numpy(), sample["future"][:, 0].numpy()
    leads = [f"+{k + 1} h" for k in range(HORIZON)]
    report.figure(
        image_strip_figure(
            {"context": context[-HORIZON:], "truth": truth, "forecast": forecast},
            scale=REFLECTANCE,
            column_titles=leads,
            error={"error": forecast - truth},
        ),
        "forecast_strip.png",
        "The test window that changes most: last context frames, truth, forecast, error",
    )
    save_gif(
        {"truth": truth, "forecast": forecast},
        run / "forecast.gif",
        scale=REFLECTANCE,
        frame_titles=leads,
    )
    report.link("forecast.gif", "The forecast, animated")
    report.figure(
        curves_figure(
            {"ConvLSTM": (np.arange(1, HORIZON + 1), skill)},
            xlabel="lead time [h]",
            ylabel="skill over persistence",
        ),
        "skill_by_lead.png",
        "Skill over persistence against lead time (above 0: better than persistence)",
    )
    report.figure(
        _curves_figure(
            {"ConvLSTM": epoch_metrics(Path(trainer.logger.log_dir) / "metrics.csv")}, "loss"
        ),
        "training_curves_forecast.png",
        "Forecasting: loss per epoch",
    )
    return results


def _forecast_rows(results: dict) -> list[dict]:
    rows = []
    for k in range(HORIZON):
        row = {"lead": f"+{k + 1} h"}
        for name, r in results.items():
            for metric in ("mse", "mae", "ssim"):
                row[f"{name} {metric.upper()}"] = r[metric][k]
        row["skill"] = results["ConvLSTM"]["skill"][k]
        rows.append(row)
    return rows


def run_demo(
    out: str | Path = "runs/demo",
    *,
    quick: bool = False,
    seed: int = 0,
    cache: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the demo; print the results table; return the metrics written to ``metrics.json``."""
    config = QUICK if quick else FULL
    cache = Path(cache) if cache is not None else default_cache()
    out = Path(out)
    run = out / fresh_run_name(out)
    started = time.perf_counter()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    report = Report(run, "seqimaging demo")
    report.text(
        f"`seqimaging demo{' --quick' if quick else ''}`, seed {seed}. Every number sits next "
        "to its baseline; splits are by patient and by region."
    )
    metrics = {
        "diagnosis": diagnosis(config, cache, run, report, seed, progress),
        "forecasting": forecasting(config, cache, run, report, seed, progress),
    }
    wall = time.perf_counter() - started
    report.text(f"Wall time {wall:.0f} s.")
    (run / "config.yaml").write_text(
        yaml.safe_dump({"quick": quick, "seed": seed, **asdict(config)})
    )
    report.write(
        metrics={
            **metrics,
            "seed": seed,
            "quick": quick,
            "config": asdict(config),
            "wall_time_s": wall,
        }
    )
    print(_results_text(metrics, seed, wall, run))
    return metrics


def _results_text(metrics: dict, seed: int, wall: float, run: Path) -> str:
    from seqimaging.report import markdown_table

    return "\n\n".join(
        [
            f"seqimaging demo results (seed {seed}, {wall:.0f} s)",
            "Diagnosis, test patients:\n" + markdown_table(_diagnosis_rows(metrics["diagnosis"])),
            "Forecasting, test windows:\n"
            + markdown_table(_forecast_rows(metrics["forecasting"]), 4),
            f"Report: {run / 'report.md'}",
        ]
    )
