"""``seqimaging bench convlstm-speed``: our ConvLSTM against torchgeo's, same weights.

Each setting times a training step (forward, backward, SGD step) and inference
(``no_grad``) of both models, alternating them, and reports medians after warm-up,
the ratio torchgeo/ours (speed-up), achieved GFLOP/s against the machine's conv2d peak
measured in the same run, and peak memory of one training step.

FLOPs are nominal and identical for both models: per layer and step, one k×k convolution
of ``C_in + H`` channels into ``4H`` gates (2 FLOPs per multiply-add); training counts
three times the forward (forward, input gradient, weight gradient). Where the device
computes bf16 natively the grid runs again under bf16 autocast, and our bf16 is compared
with torchgeo's float32 (what each gives by default).
"""

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seqimaging._optional import require
from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.models import ConvLSTM
from seqimaging.profiling import median_times, peak_bytes
from seqimaging.tasks.training import default_device, default_precision


@dataclass(frozen=True)
class SpeedOptions(BenchOptions):
    """:class:`BenchOptions` and ``repeats``, the timed runs per measurement."""

    repeats: int = 7


@dataclass(frozen=True)
class Setting:
    """One benchmark shape: ``[B, T, C, H, W]`` input, hidden channels per layer, kernel."""

    name: str
    batch: int
    steps: int
    channels: int
    size: int
    hidden: tuple[int, ...]
    kernel: int

    def forward_flops(self) -> int:
        total, c_in = 0, self.channels
        for h in self.hidden:
            total += (
                2 * self.batch * self.steps * self.size**2 * 4 * h * (c_in + h) * self.kernel**2
            )
            c_in = h
        return total


SETTINGS = (
    Setting("a: OpenSTL ConvLSTM-S, CPU-narrowed", 8, 10, 16, 16, (64, 64, 64, 64), 5),
    Setting("b: cine-like", 4, 20, 1, 64, (32, 32), 3),
    Setting("c: Sentinel-2-like", 16, 12, 13, 32, (64,), 3),
    Setting("d: small", 8, 10, 4, 32, (16, 16), 3),
)


def conv_peak(settings: tuple[Setting, ...], device: torch.device, autocast: bool) -> float:
    """Best conv2d GFLOP/s over each layer's convolution with all frames in one batch.

    ``run`` measures it before and after the grid and keeps the larger.
    """
    best = 0.0
    for s in settings:
        c_in = s.channels
        for h in s.hidden:
            x = torch.randn(s.batch * s.steps, c_in + h, s.size, s.size, device=device)
            w = torch.randn(4 * h, c_in + h, s.kernel, s.kernel, device=device)
            flops = 2 * x.shape[0] * s.size**2 * 4 * h * (c_in + h) * s.kernel**2

            def conv(x=x, w=w, padding=s.kernel // 2):
                with torch.autocast(device.type, torch.bfloat16, enabled=autocast):
                    F.conv2d(x, w, padding=padding)

            seconds = median_times({"conv": conv}, repeats=5, warmup=2, device=device)["conv"]
            best = max(best, flops / seconds / 1e9)
            c_in = h
    return best


def _steps(
    model: nn.Module, run: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, autocast: bool
) -> tuple[Callable[[], None], Callable[[], None]]:
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-4)

    def train() -> None:
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, torch.bfloat16, enabled=autocast):
            loss = run(x).float().square().mean()
        loss.backward()
        optimiser.step()

    @torch.no_grad()
    def infer() -> None:
        with torch.autocast(x.device.type, torch.bfloat16, enabled=autocast):
            run(x)

    return train, infer


def run_setting(
    setting: Setting, device: torch.device, repeats: int, warmup: int, autocast: bool, seed: int
) -> dict:
    """Time and measure both models on one setting; return one result row."""
    torchgeo_models = require("torchgeo.models", extra="geo")
    torch.manual_seed(seed)
    peer = torchgeo_models.ConvLSTM(
        setting.channels, list(setting.hidden), setting.kernel, len(setting.hidden)
    ).to(device)
    ours = ConvLSTM.from_torchgeo(peer)
    x = torch.randn(
        setting.batch, setting.steps, setting.channels, setting.size, setting.size, device=device
    )
    peer_train, peer_infer = _steps(peer, lambda v: peer.forward_features(v)[0][-1], x, autocast)
    ours_train, ours_infer = _steps(ours, lambda v: ours(v)[0], x, autocast)
    row: dict = {"setting": asdict(setting)}
    for mode, fns, flops in [
        ("train", {"torchgeo": peer_train, "ours": ours_train}, 3 * setting.forward_flops()),
        ("infer", {"torchgeo": peer_infer, "ours": ours_infer}, setting.forward_flops()),
    ]:
        seconds = median_times(fns, repeats, warmup, device)
        row[mode] = {
            "seconds": seconds,
            "speedup": seconds["torchgeo"] / seconds["ours"],
            "gflops": {name: flops / t / 1e9 for name, t in seconds.items()},
        }
    memory = {"torchgeo": peak_bytes(peer_train, device), "ours": peak_bytes(ours_train, device)}
    row["train_peak_bytes"] = memory
    row["train_memory_ratio"] = memory["ours"] / memory["torchgeo"]
    return row


