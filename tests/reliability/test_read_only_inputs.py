"""Reading and training leave the inputs untouched: read-only copies, same bytes after."""

import hashlib
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
import rasterio
from _pipelines import cine_inputs, cine_run, cloud_inputs, cloud_run

WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_opened: list[tuple[str, object, object]] | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None:
        _opened.append(args)


sys.addaudithook(_audit)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read_only_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return target


@pytest.mark.parametrize(
    ("make", "run"), [(cine_inputs, cine_run), (cloud_inputs, cloud_run)], ids=["cine", "cloud"]
)
def test_training_on_read_only_inputs_changes_no_byte(tmp_path, monkeypatch, make, run):
    global _opened
    made = make(tmp_path / "made")
    folder = _read_only_copy(made, tmp_path / "inputs")
    root = folder if make is cloud_inputs else folder / made.relative_to(tmp_path / "made")
    before = _digest(folder)
    gdal_modes = []
    real_open = rasterio.open

    def recording_open(path, mode="r", *args, **kwargs):
        gdal_modes.append(mode)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(rasterio, "open", recording_open)
    _opened = []
    try:
        metrics, _ = run(root)
    finally:
        opened, _opened = _opened, None
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)  # so tmp_path can be cleaned
    assert metrics
    assert _digest(folder) == before
    ours = [(str(p), m, f) for p, m, f in opened if str(p).startswith(str(folder))]
    assert ours if make is cine_inputs else gdal_modes  # the inputs were read
    for path, mode, flags in ours:
        assert not (isinstance(flags, int) and flags & WRITING), f"{path} opened to write"
        assert not (isinstance(mode, str) and set(mode) & set("wax+")), f"{path}: mode {mode}"
    assert set(gdal_modes) <= {"r"}
