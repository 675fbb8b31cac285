"""Model cards: what a trained model is, what it expects, what it learnt from and how well
it did beside its baselines, as ``model_card.md`` and ``model_card.json``.

``seqimaging fit`` writes one into the run folder when training ends (the
:class:`ModelCard` callback, which also keeps the card in every checkpoint), and
``seqimaging export`` one beside the exported programs. The JSON holds:

- ``model``: the task and model classes, the registry name and settings, the parameters,
  and the FLOPs of one forward on one sequence of the training size (convolutions and
  matrix products, as :class:`torch.utils.flop_counter.FlopCounterMode` counts them;
  pointwise operations and numpy code are not counted), per sequence and per frame;
- ``input``: channels, frames, size, time step, class names and the training data's own
  settings (normalisation, bands, sampling: ``dataset.data_settings()``);
- ``training``: the data module and dataset, the split (samples per part, fractions,
  seed), the steps and epochs, the task's hyperparameters;
- ``metrics``: the last validation metrics, and the same metrics of the task's
  baselines (``task.baselines``: the training majority class, persistence, the mean);
- ``software``: :func:`~seqimaging.runs.environment`.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from seqimaging.files import atomic_write, first_free, write_json
from seqimaging.report.document import markdown_table
from seqimaging.runs import environment


def forward_flops(model: nn.Module, shape: tuple[int, ...]) -> int:
    """FLOPs of ``model`` (in eval mode, no gradients) on one sequence of ``shape``
    ``(T, C, H, W)``: convolutions and matrix products only."""
    training = model.training
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else "cpu"
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model.eval()(torch.zeros(1, *shape, device=device))
    finally:
        model.train(training)
    return int(counter.get_total_flops())


def _name(module: object) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _architecture(
    model: nn.Module, task: LightningModule | None, shape: tuple[int, ...]
) -> dict[str, Any]:
    hparams = {} if task is None else task.hparams
    flops = forward_flops(model, shape)
    return {
        "task": None if task is None else _name(task),
        "model": _name(model),
        "name": hparams.get("model") if isinstance(hparams.get("model"), str) else None,
        "settings": _plain(hparams.get("model_kwargs") or {}),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "flops": {"per_sequence": flops, "per_frame": flops / shape[0], "shape": list(shape)},
    }


TIME_STEPS: list[tuple[str, Callable[[Any], str | None]]] = [
    ("time_step_s", lambda seconds: f"{seconds:g} s"),
    ("fps", lambda fps: f"{1 / fps:.4g} s ({fps:g} frames/s)" if fps else None),
    ("sampling", lambda s: f"1/{s['frames']} of the cardiac cycle" if s.get("frames") else None),
]
"""How each kind of training data states its time step: a data setting and its reading."""


def _time_step(settings: dict[str, Any]) -> str | None:
    for key, read in TIME_STEPS:
        if settings.get(key) is not None and (found := read(settings[key])) is not None:
            return found
    return None


def _input(task: LightningModule | None, shape: tuple[int, ...]) -> dict[str, Any]:
    settings = {} if task is None else task.data_settings
    return {
        "channels": shape[1],
        "frames": shape[0],
        "size": list(shape[2:]),
        "time_step": _time_step(settings),
        "class_names": None if task is None else _plain(task.hparams.get("class_names")),
        "data_settings": _plain(settings),
    }


def _training(trainer: Trainer, task: LightningModule) -> dict[str, Any]:
    data = trainer.datamodule
    parts = {
        part: len(getattr(data, f"{part}_set"))
        for part in ("train", "val", "test")
        if getattr(data, f"{part}_set", None) is not None
    }
    dataset = getattr(data, "dataset", None)
    split = {
        key: getattr(data, key)
        for key in ("val_fraction", "test_fraction", "fold", "seed", "batch_size")
        if hasattr(data, key)
    }
    hparams = {k: v for k, v in task.hparams.items() if not k.startswith("_")}  # LightningCLI's
    return {
        "data": None if data is None else type(data).__name__,
        "dataset": None if dataset is None else type(dataset).__name__,
        "samples": parts,
        "split": _plain(split),
        "seed": os.environ.get("PL_GLOBAL_SEED"),
        "steps": trainer.global_step,
        "epochs": trainer.current_epoch,
        "precision": str(trainer.precision),
        "hyperparameters": _plain(hparams),
    }


def _metrics(task: LightningModule, data: Any) -> dict[str, Any]:
    values = {k.removeprefix("val/"): v for k, v in task.last_metrics.items()}
    return {
        "split": "validation" if values else None,
        "model": {k: _plain(v) for k, v in values.items()},
        "baselines": task.baselines(values, data) if values else {},
    }


def model_card(
    model: LightningModule | nn.Module, shape: tuple[int, ...], trainer: Trainer | None = None
) -> dict[str, Any]:
    """The card of a task (a :class:`~seqimaging.tasks.SequenceTask`) or a bare model
    trained on sequences of ``shape`` ``(T, C, H, W)``; without the ``trainer`` that
    fitted it, the training and metrics are not known (``None``)."""
    task = model if isinstance(model, LightningModule) else None
    network = model.model if task is not None else model
    return {
        "model": _architecture(network, task, shape),
        "input": _input(task, shape),
        "training": None if trainer is None else _training(trainer, task),
        "metrics": None if trainer is None else _metrics(task, trainer.datamodule),
        "software": environment(),
    }


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it: tensors as numbers or lists, tuples as lists."""
    if isinstance(value, Tensor):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _mean_of(value: Any) -> Any:
    """A scalar for the metrics table: a vector's mean (per class, per lead), else itself."""
    if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
        return sum(value) / len(value)
    return value


