"""Taking a trained model out of Python: ONNX programs for onnxruntime, or ``torch.export``.

Every recurrent model is exported with a ``step`` program, so that a loop in any
language drives it frame by frame from the states :func:`initial_states` gives (zeros;
``export.json``'s ``states`` say their shapes and fill values):

- a forecaster (:class:`~seqimaging.models.ConvLSTMForecaster`): ``step``: ``(frame
  [B, C, H, W], h_0, c_0, …)`` → the ConvLSTM states after one more context frame, and
  ``forecast``: ``(last frame, h_0, c_0, …)`` → the next ``horizon`` frames
  ``[B, horizon, C, H, W]``;
- a classifier or regressor (:class:`~seqimaging.models.SeqNet` with a ConvLSTM or
  LSTM core): ``step``: ``(frame, first frame, h_0, c_0, …, total, weight, peak)`` →
  ``(outputs [B, K] over the frames so far, new states…)``, as
  :meth:`~seqimaging.models.SeqNet.step`, so at any length; and ``sequence``: ``frames
  [B, T, C, H, W]`` → outputs ``[B, K]`` at the example's length ``T`` (the exporter
  fixes the time loop in the graph).

Batch is dynamic in every input, height and width in the frames and ConvLSTM states.
The programs are written into a new folder with ``export.json`` (inputs, shapes,
states, versions) and the model card (``model_card.md`` and ``.json``,
:mod:`seqimaging.report.card`: the checkpoint's, from its fit, with the export added);
nothing is left half-written.

Example:
    >>> export_checkpoint("last.ckpt", "exported", "onnx")  # doctest: +SKIP
"""

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seqimaging._optional import require
from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError
from seqimaging.files import atomic_folder
from seqimaging.inference.checkpoint import trained_task
from seqimaging.models import ConvLSTMForecaster, SeqNet
from seqimaging.models.convlstm import ConvLSTM
from seqimaging.models.heads import Running
from seqimaging.models.temporal import ConvLSTMCore, LSTMCore
from seqimaging.report.card import model_card, write_card
from seqimaging.runs import environment
from seqimaging.tasks import SequenceTask
from seqimaging.tasks.checkpoints import find_checkpoint


@dataclass(frozen=True)
class StateCodec:
    """How a recurrent core's state travels through an exported step: as batch-first
    tensors, zero at the start.

    Attributes:
        zeros: ``(core, features [B, C, h, w])`` → the start's tensors.
        unflatten: those tensors → the state the core's ``step`` takes.
        flatten: the state ``step`` returns → tensors.
    """

    zeros: Callable[[nn.Module, Tensor], list[Tensor]]
    unflatten: Callable[[tuple[Tensor, ...]], Any]
    flatten: Callable[[Any], list[Tensor]]


def _map_zeros(hidden: list[int], features: Tensor) -> list[Tensor]:
    """``h, c`` per ConvLSTM layer: ``[B, hidden_l, h, w]``."""
    size = (len(features), *features.shape[-2:])
    return [features.new_zeros(size[0], h, *size[1:]) for h in hidden for _ in "hc"]


def _pairs(states: tuple[Tensor, ...]) -> list[tuple[Tensor, Tensor]]:
    return [(states[i], states[i + 1]) for i in range(0, len(states), 2)]


def _unpair(state: list[tuple[Tensor, Tensor]]) -> list[Tensor]:
    return [t for pair in state for t in pair]


def _lstm_zeros(core: LSTMCore, features: Tensor) -> list[Tensor]:
    """``h, c`` of ``nn.LSTM``, batch first: ``[B, layers, hidden]``."""
    lstm = core.lstm
    return [features.new_zeros(len(features), lstm.num_layers, lstm.hidden_size) for _ in "hc"]


CODECS: dict[type[nn.Module], StateCodec] = {
    ConvLSTM: StateCodec(lambda m, f: _map_zeros(m.hidden_channels, f), _pairs, _unpair),
    ConvLSTMCore: StateCodec(
        lambda m, f: _map_zeros(m.convlstm.hidden_channels, f), _pairs, _unpair
    ),
    LSTMCore: StateCodec(
        _lstm_zeros,
        lambda states: tuple(t.transpose(0, 1).contiguous() for t in states),
        lambda state: [t.transpose(0, 1) for t in state],
    ),
}
"""The state codec of each recurrent core (the forecaster's core is a ``ConvLSTM``)."""


def _codec(core: nn.Module) -> StateCodec:
    if type(core) not in CODECS:
        raise SeqImagingError(
            f"exporting a step of a {type(core).__name__} core is not supported; expected "
            f"one of {', '.join(kind.__name__ for kind in CODECS)}"
        )
    return CODECS[type(core)]


