"""How many threads torch computes with: the cores no other process keeps busy, decided
once at the start of a command.

OpenMP threads that outnumber the free cores wait on one another at every parallel
region: beside one busy process on a 2-core machine, two threads train 2× slower than one
(benchmarks/RESULTS.md, "Threads on a shared machine"). The command line, the demo and
the benchmarks therefore start with :func:`set_threads`: ``--threads N`` when given, else
``OMP_NUM_THREADS`` when the user set it, else :func:`free_cores`.
"""

import math
import os
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

STAT = Path("/proc/stat")


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs since boot, from ``/proc/stat``; None elsewhere."""
    try:
        fields = [float(v) for v in STAT.read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    total = sum(fields[:8])  # user … steal; guest time is already in user
    return total - idle, total


def available_cores() -> int:
    """The cores this process may run on (its affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def busy_cores(seconds: float = 0.2) -> float:
    """How many cores other processes keep busy, measured over ``seconds`` (0 where the
    kernel does not say: not Linux)."""
    before = _cpu_times()
    if before is None:
        return 0.0
    time.sleep(seconds)
    after = _cpu_times()
    busy, total = after[0] - before[0], after[1] - before[1]
    return 0.0 if total <= 0 else (os.cpu_count() or 1) * busy / total


def free_cores(seconds: float = 0.2) -> int:
    """The available cores minus the busy ones (a core more than half busy counts), at
    least 1."""
    return max(1, available_cores() - math.floor(busy_cores(seconds) + 0.5))


def set_threads(threads: int | None = None) -> int:
    """Set the threads of torch and of every BLAS and OpenMP pool in the process (numpy's
    OpenBLAS too, through threadpoolctl): ``threads``, else ``OMP_NUM_THREADS`` if set,
    else :func:`free_cores`; return the number set."""
    if threads is None and os.environ.get("OMP_NUM_THREADS", "").isdigit():
        threads = int(os.environ["OMP_NUM_THREADS"])
    threads = threads or free_cores()
    threadpool_limits(threads)
    torch.set_num_threads(threads)
    return threads
