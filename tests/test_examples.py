"""The examples run end to end (shortened) and report against their baseline."""

import runpy
from pathlib import Path

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
