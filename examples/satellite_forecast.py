"""Forecast the next frames of a satellite series with the ConvLSTM, against persistence.

By default a synthetic series (clouds drifting over a static surface, written as dated
GeoTIFFs with a nodata border and one frame in another CRS) is made and read back with
``read_stack``; ``--root`` reads a folder of your own dated GeoTIFFs instead. The cube is
cut into windows of 6 context and 3 future frames on 32-pixel regions, split by region
into train / validation / test; the ConvLSTM forecaster is trained with ForecastTask,
and test MSE, MAE and SSIM per lead time are printed next to persistence (the last
context frame). A PNG strip (context | truth | forecast | error) and an animated GIF are
written to ``--out``.

    python examples/satellite_forecast.py                      # about 40 s on a 2-core CPU
    python examples/satellite_forecast.py --root DIR --band B4  # your GeoTIFFs
"""

import argparse
import tempfile
from pathlib import Path

import lightning as L
import numpy as np
import torch

from seqimaging.data import sample_loader
from seqimaging.geo import CubeWindows, min_max_scaled, read_stack
from seqimaging.geo.synthetic import make_cloud_series
from seqimaging.report import REFLECTANCE, forecast_strip_figure, save_figure, save_gif
from seqimaging.report.sections import most_changing
from seqimaging.sample import collate
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.training import quiet_trainer, scores_on_test

CONTEXT, HORIZON, PATCH = 6, 3, 16


def load_cube(root: Path | None, band: str | None, frames: int, size: int, seed: int):
    """The series as an in-memory cube with one band scaled to [0, 1]."""
    if root is None:
        root = make_cloud_series(tempfile.mkdtemp(), n_frames=frames, seed=seed, size=size)
        band = band or "reflectance"
    cube = read_stack(root)
    return min_max_scaled(cube.sel(band=[band or str(cube.band.values[0])]).load())


def save_figures(task: ForecastTask, sample: dict, out: Path) -> None:
    """``forecast.png``: context | truth | forecast | error; ``forecast.gif``: truth, forecast."""
    with torch.no_grad():
        forecast = task.model(collate([sample]))[0, :, 0].numpy()
    context, truth = sample["frames"][:, 0].numpy(), sample["future"][:, 0].numpy()
    leads = [f"+{k + 1}" for k in range(HORIZON)]
    strip = forecast_strip_figure(context, truth, forecast, scale=REFLECTANCE, column_titles=leads)
    save_figure(strip, out / "forecast.png")
    save_gif(
        {"truth": truth, "forecast": forecast},
        out / "forecast.gif",
        scale=REFLECTANCE,
        frame_titles=leads,
    )


def main(
    root: Path | None = None,
    band: str | None = None,
    frames: int = 40,
    size: int = 64,
    epochs: int = 40,
    seed: int = 0,
    out: Path = Path("runs/satellite_forecast"),
) -> dict[str, dict[str, list]]:
    L.seed_everything(seed, verbose=False)
    cube = load_cube(root, band, frames, size, seed)
    windows = CubeWindows(cube, CONTEXT, HORIZON, patch=PATCH, region=PATCH, time_unit="h")
    train, val, test = windows.split(val_fraction=0.15, test_fraction=0.25, seed=seed)
    task = ForecastTask(
        "convlstm_forecaster",
        in_channels=1,
        horizon=HORIZON,
        lr=3e-3,
        model_kwargs={"stride": 2, "width": 16, "hidden_channels": 32},
    )
    trainer = quiet_trainer(validate=True, device="cpu", max_epochs=epochs)
    trainer.fit(task, sample_loader(train, 8, shuffle=True, seed=seed), sample_loader(val, 8))
    persistence = ForecastTask("persistence_forecaster", horizon=HORIZON)
    results = {
        "ConvLSTM": scores_on_test(task, sample_loader(test, 8), trainer),
        "persistence": scores_on_test(persistence, sample_loader(test, 8), trainer),
    }
    out.mkdir(parents=True, exist_ok=True)
    save_figures(task, test[most_changing(test)], out)

    print(
        f"seed {seed}; windows train/val/test {len(train)}/{len(val)}/{len(test)} "
        f"on regions {len(set(train.groups))}/{len(set(val.groups))}/{len(set(test.groups))}"
    )
    print(
        "lead  "
        + "  ".join(f"{m:>8s} {n[:4]:>4s}" for n in results for m in ("MSE", "MAE", "SSIM"))
    )
    for k in range(HORIZON):
        cells = [f"{results[n][m][k]:13.5f}" for n in results for m in ("mse", "mae", "ssim")]
        print(f"+{k + 1:<4d}" + "".join(cells))
    skill = np.round(results["ConvLSTM"]["skill_mse"], 3).tolist()
    print(f"skill over persistence per lead (skill_mse): {skill}")
    print(f"figures: {out / 'forecast.png'}, {out / 'forecast.gif'}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="folder of dated GeoTIFFs (default: synthetic)")
    parser.add_argument("--band", help="band to forecast (default: the first)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/satellite_forecast"))
    args = parser.parse_args()
    main(args.root, args.band, epochs=args.epochs, seed=args.seed, out=args.out)
