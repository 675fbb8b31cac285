"""The kit every benchmark runs on: its options, its stand-in data and its record.

A benchmark module states its protocol in its docstring and runs it with
``bench(out, options)``; :class:`BenchRecord` writes what every benchmark writes:
``results.json``, ``results.md`` and its figures.

``results.json`` holds the metrics (with confidence intervals), the baselines, the data
(real, from ``--root``, or a generated stand-in), the split, the seed, the wall time and
the environment (versions, hardware, git revision). ``results.md`` is the same as
tables, headed by a line that says plainly when the data were a stand-in.
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from seqimaging.files import cached_folder, write_json
from seqimaging.report import Report
from seqimaging.runs import environment
from seqimaging.tasks import ForecastTask

STAND_IN_WARNING = (
    "GENERATED STAND-IN DATA, NOT THE REAL DATA SET: these numbers only show that the "
    "code path runs; pass --root with the real data for results"
)


@dataclass(frozen=True)
class BenchOptions:
    """Options of every ``seqimaging bench NAME``; a benchmark with more subclasses it.

    Args:
        root: folder of the real data; ``None`` runs on a generated stand-in.
        quick: the smallest sizes (the CI's smoke run).
        seed: seed of the data split, the initialisation and the bootstrap.
        device: ``"cpu"`` or ``"cuda"``; default CUDA when present.
    """

    root: Path | None = None
    quick: bool = False
    seed: int = 0
    device: str | None = None


@dataclass(frozen=True)
class ForecasterSizes:
    """Sizes of a benchmark's ConvLSTM forecaster and its fixed training budget.

    Args:
        steps: optimiser steps.
        batch_size: windows per step.
        hidden_channels: ConvLSTM channels per layer.
        width: the encoder's stem channels.
        stride: the encoder's output stride.
        lr: AdamW's learning rate, decayed by a cosine schedule over the steps.
        bootstrap: resamples of the confidence intervals.
    """

    steps: int
    batch_size: int
    hidden_channels: tuple[int, ...]
    width: int
    stride: int
    lr: float
    bootstrap: int

    def task(self, horizon: int, **options: Any) -> ForecastTask:
        """The untrained forecaster of ``horizon`` frames; ``options`` as ForecastTask's."""
        return ForecastTask(
            "convlstm_forecaster",
            horizon=horizon,
            model_kwargs={
                "stride": self.stride,
                "width": self.width,
                "hidden_channels": list(self.hidden_channels),
            },
            lr=self.lr,
            scheduler="cosine",
            **options,
        )


class BenchRecord:
    """Collects one benchmark run's tables and figures, then writes its files.

    Args:
        name: the benchmark's name.
        out: output folder.
        title: heading of ``results.md``.
        data: what the data are (source, licence), one line.
        stand_in: the data are generated, not the real set: said loudly, in the
            output and in both files.
        split: how cases were split, one line.
        seed: the run's seed.
    """

    def __init__(
        self,
        name: str,
        out: Path,
        title: str,
        *,
        data: str,
        stand_in: bool,
        split: str,
        seed: int,
    ) -> None:
        self.name, self.out, self.seed = name, Path(out), seed
        self.data, self.stand_in, self.split = data, stand_in, split
        self.started = time.perf_counter()
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
        self.report = Report(self.out, f"{name}: {title}")
        if stand_in:
            self.report.text(f"> **⚠ {STAND_IN_WARNING}.**")
            print(f"\n*** {name}: {STAND_IN_WARNING} ***\n", flush=True)
        self.report.text(f"**Data:** {data}\n\n**Split:** {split}\n\n**Seed:** {seed}")

    @staticmethod
    def stand_in_data(out: Path, name: str, make: Callable[[Path], Any]) -> Path:
        """``<out>/data/<name>``, generated once by ``make(folder)`` and reused."""
        return cached_folder(Path(out) / "data" / name, make)

    def section(self, heading: str, text: str | None = None) -> None:
        self.report.heading(heading)
        if text:
            self.report.text(text)

    def table(self, rows: Sequence[Mapping[str, Any]], digits: int = 3) -> None:
        self.report.table(rows, digits)

    def text(self, markdown: str) -> None:
        self.report.text(markdown)

    def figure(self, figure: Figure, name: str, caption: str) -> None:
        self.report.figure(figure, name, caption)

    def write(self, metrics: Mapping[str, Any], config: Any = None, **settings: Any) -> dict:
        """Write ``results.json`` and ``results.md``; print the markdown; return the JSON.

        ``config`` (the run's sizes, a dataclass) and ``settings`` are recorded as the
        run's ``settings``.
        """
        if config is not None:
            settings = {"config": asdict(config), **settings}
        wall = time.perf_counter() - self.started
        env = environment()
        machine = (
            f"{env['gpu'] or env['cpu']}, {env['torch_threads']} torch thread(s), "
            f"torch {env['versions']['torch']}, seqimaging {env['versions']['seqimaging']}"
            f" at {(env['git_revision'] or 'unknown')[:10]}"
        )
        self.report.text(f"**Wall time:** {wall:.0f} s on {machine}.")
        if self.stand_in:
            self.report.text(f"> **⚠ {STAND_IN_WARNING}.**")
        result = {
            "benchmark": self.name,
            "data": {"description": self.data, "stand_in": self.stand_in},
            "split": self.split,
            "seed": self.seed,
            "settings": settings,
            "wall_time_s": wall,
            **metrics,
            "environment": env,
        }
        write_json(self.out / "results.json", result)
        markdown = self.report.write(document="results.md")
        print(markdown.read_text())
        if self.stand_in:
            print(f"*** {self.name}: {STAND_IN_WARNING} ***")
        return result
