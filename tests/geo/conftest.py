"""Shared fixtures of the geo tests."""

from pathlib import Path

import pytest

from seqimaging.geo.synthetic import make_cloud_series


@pytest.fixture(scope="session")
def series(tmp_path_factory) -> Path:
    """A small synthetic series: 8 frames of 32×32 px, frame 4 in EPSG:3035."""
    return make_cloud_series(tmp_path_factory.mktemp("series"), n_frames=8, seed=3, size=32)
