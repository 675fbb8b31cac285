"""The stream-latency benchmark end to end on its quick run."""

import json

from seqimaging.bench import BENCHMARKS, stream_latency
from seqimaging.bench.record import BenchOptions


def test_every_model_is_timed_pushing_and_recomputing(tmp_path):
    BENCHMARKS["stream-latency"].run(tmp_path, BenchOptions(quick=True, device="cpu"))
    saved = json.loads((tmp_path / "results.json").read_text())
    rows = saved["latency"]
    assert [row["model"] for row in rows] == [case.name for case in stream_latency.CASES]
    for row in rows:
        assert row["push [ms]"] > 0 and row["forward on all [ms]"] > 0
        assert row["speed-up"] == row["forward on all [ms]"] / row["push [ms]"]
    assert saved["data"]["stand_in"] is False
