"""The examples in the seqimaging.models docstrings run."""

import doctest
import importlib

import pytest

MODULES = [
    "baselines",
    "blocks",
    "convlstm",
    "decoders",
    "encoders",
    "forecaster",
    "heads",
    "registry",
    "seqnet",
    "temporal",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "encoders":
        pytest.importorskip("torchgeo", reason="torchgeo_encoder's example needs the geo extra")
    module = importlib.import_module(f"seqimaging.models.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
