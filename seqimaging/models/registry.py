"""A registry of model builders, in the manner of timm and torchvision.

Example:
    >>> from seqimaging.models import build_model, list_models
    >>> "convlstm_classifier" in list_models()
    True
    >>> model = build_model("convlstm_classifier", in_channels=1, num_classes=5)
"""

import inspect
from collections.abc import Callable

from torch import nn

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError

MODELS: Choices[Callable[..., nn.Module]] = Choices("model")
"""Every registered builder by name; registering a name twice is an error."""


def register_model[F: Callable[..., nn.Module]](builder: F) -> F:
    """Register ``builder`` under its function name."""
    return MODELS.add(builder.__name__, builder)


def list_models() -> list[str]:
    """Names of the registered models, sorted."""
    return sorted(MODELS)


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with the builder's keyword arguments."""
    builder = MODELS[name]
    try:
        inspect.signature(builder).bind(**kwargs)
    except TypeError as err:
        raise SeqImagingError(
            f"model {name!r}: {err}; its arguments are {inspect.signature(builder)}"
        ) from err
    return builder(**kwargs)
