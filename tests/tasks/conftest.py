import lightning as L
import pytest


@pytest.fixture
def trainer(tmp_path, quiet):
    """A quiet CPU trainer factory writing to ``tmp_path``."""

    def make(**kwargs) -> L.Trainer:
        return L.Trainer(**quiet | {"default_root_dir": tmp_path} | kwargs)

    return make
