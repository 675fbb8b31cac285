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
    load_event,
)
from seqimaging.bench.record import STAND_IN_WARNING, BenchOptions
from seqimaging.errors import DatasetNotFoundError

pytest.importorskip("rasterio")
pytest.importorskip("pysteps")
pytest.importorskip("cv2")


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
