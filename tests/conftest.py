import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # commands run in tests take it, not a measure
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is fastest and immune to a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def quiet() -> dict:
    """Trainer options of the tests: CPU, one epoch, no logger, checkpoints, bar or summary."""
    return {
        "accelerator": "cpu",
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
