"""How a cine becomes a sample: which slices, how many phases, what size."""

from dataclasses import dataclass

import numpy as np

from seqimaging.errors import SeqImagingError


@dataclass(frozen=True)
class CineSampling:
    """Options shared by the cine datasets for turning a cine into a sample.

    Args:
        slices: ``k``: the ``k`` mid-ventricular slices (the middle ``k`` of the stack)
            are the channels of one sample per patient; ``None``: every slice is a
            one-channel sample of its own, with the patient as ``meta["group"]``.
        frames: resample the cycle to this many phases (linear, periodic); ``None``
            keeps each cine's own ``T`` (the collate function pads).
        align_ed: start the cycle at end-diastole (roll the phases) when ED is known.
        es_at: with ``frames``, put end-systole at this phase of the sample: systole (ED
            to ES) is resampled to ``es_at`` phases and diastole to the rest, so that the
            same phase of every patient is the same moment of the contraction whatever
            the heart rate and the timing of ES. Needs ``align_ed`` and a record with ED
            and ES (or ``find_es``); ``None`` resamples the cycle evenly.
        find_es: where a record has no ES, take the phase that differs most from ED
            (:func:`farthest_phase`), the end of the contraction.
        spacing: in-plane pixel size in mm to resample to; ``None`` keeps the file's.
        size: crop ``size x size`` pixels around the heart (what moves); ``None`` keeps all.
        percentiles: intensities at these percentiles become 0 and 1 (clipped).

    Random augmentation is a sample transform given to the dataset (``transform=``,
    e.g. :class:`~seqimaging.medical.CineAugmentation`), as for every dataset.
    """

    slices: int | None = 3
    frames: int | None = 16
    align_ed: bool = True
    es_at: int | None = None
    find_es: bool = False
    spacing: float | None = 2.0
    size: int | None = 64
    percentiles: tuple[float, float] = (1.0, 99.0)

    def __post_init__(self) -> None:
        for name in ("slices", "frames", "size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise SeqImagingError(f"{name} must be a positive int or None, got {value!r}")
        if self.es_at is not None and not (
            self.frames is not None and self.align_ed and 0 < self.es_at < self.frames
        ):
            raise SeqImagingError(
                f"es_at={self.es_at!r} needs frames and align_ed, and 0 < es_at < frames "
                f"(frames={self.frames!r}, align_ed={self.align_ed!r})"
            )
        if self.spacing is not None and not self.spacing > 0:
            raise SeqImagingError(f"spacing must be positive (mm) or None, got {self.spacing!r}")
        low, high = self.percentiles
        if not 0 <= low < high <= 100:
            raise SeqImagingError(
                f"percentiles must be (low, high) with 0 <= low < high <= 100, got "
                f"{self.percentiles!r}"
            )


def mid_slices(n_slices: int, k: int) -> range:
    """The middle ``k`` of ``n_slices`` slices (one lower when the split is uneven)."""
    start = (n_slices - k) // 2
    return range(start, start + k)


def cycle_positions(
    phases: int, frames: int, es: int | None = None, es_at: int | None = None
) -> np.ndarray:
    """Where in a cycle of ``phases`` phases (0 = ED) each of ``frames`` output phases lies,
    in (fractional) phase indices.

    Evenly spread (``k · phases / frames``) without ``es_at``; with it, piecewise linear
    so that output phase ``es_at`` is phase ``es``: ``es_at`` phases from ED to ES, then
    ``frames − es_at`` from ES back to ED.

    Example:
        >>> cycle_positions(20, 4).tolist(), cycle_positions(20, 4, es=8, es_at=1).tolist()
        ([0.0, 5.0, 10.0, 15.0], [0.0, 8.0, 12.0, 16.0])
    """
    k = np.arange(frames, dtype=np.float64)
    if es_at is None:
        return k * phases / frames
    if es is None or not 0 < es < phases:
        raise SeqImagingError(
            f"ES at phase {es!r} of a cycle of {phases} phases starting at ED; expected "
            "0 < ES < phases to align the cycle on ED and ES"
        )
    systole = k[:es_at] * es / es_at
    diastole = es + (k[es_at:] - es_at) * (phases - es) / (frames - es_at)
    return np.concatenate([systole, diastole])


def farthest_phase(values: np.ndarray) -> int:
    """The phase of ``values`` ``[T, ...]`` (phase 0 at ED) whose mean absolute difference
    from phase 0 is largest: end-systole, where the heart has moved furthest from
    end-diastole.

    Example:
        >>> farthest_phase(np.array([0.0, 1.0, 3.0, 2.0, 1.0]))
        2
    """
    flat = values.reshape(len(values), -1).astype(np.float64)
    return int(np.abs(flat - flat[:1]).mean(axis=1).argmax())


def resample_cycle(
    values: np.ndarray, frames: int, positions: np.ndarray | None = None
) -> np.ndarray:
    """Resample ``values`` ``[T, ...]``, one cardiac cycle, to ``frames`` phases.

    Phase ``t`` of ``T`` lies at the fraction ``t / T`` of the cycle; the output's phase
    ``k`` at ``k / frames`` (or at phase index ``positions[k]``, see
    :func:`cycle_positions`), linearly interpolated between its neighbours, the last
    phase's neighbour being the first (the cycle is periodic).

    Example:
        >>> resample_cycle(np.array([0.0, 2.0]), 4).tolist()
        [0.0, 1.0, 2.0, 1.0]
    """
    t = values.shape[0]
    position = cycle_positions(t, frames) if positions is None else positions
    before = np.floor(position).astype(int)
    weight = (position - before).reshape(-1, *[1] * (values.ndim - 1))
    after = (before + 1) % t
    return ((1 - weight) * values[before] + weight * values[after]).astype(values.dtype)
