import lightning as L
from torch.utils.data import DataLoader

from seqimaging.report import TestReport
from seqimaging.sample import collate
from seqimaging.tasks import ForecastTask
from seqimaging.testing import MovingShapes


def test_forecast_test_report_has_metrics_and_skill_by_lead(tmp_path):
    data = DataLoader(
        MovingShapes(6, frames=3, horizon=2, size=12), batch_size=3, collate_fn=collate
    )
    task = ForecastTask(
        "convlstm_forecaster",
        horizon=2,
        model_kwargs={"stride": 2, "width": 4, "hidden_channels": 8},
    )
    trainer = L.Trainer(
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[TestReport(tmp_path)],
    )
    logged = trainer.test(task, data, verbose=False)[0]
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Test report: ForecastTask")
    assert f"| test/skill_mse_lead2 | {logged['test/skill_mse_lead2']:.4f} |" in report
    assert "(skill_by_lead.png)" in report and (tmp_path / "skill_by_lead.png").is_file()
    assert "confusion_matrix" not in report and (tmp_path / "metrics.json").is_file()
