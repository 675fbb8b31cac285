"""``seqimaging bench time-to-accuracy``: wall time to a fixed validation MSE, our ConvLSTM
against torchgeo's in the same encoder–forecaster, in float32 and in bf16.

Protocol:

- **Data**: the generated MovingShapes set (:class:`~seqimaging.testing.MovingShapes`),
  ``context → horizon`` frames; sequences ``0 … train−1`` train, the next ``val`` are the
  validation block (no test split: nothing is chosen, only timed).
- **Models**: ``convlstm_forecaster`` (patch encoder, ConvLSTM, 1×1 decoder), and the
  same model whose ConvLSTM is torchgeo 0.10's (:class:`TorchgeoCore`), both starting from
  the same weights (torchgeo's copied into ours, :meth:`ConvLSTM.from_torchgeo`).
- **Training**: AdamW at a constant rate, the same batches in the same order for every run
  (one seeded generator), no teacher forcing. bf16 is ``torch.autocast`` with float32
  master weights (our ConvLSTM keeps its cell state in float32), run only where the
  device computes bf16 natively (:func:`~seqimaging.tasks.training.default_precision`).
- **Clock**: training steps only. Every ``every`` steps the validation MSE is computed
  with the clock stopped; the time to accuracy is the clock at the first evaluation whose
  MSE is at most :data:`TARGET` × persistence's (the last context frame repeated), a
  fraction declared before the runs.
- **Accuracy of bf16**: the validation MSE of each bf16 run beside its float32 run's at
  the same steps, and the mean of the last :data:`LAST` evaluations of each.
"""

import copy
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from seqimaging._optional import require
from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.errors import SeqImagingError
from seqimaging.models import ConvLSTM, build_model
from seqimaging.sample import collate
from seqimaging.tasks.training import default_device, default_precision
from seqimaging.testing import MovingShapes

TARGET = 0.15
"""The validation MSE to reach, as a fraction of persistence's (a skill of 0.85: about
half-way through the full run's budget in a pilot run)."""

LAST = 5
"""Evaluations at the end of a run whose mean compares bf16 with float32: single
evaluations move by up to 20% between neighbouring steps of one run."""


@dataclass(frozen=True)
class Config:
    """Sizes of a run: :data:`FULL` by default, :data:`QUICK` with ``--quick``."""

    size: int
    train: int
    val: int
    steps: int
    every: int
    context: int = 8
    horizon: int = 8
    hidden: tuple[int, ...] = (32, 32)
    kernel: int = 5
    patch: int = 4
    batch_size: int = 16
    lr: float = 2e-3


FULL = Config(size=32, train=2048, val=128, steps=600, every=25)
QUICK = Config(size=16, train=64, val=16, steps=8, every=4, hidden=(8, 8), kernel=3)


class TorchgeoCore(nn.Module):
    """torchgeo's ConvLSTM behind the calls the forecaster makes of its core:
    ``forward(x [B, T, C, H, W], state)`` → (last layer's outputs, ``(h, c)`` per layer),
    and ``step(x_t, state)``."""

    def __init__(self, peer: nn.Module) -> None:
        super().__init__()
        self.peer, self.hidden_channels = peer, list(peer.hidden_dim)

    def forward(
        self, x: Tensor, state: list | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, list]:
        if lengths is not None:
            raise SeqImagingError("torchgeo's ConvLSTM takes no lengths")
        outputs, states = self.peer.forward_features(x, hidden_state=state)
        return outputs[-1], [tuple(s) for s in states]

    def step(self, x_t: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        out, state = self(x_t[:, None], state)
        return out[:, 0], state


def models(config: Config, seed: int) -> dict[str, nn.Module]:
    """Ours and the torchgeo-cored forecaster, with the same weights."""
    torchgeo_models = require("torchgeo.models", extra="geo")
    torch.manual_seed(seed)
    ours = build_model(
        "convlstm_forecaster",
        in_channels=1,
        horizon=config.horizon,
        encoder="patch",
        stride=config.patch,
        hidden_channels=list(config.hidden),
        kernel_size=config.kernel,
        residual=False,
    )
    channels = ours.encoder.out_channels
    peer = torchgeo_models.ConvLSTM(
        channels, list(config.hidden), config.kernel, len(config.hidden), return_all_layers=True
    )
    ours.core = ConvLSTM.from_torchgeo(peer)
    theirs = copy.deepcopy(ours)
    theirs.core = TorchgeoCore(peer)
    return {"ours": ours, "torchgeo": theirs}


def _mse(model: nn.Module, batches: list[dict], bf16: bool, device: torch.device) -> float:
    errors = []
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=bf16):
        for batch in batches:
            forecast = model(batch["frames"].to(device)).float()
            errors.append((forecast - batch["future"].to(device)).square().mean())
    return float(torch.stack(errors).mean())


