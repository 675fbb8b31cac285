"""The moving-shapes benchmark end to end on its quick run (a few seconds on a CPU).

Reference: OpenSTL's formulas (``openstl/core/metrics.py``) written out in numpy on test
frames generated again here from MovingShapes with the run's seed: per lead, MSE and
MAE are ``np.mean(error, axis=(0, 1)).sum()`` over the sequences, PSNR the mean over
sequences of ``20·log10(1 / √mean((ŷ − y)²))`` per frame.
"""

import json

import numpy as np
import pytest
import torch

from seqimaging.bench import BENCHMARKS, moving_shapes
from seqimaging.bench.record import BenchOptions
from seqimaging.errors import SeqImagingError
from seqimaging.evaluation import frame_scores
from seqimaging.testing import MovingShapes

MODELS = ("ConvLSTM", "persistence")
METRICS = ("mse", "mae", "ssim", "psnr")
SEED = 3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("moving-shapes")
    result = moving_shapes.bench(out, BenchOptions(quick=True, seed=SEED, device="cpu"))
    saved = json.loads((out / "results.json").read_text())
    return out, result, saved


def _triples(saved: dict) -> list[list[float]]:
    metrics = saved["metrics"]
    blocks = [metrics[m][k] for m in MODELS for k in METRICS] + [metrics["ConvLSTM"]["skill_mse"]]
    return [t for block in blocks for t in [*block["per_lead"], block["mean"]]]


def test_results_json_holds_every_metric_per_lead_and_mean_with_its_interval(run):
    _, result, saved = run
    assert saved["benchmark"] == "moving-shapes" and saved["seed"] == SEED
    assert saved["data"]["stand_in"] is False and "MovingShapes" in saved["data"]["description"]
    assert f"seed {SEED}" in saved["split"] and saved["wall_time_s"] > 0
    assert set(saved["metrics"]) == set(MODELS)
    assert set(saved["metrics"]["ConvLSTM"]) == {*METRICS, "skill_mse"}
    assert set(saved["metrics"]["persistence"]) == set(METRICS)
    triples = _triples(saved)
    assert len(triples) == (2 * len(METRICS) + 1) * (10 + 1)
    for estimate, low, high in triples:
        assert np.isfinite(estimate) and low <= estimate <= high
    assert saved["published"]["comparable"] is False
    assert result["metrics"] == saved["metrics"]


def _openstl_persistence(saved: dict) -> dict[str, np.ndarray]:
    """Per lead: OpenSTL's MSE, MAE and PSNR of persistence, from regenerated test frames."""
    config = saved["settings"]["config"]
    train, test = config["train"], config["test"]
    data = MovingShapes(
        train + test, frames=10, horizon=10, size=config["size"], seed=saved["seed"]
    )
    samples = [data[i] for i in range(train, train + test)]
    true = np.stack([s["future"].numpy() for s in samples]).astype(np.float64)
    last = np.stack([s["frames"][-1].numpy() for s in samples]).astype(np.float64)
    pred = np.repeat(last[:, None], 10, axis=1)
    assert pred.shape == (test, 10, 1, config["size"], config["size"])
    error = pred - true
    frame_mse = np.mean(error**2, axis=(2, 3, 4))  # PSNR's, per sequence and frame
    return {
        "mse": np.array([np.mean(error[:, [k]] ** 2, axis=(0, 1)).sum() for k in range(10)]),
        "mae": np.array([np.mean(np.abs(error[:, [k]]), axis=(0, 1)).sum() for k in range(10)]),
        "psnr": np.mean(20 * np.log10(1 / np.sqrt(frame_mse)), axis=0),
        "all_mse": np.mean(error**2, axis=(0, 1)).sum(),  # OpenSTL's MSE(pred, true)
    }


def test_persistence_equals_openstls_formulas_on_the_same_test_frames(run):
    _, _, saved = run
    expected = _openstl_persistence(saved)
    scores = saved["metrics"]["persistence"]
    for metric in ("mse", "mae", "psnr"):
        estimates = [t[0] for t in scores[metric]["per_lead"]]
        np.testing.assert_allclose(estimates, expected[metric], rtol=1e-9)
        assert scores[metric]["mean"][0] == pytest.approx(expected[metric].mean(), rel=1e-9)
    assert scores["mse"]["mean"][0] == pytest.approx(expected["all_mse"], rel=1e-9)
    # persistence drifts away as the shape moves on, and PSNR falls as MSE grows
    assert expected["mse"][0] < expected["mse"][4]
    assert expected["psnr"][0] > expected["psnr"][4]


def test_skill_is_one_minus_the_ratio_of_the_mean_squared_errors(run):
    _, _, saved = run
    metrics = saved["metrics"]
    for k in range(10):
        ratio = metrics["ConvLSTM"]["mse"]["per_lead"][k][0]
        ratio /= metrics["persistence"]["mse"]["per_lead"][k][0]
        assert metrics["ConvLSTM"]["skill_mse"]["per_lead"][k][0] == pytest.approx(1 - ratio)


def test_frame_scores_psnr_is_minus_ten_log10_of_the_clipped_frame_mse():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 1, (2, 3, 1, 16, 16))
    forecast = truth + rng.normal(0, 0.3, truth.shape)  # leaves [0, 1]: clipping matters
    scores = frame_scores(torch.from_numpy(forecast), torch.from_numpy(truth))
    clipped_mse = ((np.clip(forecast, 0, 1) - truth) ** 2).mean(axis=(2, 3, 4))
    np.testing.assert_allclose(scores["psnr"], -10 * np.log10(clipped_mse), rtol=1e-12)
    np.testing.assert_allclose(scores["mse"], ((forecast - truth) ** 2).sum(axis=(2, 3, 4)))
    np.testing.assert_allclose(scores["mae"], np.abs(forecast - truth).sum(axis=(2, 3, 4)))
    assert scores["ssim"].shape == (2, 3) and np.all(scores["ssim"] < 1)
    perfect = frame_scores(torch.from_numpy(truth), torch.from_numpy(truth))
    np.testing.assert_allclose(perfect["ssim"], 1.0)


def test_results_md_has_the_published_row_marked_as_another_data_set_and_the_figures(run):
    out, _, _ = run
    markdown = (out / "results.md").read_text()
    published = [line for line in markdown.splitlines() if line.startswith("| OpenSTL")]
    assert len(published) == 1
    assert "Moving MNIST" in published[0] and "different data set" in published[0]
    assert "| 29.800 | 90.640 | 0.929 | 22.100 |" in published[0]
    assert "| persistence |" in markdown and "| ConvLSTM |" in markdown
    assert "not strictly comparable" in markdown and f"seed {SEED}" in markdown
    for figure in ("strip.png", "mse_by_lead.png"):
        assert (out / figure).stat().st_size > 1000 and f"]({figure})" in markdown


@pytest.mark.parametrize("name", ["moving-shapes", "convlstm-speed"])
def test_root_is_refused_because_the_data_are_generated(tmp_path, name):
    with pytest.raises(SeqImagingError, match="generates its data"):
        benchmark = BENCHMARKS[name]
        benchmark.run(tmp_path, benchmark.options_class()(root=tmp_path, quick=True))
    assert not (tmp_path / "results.json").exists()
