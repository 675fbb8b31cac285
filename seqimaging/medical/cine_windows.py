"""Forecasting windows of gated cines: ``context`` phases → the next ``horizon``.

A gated cine holds one cardiac cycle, averaged over many heartbeats, so phase ``T - 1``
is followed by phase 0: windows wrap around the cycle, and every slice gives one window
per start phase. With ``context + horizon <= T`` no target phase is ever in its own
context. A patient's cine here is its slices ``[S, T, H, W]``, as
:func:`patient_cines` stacks them from a cine dataset, or ``[S, T, C, H, W]`` with
channels (e.g. ``[1, T, 3, H, W]``: the 3 mid slices of a diagnosis sample as one
window's channels, to pretrain a diagnosis model's encoder and core by forecasting).

- :func:`window_phases`: the phases of each window; :func:`all_windows`: every window of
  a patient, stacked, for evaluation;
- :class:`CineWindows`: the windows of several patients as a dataset of samples, with a
  random crop and a sample transform, for training;
- :func:`heart_region` and :func:`centre_crop`: where to score, in frames cropped around
  the heart (:class:`~seqimaging.medical.CineSampling` ``size``).
"""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from seqimaging.errors import DataError, SeqImagingError, ShapeError
from seqimaging.medical.base import CineDataset
from seqimaging.medical.sampling import mid_slices


