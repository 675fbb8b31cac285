"""``seqimaging demo``: the whole toolkit on embedded data, with honest baselines.

1. Writes ACDC-layout beating-heart phantoms and a synthetic GeoTIFF cloud series into a
   cache folder, and reads them back through the readers users call
   (:class:`~seqimaging.medical.ACDC`, :func:`~seqimaging.geo.read_stack`).
2. Diagnosis: trains the ConvLSTM classifier and the static single-frame baseline on one
   patient-level split; scores them with bootstrap 95% CIs next to the majority class.
3. Forecasting: trains the ConvLSTM forecaster on region-split windows; reports MSE, MAE
   and SSIM per lead time next to persistence and optical-flow extrapolation (whose
   motion field is drawn), and the skill over persistence.
4. Writes ``<out>/<date>_<time>/``: ``report.md`` with the figures, ``metrics.json``
   (metrics, versions, hardware, seed, config), ``config.yaml``, the checkpoints and
   the training logs.

On a CPU the same seed gives the same numbers.
"""

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.loggers import CSVLogger

from seqimaging.data import InMemory, SequenceDataModule, sample_loader
from seqimaging.evaluation import diagnosis_scores
from seqimaging.files import cached_folder
from seqimaging.models.baselines import class_frequencies
from seqimaging.report import GREY, REFLECTANCE, Report, interval_rows, markdown_table
from seqimaging.report.sections import diagnosis_figures, forecast_figures
from seqimaging.runs import claim_run_folder
from seqimaging.tasks import ClassificationTask, ForecastTask
from seqimaging.tasks.training import quiet_trainer, scores_on_test


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
VALIDATE_EVERY = 2
"""Epochs between validation passes: they draw the training curves, and no number the
demo reports depends on them (no checkpoint is chosen by them); each cost about a
seventh of a ConvLSTM classifier training epoch (0.10 of 0.73 s)."""


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/seqimaging/demo``, or ``~/.cache/seqimaging/demo``."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "seqimaging" / "demo"


def _trainer(run: Path, name: str, epochs: int, progress: bool) -> L.Trainer:
    logger = CSVLogger(run / "logs", name=name, version="")
    return quiet_trainer(
        validate=True,
        logger=logger,
        progress=progress,
        max_epochs=epochs,
        log_every_n_steps=1,
        check_val_every_n_epoch=VALIDATE_EVERY,
    )


def _readers() -> int:
    """Processes that read the phantoms: one per thread torch computes with, none for one."""
    threads = torch.get_num_threads()
    return threads if threads > 1 else 0


def diagnosis(config: DemoConfig, cache: Path, run: Path, report: Report, seed: int, progress):
    """Train and score the classifiers on the phantoms; add the section to ``report``."""
    from seqimaging.medical import ACDC, CineSampling
    from seqimaging.medical.phantoms import make_acdc_like

    name = f"phantoms-{config.patients_per_group}-seed{seed}"
    root = cached_folder(cache / name, lambda d: make_acdc_like(d, config.patients_per_group, seed))
    sampling = CineSampling(slices=3, frames=config.cine_frames, spacing=3.5, size=config.cine_size)
    data = InMemory(ACDC(root, "training", sampling), workers=_readers())
    split = SequenceDataModule(
        data, batch_size=config.batch_size, val_fraction=0.15, test_fraction=0.3, seed=seed
    )
    split.setup()
    classes, labels = list(data.class_names), np.array(data.labels)
    y_true = labels[split.test_indices]
    frequencies = class_frequencies(labels[split.train_indices], len(classes))
    probabilities = {"majority class": np.tile(frequencies, (len(y_true), 1))}
    logs, tasks = {}, {}
    for label, model in CLASSIFIERS.items():
        L.seed_everything(seed, verbose=False)
        task = ClassificationTask(
            model,
            in_channels=sampling.slices,
            num_classes=len(classes),
            class_names=classes,
            lr=3e-3,
            scheduler="cosine",
            model_kwargs={"stride": 4, "width": 16, "hidden_channels": 32, "pooling": "mean"},
        )
        trainer = _trainer(run, model, config.cine_epochs, progress)
        trainer.fit(task, split)
        trainer.save_checkpoint(run / "checkpoints" / f"{model}.ckpt")
        probabilities[label] = torch.cat(trainer.predict(task, split.test_dataloader())).numpy()
        logs[label], tasks[label] = Path(trainer.logger.log_dir) / "metrics.csv", task
    results = {
        label: diagnosis_scores(y_true, p, classes, config.bootstrap, seed)
        for label, p in probabilities.items()
    }
    report.heading("Diagnosis: ACDC-like cine phantoms")
    report.text(
        f"{len(data)} phantom patients (5 groups), split by patient: "
        f"{len(split.train_indices)} train, {len(split.val_indices)} validation, "
        f"{len(y_true)} test; seed {seed}. Balanced accuracy and macro F1 on the test "
        f"patients with bootstrap 95% CIs ({config.bootstrap} resamples)."
    )
    report.table(_diagnosis_rows(results))
    convlstm = next(iter(CLASSIFIERS))
    test = torch.stack([data[int(i)]["frames"] for i in split.test_indices])
    diagnosis_figures(
        report,
        tasks[convlstm].model,
        test,
        y_true,
        classes,
        results[convlstm],
        logs,
        scale=GREY,
        name=convlstm,
    )
    return results


