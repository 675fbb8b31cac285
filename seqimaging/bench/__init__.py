"""Benchmarks that live in code: ``seqimaging bench NAME`` prints a table and writes JSON."""

from collections.abc import Callable

from seqimaging.bench import convlstm_speed, fuzz_readers

BENCHMARKS: dict[str, tuple[Callable[..., dict], str]] = {
    "convlstm-speed": (
        convlstm_speed.run,
        "ConvLSTM training and inference speed and memory against torchgeo's, same weights",
    ),
    "fuzz-readers": (
        fuzz_readers.run,
        "coverage-guided fuzzing (atheris) of the NIfTI and GeoTIFF readers, 60 s each",
    ),
}
