import shutil
from pathlib import Path

import pytest
from video_helpers import UCF_MINI


@pytest.fixture
def ucf_mini(tmp_path) -> Path:
    """A writable copy of the UCF101-style tree of Big Buck Bunny clips."""
    return Path(shutil.copytree(UCF_MINI, tmp_path / "ucf_mini"))
