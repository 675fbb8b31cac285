"""``seqimaging bench stream-latency``: the time to take in one more frame, streaming
against recomputing.

A stream keeps the model's state between frames (:meth:`~seqimaging.models.SeqNet.step`,
:meth:`~seqimaging.models.ConvLSTMForecaster.step` and ``forecast``); without it, each
new frame means running ``forward`` on every frame so far. For each model, at a frame
size and after ``T`` frames, the benchmark times one push (the classifier's outputs; the
forecaster's push and its ``horizon``-frame forecast) against ``forward`` on the ``T + 1``
frames, one stream (batch 1), one thread, medians of alternating runs after a warm-up
(:func:`~seqimaging.profiling.median_times`). The models have random weights: latency
does not depend on them. Push and forward give the same outputs (``tests/models/
test_streaming.py``).
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.models import build_model
from seqimaging.profiling import median_times


@dataclass(frozen=True)
class Case:
    """A model, its build arguments, and whether it forecasts."""

    name: str
    model: str
    kwargs: dict
    forecasts: bool = False


CASES = (
    Case("ConvLSTM classifier", "convlstm_classifier", {"num_classes": 5, "hidden_channels": 32}),
    Case(
        "CNN+LSTM classifier",
        "cnn_lstm_classifier",
        {"num_classes": 5, "encoder": "small", "stride": 4, "hidden_channels": 64},
    ),
    Case(
        "ConvLSTM forecaster (+6 frames)",
        "convlstm_forecaster",
        {"horizon": 6, "hidden_channels": [32, 32]},
        forecasts=True,
    ),
)
FULL = {"sizes": (64, 128), "frames": (10, 30), "repeats": 7}
QUICK = {"sizes": (16,), "frames": (3,), "repeats": 1}


def _timings(case: Case, size: int, steps: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(case.model, in_channels=1, **case.kwargs).eval()
    frames = torch.rand(1, steps + 1, 1, size, size)
    with torch.no_grad():
        state = None
        for t in range(steps):
            pushed = model.step(frames[:, t], state)
            state = pushed if case.forecasts else pushed[1]

        def push() -> None:
            after = model.step(frames[:, steps], state)
            if case.forecasts:
                model.forecast(after)

        def recompute() -> None:
            model(frames)

        times = median_times(
            {"push": push, "forward": recompute},
            repeats=repeats,
            warmup=1,
            device=torch.device("cpu"),
        )
    return {
        "model": case.name,
        "frame": f"{size}²",
        "frames so far": steps,
        "push [ms]": 1e3 * times["push"],
        "forward on all [ms]": 1e3 * times["forward"],
        "speed-up": times["forward"] / times["push"],
    }


def bench(out: Path, options: BenchOptions) -> dict:
    """Run the benchmark into ``out``; return what ``results.json`` holds."""
    sizes = QUICK if options.quick else FULL
    record = BenchRecord(
        "stream-latency",
        out,
        "latency of one more frame, streaming against recomputing",
        data="random frames (latency does not depend on the data or the weights)",
        stand_in=False,
        split="none: a timing",
        seed=options.seed,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = [
            _timings(case, size, steps, sizes["repeats"])
            for case in CASES
            for size in sizes["sizes"]
            for steps in sizes["frames"]
        ]
    finally:
        torch.set_num_threads(threads)
    record.section("One stream, one thread, CPU")
    record.table(rows)
    return record.write({"latency": rows}, settings=sizes)
