"""glibc's malloc thresholds: large blocks from the heap, freed memory kept for reuse."""

import ctypes
import json
import os
import platform
import subprocess
import sys

import pytest

from seqimaging import allocator, cli

PROBE = """
import ctypes, json, sys
from seqimaging.allocator import keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
kept = keep_freed_memory() if sys.argv[1] == "kept" else None
block = libc.malloc(8 << 20)
mapped = libc.mallinfo2().hblkhd
libc.free(block)
print(json.dumps({"set": kept, "mapped": mapped, "free": libc.mallinfo2().fordblks}))
"""


def _probe(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=env
    ).stdout
    return json.loads(out)


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc 2.33 or newer",
)
def test_a_large_block_comes_from_the_heap_and_stays_there_when_freed():
    default, kept = _probe("default"), _probe("kept")
    assert default["mapped"] >= 8 << 20  # glibc's default: fresh pages, unmapped on free
    assert kept["set"] is True
    assert kept["mapped"] < 8 << 20 and kept["free"] >= 8 << 20


def test_the_users_own_glibc_tuning_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert allocator.keep_freed_memory() is False


def test_the_command_line_keeps_freed_memory(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(True))
    cli.main(["bench", "list"])
    assert calls == [True] and "convlstm-speed" in capsys.readouterr().out
