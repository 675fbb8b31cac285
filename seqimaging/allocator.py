"""glibc's malloc kept from handing freed memory back to the system between steps.

By default glibc serves a block above its mmap threshold (128 KiB at first, rising to at
most 32 MiB as such blocks are freed) with fresh pages from the kernel and unmaps it when
it is freed, and it trims the top of its heap whenever more than twice that threshold
lies free there. A training step frees and allocates the same activations over and over,
so each step page-faults them in anew (about 0.3 ms per MB on a 2-core VM). With
:func:`keep_freed_memory` blocks up to 32 MiB (the most glibc allows) come from the heap,
and up to 1 GiB of freed heap is kept for reuse: a ConvLSTM classifier training step of
the demo ran 1.13–1.19× faster, the whole demo 1.02–1.03× (benchmarks/RESULTS.md, "Demo
wall time"). That process's peak resident memory rose 4 % (970 to 1,013 MB), and a
process no longer shrinks after its peak.

The ``seqimaging`` command calls it at its start, beside
:func:`~seqimaging.threads.set_threads`, unless ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` is set (the user's own glibc tuning wins). Scripts that train
through the Python API can call it, or start Python with
``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824``. Where the C library
is not glibc (macOS, Windows, musl) it does nothing.
"""

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
SETTINGS = {M_MMAP_THRESHOLD: 32 * 2**20, M_TRIM_THRESHOLD: 2**30}
"""Each ``mallopt`` parameter and the value set."""
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
"""The variables through which a user sets the same thresholds; either one set, ours are not."""


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (:data:`SETTINGS`); True where they were set,
    False where the C library has no ``mallopt`` or the user set :data:`ENVIRONMENT`."""
    if any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError, TypeError):
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in SETTINGS.items())
