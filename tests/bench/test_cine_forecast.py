"""The cine-forecast benchmark end to end on its quick stand-in run (about 20 s on a CPU)."""

import json

import numpy as np
import pytest
import torch

from seqimaging.bench import cine_forecast
from seqimaging.bench.record import STAND_IN_WARNING, BenchOptions
from seqimaging.errors import DataError
from seqimaging.evaluation import case_scores
from seqimaging.medical import Sunnybrook, heart_region, patient_cines
from seqimaging.medical.phantoms import make_sunnybrook_like

pytest.importorskip("nibabel")
pytest.importorskip("monai")
pytest.importorskip("pysteps")  # the motion forecaster's Lucas–Kanade motion
pytest.importorskip("cv2")

METHODS = ("ConvLSTM", "motion forecaster", "persistence", "linear extrapolation")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cine-forecast")
    result = cine_forecast.bench(out, BenchOptions(quick=True, seed=3, device="cpu"))
    saved = json.loads((out / "results.json").read_text())
    return out, result, saved


def test_results_json_holds_every_metric_per_lead_with_its_interval(run):
    _, result, saved = run
    assert saved["benchmark"] == "cine-forecast" and saved["seed"] == 3
    assert saved["data"]["stand_in"] is True
    horizon = saved["settings"]["horizon"]
    assert set(saved["metrics"]) == set(METHODS)
    triples = [v for m in METHODS for key in ("mae", "ssim") for v in saved["metrics"][m][key]]
    skills = saved["skill_mae_over_persistence"]
    triples += [v for values in skills.values() for v in values["per_lead"]]
    assert set(skills) == {"ConvLSTM", "motion forecaster", "linear extrapolation"}
    assert len(triples) == 2 * horizon * len(METHODS) + 3 * horizon
    for estimate, low, high in triples:
        assert np.isfinite(estimate) and low <= estimate <= high
    for values in saved["metrics"].values():
        assert all(len(values[key]) == horizon for key in ("mae", "ssim"))
    assert "same phase one cycle earlier" in saved["excluded_baselines"]
    assert saved["wall_time_s"] > 0 and result["metrics"] == saved["metrics"]


def test_each_patient_is_held_out_once_and_never_trained_on(run):
    _, _, saved = run
    folds = saved["folds"]
    held_out = [f["held_out"] for f in folds]
    assert len(folds) == 2 and len(set(held_out)) == 2
    for fold in folds:
        assert fold["held_out"] not in fold["train_patients"]
        assert set(fold["train_patients"]) | {fold["held_out"]} == set(held_out)


def _numpy_errors(cine: np.ndarray, context: int, horizon: int, box: int) -> dict:
    """Sums of |error| per lead of persistence and linear extrapolation over every window
    (wrapping around the cycle) inside the central box, and the pixel count."""
    slices, phases, size, _ = cine.shape
    start = (size - box) // 2
    region = cine[..., start : start + box, start : start + box].astype(np.float64)
    sums = {"persistence": np.zeros(horizon), "linear extrapolation": np.zeros(horizon)}
    for first in range(phases):
        last = region[:, (first + context - 1) % phases]
        before = region[:, (first + context - 2) % phases]
        for h in range(1, horizon + 1):
            target = region[:, (first + context - 1 + h) % phases]
            sums["persistence"][h - 1] += np.abs(last - target).sum()
            linear = np.clip(last + h * (last - before), 0, 1)
            sums["linear extrapolation"][h - 1] += np.abs(linear - target).sum()
    return {"sums": sums, "count": slices * phases * box * box}


def test_baselines_equal_an_independent_numpy_computation(run):
    _, _, saved = run
    settings = saved["settings"]
    data = Sunnybrook(settings["root"], cine_forecast.SAMPLING)
    cines, _ = patient_cines(data, settings["config"]["slices"])
    assert sorted(cines) == sorted(saved["per_patient_mae"]["persistence"])
    pooled = {name: 0.0 for name in ("persistence", "linear extrapolation")}
    count = 0
    for patient, cine in cines.items():
        errors = _numpy_errors(
            cine, settings["context"], settings["horizon"], settings["heart_region"]["box_pixels"]
        )
        for name, sums in errors["sums"].items():
            np.testing.assert_allclose(
                saved["per_patient_mae"][name][patient], sums / errors["count"], rtol=1e-6
            )
            pooled[name] = pooled[name] + sums
        count += errors["count"]
    for name, sums in pooled.items():
        estimates = [v[0] for v in saved["metrics"][name]["mae"]]
        np.testing.assert_allclose(estimates, sums / count, rtol=1e-6)
    assert not np.allclose(pooled["persistence"], pooled["linear extrapolation"])


def test_results_md_warns_of_stand_in_and_shows_the_figures(run):
    out, _, _ = run
    markdown = (out / "results.md").read_text()
    assert markdown.count(STAND_IN_WARNING) == 2
    assert "one cycle earlier" in markdown and "| +4 | linear extrapolation |" in markdown
    for name in ("mae_by_lead.png", "forecast_strip.png"):
        assert (out / name).stat().st_size > 1000 and f"({name})" in markdown


def test_a_cycle_too_short_for_context_and_horizon_is_refused_before_training(tmp_path):
    root = make_sunnybrook_like(tmp_path, n_patients=1, phases=8)
    cines, _ = patient_cines(Sunnybrook(root, cine_forecast.SAMPLING))
    with pytest.raises(DataError, match="at least 10"):
        cine_forecast.evaluate(cines, cine_forecast.QUICK, seed=0, device="cpu")


def test_scores_on_the_region_with_its_margin_equal_those_on_the_whole_frame():
    generator = torch.Generator().manual_seed(0)
    truth = torch.rand(3, 2, 1, 64, 64, generator=generator)
    forecast = (truth + 0.2 * torch.randn(truth.shape, generator=generator)).clamp(0, 1)
    region = heart_region(64, cine_forecast.BOX)
    whole = case_scores(forecast, truth, region)
    part = cine_forecast.scored_part
    cropped = case_scores(part(forecast), part(truth), part(region))
    np.testing.assert_allclose(cropped.abs_error, whole.abs_error)
    np.testing.assert_allclose(cropped.count, whole.count)
    np.testing.assert_allclose(cropped.ssim, whole.ssim, rtol=1e-10)