def patient_cines(
    data: CineDataset, slices: int | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Each patient's slices ``[S, T, H, W]`` from a dataset of one sample per slice, and
    the patient's frame interval in ms.

    Args:
        data: a cine dataset with ``CineSampling(slices=None)``, in which each slice is a
            sample and ``meta["group"]`` its patient.
        slices: keep the middle ``slices`` of each patient; None keeps all.

    Raises:
        SeqImagingError: ``data`` makes samples of several slices.
        DataError: a patient's slices differ in their number of phases.

    Example:
        >>> from seqimaging.medical import CineSampling, Sunnybrook
        >>> data = Sunnybrook("tests/data/sunnybrook", CineSampling(slices=None, frames=None))
        >>> cines, intervals = patient_cines(data, slices=2)
        >>> cines["SCD0000101"].shape, round(intervals["SCD0000101"])
        ((2, 20, 64, 64), 38)
    """
    if data.transform is not None:
        raise SeqImagingError(
            f"patient_cines reads the cines as they are; got a dataset with transform "
            f"{data.transform!r} (random augmentation does not belong in evaluation data)"
        )
    if data.sampling.slices is not None:
        raise SeqImagingError(
            f"patient_cines needs one sample per slice, CineSampling(slices=None); got "
            f"slices={data.sampling.slices}"
        )
    stacks: dict[str, list[np.ndarray]] = {}
    intervals: dict[str, float] = {}
    for i in range(len(data)):
        sample = data[i]
        patient = sample["meta"]["group"]
        stacks.setdefault(patient, []).append(sample["frames"][:, 0].numpy())
        intervals[patient] = float(sample["meta"]["frame_interval_ms"])
    cines = {}
    for patient, frames in stacks.items():
        phases = {len(f) for f in frames}
        if len(phases) != 1:
            raise DataError(
                f"{patient} has slices of {sorted(phases)} phases; expected the same number "
                f"in every slice"
            )
        kept = range(len(frames)) if slices is None else mid_slices(len(frames), slices)
        cines[patient] = np.stack([frames[z] for z in kept])
    return cines, intervals


def window_phases(phases: int, length: int) -> np.ndarray:
    """Phase indices ``[phases, length]`` of the window starting at each phase of a cycle
    of ``phases``, wrapping around it.

    Example:
        >>> window_phases(4, 3).tolist()
        [[0, 1, 2], [1, 2, 3], [2, 3, 0], [3, 0, 1]]
    """
    return (np.arange(phases)[:, None] + np.arange(length)) % phases


def all_windows(
    cine: np.ndarray, context: int, horizon: int, name: str = "cine"
) -> tuple[Tensor, Tensor]:
    """Every window of a patient's slices ``[S, T, H, W]`` (or ``[S, T, C, H, W]``):
    context ``[N, context, C, H, W]`` and future ``[N, horizon, C, H, W]``, ``N = S·T``,
    ``C = 1`` without a channel axis, slice by slice, start by start. Errors name the cine
    ``name`` (the patient).

    Raises:
        ShapeError: ``cine`` is not ``[S, T, H, W]`` or ``[S, T, C, H, W]``.
        DataError: ``T < context + horizon``.

    Example:
        >>> past, future = all_windows(np.zeros((2, 10, 8, 8), np.float32), 6, 4)
        >>> tuple(past.shape), tuple(future.shape)
        ((20, 6, 1, 8, 8), (20, 4, 1, 8, 8))
    """
    cine = _checked(cine, context, horizon, name)
    frames = torch.from_numpy(cine[:, window_phases(cine.shape[1], context + horizon)])
    frames = frames.flatten(0, 1)  # [S·T, context + horizon, C, H, W]
    return frames[:, :context], frames[:, context:]


class CineWindows(Dataset):
    """Every window of every slice of every patient, as samples for training.

    Window ``i`` is slice ``s`` of a patient from start phase ``t`` (in that order, as
    :func:`all_windows`). A sample has ``frames`` float32 ``[context, C, h, w]``,
    ``future`` ``[horizon, C, h, w]`` (``C = 1`` for cines without a channel axis),
    ``times`` and ``future_times`` as the fraction of the cycle since phase 0 (counting on
    past 1 where the window wraps around), and
    ``meta`` with ``id``, ``group`` (the patient), ``slice`` and ``start``. With ``crop``,
    the frames are a ``crop × crop`` part at a position drawn anew for every sample from
    torch's global generator (seeded by ``lightning.seed_everything``); ``transform``
    then applies to the sample, e.g. :class:`~seqimaging.transforms.RandomTurn`.

    Args:
        cines: each patient's slices ``[S, T, H, W]`` (:func:`patient_cines`) or
            ``[S, T, C, H, W]``.
        context: phases of input.
        horizon: phases to forecast after them.
        crop: pixels per side of a random crop; None keeps the whole frame.
        transform: a function applied to each sample.

    Attributes:
        groups: the patient of each sample, for group-aware splits.

    Raises:
        SeqImagingError: ``context``, ``horizon`` or ``crop`` below 1.
        ShapeError: a cine is not ``[S, T, H, W]`` or ``[S, T, C, H, W]``, or its frames
            are smaller than ``crop``.
        DataError: a cine has fewer than ``context + horizon`` phases.

    Example:
        >>> cines = {"p1": np.random.rand(2, 10, 16, 16).astype(np.float32)}
        >>> windows = CineWindows(cines, context=6, horizon=4, crop=8)
        >>> len(windows), windows[13]["frames"].shape, windows[13]["meta"]["id"]
        (20, torch.Size([6, 1, 8, 8]), 'p1_s01_t03')
    """

    def __init__(
        self,
        cines: Mapping[str, np.ndarray],
        context: int,
        horizon: int,
        *,
        crop: int | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.cines = {p: _checked(c, context, horizon, name=p) for p, c in cines.items()}
        self.context, self.horizon, self.crop, self.transform = context, horizon, crop, transform
        if crop is not None and crop < 1:
            raise SeqImagingError(f"crop must be a positive int or None, got {crop!r}")
        for patient, cine in self.cines.items():
            if crop is not None and crop > min(cine.shape[-2:]):
                raise ShapeError(
                    f"{patient}: frames of {cine.shape[-2]} × {cine.shape[-1]} pixels; expected "
                    f"at least crop = {crop} pixels per side"
                )
        self.index = [
            (patient, s, t)
            for patient, cine in self.cines.items()
            for s in range(cine.shape[0])
            for t in range(cine.shape[1])
        ]
        self.groups = [patient for patient, _, _ in self.index]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        patient, s, t = self.index[i]
        cine = self.cines[patient][s]
        length, phases = self.context + self.horizon, cine.shape[0]
        rows = cols = slice(None)
        if self.crop is not None:
            y, x = (int(torch.randint(n - self.crop + 1, ())) for n in cine.shape[-2:])
            rows, cols = slice(y, y + self.crop), slice(x, x + self.crop)
        frames = torch.from_numpy(cine[(t + np.arange(length)) % phases, :, rows, cols])
        times = (t + torch.arange(length, dtype=torch.float32)) / phases
        c = self.context
        sample = {
            "frames": frames[:c],
            "times": times[:c],
            "future": frames[c:],
            "future_times": times[c:],
            "meta": {
                "id": f"{patient}_s{s:02d}_t{t:02d}",
                "group": patient,
                "slice": s,
                "start": t,
            },
        }
        return sample if self.transform is None else self.transform(sample)


def heart_region(size: int, box: int) -> Tensor:
    """The central ``box × box`` pixels of a ``size × size`` frame, ``[1, 1, 1, size, size]``
    bool, a mask of forecasts ``[B, K, C, H, W]``: the heart in frames that
    :class:`~seqimaging.medical.CineSampling` (``size``) crops around what moves.

    Example:
        >>> heart_region(4, 2)[0, 0, 0].int().tolist()
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    region = torch.zeros(size, size, dtype=torch.bool)
    centre_crop(region, box)[:] = True  # a view: sets the box inside the region
    return region[None, None, None]


def centre_crop(frames: Tensor, size: int) -> Tensor:
    """The central ``size × size`` pixels of ``frames`` ``[..., H, W]``.

    Example:
        >>> centre_crop(torch.arange(16).reshape(4, 4), 2).tolist()
        [[5, 6], [9, 10]]
    """
    top, left = ((n - size) // 2 for n in frames.shape[-2:])
    return frames[..., top : top + size, left : left + size]


def _checked(cine: np.ndarray, context: int, horizon: int, name: str = "cine") -> np.ndarray:
    """``cine`` as float32 ``[S, T, C, H, W]`` (``C = 1`` added to ``[S, T, H, W]``), with
    at least ``context + horizon`` phases."""
    if context < 1 or horizon < 1:
        raise SeqImagingError(
            f"context and horizon must be at least 1 phase, got {context} and {horizon}"
        )
    cine = np.asarray(cine, dtype=np.float32)
    if cine.ndim not in (4, 5):
        raise ShapeError(
            f"{name}: shape {cine.shape}; expected slices [S, T, H, W] or [S, T, C, H, W]"
        )
    cine = cine[:, :, None] if cine.ndim == 4 else cine
    if cine.shape[1] < context + horizon:
        raise DataError(
            f"{name} has {cine.shape[1]} phases; expected at least {context + horizon} "
            f"(context + horizon), so that no target phase is in its own context"
        )
    return cine
