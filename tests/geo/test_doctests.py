"""The examples in the geo docstrings run (from the repository root, for tests/data)."""

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = [
    "cube",
    "layout",
    "landsat",
    "modis",
    "radar",
    "scales",
    "sentinel2",
    "stack",
    "synthetic",
    "windows",
]


@pytest.mark.parametrize("name", ["seqimaging.geo"] + [f"seqimaging.geo.{m}" for m in MODULES])
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(Path(__file__).parents[2])
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