def _diagnosis_rows(results: dict) -> list[dict]:
    return interval_rows(
        results,
        {"balanced accuracy (95% CI)": "balanced_accuracy", "macro F1 (95% CI)": "macro_f1"},
    )


def forecasting(config: DemoConfig, cache: Path, run: Path, report: Report, seed: int, progress):
    """Train and test the forecaster on the cloud series; add the section to ``report``."""
    from seqimaging.geo import CubeWindows, min_max_scaled, read_stack
    from seqimaging.geo.synthetic import make_cloud_series

    name = f"clouds-{config.cloud_frames}x{config.cloud_size}-seed{seed}"
    folder = cached_folder(
        cache / name,
        lambda d: make_cloud_series(
            d, n_frames=config.cloud_frames, seed=seed, size=config.cloud_size
        ),
    )
    cube = min_max_scaled(read_stack(folder).sel(band=["reflectance"]).load())
    windows = CubeWindows(cube, CONTEXT, HORIZON, patch=REGION, region=REGION, time_unit="h")
    train, val, test = windows.split(val_fraction=0.15, test_fraction=0.25, seed=seed)
    loaders = [
        sample_loader(InMemory(part), config.batch_size, shuffle=part is train, seed=seed)
        for part in (train, val, test)
    ]
    L.seed_everything(seed, verbose=False)
    task = ForecastTask(
        "convlstm_forecaster",
        in_channels=1,
        horizon=HORIZON,
        lr=3e-3,
        model_kwargs={"stride": 2, "width": 16, "hidden_channels": 32},
    )
    trainer = _trainer(run, "convlstm_forecaster", config.forecast_epochs, progress)
    trainer.fit(task, loaders[0], loaders[1])
    trainer.save_checkpoint(run / "checkpoints" / "convlstm_forecaster.ckpt")
    persistence = ForecastTask("persistence_forecaster", horizon=HORIZON)
    extrapolation = ForecastTask("motion_forecaster", in_channels=1, horizon=HORIZON)
    results = {
        "ConvLSTM": scores_on_test(task, loaders[2], trainer),
        "persistence": scores_on_test(persistence, loaders[2], trainer),
        "extrapolation": scores_on_test(extrapolation, loaders[2], trainer),
    }

    report.heading("Forecasting: synthetic cloud series")
    report.text(
        f"{config.cloud_frames} hourly GeoTIFF frames of {config.cloud_size}² pixels (a nodata "
        f"border, one frame in another CRS, read back with `read_stack`), windows of {CONTEXT} "
        f"→ {HORIZON} frames on {REGION}-pixel regions split by region: {len(train)} train, "
        f"{len(val)} validation, {len(test)} test windows; seed {seed}. Reflectance scaled to "
        "[0, 1]; MSE and MAE per pixel; skill = skill_mse = 1 − MSE / MSE of persistence. "
        "Extrapolation: the last frame advected along the context's motion (pysteps' "
        "Lucas–Kanade and semi-Lagrangian scheme; `motion_forecaster` untrained, whose "
        "correction starts at zero)."
    )
    report.table(_forecast_rows(results), digits=4)
    forecast_figures(
        report,
        task.model,
        test,
        results["ConvLSTM"]["skill_mse"],
        {"ConvLSTM": Path(trainer.logger.log_dir) / "metrics.csv"},
        scale=REFLECTANCE,
        leads=[f"+{k + 1} h" for k in range(HORIZON)],
        motion=extrapolation.model,
        unit="h",
    )
    return results


def _forecast_rows(results: dict) -> list[dict]:
    rows = []
    for k in range(HORIZON):
        row = {"lead": f"+{k + 1} h"}
        for name, r in results.items():
            for metric in ("mse", "mae", "ssim"):
                row[f"{name} {metric.upper()}"] = r[metric][k]
        rows.append(row | {"skill": results["ConvLSTM"]["skill_mse"][k]})
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
    run = claim_run_folder(out)
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
    settings = {"seed": seed, "quick": quick, "config": asdict(config)}
    (run / "config.yaml").write_text(
        yaml.safe_dump({"quick": quick, "seed": seed} | asdict(config))
    )
    report.write(metrics=metrics | settings | {"wall_time_s": wall})
    print(
        f"seqimaging demo results (seed {seed}, {wall:.0f} s)\n\n"
        f"Diagnosis, test patients:\n{markdown_table(_diagnosis_rows(metrics['diagnosis']))}\n\n"
        f"Forecasting, test windows:\n{markdown_table(_forecast_rows(metrics['forecasting']), 4)}"
        f"\n\nReport: {run / 'report.md'}"
    )
    return metrics
