"""The forecast of a whole scene of any size, in bounded memory, as dask tasks.

The scene is cut into square blocks (:attr:`Tiling.block` pixels); each block is one
dask task that reads its context frames with a margin of half a patch around it, runs
:func:`~seqimaging.models.tiling.tiled_forecast` (MONAI's sliding windows of the training
patch, blended with Gaussian weights) and keeps the block itself. The result is a lazy
``(time, band, y, x)`` cube: written with :func:`~seqimaging.inference.output.write_forecast`,
it is computed block by block and streamed to the file, so peak memory is a few blocks
whatever the scene's size. The tasks run on whatever dask scheduler is active
(:func:`dask_scheduler`): threads in this process by default, or a dask.distributed
cluster; every scheduler gives the same forecast.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from torch import nn

from seqimaging._optional import require
from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo.scales import IDENTITY, ValueScale
from seqimaging.models.tiling import tiled_forecast

LOCAL_SCHEDULERS = ("threads", "sync", "processes")
"""dask's schedulers in this process (``sync``: one task at a time, for debugging)."""


@dataclass(frozen=True)
class Tiling:
    """How a scene is forecast: windows of ``patch`` pixels (the training patch)
    overlapping by ``overlap``, ``batch_size`` windows per forward pass, and one dask task
    per block of ``block`` pixels (rounded up to whole patches)."""

    patch: int
    overlap: float = 0.5
    block: int = 1024
    batch_size: int = 16

    def __post_init__(self) -> None:
        if not (isinstance(self.patch, int) and self.patch >= 1):
            raise SeqImagingError(f"patch={self.patch!r}: expected a window size ≥ 1 pixel")
        if not 0 <= self.overlap < 1:
            raise SeqImagingError(f"overlap={self.overlap!r}: expected a fraction in [0, 1)")
        for name in ("block", "batch_size"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise SeqImagingError(f"{name}={getattr(self, name)!r}: expected an integer ≥ 1")

    @property
    def side(self) -> int:
        """The block side in pixels: ``block`` rounded up to a multiple of ``patch``."""
        return -(-self.block // self.patch) * self.patch

    @property
    def margin(self) -> int:
        """Pixels of context read around a block: half a window."""
        return self.patch // 2


def future_times(times: np.ndarray, horizon: int, source: str) -> np.ndarray:
    """The valid times of ``horizon`` forecast frames after context frames at ``times``,
    evenly spaced as they are (a :class:`DataError` naming ``source`` if they are not)."""
    steps = np.diff(times)
    if len(steps) and (steps != steps[0]).any():
        found = sorted({str(s.astype("timedelta64[s]")) for s in steps})
        raise DataError(
            f"{source}: the context frames are not evenly spaced (steps {', '.join(found)}); "
            "expected one time step, from which the lead times follow"
        )
    if not len(steps):
        raise DataError(f"{source}: one context frame gives no time step; expected at least 2")
    return times[-1] + steps[0] * np.arange(1, horizon + 1)


def forecast_scene(
    model: nn.Module,
    cube: xr.DataArray,
    *,
    context: int,
    horizon: int,
    tiling: Tiling,
    scale: ValueScale = IDENTITY,
) -> xr.DataArray:
    """The lazy forecast of the ``horizon`` frames after the last ``context`` of ``cube``.

    Args:
        model: a forecaster, ``model(frames, mask=, horizon=)`` → ``[N, K, C, p, p]``.
        cube: a ``(time, band, y, x)`` cube, lazy or not, NaN where invalid; its last
            ``context`` frames must be evenly spaced.
        context: frames of context, from the end of the series.
        horizon: frames to forecast.
        tiling: windows, blending and blocks.
        scale: the values the model was trained on: applied to the context, undone on
            the forecast, which is in the cube's units.

    Returns:
        A dask-backed float32 ``(time, band, y, x)`` cube of chunks ``(horizon, bands,
        block, block)``: ``time`` the valid times, ``y``/``x``, ``band`` and attrs as in
        ``cube``, with ``reference_time`` (the last context frame, ISO). Pixels whose
        last context frame is invalid are NaN.
    """
    da = require("dask.array", extra="geo")
    dask = require("dask", extra="geo")
    source = cube.encoding.get("source", "the input cube")
    if not (isinstance(horizon, int) and horizon >= 1):
        raise SeqImagingError(f"horizon={horizon!r}: expected a number of frames ≥ 1")
    if not (isinstance(context, int) and 1 <= context <= cube.sizes["time"]):
        raise SeqImagingError(
            f"context={context!r}: expected 1 to {cube.sizes['time']} frames (those of {source})"
        )
    if not isinstance(scale, ValueScale):
        raise SeqImagingError(f"scale={scale!r}: expected a ValueScale (e.g. ValueScale('dbr'))")
    scale.check_bands(cube.sizes["band"], source)
    recent = cube.isel(time=slice(-context, None)).transpose("time", "band", "y", "x")
    times = future_times(recent["time"].values, horizon, source)
    data = recent.data if isinstance(recent.data, da.Array) else da.from_array(recent.values)
    height, width, channels = cube.sizes["y"], cube.sizes["x"], cube.sizes["band"]
    shared = dask.delayed(model.eval(), pure=True)
    side, margin = tiling.side, tiling.margin
    rows = []
    for top in range(0, height, side):
        bottom, row = min(top + side, height), []
        for left in range(0, width, side):
            right = min(left + side, width)
            y0, y1 = max(0, top - margin), min(height, bottom + margin)
            x0, x1 = max(0, left - margin), min(width, right + margin)
            crop = (top - y0, bottom - y0, left - x0, right - x0)
            block = dask.delayed(_forecast_block, pure=True)(
                shared, data[:, :, y0:y1, x0:x1], horizon, tiling, scale, crop
            )
            shape = (horizon, channels, bottom - top, right - left)
            row.append(da.from_delayed(block, shape, dtype=np.float32))
        rows.append(row)
    coords = {"time": times} | {k: cube[k] for k in ("band", "y", "x") if k in cube.coords}
    reference = np.datetime_as_string(recent["time"].values[-1], unit="s")
    return xr.DataArray(
        da.block(rows),
        dims=("time", "band", "y", "x"),
        coords=coords,
        name=cube.name,
        attrs=cube.attrs | {"reference_time": str(reference)},
    )


def _forecast_block(
    model: nn.Module,
    frames: np.ndarray,
    horizon: int,
    tiling: Tiling,
    scale: ValueScale,
    crop: tuple[int, int, int, int],
) -> np.ndarray:
    """The forecast ``[K, C, h, w]`` of a block from its context ``[T, C, H, W]`` with its
    margin; ``crop`` (top, bottom, left, right) is the block inside the margin."""
    values = scale(torch.from_numpy(np.asarray(frames, dtype=np.float32)))
    mask = values.isfinite().all(dim=1, keepdim=True)
    values = torch.where(mask, values, 0.0)
    forecast = tiled_forecast(
        model,
        values,
        mask,
        tiling.patch,
        overlap=tiling.overlap,
        batch_size=tiling.batch_size,
        horizon=horizon,
    )[0]
    forecast = scale.inverse(forecast).masked_fill(~mask[-1], float("nan"))
    top, bottom, left, right = crop
    return forecast[..., top:bottom, left:right].numpy()


@contextmanager
def dask_scheduler(scheduler: str | None = None) -> Iterator[None]:
    """Run dask computations inside on ``scheduler``: one of :data:`LOCAL_SCHEDULERS`
    (default ``threads``), or the address of a dask.distributed scheduler
    (``tcp://host:8786``), connected to for the duration."""
    dask = require("dask", extra="geo")
    if scheduler is None or scheduler in LOCAL_SCHEDULERS:
        with dask.config.set(scheduler=scheduler or "threads"):
            yield
        return
    if "://" not in scheduler:
        raise SeqImagingError(
            f"scheduler {scheduler!r}: expected one of {', '.join(LOCAL_SCHEDULERS)} or a "
            "dask.distributed address such as tcp://127.0.0.1:8786"
        )
    distributed = require("distributed", extra="geo")
    try:
        client = distributed.Client(scheduler, timeout="10s")
    except OSError as err:
        raise SeqImagingError(
            f"cannot reach the dask scheduler at {scheduler} ({err}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS`"
        ) from err
    with client:
        yield
