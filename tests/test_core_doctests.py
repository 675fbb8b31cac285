"""The examples in the docstrings of the package's core modules run."""

import doctest
import importlib

import pytest

MODULES = [
    "choices",
    "evaluation.bootstrap",
    "evaluation.clinical",
    "evaluation.forecast",
    "files",
    "medical.base",
    "medical.volumes",
    "profiling",
    "report.document",
    "report.tables",
    "splits",
    "tasks.training",
    "transforms",
    "video.sampling",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"seqimaging.{name}")
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
