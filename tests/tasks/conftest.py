import lightning as L
import pytest


@pytest.fixture
def trainer(tmp_path):
    """A quiet CPU trainer factory writing to ``tmp_path``."""

    def make(**kwargs) -> L.Trainer:
        options = {
            "accelerator": "cpu",
            "max_epochs": 1,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "default_root_dir": tmp_path,
        }
        return L.Trainer(**options | kwargs)

    return make