def train_run(
    model: nn.Module,
    train: Iterable[dict],
    val: list[dict],
    config: Config,
    bf16: bool,
    device: torch.device,
    target: float,
) -> dict:
    """Train ``model`` for ``config.steps``; the clock, and the validation MSE every
    ``config.every`` steps."""
    model = model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr)
    clock, curve, reached = 0.0, [], None
    batches = iter(train)
    for step in range(1, config.steps + 1):
        batch = next(batches)
        x, y = batch["frames"].to(device), batch["future"].to(device)
        start = time.perf_counter()
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            forecast = model(x)
        loss = (forecast.float() - y).square().mean()
        loss.backward()
        optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        clock += time.perf_counter() - start
        if step % config.every == 0:
            mse = _mse(model.eval(), val, bf16, device)
            model.train()
            curve.append({"step": step, "seconds": clock, "val_mse": mse})
            if reached is None and mse <= target:
                reached = {"step": step, "seconds": clock}
    return {"curve": curve, "reached": reached, "seconds_per_step": clock / config.steps}


def bench(out: Path, options: BenchOptions) -> dict:
    """Run the protocol of this module's docstring; write ``results.json`` and ``.md``."""
    config = QUICK if options.quick else FULL
    device = torch.device(default_device(options.device))
    record = BenchRecord(
        "time-to-accuracy",
        out,
        "Time to a fixed validation MSE: our ConvLSTM against torchgeo's",
        data=f"generated MovingShapes, {config.size}×{config.size}, {config.context} → "
        f"{config.horizon} frames",
        stand_in=False,
        split=f"sequences 0–{config.train - 1} train, the next {config.val} validation",
        seed=options.seed,
    )
    data = MovingShapes(
        config.train + config.val,
        frames=config.context,
        horizon=config.horizon,
        size=config.size,
        seed=options.seed,
    )
    val = list(
        DataLoader(
            Subset(data, range(config.train, len(data))),
            batch_size=config.batch_size,
            collate_fn=collate,
        )
    )
    persistence = float(
        torch.stack([(b["frames"][:, -1:] - b["future"]).square().mean() for b in val]).mean()
    )
    target = TARGET * persistence
    precisions = ["float32"] + (["bf16"] if default_precision(device.type) == "bf16-mixed" else [])
    runs: dict[str, dict] = {}
    for precision in precisions:
        for name, model in models(config, options.seed).items():
            generator = torch.Generator().manual_seed(options.seed)
            train = DataLoader(
                Subset(data, range(config.train)),
                batch_size=config.batch_size,
                shuffle=True,
                generator=generator,
                collate_fn=collate,
                drop_last=True,
            )
            repeated = _repeat(train, config.steps)
            runs[f"{name} {precision}"] = train_run(
                model, repeated, val, config, precision == "bf16", device, target
            )
    default = "ours bf16" if "ours bf16" in runs else "ours float32"
    rows = [_row(name, run, runs, default) for name, run in runs.items()]
    record.text(
        f"Target: validation MSE ≤ {TARGET} × persistence's ({persistence:.5f}) = "
        f"{target:.5f}; {config.steps} steps of batch {config.batch_size}, validation every "
        f"{config.every} steps (off the clock), on {device}. Our default: {default}."
    )
    record.table(rows)
    record.section(
        "Validation MSE at equal steps",
        f"The mean of the last {LAST} evaluations: "
        + ", ".join(f"{name} {_last_mean(run):.5f}" for name, run in runs.items())
        + ".",
    )
    record.table(_curve_rows(runs))
    return record.write(
        {"target": target, "persistence_val_mse": persistence, "runs": runs, "rows": rows},
        config=config,
        device=str(device),
    )


def _repeat(loader: DataLoader, steps: int) -> Iterator[dict]:
    """The loader's batches, epoch after epoch, ``steps`` of them."""
    count = 0
    while True:
        for batch in loader:
            if count == steps:
                return
            count += 1
            yield batch


def _row(name: str, run: dict, runs: dict, default: str) -> dict:
    reached = run["reached"]
    peer = runs["torchgeo float32"]["reached"]
    speedup = f"{peer['seconds'] / reached['seconds']:.2f}×" if reached and peer else "–"
    return {
        "run": name,
        "ms per step": f"{1e3 * run['seconds_per_step']:.1f}",
        "steps to target": reached["step"] if reached else "not reached",
        "seconds to target": f"{reached['seconds']:.1f}" if reached else "–",
        "torchgeo float32 / this": speedup,
        "final val MSE": f"{run['curve'][-1]['val_mse']:.5f}",
    }


def _last_mean(run: dict) -> float:
    points = run["curve"][-LAST:]
    return sum(p["val_mse"] for p in points) / len(points)


def _curve_rows(runs: dict) -> list[dict]:
    names = list(runs)
    return [
        {"step": point["step"]}
        | {name: f"{runs[name]['curve'][i]['val_mse']:.5f}" for name in names}
        for i, point in enumerate(runs[names[0]]["curve"])
    ]
