"""Nowcast radar rain with seqimaging beside pysteps, on one event of any network.

The steps of a pysteps example — read the files with pysteps' importer, convert to rain
rate, estimate the motion (Lucas–Kanade), extrapolate — and the motion forecaster on
the same context. The forecaster reads the times, so the lead is given in minutes
whatever the network's time step. Untrained it *is* the extrapolation nowcast; with
``--weights`` (the ``motion_forecaster.pt`` that ``seqimaging bench radar-nowcast``
writes) it adds its learned correction. CSI at 1 mm/h and MAE per lead are printed for
the model, pysteps and persistence, and ``--out/nowcast.png`` shows the forecasts.

    python examples/radar_nowcast.py                       # generated FMI-format rain
    python examples/radar_nowcast.py --root radar_events/mch/20160711 --source mch \\
        --weights runs/bench/radar-nowcast/motion_forecaster.pt
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from seqimaging.geo import read_radar, regrid
from seqimaging.geo.radar import crop_to_coverage
from seqimaging.geo.rain_scale import rain_from_dbr, to_dbr
from seqimaging.geo.synthetic import make_radar_events
from seqimaging.models import MotionForecaster, build_model
from seqimaging.models.baselines import optical_flow_extrapolation
from seqimaging.report import RAIN_RATE, image_strip_figure, save_figure

CONTEXT, MAX_LEAD, RESOLUTION = 4, 30.0, 2750.0  # frames, minutes, metres: as the benchmark


def load_rain(root: Path | None, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Rain ``[T, H, W]`` (mm/h, NaN outside coverage) on 2.75 km pixels, and minutes."""
    if root is None:
        root, source = make_radar_events(tempfile.mkdtemp(), ("20170509",), 12) / "20170509", "fmi"
    cube = crop_to_coverage(read_radar(root, source=source).load())
    if abs(abs(cube.attrs["transform"][0]) / RESOLUTION - 1) > 0.01:
        cube = crop_to_coverage(regrid(cube, RESOLUTION))
    minutes = (cube.time.values - cube.time.values[0]) / np.timedelta64(1, "m")
    return cube.values[:, 0], minutes.astype(np.float32)


def scores(forecast: np.ndarray, truth: np.ndarray) -> tuple[list[float], list[float]]:
    """CSI at 1 mm/h and MAE (mm/h) per lead, inside the coverage."""
    csi, mae = [], []
    for f, t in zip(forecast, truth, strict=True):
        valid = np.isfinite(t)
        hit, obs = f[valid] >= 1, t[valid] >= 1
        csi.append((hit & obs).sum() / max((hit | obs).sum(), 1))
        mae.append(float(np.abs(f[valid] - t[valid]).mean()))
    return csi, mae


def main(root: Path | None = None, source: str = "fmi", weights: Path | None = None,
         start: int | None = None, out: Path = Path("runs/radar_nowcast")) -> dict:  # fmt: skip
    rain, minutes = load_rain(root, source)
    step = float(np.median(np.diff(minutes)))
    leads = max(1, int(MAX_LEAD // step))
    start = (len(rain) - CONTEXT - leads) // 2 if start is None else start
    context = rain[start : start + CONTEXT]
    truth = rain[start + CONTEXT : start + CONTEXT + leads]

    if weights is None:
        model = MotionForecaster(1, context=CONTEXT, time_scale=MAX_LEAD)
    else:
        saved = torch.load(weights, map_location="cpu")
        model = build_model("motion_forecaster", **saved["model_kwargs"])
        model.load_state_dict(saved["state_dict"])
    model.eval()
    frames = torch.from_numpy(context)[None, :, None]
    batch = {
        "frames": to_dbr(frames).nan_to_num(0.0),
        "mask": frames.isfinite(),
        "times": torch.from_numpy(minutes[start : start + CONTEXT])[None],
        "future_times": torch.from_numpy(minutes[start + CONTEXT : start + CONTEXT + leads])[None],
    }
    with torch.no_grad():
        forecasts = {
            "model": rain_from_dbr(model(batch))[0, :, 0].numpy(),
            "pysteps": optical_flow_extrapolation(context, leads),
            "persistence": np.repeat(np.nan_to_num(context[-1:]), leads, axis=0),
        }
    print(f"{'method':12s}" + "".join(f"  +{step * (k + 1):g} min" for k in range(leads)))
    results = {}
    for name, forecast in forecasts.items():
        results[name] = dict(zip(("csi_1", "mae"), scores(forecast, truth), strict=True))
        for metric, values in results[name].items():
            print(f"{name + ' ' + metric:18s}" + "".join(f"{v:9.3f}" for v in values))
    figure = image_strip_figure(
        {"context": np.nan_to_num(context), "truth": np.nan_to_num(truth)}
        | {k: v for k, v in forecasts.items() if k != "persistence"},
        scale=RAIN_RATE,
        column_titles=[f"+{step * (k + 1):g} min" for k in range(leads)],
    )
    print(f"figure: {save_figure(figure, Path(out) / 'nowcast.png')}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="one event's folder of radar files")
    parser.add_argument("--source", default="fmi", help="fmi, knmi, mch, bom, opera or odim")
    parser.add_argument("--weights", type=Path, help="trained motion_forecaster.pt")
    parser.add_argument("--start", type=int, help="first context frame (default: the middle)")
    parser.add_argument("--out", type=Path, default=Path("runs/radar_nowcast"))
    args = parser.parse_args()
    main(args.root, args.source, args.weights, args.start, args.out)
