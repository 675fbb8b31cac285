"""Atomic writes of files and folders: nothing half-written, nothing lost, no temporaries."""

import os
import stat

import pytest

from seqimaging.errors import SeqImagingError
from seqimaging.files import atomic_folder, atomic_write, cached_folder, first_free, write_json


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_written_file_has_the_permissions_open_would_give(tmp_path):
    path = write_json(tmp_path / "results.json", {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as file:
        file.write("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_atomic_folder_replaces_a_folder_whole_or_not_at_all(tmp_path):
    target = tmp_path / "cube.zarr"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as scratch:
        scratch.mkdir()
        (scratch / "new").write_text("half")
        raise RuntimeError("killed")
    assert [p.name for p in target.iterdir()] == ["old"]
    with atomic_folder(target) as scratch:
        scratch.mkdir()
        (scratch / "new").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["cube.zarr"]


def test_a_folder_nothing_was_written_to_is_a_clear_error(tmp_path):
    with pytest.raises(SeqImagingError, match="nothing was written"), atomic_folder(tmp_path / "x"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_cached_folder_is_made_once(tmp_path):
    calls = []

    def make(path):
        calls.append(path)
        path.mkdir()
        (path / "data").write_text("1")

    for _ in range(2):
        assert (cached_folder(tmp_path / "cache", make) / "data").read_text() == "1"
    assert len(calls) == 1 and [p.name for p in tmp_path.iterdir()] == ["cache"]


def test_cached_folder_made_meanwhile_by_another_process_is_kept(tmp_path):
    target = tmp_path / "cache"

    def make(path):  # another process finishes first, while this one is still writing
        target.mkdir()
        (target / "theirs").write_text("1")
        path.mkdir()
        (path / "ours").write_text("2")

    assert [p.name for p in cached_folder(target, make).iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]


def test_first_free_never_names_an_existing_record(tmp_path):
    assert first_free(tmp_path, "config-test", ".yaml") == tmp_path / "config-test.yaml"
    (tmp_path / "config-test.yaml").write_text("a")
    (tmp_path / "config-test-2.yaml").write_text("b")
    assert first_free(tmp_path, "config-test", ".yaml") == tmp_path / "config-test-3.yaml"
