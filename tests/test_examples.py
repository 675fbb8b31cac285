"""The examples run end to end (shortened) and report against their baseline."""

import runpy
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_convlstm_forecast_reports_model_and_persistence(capsys):
    example = runpy.run_path(str(EXAMPLES / "convlstm_forecast.py"))
    example["main"](steps=3)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "ConvLSTM MSE" in last and "persistence MSE" in last and "skill" in last


def test_direction_of_motion_reports_models_next_to_majority_class(capsys):
    example = runpy.run_path(str(EXAMPLES / "direction_of_motion.py"))
    results = example["main"](samples=48, epochs=1)
    assert set(results) == {"majority class", "ConvLSTM", "CNN+LSTM", "static (one frame)"}
    out = capsys.readouterr().out
    assert all(f"{name:20s} balanced accuracy" in out for name in results)


def test_radar_nowcast_untrained_model_is_the_extrapolation_nowcast(tmp_path, capsys):
    """Untrained, the motion forecaster is pysteps' extrapolation (same motion, same
    scheme): equal scores within rounding of the dB scale, both ahead of persistence."""
    example = runpy.run_path(str(EXAMPLES / "radar_nowcast.py"))
    results = example["main"](out=tmp_path)
    for metric in ("csi_1", "mae"):
        np.testing.assert_allclose(results["model"][metric], results["pysteps"][metric], atol=0.03)
    assert results["pysteps"]["mae"][-1] < results["persistence"]["mae"][-1]
    assert (tmp_path / "nowcast.png").stat().st_size > 0
    assert "pysteps csi_1" in capsys.readouterr().out


def test_action_recognition_reports_the_lstm_beside_the_majority_class(capsys):
    example = runpy.run_path(str(EXAMPLES / "action_recognition.py"))
    results = example["main"](groups=8, epochs=1)
    assert set(results) == {"majority class", "CNN+LSTM"}
    assert results["majority class"] == 1 / 8  # 7 test groups, one clip of each class
    assert "CNN+LSTM         top-1 accuracy" in capsys.readouterr().out
