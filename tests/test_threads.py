"""The thread count commands start with: the free cores, the user's setting, --threads."""

import subprocess
import sys

import pytest
import torch

from seqimaging import threads
from seqimaging.cli import main


def test_busy_cores_is_the_busy_share_of_the_cpu_times(monkeypatch):
    readings = iter([(100.0, 400.0), (150.0, 600.0)])  # 50 of 200 jiffies busy
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(readings))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    assert threads.busy_cores(0.0) == pytest.approx(1.0)


def test_busy_cores_sees_a_busy_process():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert threads.busy_cores(0.5) > 0.7
    finally:
        busy.kill()


@pytest.mark.parametrize(("busy", "free"), [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (7.0, 1)])
def test_free_cores_leaves_out_every_core_more_than_half_busy(monkeypatch, busy, free):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores", lambda seconds=0.2: busy)
    assert threads.free_cores() == free


def test_set_threads_takes_the_argument_then_the_environment_then_the_free_cores(monkeypatch):
    monkeypatch.setattr(threads, "free_cores", lambda: 3)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.set_threads(1) == 1 and torch.get_num_threads() == 1
    assert threads.set_threads() == 2 and torch.get_num_threads() == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.set_threads() == 3 and torch.get_num_threads() == 3


def test_the_command_line_sets_threads_before_the_command(capsys):
    main(["--threads", "2", "bench", "list"])
    assert torch.get_num_threads() == 2 and "convlstm-speed" in capsys.readouterr().out
    main(["--threads=1", "bench", "list"])
    assert torch.get_num_threads() == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["--threads", "0", "bench", "list"])
    assert exit_info.value.code == 2
    assert "--threads 0: expected a whole number of at least 1" in capsys.readouterr().err
