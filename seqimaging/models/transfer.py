"""Starting one model from another's weights: the parts that the project's models share.

A classifier, a regressor and a forecaster are built from the same parts: a frame
encoder and a ConvLSTM. Each model names its parts with ``shared_parts()`` (a dict of
part name → submodule, the names being those of :data:`PARTS`), so that a core pretrained
on one task (e.g. forecasting the next cardiac phases, no labels needed) can start the
encoder and core of another (the diagnosis). :func:`transfer_parts` copies every part
both models have, after checking that each one has the same class and the same tensor
shapes; the other parts of the target (its head) keep their initial weights.

Example:
    >>> from seqimaging.models import build_model
    >>> forecaster = build_model("convlstm_forecaster", in_channels=1, stride=4, width=8,
    ...                          hidden_channels=16)
    >>> classifier = build_model("convlstm_classifier", in_channels=1, num_classes=3,
    ...                          stride=4, width=8, hidden_channels=16)
    >>> transfer_parts(forecaster, classifier)
    ['encoder', 'convlstm']
"""

import inspect
from typing import Any

from torch import nn

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.registry import MODELS

PARTS = {
    "encoder": "the frame encoder (frames → feature maps)",
    "convlstm": "the ConvLSTM over the feature maps",
}
"""The parts a model may share, in the order they are copied."""


def model_parts(model: nn.Module) -> dict[str, nn.Module]:
    """The parts of :data:`PARTS` that ``model`` has (``model.shared_parts()``, if any)."""
    parts = model.shared_parts() if hasattr(model, "shared_parts") else {}
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SeqImagingError(f"{type(model).__name__} shares unknown parts {sorted(unknown)}")
    return {name: parts[name] for name in PARTS if name in parts}


def _mismatches(name: str, source: nn.Module, target: nn.Module) -> list[str]:
    """How part ``name`` of the source differs from the target's, if it does."""
    if type(source) is not type(target):
        return [f"{name}: {type(source).__name__} in the source, {type(target).__name__} here"]
    theirs, ours = source.state_dict(), target.state_dict()
    return [
        f"{name}.{key}: {tuple(theirs[key].shape) if key in theirs else 'absent'} in the "
        f"source, {tuple(value.shape)} here"
        for key, value in ours.items()
        if key not in theirs or theirs[key].shape != value.shape
    ]


def transfer_parts(source: nn.Module, target: nn.Module, *, where: str = "the source") -> list[str]:
    """Copy into ``target`` every shared part that ``source`` has too; return their names.

    Args:
        source: the pretrained model.
        target: the model to start from it (changed in place).
        where: how error messages name the source, e.g. its checkpoint file.

    Raises:
        ShapeError: a common part differs in class or in a tensor's shape (other encoder,
            width, channels or hidden size); nothing is copied then.
        SeqImagingError: the two models have no part in common.
    """
    theirs, ours = model_parts(source), model_parts(target)
    common = [name for name in ours if name in theirs]
    if not common:
        raise SeqImagingError(
            f"{where} ({type(source).__name__}, parts {sorted(theirs) or 'none'}) shares no "
            f"part with {type(target).__name__} (parts {sorted(ours) or 'none'}); expected a "
            f"model with one of: {', '.join(f'{k} ({v})' for k, v in PARTS.items())}"
        )
    wrong = [line for name in common for line in _mismatches(name, theirs[name], ours[name])]
    if wrong:
        shown = "; ".join(wrong[:4]) + ("; ..." if len(wrong) > 4 else "")
        raise ShapeError(
            f"{where} does not fit {type(target).__name__}: {shown}. Expected the same "
            "encoder, stride, width, input channels and hidden channels as the model it "
            "starts"
        )
    for name in common:
        ours[name].load_state_dict(theirs[name].state_dict())
    return common


def model_from_hyperparameters(hparams: dict[str, Any], where: str) -> nn.Module:
    """The model a task's saved hyperparameters describe (its registered ``model`` name,
    the builder arguments the task fixed, and ``model_kwargs``), with fresh weights."""
    name = hparams.get("model")
    if not isinstance(name, str):
        raise SeqImagingError(
            f"{where} does not name a registered model (its task was given a module); "
            "expected a checkpoint of a task built from a model name"
        )
    builder = MODELS[name]
    fixed = {
        key: hparams[key]
        for key, parameter in inspect.signature(builder).parameters.items()
        if key in hparams and parameter.kind is not parameter.VAR_KEYWORD
    }
    return builder(**fixed, **(hparams.get("model_kwargs") or {}))


def model_from_checkpoint(checkpoint: dict[str, Any], where: str) -> nn.Module:
    """The model of a task's loaded checkpoint, rebuilt from its hyperparameters
    (:func:`model_from_hyperparameters`) with its trained weights; ``where`` names the
    file in errors (a :class:`ShapeError` when the weights do not fit)."""
    model = model_from_hyperparameters(checkpoint.get("hyper_parameters") or {}, where)
    weights = {
        key.removeprefix("model."): value
        for key, value in checkpoint.get("state_dict", {}).items()
        if key.startswith("model.")
    }
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        raise ShapeError(
            f"{where}: its weights do not fit the model its hyperparameters describe: {err}"
        ) from err
    return model
