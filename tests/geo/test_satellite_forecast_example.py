"""examples/satellite_forecast.py runs end to end (shortened) and reports against persistence."""

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "satellite_forecast.py"


def test_reports_model_and_persistence_per_lead_and_writes_figures(tmp_path, capsys):
    example = runpy.run_path(str(EXAMPLE))
    results = example["main"](frames=14, size=48, epochs=1, out=tmp_path)
    assert set(results) == {"ConvLSTM", "persistence"}
    for name in results:
        assert {"mse", "mae", "ssim", "skill_mse"} <= set(results[name])
        assert all(len(values) == 3 for values in results[name].values())
    assert results["persistence"]["skill_mse"] == [0.0, 0.0, 0.0]
    out = capsys.readouterr().out
    assert "skill over persistence per lead" in out and "+3" in out
    assert (tmp_path / "forecast.png").stat().st_size > 0
    assert (tmp_path / "forecast.gif").read_bytes()[:6] == b"GIF89a"
