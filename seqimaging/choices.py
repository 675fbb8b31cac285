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

from collections.abc import Callable, Iterator, Mapping

from seqimaging.errors import SeqImagingError


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
        """Add a row; a name that is taken already raises :class:`SeqImagingError`."""
        if name in self._rows:
            raise SeqImagingError(f"{self.kind} {name!r} is registered already")
        self._rows[name] = value
        return value

    def register(self, name: str | None = None) -> Callable[[V], V]:
        """A decorator adding the decorated object under ``name`` (default its ``__name__``)."""

        def add(value: V) -> V:
            return self.add(name or value.__name__, value)

        return add

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

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"Choices({self.kind!r}, {sorted(self._rows)})"
