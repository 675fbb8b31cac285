"""Optional dependencies that fail only when used, naming the extra to install."""

import importlib
from types import ModuleType

from seqimaging.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra``.

    Example:
        >>> np = require("numpy", extra="all")
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(
            f"{module!r} is not installed; it comes with the {extra!r} extra: "
            f"pip install 'seqimaging[{extra}]'"
        ) from err
