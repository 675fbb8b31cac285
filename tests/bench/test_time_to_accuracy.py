"""The time-to-accuracy benchmark: the torchgeo-cored forecaster equals ours at the start,
and the quick run records every run's clock and validation curve (timings not asserted)."""

import json

import pytest
import torch

from seqimaging.bench import time_to_accuracy
from seqimaging.bench.record import BenchOptions

pytest.importorskip("torchgeo.models")


def test_the_two_forecasters_start_equal_with_equal_gradients():
    config = time_to_accuracy.QUICK
    models = time_to_accuracy.models(config, seed=0)
    x = torch.rand(2, config.context, 1, config.size, config.size)
    with torch.no_grad():
        ours, theirs = (m(x) for m in models.values())
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    for model in models.values():
        model(x).square().mean().backward()
    peer = models["torchgeo"].core.peer
    for (cell,), peer_cell in zip(models["ours"].core.layers, peer.cell_list, strict=True):
        joint = torch.cat([cell.weight_ih.grad, cell.weight_hh.grad], dim=1)
        torch.testing.assert_close(joint, peer_cell.conv.weight.grad, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(cell.bias.grad, peer_cell.conv.bias.grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_the_quick_run_times_every_model_and_precision(tmp_path, monkeypatch, precision):
    monkeypatch.setenv("SEQIMAGING_PRECISION", precision)
    time_to_accuracy.bench(tmp_path, BenchOptions(quick=True, device="cpu"))
    saved = json.loads((tmp_path / "results.json").read_text())
    names = ["ours float32", "torchgeo float32"]
    names += ["ours bf16", "torchgeo bf16"] if precision == "bf16-mixed" else []
    assert list(saved["runs"]) == names
    steps = time_to_accuracy.QUICK.steps
    for run in saved["runs"].values():
        assert [p["step"] for p in run["curve"]] == list(range(4, steps + 1, 4))
        assert run["seconds_per_step"] > 0
        clocks = [p["seconds"] for p in run["curve"]]
        assert clocks == sorted(clocks)
    assert saved["target"] == pytest.approx(time_to_accuracy.TARGET * saved["persistence_val_mse"])
    assert "| ours float32 |" in (tmp_path / "results.md").read_text()
