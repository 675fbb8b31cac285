"""Run plumbing shared by every face: new run folders and the environment record.

A run folder is never written into by a second run: :func:`claim_run_folder` creates a
folder no run has yet. :func:`environment` is what a result needs to be reproduced:
versions, hardware, threads and the git revision.
"""

import itertools
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("seqimaging", "torch", "lightning", "torchmetrics", "numpy", "torchgeo", "monai")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def environment() -> dict:
    """Versions of the packages that matter, the hardware and the git revision."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "versions": versions,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "git_revision": _git_revision(),
    }


def claim_run_folder(runs: Path) -> Path:
    """Create and return ``<runs>/<date>_<time>``, or ``…-2``, ``…-3`` if that exists.

    Creating the folder is what claims it (``mkdir`` fails if another process made it
    first), so runs started in the same second, in separate processes, get separate
    folders.
    """
    runs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    for n in itertools.count(1):
        folder = runs / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise AssertionError("unreachable")
