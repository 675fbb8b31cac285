"""The radar-nowcast benchmark on generated events: layout, split, baselines, scores."""

import json
from pathlib import Path

import numpy as np
import pytest

from seqimaging.bench.radar_nowcast import (
    CONTEXT,
    METHODS,
    METRICS,
    VAL_FRACTION,
    RadarOptions,
    bench,
    load_events,
)
from seqimaging.bench.record import STAND_IN_WARNING
from seqimaging.errors import DatasetNotFoundError

pytest.importorskip("rasterio")
pytest.importorskip("pysteps")
pytest.importorskip("cv2")


def test_a_root_without_event_folders_is_refused(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="<source>/<event>"):
        load_events(tmp_path)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("radar")
    return out, bench(out, RadarOptions(quick=True))


def test_an_unknown_test_event_is_named(quick_run):
    out, result = quick_run
    with pytest.raises(DatasetNotFoundError, match="fmi/20990101"):
        bench(
            out / "again",
            RadarOptions(root=Path(result["settings"]["root"]), test=("fmi/20990101",)),
        )


def test_quick_stand_in_run_writes_scores_per_event_method_metric_and_lead(quick_run):
    out, _ = quick_run
    saved = json.loads((out / "results.json").read_text())
    assert saved["data"]["stand_in"] is True
    leads = ["5", "10", "15", "20", "25", "30"]
    for method in METHODS:
        for metric in METRICS:
            scores = saved["per_event"]["fmi/20170509"][method][metric]
            assert list(scores) == leads
            assert all(isinstance(v, float) for v in scores.values())
            for estimate, low, high in saved["intervals"]["fmi/20170509"][method][metric]:
                assert low <= estimate <= high or np.isnan(estimate)
    assert set(saved["differences"]["fmi/20170509"]) == {"model - persistence", "model - pysteps"}
    assert saved["motion_frames"] in (3, 4)
    assert set(saved["validation_ablation"]) >= {"persistence", "advection alone", "model"}
    markdown = (out / "results.md").read_text()
    assert STAND_IN_WARNING in markdown and "| pysteps |" in markdown
    for figure in ("csi_1", "mae", "forecast", "motion"):
        assert (out / f"fmi_20170509_{figure}.png").stat().st_size > 0


def test_training_windows_end_before_the_validation_block(quick_run):
    _, result = quick_run
    for event in load_events(Path(result["settings"]["root"])).values():
        cut = int(len(event.rain) * (1 - VAL_FRACTION))
        assert max(event.starts("train")) + CONTEXT + event.leads <= cut
        assert min(event.starts("val")) >= cut


def test_baseline_scores_equal_a_direct_computation_on_the_test_event(quick_run):
    from seqimaging.models.baselines import optical_flow_extrapolation

    _, result = quick_run
    event = load_events(Path(result["settings"]["root"]))["fmi/20170509"]
    rain, frames = event.rain, result["motion_frames"]
    scores = result["per_event"]["fmi/20170509"]
    for k, lead in enumerate(["5", "10", "15", "20", "25", "30"]):
        errors, flow_errors, hits, total = [], [], 0, 0
        for start in event.starts("all"):
            truth, last = rain[start + CONTEXT + k], rain[start + CONTEXT - 1]
            context = rain[start + CONTEXT - frames : start + CONTEXT]
            flow = optical_flow_extrapolation(context, 6)[k]
            valid = np.isfinite(truth)
            errors.append(np.abs(np.nan_to_num(last) - truth)[valid])
            flow_errors.append(np.abs(flow - truth)[valid])
            observed, predicted = truth[valid] >= 1, np.nan_to_num(last)[valid] >= 1
            hits += (observed & predicted).sum()
            total += (observed | predicted).sum()
        assert scores["persistence"]["mae"][lead] == pytest.approx(np.concatenate(errors).mean())
        assert scores["persistence"]["csi_1"][lead] == pytest.approx(hits / total)
        assert scores["pysteps"]["mae"][lead] == pytest.approx(np.concatenate(flow_errors).mean())


def test_the_saved_model_runs_in_the_example(quick_run, tmp_path):
    import runpy

    out, result = quick_run
    example = runpy.run_path(str(Path(__file__).parents[2] / "examples" / "radar_nowcast.py"))
    event = Path(result["settings"]["root"]) / "fmi" / "20170509"
    scores = example["main"](event, "fmi", out / "motion_forecaster.pt", out=tmp_path)
    assert len(scores["model"]["mae"]) == 6 and (tmp_path / "nowcast.png").exists()