class ForecasterStep(nn.Module):
    """One context frame into the forecaster's ConvLSTM: ``(frame, *states)`` → states."""

    def __init__(self, model: ConvLSTMForecaster) -> None:
        super().__init__()
        self.model, self.codec = model, _codec(model.core)

    def forward(self, frame: Tensor, *states: Tensor) -> tuple[Tensor, ...]:
        _, new = self.model.core.step(self.model.encoder(frame), self.codec.unflatten(states))
        return tuple(self.codec.flatten(new))


class ForecasterRollout(nn.Module):
    """The forecast from the last frame and the ConvLSTM states: ``(last, *states)``."""

    def __init__(self, model: ConvLSTMForecaster) -> None:
        super().__init__()
        self.model, self.codec = model, _codec(model.core)

    def forward(self, last: Tensor, *states: Tensor) -> Tensor:
        return self.model._roll_out(last, self.codec.unflatten(states), self.model.horizon)


class SequenceStep(nn.Module):
    """One frame into a classifier or regressor (:meth:`SeqNet.push`): ``(frame, first,
    *core states, total, weight, peak)`` → ``(outputs, *new states…)``; the running
    pooling starts at ``total = weight = 0``, ``peak = −inf``."""

    def __init__(self, model: SeqNet) -> None:
        super().__init__()
        self.model, self.codec = model, _codec(model.core)

    def forward(self, frame: Tensor, first: Tensor, *states: Tensor) -> tuple[Tensor, ...]:
        *core, total, weight, peak = states
        outputs, core, pooled = self.model.push(
            frame, first, self.codec.unflatten(tuple(core)), Running(total, weight, peak)
        )
        return outputs, *self.codec.flatten(core), *pooled


def initial_states(model: nn.Module, frame: Tensor) -> list[Tensor]:
    """The states an exported ``step`` starts from, for frames like ``frame``
    ``[B, C, H, W]``: the core's zeros, and for a classifier or regressor the running
    pooling (``total``, ``weight`` zero, ``peak`` −inf)."""
    with torch.no_grad():
        if isinstance(model, ConvLSTMForecaster):
            return _codec(model.core).zeros(model.core, model.encoder(frame))
        features = model.encoder(model.inputs.view(frame[:, None])[:, 0])
        states = _codec(model.core).zeros(model.core, features)
        width, batch = model.core.out_features, len(frame)
        return [
            *states,
            frame.new_zeros(batch, width),
            frame.new_zeros(batch, 1),
            frame.new_full((batch, 1), -math.inf),
        ]


@dataclass(frozen=True)
class Format:
    """An export format: the file suffix and the writer ``(module, inputs, dynamic,
    input names, path)``."""

    suffix: str
    write: Callable[[nn.Module, tuple, tuple, list[str], Path], None]


def _onnx(module: nn.Module, inputs: tuple, dynamic: tuple, names: list[str], path: Path) -> None:
    require("onnxscript", extra="export")
    torch.onnx.export(
        module, inputs, str(path), dynamo=True, dynamic_shapes=dynamic, input_names=names
    )


def _torch_export(
    module: nn.Module, inputs: tuple, dynamic: tuple, names: list[str], path: Path
) -> None:
    torch.export.save(torch.export.export(module, inputs, dynamic_shapes=dynamic), path)


FORMATS: Choices[Format] = Choices(
    "export format",
    {"onnx": Format(".onnx", _onnx), "torch-export": Format(".pt2", _torch_export)},
)
"""``"onnx"`` (``torch.onnx.export`` with the dynamo exporter, for onnxruntime; extra
``export``) and ``"torch-export"`` (a ``torch.export`` program, ``torch.export.load``)."""


