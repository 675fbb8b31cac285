"""The radar-nowcast benchmark on generated events: code path, baselines, pysteps."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqimaging.bench.radar_nowcast import (
    CONTEXT,
    HORIZON,
    TEST_EVENT,
    TRAIN_EVENT,
    bench,
    forecast_grid,
    from_model,
    load_event,
    pysteps_nowcast,
    to_model,
)
from seqimaging.bench.record import STAND_IN_WARNING, BenchOptions
from seqimaging.errors import DatasetNotFoundError

pytest.importorskip("rasterio")
pytest.importorskip("pysteps")
pytest.importorskip("cv2")


def test_model_scale_round_trips_rain_rate():
    rain = torch.tensor([0.0, 0.1, 0.5, 1.0, 5.0, 30.0, 150.0])
    torch.testing.assert_close(from_model(to_model(rain)), rain, atol=1e-4, rtol=1e-4)
    assert to_model(torch.tensor(0.0)) == 0
    assert from_model(torch.tensor(5.0)) == pytest.approx(200.0, rel=1e-3)


def test_pysteps_extrapolation_follows_a_moving_field():
    y, x = np.mgrid[0:64, 0:64]
    frames = np.stack(
        [
            8 * np.exp(-((x - 20 - 1.5 * t) ** 2 + (y - 30) ** 2) / 40.0)
            for t in range(CONTEXT + HORIZON)
        ]
    )
    forecast = pysteps_nowcast(frames[:CONTEXT], HORIZON)
    truth = frames[CONTEXT:]
    persistence = np.abs(frames[CONTEXT - 1] - truth).mean()
    assert np.abs(forecast - truth).mean() < 0.3 * persistence


def test_windowed_forecast_of_persistence_is_the_last_frame_everywhere():
    from seqimaging.tasks import ForecastTask

    context = 10 * torch.rand(CONTEXT, 1, 45, 37) ** 2
    context[:, :, :5] = float("nan")  # outside the coverage
    forecast = forecast_grid(ForecastTask("persistence_forecaster", horizon=HORIZON), context, 16)
    assert forecast.shape == (1, HORIZON, 1, 45, 37)
    expected = torch.nan_to_num(context[-1]).expand(HORIZON, -1, -1, -1)
    torch.testing.assert_close(forecast[0], expected, atol=1e-4, rtol=1e-4)


def test_missing_event_folder_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=f"{TRAIN_EVENT}.*fmi_radar.md"):
        load_event(tmp_path, TRAIN_EVENT)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("radar")
    return out, bench(out, BenchOptions(quick=True))


def test_quick_stand_in_run_writes_every_score_with_intervals(quick_run):
    out, _ = quick_run
    saved = json.loads((out / "results.json").read_text())
    assert saved["data"]["stand_in"] is True
    assert saved["environment"]["versions"]["torch"] == torch.__version__.split("+")[0]
    for method in ("ConvLSTM", "persistence", "pysteps"):
        for metric in ("mae", "rmse", "ssim", "csi@0.5", "csi@1", "csi@5"):
            leads = saved["metrics"][method][metric]
            assert len(leads) == HORIZON
            for estimate, low, high in leads:
                assert low <= estimate <= high or np.isnan(estimate)
    markdown = (out / "results.md").read_text()
    assert STAND_IN_WARNING in markdown and "| pysteps |" in markdown
    for figure in ("mae.png", "csi_1.png", "forecasts.png"):
        assert (out / figure).stat().st_size > 0


def test_persistence_scores_equal_a_direct_computation_on_the_test_event(quick_run):
    _, result = quick_run
    rain = load_event(Path(result["settings"]["root"]), TEST_EVENT).values[:, 0]
    windows = range(len(rain) - CONTEXT - HORIZON + 1)
    for k in range(HORIZON):
        errors, hits, total = [], 0, 0
        for start in windows:
            truth, last = rain[start + CONTEXT + k], rain[start + CONTEXT - 1]
            valid = np.isfinite(truth)
            errors.append(np.abs(last - truth)[valid])
            observed, predicted = truth[valid] >= 1, np.nan_to_num(last)[valid] >= 1
            hits += (observed & predicted).sum()
            total += (observed | predicted).sum()
        mae = result["metrics"]["persistence"]["mae"][k][0]
        assert mae == pytest.approx(np.concatenate(errors).mean(), rel=1e-5)
        assert result["metrics"]["persistence"]["csi@1"][k][0] == pytest.approx(hits / total)
