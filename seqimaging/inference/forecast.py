"""``seqimaging forecast``: a trained forecaster applied to the end of a user's series.

The input is read as its kind's reader reads it (:data:`INPUTS`), the model is rebuilt
from the verified checkpoint, and everything is checked before any work: the checkpoint
holds a forecaster, the horizon is positive, the input's bands and time step are the
ones the model was trained on (when the checkpoint records them, as fits on
:class:`~seqimaging.geo.CubeWindows` do). The whole scene is forecast block by block
(:func:`~seqimaging.inference.scene.forecast_scene`), on the training data's value scale
(:class:`~seqimaging.geo.scales.ValueScale`, recorded in the checkpoint) and back to the
input's units, on the chosen dask scheduler and
streamed to ``out`` (:func:`~seqimaging.inference.output.write_forecast`), which appears
only once complete.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging.choices import Choices
from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo.scales import ValueScale
from seqimaging.inference.checkpoint import trained_task
from seqimaging.inference.output import write_forecast
from seqimaging.inference.scene import Tiling, dask_scheduler, forecast_scene
from seqimaging.tasks import ForecastTask
from seqimaging.tasks.checkpoints import CheckpointError, find_checkpoint


@dataclass(frozen=True)
class InputKind:
    """A kind of input: whether ``path`` is one, and its reader ``(path, options) → cube``."""

    matches: Callable[[Path, dict[str, Any]], bool]
    read: Callable[[Path, dict[str, Any]], xr.DataArray]


def _read_cube(path: Path, options: dict[str, Any]) -> xr.DataArray:
    from seqimaging.geo.cube import open_cube

    return open_cube(path, variable=options.get("variable"))


def _read_radar(path: Path, options: dict[str, Any]) -> xr.DataArray:
    from seqimaging.geo.radar import read_radar

    return read_radar(path, options["radar"], last=options.get("last"))


def _read_stack(path: Path, options: dict[str, Any]) -> xr.DataArray:
    from seqimaging.geo.stack import read_stack

    return read_stack(path)


INPUTS: Choices[InputKind] = Choices(
    "input kind",
    {
        "cube": InputKind(lambda p, o: p.suffix.lower() in (".zarr", ".nc"), _read_cube),
        "radar": InputKind(lambda p, o: o.get("radar") is not None, _read_radar),
        "geotiff": InputKind(lambda p, o: p.is_dir(), _read_stack),
    },
)
"""What ``--input`` can be, tried in order: a zarr store or netCDF file
(:func:`~seqimaging.geo.open_cube`, ``variable``), a radar event folder with ``radar``
naming its network (:func:`~seqimaging.geo.read_radar`, only the ``last`` files read, as
pysteps' importers read whole files), a folder of dated GeoTIFFs
(:func:`~seqimaging.geo.read_stack`)."""


def read_input(path: str | Path, **options: Any) -> xr.DataArray:
    """The ``(time, band, y, x)`` cube at ``path``, read as its :data:`INPUTS` kind reads it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"--input {path} does not exist")
    for kind in INPUTS.values():
        if kind.matches(path, options):
            cube = kind.read(path, options)
            cube.encoding.setdefault("source", str(path))
            return cube
    raise DataError(
        f"--input {path}: expected a .zarr store, a .nc file, a folder of dated GeoTIFFs, "
        "or a radar event folder with --radar SOURCE"
    )


def forecaster_from(path: str | Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The model of forecast checkpoint ``path``, its hyperparameters and the data
    settings it recorded (``{}`` if none); a :class:`SeqImagingError` for another task."""
    task, checkpoint = trained_task(path, ForecastTask)
    return task.model, dict(task.hparams), checkpoint.get("data") or {}


def _check_fits(cube: xr.DataArray, hparams: dict, data: dict, context: int, where: str) -> None:
    """The cube has the model's bands, and its time step the training data's."""
    source = cube.encoding["source"]
    if cube.sizes["band"] != hparams.get("in_channels", cube.sizes["band"]):
        raise DataError(
            f"{source} has {cube.sizes['band']} bands; the model of {where} expects "
            f"in_channels={hparams['in_channels']}"
        )
    step = data.get("time_step_s")
    times = cube["time"].values[-context:]
    if step is not None and len(times) > 1:
        found = float(np.median(np.diff(times)) / np.timedelta64(1, "s"))
        if not np.isclose(found, step):
            raise DataError(
                f"{source} has a time step of {found:g} s; the model of {where} was trained "
                f"on frames {step:g} s apart"
            )


def forecast(
    ckpt_path: str | Path,
    input: str | Path,
    out: str | Path,
    *,
    horizon: int | None = None,
    context: int | None = None,
    patch: int | None = None,
    overlap: float = 0.5,
    block: int = 1024,
    batch_size: int = 16,
    variable: str | None = None,
    radar: str | None = None,
    scheduler: str | None = None,
) -> Path:
    """Forecast the ``horizon`` frames after the end of ``input`` into ``out``.

    Args:
        ckpt_path: a :class:`~seqimaging.tasks.ForecastTask` checkpoint, or ``last`` /
            ``best``: the newest run's under ``runs/``.
        input: a cube, GeoTIFF folder or radar event folder (:data:`INPUTS`).
        out: ``.zarr`` or ``.nc`` for a CF cube, a folder for one COG per lead time.
        horizon: frames to forecast; default the model's.
        context: context frames from the end of the series; default the training
            windows' (recorded in the checkpoint).
        patch: window size; default the training patch (recorded in the checkpoint).
        overlap: overlap of neighbouring windows, a fraction of the patch.
        block: side in pixels of the blocks, each one dask task.
        batch_size: windows per forward pass.
        variable: the variable of a netCDF/zarr input with several.
        radar: the network of a radar event folder (a row of
            :data:`~seqimaging.geo.radar.RADAR_SOURCES`).
        scheduler: ``threads`` (default), ``sync``, ``processes`` or a dask.distributed
            scheduler address.

    Returns:
        ``out``, written complete, or not at all on failure.
    """
    out = Path(out)
    if out.exists():
        raise SeqImagingError(f"--out {out} exists; forecasts are never written over a file")
    ckpt_path = find_checkpoint(ckpt_path)
    model, hparams, data = forecaster_from(ckpt_path)
    horizon = hparams.get("horizon") if horizon is None else horizon
    context = _recorded("context", context, data, ckpt_path)
    tiling = Tiling(
        _recorded("patch", patch, data, ckpt_path), overlap, block=block, batch_size=batch_size
    )
    cube = read_input(input, variable=variable, radar=radar, last=context)
    _check_fits(cube, hparams, data, min(context, cube.sizes["time"]), str(ckpt_path))
    scale = _recorded_scale(data, ckpt_path)
    result = forecast_scene(
        model, cube, context=context, horizon=horizon, tiling=tiling, scale=scale
    )
    result.attrs |= {"model": hparams.get("model", ""), "checkpoint": str(ckpt_path)}
    with dask_scheduler(scheduler):
        return write_forecast(result, out)


def _recorded_scale(data: dict, where: str | Path) -> ValueScale:
    """The value scale the checkpoint ``where`` records; identity if none."""
    try:
        return ValueScale(**data.get("scale", {}))
    except (TypeError, SeqImagingError) as err:
        raise CheckpointError(f"{where}: its recorded value scale is unusable: {err}") from err


def _recorded(name: str, given: int | None, data: dict, where: str | Path) -> int:
    """``given``, else the training data's setting ``name`` recorded in the checkpoint."""
    if given is not None:
        return given
    if name not in data:
        raise CheckpointError(f"{where} does not record the training data's {name}; pass --{name}")
    return int(data[name])