def _rows(values: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Key–value rows, numbers in full (``1e-04``, not a rounded ``0.000``)."""
    return [
        {"": f"{prefix}{k}", "value": f"{v:g}" if isinstance(v, float) else v}
        for k, v in values.items()
    ]


def card_markdown(card: dict[str, Any]) -> str:
    """``model_card.md``'s text for a :func:`model_card`."""
    model, inputs = card["model"], card["input"]
    flops = model["flops"]
    summary = {k: model[k] for k in ("task", "model", "settings")} | {
        "parameters": f"{model['parameters']:,}",
        "trainable": f"{model['trainable_parameters']:,}",
        "GFLOPs per frame": f"{flops['per_frame'] / 1e9:.4g}",
        "at (T, C, H, W)": tuple(flops["shape"]),
    }
    data = inputs["data_settings"]
    blocks = [
        f"# Model card: {model['name'] or model['model'].rsplit('.', 1)[-1]}",
        "## Model",
        markdown_table(_rows(summary)),
        "FLOPs: convolutions and matrix products of one forward on one sequence of the "
        "training size (torch.utils.flop_counter), divided by its frames.",
        "## Input",
        markdown_table(
            _rows({k: v for k, v in inputs.items() if k != "data_settings"})
            + _rows(data, prefix="data: ")
        ),
    ]
    training, metrics = card.get("training"), card.get("metrics")
    if training:
        hparams = training["hyperparameters"]
        blocks += [
            "## Training",
            markdown_table(_rows({k: v for k, v in training.items() if k != "hyperparameters"})),
            "Hyperparameters:",
            markdown_table(_rows(hparams)),
        ]
    if metrics and metrics["model"]:
        means = {k: _mean_of(v) for k, v in metrics["model"].items()}
        rows = [{"": "model"} | {k: v for k, v in means.items() if not isinstance(v, list)}]
        rows += [{"": name} | values for name, values in metrics["baselines"].items()]
        blocks += [
            f"## Metrics ({metrics['split']})",
            markdown_table(rows, digits=4),
            "Vectors (per class, per lead time) are shown as their means.",
        ]
    elif training:
        blocks += ["## Metrics", "No validation metrics: the fit had no validation data."]
    if card.get("export"):
        blocks += ["## Export", markdown_table(_rows(card["export"]))]
    software = card["software"]
    blocks += [
        "## Software",
        markdown_table(
            _rows(software["versions"])
            + _rows({k: software[k] for k in ("python", "platform", "cpu", "git_revision")})
        ),
    ]
    return "\n\n".join(blocks) + "\n"


def write_card(folder: str | Path, card: dict[str, Any]) -> Path:
    """Write ``model_card.md`` and ``.json`` into ``folder`` (``model_card-2`` … if a card
    is there: a resumed fit keeps the first); return the markdown's path."""
    folder = Path(folder)
    path = first_free(folder, "model_card", ".md")
    write_json(path.with_suffix(".json"), card)
    with atomic_write(path, "w") as file:
        file.write(card_markdown(card))
    return path


class ModelCard(Callback):
    """Keep a model card in every checkpoint, and write it into the run folder when
    ``fit`` ends (:func:`write_card`). The ``seqimaging`` CLI adds it; in a script pass
    ``Trainer(callbacks=[ModelCard()])``. The training size is the first training batch's.
    """

    def __init__(self, output_dir: str | Path | None = None) -> None:
        self.output_dir = output_dir
        self.shape: tuple[int, ...] | None = None

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.shape is None:
            frames = batch["frames"] if isinstance(batch, dict) else batch
            self.shape = tuple(frames.shape[1:])

    def card(self, trainer: Trainer, task: LightningModule) -> dict[str, Any] | None:
        """The card now, or ``None`` before the first training batch."""
        return None if self.shape is None else model_card(task, self.shape, trainer)

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        card = self.card(trainer, pl_module)
        if card is not None:
            checkpoint["model_card"] = card

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        card = self.card(trainer, pl_module)
        if card is None or not trainer.is_global_zero:
            return
        write_card(self.output_dir or trainer.log_dir or trainer.default_root_dir, card)
