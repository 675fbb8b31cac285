"""Model cards: FLOPs against a hand count, baselines against their direct computation,
written with a fit (never over an earlier card) and kept in checkpoints."""

import json

import lightning as L
import torch
from torch import nn

from seqimaging.data import SequenceDataModule
from seqimaging.report.card import ModelCard, forward_flops
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask
from seqimaging.testing import MovingShapes


class FramewiseConv(nn.Module):
    """A 3×3 convolution of every frame, summed: FLOPs known by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 5, 3, padding=1)

    def forward(self, x):
        return self.conv(x.flatten(0, 1)).sum()


def test_forward_flops_counts_each_frames_convolution():
    frames, height, width = 4, 6, 7
    expected = frames * 2 * 5 * 2 * 9 * height * width  # 2 FLOPs per multiply-add
    assert forward_flops(FramewiseConv(), (frames, 2, height, width)) == expected


def _fit(task, data, folder, **settings):
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ModelCard(folder)],
        **settings,
    )
    trainer.fit(task, data)
    return trainer


def test_a_classifier_card_beside_the_training_majority_class(tmp_path):
    data = SequenceDataModule(MovingShapes(24, frames=3, size=12), batch_size=8, val_fraction=0.5)
    task = ClassificationTask(
        "convlstm_classifier", in_channels=1, num_classes=4, model_kwargs={"stride": 2, "width": 4}
    )
    trainer = _fit(task, data, tmp_path)
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["model"]["parameters"] == sum(p.numel() for p in task.model.parameters())
    assert card["model"]["flops"]["shape"] == [3, 1, 12, 12]
    flops = forward_flops(task.model, (3, 1, 12, 12))
    assert card["model"]["flops"]["per_frame"] == flops / 3 > 0
    assert card["input"]["class_names"] == list(MovingShapes.class_names)
    assert card["training"]["samples"]["train"] == len(data.train_indices)
    assert card["metrics"]["model"]["accuracy"] == float(task.last_metrics["val/accuracy"])
    train = [data.labels[i] for i in data.train_indices]
    majority = max(set(train), key=train.count)
    val = [data.labels[i] for i in data.val_indices]
    (name, baseline), *_ = card["metrics"]["baselines"].items()
    assert name == f"majority class ({MovingShapes.class_names[majority]}, training labels)"
    assert abs(baseline["accuracy"] - val.count(majority) / len(val)) < 1e-9
    text = (tmp_path / "model_card.md").read_text()
    assert "## Metrics (validation)" in text and name in text
    assert f"{card['model']['parameters']:,}" in text
    trainer.save_checkpoint(tmp_path / "task.ckpt")
    saved = torch.load(tmp_path / "task.ckpt", weights_only=True)["model_card"]
    assert saved["metrics"] == card["metrics"]


def test_a_forecaster_card_beside_persistence(tmp_path):
    dataset = MovingShapes(12, frames=3, horizon=2, size=12)
    data = SequenceDataModule(dataset, batch_size=6, val_fraction=0.5)
    task = ForecastTask(
        "convlstm_forecaster",
        horizon=2,
        model_kwargs={"stride": 2, "width": 4, "hidden_channels": 4},
    )
    _fit(task, data, tmp_path)
    card = json.loads((tmp_path / "model_card.json").read_text())
    samples = [dataset[i] for i in data.val_indices]
    errors = [(s["future"] - s["frames"][-1:]).pow(2) for s in samples]
    by_lead = torch.stack(errors).mean(dim=(0, 2, 3, 4))
    persistence = card["metrics"]["baselines"]["persistence"]
    assert abs(persistence["mse"] - float(by_lead.mean())) < 1e-5


def test_a_regressor_card_beside_the_mean(tmp_path):
    dataset = MovingShapes(16, frames=3, size=12)
    data = SequenceDataModule(dataset, batch_size=8, val_fraction=0.5)
    task = RegressionTask("convlstm_regressor", model_kwargs={"stride": 2, "width": 4})
    _fit(task, data, tmp_path)
    card = json.loads((tmp_path / "model_card.json").read_text())
    targets = torch.cat([dataset[i]["target"] for i in data.val_indices]).double()
    spread = float(targets.std(correction=0))
    assert abs(card["metrics"]["baselines"]["mean"]["rmse"] - spread) < 1e-4


def test_a_second_fit_keeps_the_first_card(tmp_path):
    data = SequenceDataModule(MovingShapes(8, frames=2, size=8), batch_size=4, val_fraction=0)
    task = ClassificationTask(
        "convlstm_classifier", in_channels=1, num_classes=4, model_kwargs={"stride": 2, "width": 4}
    )
    _fit(task, data, tmp_path)
    first = (tmp_path / "model_card.json").read_text()
    _fit(task, data, tmp_path, max_steps=1)
    assert (tmp_path / "model_card.json").read_text() == first
    assert (tmp_path / "model_card-2.md").is_file() and (tmp_path / "model_card-2.json").is_file()
    assert "No validation metrics" in (tmp_path / "model_card.md").read_text()
