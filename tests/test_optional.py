"""Tests of seqimaging._optional.require."""

import math
import re

import pytest

from seqimaging._optional import require
from seqimaging.errors import MissingExtraError, SeqImagingError


def test_require_returns_installed_module():
    assert require("math", extra="all") is math


def test_require_returns_installed_submodule():
    import json.decoder

    assert require("json.decoder", extra="all") is json.decoder


def test_require_missing_module_names_extra_and_pip_line():
    name = "seqimaging_no_such_module_1f3a9c"
    with pytest.raises(MissingExtraError) as info:
        require(name, extra="geo")
    message = str(info.value)
    assert repr(name) in message
    assert "'geo'" in message
    assert re.search(r"pip install 'seqimaging\[geo\]'", message)
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, SeqImagingError)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
