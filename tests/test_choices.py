"""Choices: the table behind every option given by name."""

import types

import pytest

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError


def test_unknown_name_lists_the_valid_ones_and_get_does_not_raise():
    colours = Choices("colour", {"red": 1, "green": 2})
    with pytest.raises(SeqImagingError, match="unknown colour 'blue'; expected one of: green, red"):
        colours["blue"]
    assert colours.get("blue") is None and colours.get("red") == 1
    assert "red" in colours and "blue" not in colours and sorted(colours) == ["green", "red"]


def test_a_name_taken_by_another_object_is_an_error():
    def first():
        return 1

    def second():
        return 2

    table = Choices("builder", {"a": first})
    with pytest.raises(SeqImagingError, match="'a' is registered already"):
        table.add("a", second)
    with pytest.raises(SeqImagingError, match="registered already"):
        Choices("number", {"x": 1}).add("x", 2)
    assert table["a"] is first


def test_the_same_definition_again_replaces_its_row_as_a_reloaded_module_does():
    def builder():
        return 1

    again = types.FunctionType(builder.__code__, builder.__globals__, "builder")
    again.__qualname__ = builder.__qualname__  # what importlib.reload defines anew
    table = Choices("builder", {"b": builder})
    table.add("b", again)
    assert table["b"] is again
