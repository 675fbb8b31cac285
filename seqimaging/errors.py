"""The project's error types.

Every predictable mistake raises a subclass of :class:`SeqImagingError` whose
message names the file or argument, says what is wrong and what was expected.
"""


class SeqImagingError(Exception):
    """Base class of every error seqimaging raises on purpose."""


class ShapeError(SeqImagingError, ValueError):
    """A tensor or array has the wrong shape, channel count or dtype."""


class MissingExtraError(SeqImagingError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class WeightsNotFoundError(SeqImagingError, FileNotFoundError):
    """Pretrained weights are neither at the given path nor in the local cache."""


class DataError(SeqImagingError, ValueError):
    """An input file or folder is unreadable, malformed or inconsistent.

    The message names the file, what is wrong and what was expected.
    """


class DatasetNotFoundError(SeqImagingError, FileNotFoundError):
    """A dataset's files are not where they were looked for; the message says what to do."""
