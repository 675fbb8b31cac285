"""Fixtures of the medical tests: the Sunnybrook subset and tiny generated cines."""

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

SUNNYBROOK = Path(__file__).parents[1] / "data" / "sunnybrook"


@pytest.fixture
def sunnybrook() -> Path:
    return SUNNYBROOK


def _write_nifti(path: Path, data: np.ndarray, zooms=(1.5, 1.25, 8.0, 40.0)) -> Path:
    image = nib.Nifti1Image(data, np.diag([*zooms[:3], 1.0]))
    image.header.set_zooms(zooms[: data.ndim])
    image.header.set_xyzt_units("mm", "msec")
    nib.save(image, path)
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p): f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_mtime_ns}"
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def write_nifti():
    """``write_nifti(path, data, zooms)``: ``data`` ``(x, y, z[, t])`` as NIfTI, mm and ms."""
    return _write_nifti


@pytest.fixture
def digest():
    """``digest(folder)``: SHA-256 and modification time of every file under ``folder``."""
    return _digest
