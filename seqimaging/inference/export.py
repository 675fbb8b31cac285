"""Taking a trained model out of Python: ONNX programs for onnxruntime, or ``torch.export``.

A forecaster (:class:`~seqimaging.models.ConvLSTMForecaster`) is exported as two
programs, so that a loop in any language drives it frame by frame:

- ``step``: ``(frame [B, C, H, W], h_0, c_0, …, h_L-1, c_L-1)`` → the new states,
  the ConvLSTM states ``[B, hidden_l, h, w]`` after one more context frame (start from
  zeros: ``export.json``'s ``states`` say their shapes, as :func:`state_shapes` does);
- ``forecast``: ``(last frame, h_0 … c_L-1)`` → the next ``horizon`` frames
  ``[B, horizon, C, H, W]``.

A classifier or regressor (:class:`~seqimaging.models.SeqNet`) is exported as
``sequence``: ``frames [B, T, C, H, W]`` → outputs ``[B, K]``, at the length ``T`` of the
example (a loop over time fixes it in the graph). Batch, height and width stay dynamic
in every program. The programs are written into a new folder with ``export.json``
(inputs, outputs, shapes, versions); nothing is left half-written.

Example:
    >>> export_checkpoint("last.ckpt", "exported", "onnx")  # doctest: +SKIP
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from seqimaging._optional import require
from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError
from seqimaging.files import atomic_folder
from seqimaging.inference.checkpoint import trained_task
from seqimaging.models import ConvLSTMForecaster, SeqNet
from seqimaging.runs import environment
from seqimaging.tasks import SequenceTask
from seqimaging.tasks.checkpoints import find_checkpoint


class ForecasterStep(nn.Module):
    """One context frame into the forecaster's ConvLSTM: ``(frame, *states)`` → states."""

    def __init__(self, model: ConvLSTMForecaster) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame: Tensor, *states: Tensor) -> tuple[Tensor, ...]:
        _, new = self.model.core.step(self.model.encoder(frame), _pairs(states))
        return tuple(t for pair in new for t in pair)


class ForecasterRollout(nn.Module):
    """The forecast from the last frame and the ConvLSTM states: ``(last, *states)``."""

    def __init__(self, model: ConvLSTMForecaster) -> None:
        super().__init__()
        self.model = model

    def forward(self, last: Tensor, *states: Tensor) -> Tensor:
        return self.model._roll_out(last, _pairs(states), self.model.horizon)


def _pairs(states: tuple[Tensor, ...]) -> list[tuple[Tensor, Tensor]]:
    return [(states[i], states[i + 1]) for i in range(0, len(states), 2)]


def state_shapes(model: ConvLSTMForecaster, frame_shape: tuple[int, ...]) -> list[tuple]:
    """The shapes of ``h_1, c_1, …`` for frames ``[B, C, H, W]`` of ``frame_shape``."""
    with torch.no_grad():
        size = model.encoder(torch.zeros(frame_shape)).shape[-2:]
    return [(frame_shape[0], h, *size) for h in model.core.hidden_channels for _ in range(2)]


@dataclass(frozen=True)
class Format:
    """An export format: the file suffix and the writer ``(module, inputs, dynamic, path)``."""

    suffix: str
    write: Callable[[nn.Module, tuple, tuple, Path], None]


def _onnx(module: nn.Module, inputs: tuple, dynamic: tuple, path: Path) -> None:
    require("onnxscript", extra="export")
    torch.onnx.export(module, inputs, str(path), dynamo=True, dynamic_shapes=dynamic)


def _torch_export(module: nn.Module, inputs: tuple, dynamic: tuple, path: Path) -> None:
    torch.export.save(torch.export.export(module, inputs, dynamic_shapes=dynamic), path)


FORMATS: Choices[Format] = Choices(
    "export format",
    {"onnx": Format(".onnx", _onnx), "torch-export": Format(".pt2", _torch_export)},
)
"""``"onnx"`` (``torch.onnx.export`` with the dynamo exporter, for onnxruntime; extra
``export``) and ``"torch-export"`` (a ``torch.export`` program, ``torch.export.load``)."""


