"""``seqimaging bench moving-shapes``: 10 → 10 frame forecasting of generated moving shapes,
scored as OpenSTL scores Moving MNIST.

Protocol:

- **Data.** :class:`~seqimaging.testing.MovingShapes`: one anti-aliased disk or square per
  sequence gliding at 1–3 pixels per frame across a wrap-around 64×64 image, 1 channel,
  values in [0, 1]; 10 context frames, then the 10 frames to forecast. One generator,
  seeded with ``--seed``, is split by index: the first sequences train, the rest test
  (disjoint index ranges, so no test sequence is seen in training). There is no
  validation set, because nothing is selected: the configuration below is fixed and the
  model of the last training step is the one tested.
- **Model.** Our :class:`~seqimaging.models.ConvLSTMForecaster` set up like OpenSTL's
  ConvLSTM-S (``configs/mmnist/ConvLSTM.py``): frames cut into 4×4 patches stacked as
  channels (64×64×1 → 16×16×16), a ConvLSTM with 5×5 kernels, a 1×1 convolution back
  to the patches, the frame itself predicted (not a change), trained with MSE and
  scheduled sampling, batch 16, Adam at learning rate 10⁻³. What differs:

  - width: 4 layers × 32 hidden channels, not 4 × 128, to train on 2 CPU cores in
    minutes;
  - training: 3 epochs over 2 560 sequences (480 steps), not 200 epochs over 10 000;
  - loss: over the 10 forecast steps only; OpenSTL also scores the model's prediction
    of each next context frame (19 steps);
  - scheduled sampling: the chance of feeding the true frame falls linearly from 1 to 0
    over the first 40 % of the steps, as OpenSTL's (1 − 2·10⁻⁵ per step, to 0 at step
    50 000 of 125 000); then the model's own frames;
  - learning-rate schedule: cosine decay from 10⁻³, not one-cycle;
  - the ConvLSTM's gate convolutions have a bias; OpenSTL's have none.

- **Baseline.** Persistence (the last context frame for every lead), on the same test
  sequences.
- **Metrics**, as OpenSTL's ``openstl/core/metrics.py`` computes them
  (:func:`~seqimaging.evaluation.frame_scores`: MSE and MAE per frame, PSNR, SSIM — not
  strictly comparable with OpenSTL's skimage SSIM), per test sequence and lead, then
  averaged over sequences, per lead and over all leads, with percentile-bootstrap 95 %
  CIs over test sequences (:func:`~seqimaging.evaluation.mean_scores`); ``skill_mse``
  over persistence resamples both models' errors with the same sequences
  (:func:`~seqimaging.evaluation.skill`).
- **Published row.** OpenSTL's ConvLSTM-S on Moving MNIST after 200 epochs (MSE 29.80,
  MAE 90.64, SSIM 0.9288, PSNR 22.10) stands in the table for orientation only: another
  data set, trained 200 epochs on a V100, not comparable.

``--quick`` runs the same code on 32×32 frames, a few sequences and one epoch.
"""

import math
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from matplotlib.colors import Normalize
from torch import nn
from torch.utils.data import DataLoader, Subset

from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.evaluation import frame_scores, mean_scores, skill
from seqimaging.models.baselines import Persistence
from seqimaging.report import ImageScale, image_strip_figure, interval, lead_figure
from seqimaging.sample import collate
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.training import default_device, fit
from seqimaging.testing import MovingShapes

CONTEXT = HORIZON = 10
METRICS = ("mse", "mae", "ssim", "psnr")
MODELS = ("ConvLSTM", "persistence")
PUBLISHED = {"mse": 29.80, "mae": 90.64, "ssim": 0.9288, "psnr": 22.10}
PUBLISHED_NAME = (
    "OpenSTL ConvLSTM-S, published: Moving MNIST, 200 epochs on a V100 "
    "(a different data set, not comparable)"
)
INTENSITY = ImageScale("gray", Normalize(0.0, 1.0), "intensity")


@dataclass(frozen=True)
class Config:
    """Sizes of a run: :data:`FULL` by default, :data:`QUICK` with ``--quick``."""

    size: int
    train: int
    test: int
    epochs: int
    hidden: tuple[int, ...]
    bootstrap: int
    batch_size: int = 16
    patch: int = 4
    kernel: int = 5
    lr: float = 1e-3
    sampling_fraction: float = 0.4


