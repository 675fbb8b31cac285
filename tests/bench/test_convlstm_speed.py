"""The convlstm-speed benchmark's code path, on a tiny setting (timings are not asserted)."""

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from seqimaging.bench import convlstm_speed
from seqimaging.bench.convlstm_speed import Setting

torchgeo_models = pytest.importorskip("torchgeo.models")

TINY = Setting("tiny", batch=2, steps=3, channels=3, size=8, hidden=(4, 5), kernel=3)


def test_forward_flops_match_torch_flop_counter_on_torchgeo():
    peer = torchgeo_models.ConvLSTM(TINY.channels, list(TINY.hidden), TINY.kernel, 2)
    x = torch.randn(TINY.batch, TINY.steps, TINY.channels, TINY.size, TINY.size)
    with FlopCounterMode(display=False) as counter:
        peer.forward_features(x)
    assert TINY.forward_flops() == counter.get_total_flops()


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_run_writes_json_and_table(tmp_path, capsys, monkeypatch, precision):
    monkeypatch.setenv("SEQIMAGING_PRECISION", precision)  # as on a CPU with(out) bf16
    result = convlstm_speed.run(tmp_path, repeats=1, warmup=0, device="cpu", settings=(TINY,))
    saved = json.loads((tmp_path / "results.json").read_text())
    names = ["float32", "bf16"] if precision == "bf16-mixed" else ["float32"]
    assert list(saved["precisions"]) == names
    assert torch.__version__.startswith(saved["environment"]["versions"]["torch"])
    for name in names:
        part = result["precisions"][name]
        assert part["rows"][0]["setting"]["name"] == "tiny" and part["conv_peak_gflops"] > 0
        row = part["rows"][0]
        for mode in ("train", "infer"):
            seconds = row[mode]["seconds"]
            assert row[mode]["speedup"] == pytest.approx(seconds["torchgeo"] / seconds["ours"])
            assert part["geomean_speedup"][mode] == pytest.approx(row[mode]["speedup"])
        assert all(v > 0 for v in row["train_peak_bytes"].values())
    if precision == "bf16-mixed":
        rows = {n: result["precisions"][n]["rows"][0]["train"]["seconds"] for n in names}
        assert result["default_vs_torchgeo_float32"]["train"] == pytest.approx(
            rows["float32"]["torchgeo"] / rows["bf16"]["ours"]
        )
    table = (tmp_path / "results.md").read_text()
    for name in names:
        assert f"| {name} | tiny | train |" in table and f"| {name} | tiny | infer |" in table
    assert "| float32 | tiny | train |" in capsys.readouterr().out


def test_a_benchmark_refuses_options_of_another_kind(tmp_path):
    from seqimaging.bench import BENCHMARKS
    from seqimaging.bench.record import BenchOptions
    from seqimaging.errors import SeqImagingError

    with pytest.raises(SeqImagingError, match="takes SpeedOptions, got BenchOptions"):
        BENCHMARKS["convlstm-speed"].run(tmp_path, BenchOptions(quick=True))