def _programs(model: nn.Module, frames: Tensor) -> dict[str, tuple[nn.Module, tuple, list]]:
    """Each program's module, example inputs and input names, for ``model`` on ``frames``
    ``[B, T, C, H, W]``."""
    if isinstance(model, ConvLSTMForecaster):
        states = tuple(torch.zeros(s) for s in state_shapes(model, frames[:, 0].shape))
        names = [f"{kind}_{layer}" for layer in range(len(states) // 2) for kind in "hc"]
        return {
            "step": (ForecasterStep(model).eval(), (frames[:, 0], *states), ["frame", *names]),
            "forecast": (
                ForecasterRollout(model).eval(),
                (frames[:, -1], *states),
                ["last", *names],
            ),
        }
    if isinstance(model, SeqNet):
        return {"sequence": (model, (frames,), ["frames"])}
    raise SeqImagingError(
        f"exporting a {type(model).__name__} is not supported; expected a SeqNet classifier "
        "or regressor, or a ConvLSTMForecaster (the motion forecaster runs pysteps' "
        "Lucas–Kanade in numpy, which no exporter can follow)"
    )


def _state_layout(model: nn.Module) -> dict:
    """For a forecaster, how to make the zero states of the ``step`` program."""
    if not isinstance(model, ConvLSTMForecaster):
        return {}
    channels = [h for h in model.core.hidden_channels for _ in range(2)]
    return {
        "states": {
            "channels": channels,
            "stride": model.encoder.stride,
            "shape": "[B, channels, ceil(H / stride), ceil(W / stride)], zeros to start",
        }
    }


def _dynamic(inputs: tuple) -> tuple:
    """Batch, height and width dynamic in every input (shapes inferred, ``Dim.AUTO``)."""
    auto = torch.export.Dim.AUTO

    def spec(t: Tensor) -> dict:
        return {0: auto, t.dim() - 2: auto, t.dim() - 1: auto}

    return (
        (spec(inputs[0]), tuple(spec(t) for t in inputs[1:]))
        if len(inputs) > 1
        else (spec(inputs[0]),)
    )


def export_model(model: nn.Module, out: str | Path, format: str, frames: Tensor) -> Path:
    """Export ``model`` (in eval mode) into the new folder ``out`` as ``format``, traced on
    the example ``frames`` ``[B, T, C, H, W]``; return ``out``.

    Raises:
        SeqImagingError: ``out`` exists, the format is unknown, or the model is not one
            that exports (:func:`_programs`).
        MissingExtraError: the format needs an extra that is not installed (``export``).
    """
    kind, out = FORMATS[format], Path(out)
    if out.exists():
        raise SeqImagingError(f"{out} exists; expected a new folder for the exported model")
    model = model.eval()
    if len(frames) < 2:  # the exporter fixes any dimension it sees at size 1
        frames = frames.expand(2, *frames.shape[1:]).contiguous()
    programs = _programs(model, frames)
    files = {}
    with atomic_folder(out) as folder, torch.no_grad():
        folder.mkdir()
        for name, (module, inputs, input_names) in programs.items():
            path = folder / f"{name}{kind.suffix}"
            kind.write(module, inputs, _dynamic(inputs), path)
            files[name] = {
                "file": path.name,
                "inputs": dict(zip(input_names, (list(t.shape) for t in inputs), strict=True)),
                "dynamic": "batch, height and width of every input",
            }
        manifest = {
            "format": format,
            "model": type(model).__name__,
            "programs": files,
            **_state_layout(model),
            "example_frames": list(frames.shape),
            "versions": environment()["versions"],
        }
        (folder / "export.json").write_text(json.dumps(manifest, indent=1))
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
    context and patch recorded in the checkpoint, else 8 frames of 64 × 64."""
    FORMATS.check(format)
    task, checkpoint = trained_task(find_checkpoint(ckpt_path), SequenceTask)
    data = checkpoint.get("data") or {}
    frames = frames or data.get("context") or 8
    size = size or data.get("patch") or 64
    example = torch.rand(2, frames, task.hparams.in_channels, size, size)
    return export_model(task.model, out, format, example)