def _state_names(count: int) -> list[str]:
    return [f"{kind}_{layer}" for layer in range(count // 2) for kind in "hc"]


def _programs(model: nn.Module, frames: Tensor) -> dict[str, tuple[nn.Module, tuple, list]]:
    """Each program's module, example inputs and input names, for ``model`` on ``frames``
    ``[B, T, C, H, W]``."""
    if isinstance(model, ConvLSTMForecaster):
        states = tuple(initial_states(model, frames[:, 0]))
        names = _state_names(len(states))
        return {
            "step": (ForecasterStep(model).eval(), (frames[:, 0], *states), ["frame", *names]),
            "forecast": (
                ForecasterRollout(model).eval(),
                (frames[:, -1], *states),
                ["last", *names],
            ),
        }
    if isinstance(model, SeqNet) and type(model.core) not in CODECS:  # reads one frame
        return {"sequence": (model, (frames,), ["frames"])}
    if isinstance(model, SeqNet):
        states = tuple(initial_states(model, frames[:, 0]))
        names = [*_state_names(len(states) - 3), "total", "weight", "peak"]
        step = (frames[:, 0], frames[:, 0], *states)
        return {
            "sequence": (model, (frames,), ["frames"]),
            "step": (SequenceStep(model).eval(), step, ["frame", "first", *names]),
        }
    raise SeqImagingError(
        f"exporting a {type(model).__name__} is not supported; expected a SeqNet classifier "
        "or regressor, or a ConvLSTMForecaster (the motion forecaster runs pysteps' "
        "Lucas–Kanade in numpy, which no exporter can follow)"
    )


def _state_layout(model: nn.Module, programs: dict, frames: Tensor) -> dict:
    """How to make the states the ``step`` program starts from (none without one)."""
    step = programs.get("step")
    if step is None:
        return {}
    states = initial_states(model, frames[:, 0])
    names = step[2][-len(states) :]
    return {
        "states": {
            "inputs": [
                {"name": name, "shape": list(t.shape), "fill": float(t.flatten()[0])}
                for name, t in zip(names, states, strict=True)
            ],
            "stride": model.encoder.stride,
            "shape": "batch first; the shapes are the example's: 4-D states are [B, channels, "
            "ceil(H / stride), ceil(W / stride)], the others [B, …] as shown; start from "
            "fill, then feed back what step returns",
        }
    }


def _dynamic(module: nn.Module, inputs: tuple) -> tuple:
    """Batch dynamic in every input, height and width in the images (4-D and 5-D: frames
    and ConvLSTM states); shapes inferred (``Dim.AUTO``), laid out as ``module.forward``'s
    arguments (a ``*states`` argument takes a tuple)."""
    auto = torch.export.Dim.AUTO
    specs = [
        {0: auto} | ({t.dim() - 2: auto, t.dim() - 1: auto} if t.dim() >= 4 else {}) for t in inputs
    ]
    shapes: list = []
    for parameter in inspect.signature(module.forward).parameters.values():
        if not specs:
            break
        if parameter.kind is parameter.VAR_POSITIONAL:
            shapes.append(tuple(specs))
            break
        shapes.append(specs.pop(0))
    return tuple(shapes)


def export_model(
    model: nn.Module, out: str | Path, format: str, frames: Tensor, card: dict | None = None
) -> Path:
    """Export ``model`` (in eval mode) into the new folder ``out`` as ``format``, traced on
    the example ``frames`` ``[B, T, C, H, W]``, with its model ``card`` (by default one
    of the model alone at the example's size); return ``out``.

    Raises:
        SeqImagingError: ``out`` exists, the format is unknown, or the model is not one
            that exports (:func:`_programs`).
        MissingExtraError: the format needs an extra that is not installed (``export``).
    """
    kind, out = FORMATS[format], Path(out)
    if out.exists():
        raise SeqImagingError(f"{out} exists; expected a new folder for the exported model")
    model = model.eval()
    card = card or model_card(model, tuple(frames.shape[1:]))
    if len(frames) < 2:  # the exporter fixes any dimension it sees at size 1
        frames = frames.expand(2, *frames.shape[1:]).contiguous()
    programs = _programs(model, frames)
    files = {}
    with atomic_folder(out) as folder, torch.no_grad():
        folder.mkdir()
        for name, (module, inputs, input_names) in programs.items():
            path = folder / f"{name}{kind.suffix}"
            kind.write(module, inputs, _dynamic(module, inputs), input_names, path)
            files[name] = {
                "file": path.name,
                "inputs": dict(zip(input_names, (list(t.shape) for t in inputs), strict=True)),
                "dynamic": "batch of every input, height and width of images and maps",
            }
        manifest = {
            "format": format,
            "model": type(model).__name__,
            "programs": files,
            **_state_layout(model, programs, frames),
            "example_frames": list(frames.shape),
            "versions": environment()["versions"],
        }
        (folder / "export.json").write_text(json.dumps(manifest, indent=1))
        programs = {name: entry["file"] for name, entry in files.items()}
        write_card(folder, card | {"export": {"format": format, "programs": programs}})
    return out


def export_checkpoint(
    ckpt_path: str | Path,
    out: str | Path,
    format: str,
    *,
    frames: int | None = None,
    size: int | None = None,
) -> Path:
    """Export the model of a checkpoint (a file, or ``last`` / ``best``: the newest run's;
    :func:`~seqimaging.inference.checkpoint.trained_task`),
    traced on ``frames`` frames of ``size × size``: by default the training windows'
    context and patch recorded in the checkpoint, else 8 frames of 64 × 64. The model card
    is the one the fit kept in the checkpoint (:class:`~seqimaging.report.card.ModelCard`),
    else one of the task without its training."""
    FORMATS.check(format)
    task, checkpoint = trained_task(find_checkpoint(ckpt_path), SequenceTask)
    data = checkpoint.get("data") or {}
    frames = frames or data.get("context") or 8
    size = size or data.get("patch") or 64
    example = torch.rand(2, frames, task.hparams.in_channels, size, size)
    card = checkpoint.get("model_card") or model_card(task, tuple(example.shape[1:]))
    return export_model(task.model, out, format, example, card)
