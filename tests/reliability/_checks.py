"""What every bad-input case must end in, and the hypothesis settings of these tests.

A case ends in a result, or in a :class:`DataError` whose message names the file; any
other exception, more than ``SECONDS`` or a peak of ``MAX_BYTES`` allocated fails it.
"""

import signal
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from seqimaging.errors import DataError, SeqImagingError

SECONDS = 10
MAX_BYTES = 64 * 2**20


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` generated cases: reproducible, each bounded in time."""
    return settings(
        max_examples=n,
        deadline=5000,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


class Refused:
    """The outcome of a case that raised a project error: ``error`` holds it."""

    def __init__(self, error: SeqImagingError) -> None:
        self.error = error


def outcome(call: Callable[[], Any], names: list[Path | str]) -> Any:
    """``call()``'s result, or :class:`Refused` if it raised a DataError naming one of
    ``names``; fails on any other exception, a hang or a large allocation."""

    def timeout(signum, frame):
        raise TimeoutError(f"no result within {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(SECONDS)
    tracemalloc.start()
    try:
        result = call()
    except SeqImagingError as err:
        message = str(err)
        assert isinstance(err, DataError), f"{type(err).__name__} is not a DataError"
        assert any(str(name) in message for name in names), f"{message!r} names no input"
        result = Refused(err)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < MAX_BYTES, f"{peak / 2**20:.0f} MiB allocated"
    return result


def outcome_of_arguments(
    call: Callable[[], Any], names: list[Path | str], arguments: list[str]
) -> Any:
    """Like :func:`outcome`, where a :class:`SeqImagingError` naming one of ``arguments``
    as ``name=value`` is a refusal too: for calls given out-of-range arguments on purpose."""

    def refusing_arguments():
        try:
            return call()
        except SeqImagingError as err:
            if isinstance(err, DataError) or not any(f"{a}=" in str(err) for a in arguments):
                raise
            return Refused(err)

    return outcome(refusing_arguments, names)
