"""``seqimaging bench whole-scene``: forecasting a whole scene in bounded memory.

Two scenes: the OPERA composite of ``--root`` (``opera/20180824`` of the radar events,
2200 × 1900 at 2 km), and a generated 10 980 × 10 980 tile (a Sentinel-2 tile's size;
512² with ``--quick``), stored as zarr in 1024² chunks. Each is forecast with
:func:`~seqimaging.inference.scene.forecast_scene` and written to zarr by
:func:`~seqimaging.inference.output.write_forecast`, in a fresh process per run: once on
dask's ``sync`` scheduler (one process, one task at a time), once on a dask.distributed
``LocalCluster`` of 2 single-threaded workers. Reported: wall time, windows per second
against the model's own batched inference rate on windows of the same size (measured in
the same process, same batch size, before and after the run), the model's share of the
wall time, and peak RSS (of the process, and of each worker).
Start-up (importing MONAI, starting the cluster) is reported apart, off the clock.

The forecaster has random weights: speed and memory do not depend on them.
"""

import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqimaging._optional import require
from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.models import build_model


@dataclass(frozen=True)
class SceneConfig:
    """The model and tiling of every run."""

    context: int = 4
    horizon: int = 3
    patch: int = 64
    overlap: float = 0.25
    block: int = 1024
    batch_size: int = 16
    hidden_channels: int = 16
    width: int = 8
    stride: int = 4
    tile: int = 10980


QUICK = SceneConfig(tile=512, block=256)


def _model(config: SceneConfig) -> nn.Module:
    torch.manual_seed(0)
    return build_model(
        "convlstm_forecaster",
        in_channels=1,
        horizon=config.horizon,
        hidden_channels=config.hidden_channels,
        width=config.width,
        stride=config.stride,
    ).eval()