def table_rows(result: dict) -> list[dict]:
    """The rows of the results table: each precision, setting and mode, both models."""
    return [
        {
            "precision": precision,
            "setting": row["setting"]["name"],
            "mode": mode,
            "torchgeo ms": f"{1e3 * row[mode]['seconds']['torchgeo']:.1f}",
            "ours ms": f"{1e3 * row[mode]['seconds']['ours']:.1f}",
            "speed-up": f"{row[mode]['speedup']:.2f}×",
            "torchgeo % peak": f"{100 * row[mode]['gflops']['torchgeo'] / peak:.0f}%",
            "ours % peak": f"{100 * row[mode]['gflops']['ours'] / peak:.0f}%",
            "memory ours/torchgeo": f"{row['train_memory_ratio']:.2f}" if mode == "train" else "",
        }
        for precision, part in result["precisions"].items()
        for peak in [part["conv_peak_gflops"]]
        for row in part["rows"]
        for mode in ("train", "infer")
    ]


def _geomean(rows: list[dict], mode: str, ours: list[dict] | None = None) -> float:
    """Geometric-mean speed-up of ``ours`` rows (default: the same rows) over torchgeo's."""
    ours = rows if ours is None else ours
    return statistics.geometric_mean(
        r[mode]["seconds"]["torchgeo"] / o[mode]["seconds"]["ours"]
        for r, o in zip(rows, ours, strict=True)
    )


def run(
    out: Path,
    *,
    repeats: int = 7,
    warmup: int = 2,
    device: str | None = None,
    settings: tuple[Setting, ...] = SETTINGS,
    seed: int = 0,
) -> dict:
    """Run the grid; print the table and write ``results.json`` and ``results.md`` in ``out``.

    In float32, and under bf16 autocast where the device computes bf16 natively
    (:func:`~seqimaging.tasks.training.default_precision`): then the default against
    torchgeo's float32 is reported too.
    """
    record = BenchRecord(
        "convlstm-speed",
        out,
        "ConvLSTM speed and memory against torchgeo's, same weights",
        data="random inputs of each setting's shape",
        stand_in=False,
        split="none (a speed benchmark)",
        seed=seed,
    )
    dev = torch.device(default_device(device))
    bf16 = default_precision(dev.type) == "bf16-mixed"
    result: dict = {"device": str(dev), "precisions": {}}
    for precision, autocast in [("float32", False)] + [("bf16", True)] * bf16:
        peak_before = conv_peak(settings, dev, autocast)
        rows = [run_setting(s, dev, repeats, warmup, autocast, seed) for s in settings]
        result["precisions"][precision] = {
            "conv_peak_gflops": max(peak_before, conv_peak(settings, dev, autocast)),
            "rows": rows,
            "geomean_speedup": {m: _geomean(rows, m) for m in ("train", "infer")},
        }
    parts = result["precisions"]
    if bf16:
        result["default_vs_torchgeo_float32"] = {
            m: _geomean(parts["float32"]["rows"], m, parts["bf16"]["rows"])
            for m in ("train", "infer")
        }
    record.text(
        "conv2d peak: "
        + ", ".join(f"{p['conv_peak_gflops']:.0f} GFLOP/s in {n}" for n, p in parts.items())
        + f" on {result['device']}"
    )
    record.table(table_rows(result))
    lines = [
        f"geometric-mean speed-up at equal precision, {precision} {mode}: {speedup:.2f}×"
        for precision, part in parts.items()
        for mode, speedup in part["geomean_speedup"].items()
    ]
    lines += [
        f"our default (bf16) against torchgeo's float32, {mode}: {speedup:.2f}×"
        for mode, speedup in result.get("default_vs_torchgeo_float32", {}).items()
    ]
    record.text("\n".join(lines))
    return record.write(result, repeats=repeats, warmup=warmup)


def bench(out: Path, options: SpeedOptions) -> dict:
    """``seqimaging bench convlstm-speed``; ``--quick`` times the smallest setting once."""
    if options.quick:
        return run(out, repeats=1, warmup=1, device=options.device, settings=SETTINGS[-1:])
    return run(out, repeats=options.repeats, device=options.device, seed=options.seed)
