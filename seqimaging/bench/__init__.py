"""Benchmarks that live in code: ``seqimaging bench NAME [--root DIR]``.

Each writes ``results.json`` and ``results.md`` (and its figures) under ``--out/NAME``;
:mod:`seqimaging.bench.record` says what they hold. Modules are imported only when
their benchmark runs, so one benchmark's optional dependencies never block another.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # record imports the report package, which imports bench.environment
    from seqimaging.bench.record import BenchOptions


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: ``module.function(out, options)`` runs it; ``summary`` is one line on it."""

    module: str
    summary: str
    function: str = "bench"

    def run(self, out: Path, options: "BenchOptions") -> dict:
        return getattr(importlib.import_module(self.module), self.function)(Path(out), options)


BENCHMARKS: dict[str, Benchmark] = {
    "radar-nowcast": Benchmark(
        "seqimaging.bench.radar_nowcast",
        "FMI weather radar, 6 → 6 frames of 5 min: ConvLSTM vs persistence and pysteps (LK + "
        "semi-Lagrangian)",
    ),
    "cine-forecast": Benchmark(
        "seqimaging.bench.cine_forecast",
        "Sunnybrook cardiac cine, next frames, leave-one-patient-out: ConvLSTM vs persistence "
        "and linear extrapolation",
    ),
    "acdc": Benchmark(
        "seqimaging.bench.diagnosis",
        "ACDC diagnosis (official 100/50 split and 5-fold CV) and EF regression; phantoms "
        "without --root",
        "bench_acdc",
    ),
    "mnms": Benchmark(
        "seqimaging.bench.diagnosis",
        "M&Ms diagnosis (official split and 5-fold CV) and EF regression; phantoms without --root",
        "bench_mnms",
    ),
    "moving-shapes": Benchmark(
        "seqimaging.bench.moving_shapes",
        "synthetic 10 → 10 forecasting at 64×64 in OpenSTL's metric conventions",
    ),
    "convlstm-speed": Benchmark(
        "seqimaging.bench.convlstm_speed",
        "ConvLSTM training and inference speed and memory against torchgeo's, same weights",
    ),
    "fuzz-readers": Benchmark(
        "seqimaging.bench.fuzz_readers",
        "coverage-guided fuzzing (atheris) of the NIfTI and GeoTIFF readers, 60 s each",
    ),
}

__all__ = ["BENCHMARKS", "Benchmark"]
