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
        spacing: in-plane pixel size in mm to resample to; ``None`` keeps the file's.
        size: crop ``size x size`` pixels around the heart (what moves); ``None`` keeps all.
        percentiles: intensities at these percentiles become 0 and 1 (clipped).

    Random augmentation is a sample transform given to the dataset (``transform=``,
    e.g. :class:`~seqimaging.medical.CineAugmentation`), as for every dataset.
    """

    slices: int | None = 3
    frames: int | None = 16
    align_ed: bool = True
    spacing: float | None = 2.0
    size: int | None = 64
    percentiles: tuple[float, float] = (1.0, 99.0)

    def __post_init__(self) -> None:
        for name in ("slices", "frames", "size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise SeqImagingError(f"{name} must be a positive int or None, got {value!r}")
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


def resample_cycle(values: np.ndarray, frames: int) -> np.ndarray:
    """Resample ``values`` ``[T, ...]``, one cardiac cycle, to ``frames`` phases.

    Phase ``t`` of ``T`` lies at the fraction ``t / T`` of the cycle; the output's phase
    ``k`` at ``k / frames``, linearly interpolated between its neighbours, the last
    phase's neighbour being the first (the cycle is periodic).

    Example:
        >>> resample_cycle(np.array([0.0, 2.0]), 4).tolist()
        [0.0, 1.0, 2.0, 1.0]
    """
    t = values.shape[0]
    position = np.arange(frames) * t / frames
    before = np.floor(position).astype(int)
    weight = (position - before).reshape(-1, *[1] * (values.ndim - 1))
    after = (before + 1) % t
    return ((1 - weight) * values[before] + weight * values[after]).astype(values.dtype)
