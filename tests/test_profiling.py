"""Alternating median timings and peak memory (values checked for sense, not speed)."""

import torch

from seqimaging.profiling import median_times, peak_bytes


def test_median_times_calls_each_function_in_turn_and_skips_the_warm_up():
    calls = []
    times = median_times(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        repeats=3,
        warmup=2,
        device=torch.device("cpu"),
    )
    assert calls == ["a", "b"] * 5
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())


def test_peak_bytes_sees_a_large_temporary_allocation():
    small = peak_bytes(lambda: torch.ones(16).sum(), torch.device("cpu"))
    large = peak_bytes(lambda: torch.ones(4_000_000).sum(), torch.device("cpu"))
    assert large >= 16_000_000 > small