class Counting(nn.Module):
    """``model``, counting the windows it forecasts and the seconds it takes (in this
    process)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.windows, self.seconds = model, 0, 0.0

    def forward(self, frames, mask=None, horizon=None):
        start = time.perf_counter()
        out = self.model(frames, mask=mask, horizon=horizon)
        self.windows += len(frames)
        self.seconds += time.perf_counter() - start
        return out


def batch_rate(model: nn.Module, config: SceneConfig, repeats: int = 20) -> float:
    """Windows per second of ``model`` on full batches of random windows."""
    p, b = config.patch, config.batch_size
    frames = torch.rand(b, config.context, 1, p, p)
    mask = torch.ones(b, config.context, 1, p, p, dtype=torch.bool)
    with torch.no_grad():
        model(frames, mask=mask)
        start = time.perf_counter()
        for _ in range(repeats):
            model(frames, mask=mask)
    return repeats * b / (time.perf_counter() - start)


def make_tile(path: Path, size: int, frames: int) -> Path:
    """A lazy ``(frames, 1, size, size)`` cube of moving blobs with a no-data corner, saved
    as zarr in 1024² chunks, never held whole."""
    da = require("dask.array", extra="geo")
    xr = require("xarray", extra="geo")
    from seqimaging.geo.cube import save_cube

    chunk = min(1024, size)

    def blobs(block: np.ndarray, block_info=None) -> np.ndarray:
        (t0, t1), _, (y0, y1), (x0, x1) = block_info[None]["array-location"]
        t, y, x = np.meshgrid(
            np.arange(t0, t1), np.arange(y0, y1), np.arange(x0, x1), indexing="ij"
        )
        wave = np.sin((x + 3 * t) / 37.0) * np.cos((y - 2 * t) / 53.0)
        values = np.clip(wave, 0, None).astype(np.float32)[:, None]
        values[..., (y[0] < size // 8) & (x[0] < size // 8)] = np.nan
        return values

    template = da.zeros((frames, 1, size, size), chunks=(1, 1, chunk, chunk), dtype=np.float32)
    times = np.datetime64("2024-06-01T12:00") + np.arange(frames) * np.timedelta64(5, "m")
    cube = xr.DataArray(
        da.map_blocks(blobs, template, dtype=np.float32),
        dims=("time", "band", "y", "x"),
        coords={
            "time": times,
            "band": ["value"],
            "y": 5e6 - 10 * (np.arange(size) + 0.5),
            "x": 3e5 + 10 * (np.arange(size) + 0.5),
        },
        attrs={"crs": "EPSG:32633", "transform": [10.0, 0.0, 3e5, 0.0, -10.0, 5e6]},
        name="value",
    )
    return save_cube(cube, path)


def run_once(scene: str, config: SceneConfig, scheduler: str, out: Path) -> dict:
    """One forecast of ``scene`` into ``out``, in this process: wall time, windows, rates,
    peak RSS."""
    from seqimaging.inference.forecast import read_input
    from seqimaging.inference.output import write_forecast
    from seqimaging.inference.scene import Tiling, dask_scheduler, forecast_scene

    torch.set_num_threads(1)
    model = _model(config)
    rate_before = batch_rate(model, config)
    counted = Counting(model)
    radar = "opera" if not scene.endswith(".zarr") else None
    cube = read_input(scene, radar=radar, last=config.context)
    tiling = Tiling(config.patch, config.overlap, block=config.block, batch_size=config.batch_size)
    start = time.perf_counter()
    require("monai.inferers", extra="medical")  # a one-off import, kept off the clock
    cluster = None
    if scheduler == "cluster":
        distributed = require("distributed", extra="geo")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        )
        with distributed.Client(cluster) as client:
            client.run(importlib.import_module, "monai.inferers")
        scheduler = cluster.scheduler_address
    startup = time.perf_counter() - start
    start = time.perf_counter()
    result = forecast_scene(
        counted, cube, context=config.context, horizon=config.horizon, tiling=tiling
    )
    with dask_scheduler(scheduler):
        write_forecast(result, out)
        workers = {}
        if cluster is not None:
            client = require("distributed", extra="geo").get_client()
            workers = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    wall = time.perf_counter() - start
    if cluster is not None:
        cluster.close()
    rate = (rate_before + batch_rate(model, config)) / 2  # the machine's drift evened out
    return {
        "scene": Path(scene).name,
        "size": [cube.sizes["y"], cube.sizes["x"]],
        "scheduler": "sync" if cluster is None else "LocalCluster 2×1",
        "startup_s": startup,
        "wall_s": wall,
        "windows": counted.windows or None,
        "model_share": counted.seconds / wall if counted.windows else None,
        "batch_rate": rate,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_rss_mb": [v / 1024 for v in workers.values()],
    }


def bench(out: Path, options: BenchOptions) -> dict:
    """Forecast both scenes on both schedulers, each run in a fresh process."""
    config = QUICK if options.quick else SceneConfig()
    scenes = [out / "data" / f"tile{config.tile}.zarr"]
    if not scenes[0].exists():
        scenes[0].parent.mkdir(parents=True, exist_ok=True)
        make_tile(scenes[0], config.tile, config.context + 1)
    if options.root is not None:
        scenes.insert(0, Path(options.root) / "opera" / "20180824")
    record = BenchRecord(
        "whole-scene",
        out,
        "whole-scene forecasts in bounded memory, one process and a 2-worker LocalCluster",
        data=f"{', '.join(str(s) for s in scenes)}; the generated tile is moving blobs",
        stand_in=options.root is None,
        split="none (inference speed and memory; random weights)",
        seed=options.seed,
    )
    rows = []
    for scene in scenes:
        for scheduler in ("sync", "cluster"):
            with tempfile.TemporaryDirectory(dir=out) as scratch:
                target = Path(scratch) / "forecast.zarr"
                settings = json.dumps(asdict(config))
                command = [
                    sys.executable,
                    "-m",
                    __name__,
                    str(scene),
                    scheduler,
                    settings,
                    str(target),
                ]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    windows = {row["scene"]: row["windows"] for row in rows if row["windows"]}
    for row in rows:
        row["windows"] = windows[row["scene"]]
        row["windows_per_s"] = row["windows"] / row["wall_s"]
        row["of_batch_rate"] = row["windows_per_s"] / row["batch_rate"]
    record.section("Runs", f"Model and tiling: `{asdict(config)}`.")
    record.table(
        [
            {
                "scene": f"{r['scene']} ({r['size'][0]}×{r['size'][1]})",
                "scheduler": r["scheduler"],
                "start-up s": f"{r['startup_s']:.1f}",
                "wall s": f"{r['wall_s']:.1f}",
                "windows": r["windows"],
                "windows/s": f"{r['windows_per_s']:.1f}",
                "of batch rate": f"{r['of_batch_rate']:.0%}",
                "model's share of wall": ""
                if r["model_share"] is None
                else f"{r['model_share']:.0%}",
                "peak RSS MB": f"{r['peak_rss_mb']:.0f}",
                "worker peak RSS MB": ", ".join(f"{v:.0f}" for v in r["worker_peak_rss_mb"]),
            }
            for r in rows
        ]
    )
    record.text(
        "Batch rate: the model alone on full batches of random windows of the same size, "
        "in the same process, one torch thread, the mean of a measurement before and one "
        "after the forecast. With 2 workers the batch rate is one process's, so 2 workers "
        "may reach up to 200 % of it. Model's share: the seconds inside the model's "
        "forward over the wall time (one process only); the rest is reading, MONAI's "
        "window gathering and blending, and writing."
    )
    return record.write({"runs": rows}, config)


if __name__ == "__main__":  # one run in a fresh process: scene scheduler config out
    scene_path, scheduler_name, settings, target = sys.argv[1:5]
    print(json.dumps(run_once(scene_path, SceneConfig(**json.loads(settings)),
                              scheduler_name, Path(target))))  # fmt: skip
