"""Declared choices: a named table of options, one row each, checked where they are used.

Every option given by name — a model, a temporal core, an encoder, a head, a pooling, an
optimiser, a schedule, a loss, a benchmark — is a row of a :class:`Choices` table, so that
adding one is adding a row, and an unknown name fails at construction, from Python
exactly as from the command line, with the valid names listed.

Example:
    >>> colours = Choices("colour", {"red": "#f00", "green": "#0f0"})
    >>> colours["red"]
    '#f00'
    >>> colours["blue"]
    Traceback (most recent call last):
    ...
    seqimaging.errors.SeqImagingError: unknown colour 'blue'; expected one of: green, red
"""

from collections.abc import Iterator, Mapping
from typing import Any

from seqimaging.errors import SeqImagingError


def _origin(value: Any) -> tuple[str, str] | None:
    """Where a function or class is defined, ``(module, qualified name)``; None for data."""
    qualname = getattr(value, "__qualname__", None)
    return None if qualname is None else (value.__module__, qualname)


class Choices[V](Mapping[str, V]):
    """A table ``name → value`` of one kind of option.

    Args:
        kind: what the names name, for error messages (``"optimizer"``, ``"pooling"``).
        rows: the initial rows.
    """

    def __init__(self, kind: str, rows: Mapping[str, V] | None = None) -> None:
        self.kind = kind
        self._rows: dict[str, V] = {}
        for name, value in (rows or {}).items():
            self.add(name, value)

    def add(self, name: str, value: V) -> V:
        """Add a row; a name taken by another object raises :class:`SeqImagingError`.

        The same definition again (the same module and qualified name, as when a module
        is reloaded in a notebook) replaces its row.
        """
        same = _origin(value) is not None and _origin(self._rows.get(name)) == _origin(value)
        if name in self._rows and not same:
            raise SeqImagingError(f"{self.kind} {name!r} is registered already")
        self._rows[name] = value
        return value

    def check(self, name: str) -> str:
        """``name`` if it is a row, else :class:`SeqImagingError` listing the valid names."""
        if name not in self._rows:
            raise SeqImagingError(
                f"unknown {self.kind} {name!r}; expected one of: {', '.join(sorted(self._rows))}"
            )
        return name

    def __getitem__(self, name: str) -> V:
        return self._rows[self.check(name)]

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def get(self, name: str, default: V | None = None) -> V | None:
        """The row ``name``, or ``default`` (no error), as for a dict."""
        return self._rows.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"Choices({self.kind!r}, {sorted(self._rows)})"
