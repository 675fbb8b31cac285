import pandas as pd

from seqimaging.tasks.logs import ResumableCSVLogger


def test_a_second_logger_in_the_same_folder_appends_and_widens_the_header(tmp_path):
    first = ResumableCSVLogger(tmp_path, name="", version="run")
    first.log_metrics({"train/loss": 1.0}, step=0)
    first.log_metrics({"train/loss": 0.5}, step=1)
    first.save()
    second = ResumableCSVLogger(tmp_path, name="", version="run")
    second.log_metrics({"test/accuracy": 0.75}, step=2)
    second.save()
    table = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert table["train/loss"].tolist()[:2] == [1.0, 0.5]
    assert table["test/accuracy"].dropna().tolist() == [0.75]
    assert table["step"].tolist() == [0, 1, 2]
