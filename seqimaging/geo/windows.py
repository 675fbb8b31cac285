"""Training windows cut from a ``(time, band, y, x)`` cube, as samples of the contract."""

import math
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch.utils.data import Dataset

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo.cube import check_times, open_cube
from seqimaging.geo.scales import ValueScale, value_scale
from seqimaging.geo.stack import read_stack
from seqimaging.sample import window_sample
from seqimaging.splits import split_groups

Labels = Mapping[str, int] | Callable[[str, np.datetime64], int]


@dataclass(frozen=True)
class Window:
    """One sample: a region, the patch's top-left pixel in it, and the first time index."""

    region: str
    top: int
    left: int
    start: int


@dataclass(frozen=True)
class Region:
    """A block of the image: the unit of splitting (its windows share one group)."""

    name: str
    top: int
    left: int
    height: int
    width: int


class CubeWindows(Dataset):
    """Windows of ``context`` (+ ``horizon``) frames and a spatial patch of a cube.

    The image is tiled into square regions of ``region`` pixels (one region by default);
    a region is a group (``meta["group"]``, :attr:`groups`), so
    :class:`seqimaging.data.SequenceDataModule` and :meth:`split` never put one region in
    two parts. Inside each region, patches lie on a grid with step ``stride``; every
    patch and every start time (frames ``time_stride`` apart) makes a window. A window
    whose frames are on average less than ``min_valid`` valid is skipped.

    With ``random_patches``, each sample's patch is drawn anew, uniformly inside its
    region, from torch's global generator (seeded by ``lightning.seed_everything``), for
    training; otherwise patches are the fixed grid, for evaluation.

    A sample has ``frames`` ``[context, C, p, p]`` with invalid pixels (NaN in the cube:
    nodata, clouds) set to 0 and ``mask`` False there; ``times`` in ``time_unit`` since
    the first frame of the window, the real dates however irregular; with ``horizon``
    also ``future``, ``future_times`` and ``future_mask``; with ``labels`` a ``label``; and
    ``meta`` with ``id``, ``group`` (the region), ``dates`` (ISO), ``crs`` and the
    patch's ``transform``.

    Args:
        cube: ``(time, band, y, x)`` DataArray, NaN where invalid (e.g. from
            :func:`seqimaging.geo.read_stack`); lazy cubes are read window by window.
            Or a path (as in a YAML config): a ``.zarr`` store or ``.nc`` file, opened
            with :func:`~seqimaging.geo.cube.open_cube`, or a folder of dated rasters,
            read with :func:`~seqimaging.geo.stack.read_stack`.
        context: frames of input.
        horizon: frames to forecast after them; 0 for classification windows.
        patch: patch size in pixels, at most the region's shorter side; default the
            whole region.
        stride: grid step of the patches; default ``patch``.
        time_stride: take every ``time_stride``-th frame; a window's
            ``(context + horizon - 1) * time_stride + 1`` frames must fit in the cube.
        region: region size in pixels; default the whole image.
        random_patches: draw patch positions at random inside the region (training).
        min_valid: skip windows whose valid-pixel fraction is below this.
        labels: a class per region name, or a function ``(region, first date) → class``.
        time_unit: unit of ``times``: ``"D"`` days, ``"h"``, ``"s"``, ...
        name: prefix of region names, to tell cubes apart.
        transform: a function applied to each sample.
        scale: the values the model sees: a row of :data:`~seqimaging.geo.scales.SCALES`
            (``"min_max"``: each band's range in this whole cube onto 0 … 1, one pass
            over it; ``"dbr"``: rain rate as scaled decibels) or a
            :class:`~seqimaging.geo.scales.ValueScale` (e.g. fitted on the training part
            alone); default the values as they are. Recorded in checkpoints, so that
            ``seqimaging forecast`` scales new data alike and writes raw units.

    Raises:
        DataError: a path that is none of those, or cannot be read; a cube without
            ``(time, band, y, x)`` dims, with a size 0, with times
            that are not increasing datetime64 dates
            (:func:`~seqimaging.geo.cube.check_times`), or with no window valid enough.
        SeqImagingError: an argument out of its range; the message names it and the range.

    Example:
        >>> days = np.datetime64("2024-01-01") + np.arange(10) * np.timedelta64(1, "D")
        >>> cube = xr.DataArray(np.random.rand(10, 1, 32, 32), coords={"time": days},
        ...     dims=("time", "band", "y", "x"))
        >>> windows = CubeWindows(cube, context=4, horizon=2, patch=16, region=16)
        >>> len(windows), windows[0]["frames"].shape, sorted(set(windows.groups))[:2]
        (20, torch.Size([4, 1, 16, 16]), ['cube/r0c0', 'cube/r0c1'])
    """

    def __init__(
        self,
        cube: xr.DataArray | str | Path,
        context: int,
        horizon: int = 0,
        patch: int | None = None,
        stride: int | None = None,
        time_stride: int = 1,
        *,
        region: int | None = None,
        random_patches: bool = False,
        min_valid: float = 0.5,
        labels: Labels | None = None,
        time_unit: str = "D",
        name: str = "cube",
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        scale: ValueScale | str | None = None,
    ) -> None:
        cube, source = _as_cube(cube, name)
        _check_cube(cube, source)
        context, horizon, time_stride = _time_steps(
            cube.sizes["time"], context, horizon, time_stride
        )
        height, width = cube.sizes["y"], cube.sizes["x"]
        region_h, region_w = _region(height, width, region)
        patch_h, patch_w = _patch(patch, region_h, region_w)
        stride = patch_h if stride is None else _integer("stride", stride, 1)
        if not 0 <= min_valid <= 1:
            raise SeqImagingError(f"min_valid={min_valid!r}: expected a fraction from 0 to 1")
        self.cube, self.context, self.horizon = cube, context, horizon
        self.patch, self.time_stride, self.time_unit = (patch_h, patch_w), time_stride, time_unit
        self.random_patches, self.labels_by, self.transform = random_patches, labels, transform
        self.scale = value_scale(scale, cube, source)
        self.settings = {"stride": stride, "min_valid": min_valid}
        self._region_size = region_h, region_w
        self._counts: tuple[np.ndarray, int, int] | None = None
        self.regions = {
            r.name: r for r in _tile(height, width, region_h, region_w, self.patch, name)
        }
        self.windows = self._valid_windows(list(self.regions.values()))
        if not self.windows:
            raise DataError(
                f"{source}: no window of {context}+{horizon} frames (time_stride "
                f"{time_stride}) has at least {min_valid:.0%} valid pixels in a cube of "
                f"{cube.sizes['time']} frames"
            )
        self.groups = [w.region for w in self.windows]
        self.labels = None if labels is None else [self._label(w) for w in self.windows]

    def data_settings(self) -> dict[str, Any]:
        """What a model trained on these windows expects of new data, recorded in its
        checkpoints: ``context``, ``horizon``, ``patch`` (pixels), ``time_step_s`` (the
        median step between a window's frames, seconds), ``bands`` and ``scale`` (the
        :class:`~seqimaging.geo.scales.ValueScale` settings)."""
        times = self.cube["time"].values
        step = np.median(np.diff(times)) * self.time_stride if len(times) > 1 else None
        bands = self.cube["band"].values if "band" in self.cube.coords else []
        return {
            "context": self.context,
            "horizon": self.horizon,
            "patch": self.patch[0],
            "time_step_s": None if step is None else float(step / np.timedelta64(1, "s")),
            "bands": [str(b) for b in bands],
            "scale": self.scale.settings(),
        }

    @property
    def span(self) -> int:
        """Frames a window covers, from its first to its last, inclusive."""
        return (self.context + self.horizon - 1) * self.time_stride + 1

    def _boxes(self, regions: list[Region]) -> tuple[np.ndarray, ...]:
        """Every patch box of ``regions``, in order (region, then rows, then columns):
        its region's index in ``regions``, top, left, height and width."""
        step, (ph, pw) = self.settings["stride"], self.patch
        parts = []
        for index, region in enumerate(regions):
            if self.random_patches:
                rows, cols = np.array([region.top]), np.array([region.left])
                h, w = region.height, region.width
            else:
                rows = region.top + np.arange(0, region.height - ph + 1, step)
                cols = region.left + np.arange(0, region.width - pw + 1, step)
                h, w = ph, pw
            n = len(rows) * len(cols)
            tops, lefts = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
            parts.append((np.full(n, index), tops, lefts, np.full(n, h), np.full(n, w)))
        return tuple(np.concatenate(column).astype(np.int64) for column in zip(*parts, strict=True))

    def _integral(self) -> tuple[np.ndarray, int, int]:
        """Valid-pixel counts summed from the top-left corner over cells of ``cy × cx``
        pixels, ``[time, rows + 1, cols + 1]``, with the cells' size.

        Every box edge (region tops, grid steps, patch sides) is a multiple of the cell
        size, except the image's own bottom and right edges, which end the last (padded)
        cell; the cube is read once, in one block reduction, and the result kept for
        :meth:`split`.
        """
        if self._counts is None:
            (ph, pw), step = self.patch, self.settings["stride"]
            height, width = self.cube.sizes["y"], self.cube.sizes["x"]
            region_h, region_w = self._region_size
            cy = math.gcd(step, ph, region_h if region_h < height else 0)
            cx = math.gcd(step, pw, region_w if region_w < width else 0)
            valid = self.cube.notnull().all("band")
            pad = {"y": (0, -height % cy), "x": (0, -width % cx)}
            if any(after for _, after in pad.values()):
                valid = valid.pad(pad, constant_values=False)
            cells = np.asarray(valid.coarsen(y=cy, x=cx).sum().values, dtype=np.int64)
            counts = np.zeros((cells.shape[0], cells.shape[1] + 1, cells.shape[2] + 1), np.int64)
            np.cumsum(np.cumsum(cells, axis=1), axis=2, out=counts[:, 1:, 1:])
            self._counts = counts, cy, cx
        return self._counts

    def _valid_windows(self, regions: list[Region]) -> list[Window]:
        """Every (region, patch, start) window valid enough, from one read of the cube."""
        if not regions:
            return []
        index, tops, lefts, heights, widths = self._boxes(regions)
        counts, cy, cx = self._integral()
        y0, y1 = -(-tops // cy), -(-(tops + heights) // cy)  # cells, the last one padded
        x0, x1 = -(-lefts // cx), -(-(lefts + widths) // cx)
        inside = counts[:, y1, x1] - counts[:, y0, x1] - counts[:, y1, x0] + counts[:, y0, x0]
        fractions = inside.T / (heights * widths)[:, None]  # [box, time], as a mean would
        steps = np.arange(self.context + self.horizon) * self.time_stride
        frames = np.arange(self.cube.sizes["time"] - self.span + 1)[:, None] + steps
        boxes, starts = [], []
        chunk = max(1, 2**22 // frames.size)  # boxes at a time: a bounded [box, start, step]
        for first in range(0, len(fractions), chunk):
            means = fractions[first : first + chunk][:, frames].mean(axis=-1)
            box, start = np.nonzero(means >= self.settings["min_valid"])
            boxes.append(box + first)
            starts.append(start)
        box, start = np.concatenate(boxes), np.concatenate(starts)
        names = [regions[i].name for i in index[box].tolist()]
        return [
            Window(name, top, left, s)
            for name, top, left, s in zip(
                names, tops[box].tolist(), lefts[box].tolist(), start.tolist(), strict=True
            )
        ]

    def _label(self, window: Window) -> int:
        if isinstance(self.labels_by, Mapping):
            if window.region not in self.labels_by:
                raise SeqImagingError(f"labels has no class for region {window.region!r}")
            return int(self.labels_by[window.region])
        return int(self.labels_by(window.region, self.cube.time.values[window.start]))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        window = self.windows[index]
        top, left = window.top, window.left
        ph, pw = self.patch
        if self.random_patches:
            region = self.regions[window.region]
            top += int(torch.randint(region.height - ph + 1, ()))
            left += int(torch.randint(region.width - pw + 1, ()))
        steps = window.start + np.arange(self.context + self.horizon) * self.time_stride
        block = self.cube.isel(time=steps, y=slice(top, top + ph), x=slice(left, left + pw))
        values = self.scale(torch.from_numpy(np.asarray(block.values, dtype=np.float32)))
        mask = values.isfinite().all(dim=1, keepdim=True)
        sample = window_sample(values, mask, block.time.values, self.context, self.time_unit)
        if self.labels is not None:
            sample["label"] = torch.tensor(self.labels[index], dtype=torch.int64)
        sample["meta"] |= self._meta(window, top, left, block.time.values[0])
        return sample if self.transform is None else self.transform(sample)

    def _meta(self, window: Window, top: int, left: int, first: np.datetime64) -> dict[str, Any]:
        start = np.datetime_as_string(first, unit="s")
        meta = {"id": f"{window.region}/{top}-{left}/{start}", "group": window.region}
        transform = self.cube.attrs.get("transform")
        if transform is not None:
            a, b, c, d, e, f = transform
            meta["transform"] = [a, b, c + a * left + b * top, d, e, f + d * left + e * top]
            meta["crs"] = self.cube.attrs.get("crs")
        return meta

    def split(
        self, *, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0
    ) -> tuple["CubeWindows", "CubeWindows", "CubeWindows"]:
        """Train / validation / test windows on disjoint regions (by :func:`split_groups`).

        Training keeps this dataset's ``random_patches``; validation and test use the
        fixed grid, so every evaluation sees the same patches.
        """
        parts = split_groups(
            self.groups,
            self.labels,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            seed=seed,
        )
        train, val, test = ({self.groups[i] for i in part} for part in parts)
        return (
            self._subset(train, self.random_patches),
            self._subset(val, False),
            self._subset(test, False),
        )

    def _subset(self, regions: set[Hashable], random_patches: bool) -> "CubeWindows":
        """A copy restricted to ``regions``, with grid or random patches."""
        out = object.__new__(CubeWindows)
        out.__dict__ = self.__dict__ | {"random_patches": random_patches}
        kept = [r for name, r in self.regions.items() if name in regions]
        out.windows = out._valid_windows(kept) if kept else []
        out.groups = [w.region for w in out.windows]
        out.labels = None if self.labels_by is None else [out._label(w) for w in out.windows]
        return out


def _as_cube(cube: Any, name: str) -> tuple[xr.DataArray, str]:
    """``cube``, or the cube at a path, with a name for messages."""
    if isinstance(cube, xr.DataArray):
        return cube, cube.encoding.get("source", f"cube {name!r}")
    if not isinstance(cube, str | Path):
        raise DataError(
            f"cube: got a {type(cube).__name__}; expected a (time, band, y, x) DataArray "
            "or the path of one"
        )
    path = Path(cube)
    if path.suffix in (".zarr", ".nc"):
        return open_cube(path), str(path)
    if path.is_dir():
        return read_stack(path), str(path)
    found = "a file" if path.exists() else "nothing"
    raise DataError(
        f"cube={str(path)!r}: found {found} there; expected a .zarr store or .nc file "
        "(opened with open_cube) or a folder of dated rasters (read with read_stack)"
    )


def _check_cube(cube: xr.DataArray, source: str) -> None:
    """Refuse a cube without ``(time, band, y, x)`` dims, with an empty one, or with
    times :func:`~seqimaging.geo.cube.check_times` refuses; ``source`` names it."""
    if cube.dims != ("time", "band", "y", "x"):
        raise DataError(f"{source}: has dims {cube.dims}; expected ('time', 'band', 'y', 'x')")
    if 0 in cube.shape:
        raise DataError(f"{source}: has sizes {dict(cube.sizes)}; expected none of them 0")
    check_times(cube["time"].values, source)


def _integer(name: str, value: Any, low: int, high: int | None = None, limit: str = "") -> int:
    """``value``, if an integer from ``low`` to ``high`` (None: no upper bound); ``limit``
    says where ``high`` comes from."""
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integral or value < low or (high is not None and value > high):
        allowed = f"of at least {low}" if high is None else f"from {low} to {high}{limit}"
        raise SeqImagingError(f"{name}={value!r}: expected an integer {allowed}")
    return int(value)


def _time_steps(frames: int, context: Any, horizon: Any, time_stride: Any) -> tuple[int, ...]:
    """``context``, ``horizon`` and ``time_stride``, checked to fit a window in ``frames``."""
    context = _integer("context", context, 1, frames, f" (the cube's {frames} frames)")
    left = f" (the cube's {frames} frames less context={context})"
    horizon = _integer("horizon", horizon, 0, frames - context, left)
    gaps = context + horizon - 1
    span = f" (for {context + horizon} frames to span at most the cube's {frames})"
    time_stride = _integer(
        "time_stride", time_stride, 1, (frames - 1) // gaps if gaps else None, span
    )
    return context, horizon, time_stride


def _region(height: int, width: int, region: Any) -> tuple[int, int]:
    """The size of a region: ``region`` square, cut to the image; default the image."""
    if region is None:
        return height, width
    side = _integer("region", region, 1)
    return min(side, height), min(side, width)


def _patch(patch: Any, region_h: int, region_w: int) -> tuple[int, int]:
    """The size of a patch: ``patch`` square, at most the region; default the region."""
    if patch is None:
        return region_h, region_w
    limit = " (the shorter side of the region, or of the image)"
    side = _integer("patch", patch, 1, min(region_h, region_w), limit)
    return side, side


def _tile(
    height: int, width: int, region_h: int, region_w: int, patch: Sequence[int], name: str
) -> list[Region]:
    """Regions of ``region_h × region_w`` tiling the image; partial ones at the edges are
    kept when a patch fits in them."""
    regions = []
    for row, top in enumerate(range(0, height, region_h)):
        for col, left in enumerate(range(0, width, region_w)):
            h, w = min(region_h, height - top), min(region_w, width - left)
            if h >= patch[0] and w >= patch[1]:
                regions.append(Region(f"{name}/r{row}c{col}", top, left, h, w))
    return regions
