"""Benchmarks that live in code: ``seqimaging bench NAME [--root DIR]``.

Each module states its protocol in its docstring and runs it on one kit
(:mod:`seqimaging.bench.record`: its options, its stand-in data, the record that writes
``results.json``, ``results.md`` and the figures under ``--out/NAME``). Modules are
imported only when their benchmark runs, so one benchmark's optional dependencies never
block another. A new benchmark is a module with ``bench(out, options)`` and a row here.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path

from seqimaging.bench.record import BenchOptions
from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: ``module.function(out, options)`` runs it; ``summary`` is one line on it;
    ``options`` names its options class in the module (a :class:`BenchOptions`);
    ``reads_data`` is False for one that generates its data (then ``--root`` is refused)."""

    module: str
    summary: str
    function: str = "bench"
    options: str | None = None
    reads_data: bool = True

    def options_class(self) -> type[BenchOptions]:
        """The class of this benchmark's options."""
        if self.options is None:
            return BenchOptions
        return getattr(importlib.import_module(self.module), self.options)

    def run(self, out: Path, options: BenchOptions) -> dict:
        """Run the benchmark into ``out`` with ``options`` (of :meth:`options_class`)."""
        name = self.module.rsplit(".", 1)[-1].replace("_", "-")
        if not isinstance(options, kind := self.options_class()):
            raise SeqImagingError(f"{name} takes {kind.__name__}, got {type(options).__name__}")
        if options.root is not None and not self.reads_data:
            raise SeqImagingError(
                f"{name} generates its data and reads no files; drop --root {options.root}"
            )
        return getattr(importlib.import_module(self.module), self.function)(Path(out), options)


BENCHMARKS: Choices[Benchmark] = Choices("benchmark", {
    "radar-nowcast": Benchmark(
        "seqimaging.bench.radar_nowcast",
        "radar events of five networks, up to +30 min: the motion forecaster vs persistence "
        "and pysteps (LK + semi-Lagrangian)",
        options="RadarOptions",
    ),
    "cine-forecast": Benchmark(
        "seqimaging.bench.cine_forecast",
        "Sunnybrook cardiac cine, next frames, leave-one-patient-out: ConvLSTM and motion "
        "forecaster vs persistence and linear extrapolation",
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
    "ucf101": Benchmark(
        "seqimaging.bench.ucf101",
        "UCF101 action recognition: CNN+LSTM on frozen ResNet-18 features vs single-frame and "
        "mean-pooled baselines; decoding vs model throughput; generated clips without --root",
        options="VideoOptions",
    ),
    "moving-shapes": Benchmark(
        "seqimaging.bench.moving_shapes",
        "synthetic 10 → 10 forecasting at 64×64 in OpenSTL's metric conventions",
        reads_data=False,
    ),
    "whole-scene": Benchmark(
        "seqimaging.bench.whole_scene",
        "whole-scene forecasts (OPERA composite, a 10980² tile): wall time, windows/s against "
        "the model's batch rate, peak RSS; 1 process and a 2-worker LocalCluster",
    ),
    "stream-latency": Benchmark(
        "seqimaging.bench.stream_latency",
        "time to take in one more frame: a stream's push against forward on every frame so far",
        reads_data=False,
    ),
    "convlstm-speed": Benchmark(
        "seqimaging.bench.convlstm_speed",
        "ConvLSTM training and inference speed and memory against torchgeo's, same weights",
        options="SpeedOptions",
        reads_data=False,
    ),
    "time-to-accuracy": Benchmark(
        "seqimaging.bench.time_to_accuracy",
        "wall time to a fixed validation MSE on moving shapes: our ConvLSTM forecaster vs the "
        "same one on torchgeo's ConvLSTM, float32 and bf16",
        reads_data=False,
    ),
})  # fmt: skip

__all__ = ["BENCHMARKS", "Benchmark"]