FULL = Config(size=64, train=2560, test=1000, epochs=3, hidden=(32, 32, 32, 32), bootstrap=2000)
QUICK = Config(size=32, train=64, test=32, epochs=1, hidden=(8, 8), bootstrap=200)


def _loader(data: MovingShapes, indices: range, config: Config, shuffle: bool) -> DataLoader:
    return DataLoader(
        Subset(data, indices), batch_size=config.batch_size, shuffle=shuffle, collate_fn=collate
    )


def train(data: MovingShapes, indices: range, config: Config, seed: int, device: str) -> nn.Module:
    """Train the ConvLSTM forecaster; return the trained network (in eval mode)."""
    L.seed_everything(seed, verbose=False)
    loader = _loader(data, indices, config, shuffle=True)
    steps = config.epochs * len(loader)
    task = ForecastTask(
        "convlstm_forecaster",
        in_channels=1,
        horizon=HORIZON,
        model_kwargs={
            "encoder": "patch",
            "stride": config.patch,
            "hidden_channels": list(config.hidden),
            "kernel_size": config.kernel,
            "residual": False,
        },
        teacher_forcing=1.0,
        teacher_forcing_steps=round(config.sampling_fraction * steps),
        optimizer="adam",
        lr=config.lr,
        weight_decay=0.0,
        scheduler="cosine",
    )
    return fit(task, loader, device=device, max_epochs=config.epochs).model


def evaluate(
    model: nn.Module, data: MovingShapes, indices: range, config: Config, device: str
) -> dict:
    """Per-frame scores ``[sequences, leads]`` of the model and of persistence."""
    models = {"ConvLSTM": model.to(device), "persistence": Persistence(HORIZON)}
    parts: dict[str, list[dict]] = {name: [] for name in MODELS}
    with torch.no_grad():
        for batch in _loader(data, indices, config, shuffle=False):
            frames = batch["frames"].to(device)
            for name, net in models.items():
                parts[name].append(frame_scores(net(frames), batch["future"]))
    return {
        name: {m: np.concatenate([p[m] for p in parts[name]]) for m in METRICS} for name in MODELS
    }


def bench(out: Path, options: BenchOptions) -> dict:
    """Run the benchmark into ``out``; return what ``results.json`` holds."""
    config = QUICK if options.quick else FULL
    device = default_device(options.device)
    seed = options.seed
    data = MovingShapes(
        config.train + config.test,
        frames=CONTEXT,
        horizon=HORIZON,
        size=config.size,
        seed=seed,
    )
    train_indices = range(config.train)
    test_indices = range(config.train, len(data))
    record = BenchRecord(
        "moving-shapes",
        out,
        f"{CONTEXT} → {HORIZON} forecasting of moving shapes in OpenSTL's conventions",
        data=(
            f"the generated MovingShapes set (seqimaging.testing): one disk or square per "
            f"sequence moving at 1–3 px per frame on a wrap-around {config.size}×{config.size} "
            f"image, 1 channel, values in [0, 1]; {CONTEXT} context and {HORIZON} future frames"
        ),
        stand_in=False,
        split=(
            f"one MovingShapes generator with seed {seed}: sequences 0–{config.train - 1} "
            f"train, {config.train}–{len(data) - 1} test ({config.test}); no validation set "
            "(fixed configuration, the last training step is tested)"
        ),
        seed=seed,
    )
    started = time.perf_counter()
    model = train(data, train_indices, config, seed, device)
    train_seconds = time.perf_counter() - started
    scores = evaluate(model, data, test_indices, config, device)
    results = {
        name: mean_scores(s, n_boot=config.bootstrap, seed=seed) for name, s in scores.items()
    }
    results["ConvLSTM"]["skill_mse"] = skill(
        scores["ConvLSTM"]["mse"], scores["persistence"]["mse"], n_boot=config.bootstrap, seed=seed
    )

    record.section("Model", _model_text(config, train_seconds))
    record.section(
        "Averaged over the 10 leads",
        "Per frame and test sequence as OpenSTL scores: MSE and MAE summed over the frame's "
        "C·H·W pixels on [0, 1], PSNR = −10·log10 of the frame's mean squared error, SSIM "
        "torchmetrics' with `data_range=1` (OpenSTL's is skimage's with its defaults: not "
        "strictly comparable); PSNR and SSIM on forecasts clipped to [0, 1]; then averaged "
        "over sequences and leads. Bootstrap 95% CIs over the test sequences. Skill = "
        "skill_mse = 1 − MSE / MSE of persistence (paired).",
    )
    record.table(_mean_rows(results))
    record.section("Per lead")
    record.table(_lead_rows(results))
    _figures(record, model, data, test_indices[0], results, device)
    return record.write(
        {
            "metrics": results,
            "train_sequences": config.train,
            "test_sequences": config.test,
            "train_seconds": train_seconds,
            "published": {
                "model": PUBLISHED_NAME,
                "data": "Moving MNIST",
                "comparable": False,
                "source": "OpenSTL docs/en/model_zoos/video_benchmarks.md",
                **PUBLISHED,
            },
        },
        config,
        context=CONTEXT,
        horizon=HORIZON,
        device=device,
    )


