"""Benchmarks that live in code: ``seqimaging bench NAME`` prints a table and writes JSON."""

from collections.abc import Callable

from seqimaging.bench import convlstm_speed

BENCHMARKS: dict[str, tuple[Callable[..., dict], str]] = {
    "convlstm-speed": (
        convlstm_speed.run,
        "ConvLSTM training and inference speed and memory against torchgeo's, same weights",
    ),
}