def _model_text(config: Config, train_seconds: float) -> str:
    layers, hidden = len(config.hidden), "/".join(map(str, config.hidden))
    steps = config.epochs * math.ceil(config.train / config.batch_size)
    return (
        f"ConvLSTM like OpenSTL's ConvLSTM-S at reduced width: {config.patch}×{config.patch} "
        f"patches as channels, {layers} layers × {hidden} hidden channels (OpenSTL: 4 × 128), "
        f"{config.kernel}×{config.kernel} kernels, a 1×1 convolution back to the patches, "
        f"MSE over the {HORIZON} forecast steps (OpenSTL: all 19 predicted steps), scheduled "
        f"sampling from 1 to 0 over the first {config.sampling_fraction:.0%} of the steps, "
        f"Adam at {config.lr:g} with cosine decay (OpenSTL: one-cycle), batch "
        f"{config.batch_size}, {steps} steps ({config.epochs} × {config.train} sequences; "
        f"OpenSTL: 200 × 10 000); gate convolutions with a bias (OpenSTL's have none). "
        f"Training took {train_seconds:.0f} s."
    )


def _mean_rows(results: dict) -> list[dict]:
    rows = [
        {
            "model": name,
            **{m.upper(): interval(results[name][m]["mean"]) for m in METRICS},
            "skill": interval(results[name]["skill_mse"]["mean"]) if name == "ConvLSTM" else "",
        }
        for name in MODELS
    ]
    rows.append({"model": PUBLISHED_NAME, **{m.upper(): PUBLISHED[m] for m in METRICS}})
    return rows


def _lead_rows(results: dict) -> list[dict]:
    return [
        {
            "lead": k + 1,
            **{
                f"{name} {m.upper()}": interval(results[name][m]["per_lead"][k])
                for m in METRICS
                for name in MODELS
            },
            "skill": interval(results["ConvLSTM"]["skill_mse"]["per_lead"][k]),
        }
        for k in range(HORIZON)
    ]


def _figures(
    record: BenchRecord,
    model: nn.Module,
    data: MovingShapes,
    index: int,
    results: dict,
    device: str,
) -> None:
    sample = data[index]
    with torch.no_grad():
        forecast = model(sample["frames"][None].to(device))[0, :, 0].cpu().numpy()
    context, truth = sample["frames"][:, 0].numpy(), sample["future"][:, 0].numpy()
    record.figure(
        image_strip_figure(
            {
                "context": context,
                "truth": truth,
                "ConvLSTM": forecast.clip(0, 1),
                "persistence": np.broadcast_to(context[-1], truth.shape),
            },
            scale=INTENSITY,
            column_titles=[f"+{k + 1}" for k in range(HORIZON)],
        ),
        "strip.png",
        f"Test sequence {index} (the first): context, truth, ConvLSTM (clipped to [0, 1]) "
        "and persistence; columns are the leads (the context row its 10 frames)",
    )
    figure = lead_figure(
        {name: results[name]["mse"]["per_lead"] for name in MODELS},
        xlabel="lead (frames)",
        ylabel="MSE per frame (sum over C·H·W)",
    )
    record.figure(figure, "mse_by_lead.png", "MSE per lead on the test sequences, 95% CIs")
