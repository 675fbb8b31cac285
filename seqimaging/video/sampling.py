"""Which frames of a video make a clip: TSN segments or dense clips, in training and test.

A sampling turns a video of ``n`` frames into the frame indices of its clips:
``indices(n, training=...)`` gives a list of index arrays (one per clip), drawn from
torch's random number generator in training (which DataLoader workers seed each their
own, so ``lightning.seed_everything(seed, workers=True)`` repeats a run with the same
number of workers) and fixed in test. ``count(training)`` says how many clips a video
gives without decoding it, so a dataset knows its length.

- :class:`Segments` (Wang et al., TSN, ECCV 2016): ``k`` equal segments, one frame from
  each — a random one in training, the centre in test; one clip per video.
- :class:`DenseClips`: ``length`` consecutive frames ``stride`` apart from a random start in
  training; in test ``clips`` clips spread evenly over the video, whose predictions are
  averaged (:func:`~seqimaging.video.average_clips`). A video shorter than a clip repeats
  its last frame.
"""

from dataclasses import dataclass

import numpy as np
import torch

from seqimaging.errors import SeqImagingError


def _positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise SeqImagingError(f"{name} must be a positive int, got {value!r}")


def _uniform(size: int) -> np.ndarray:
    return torch.rand(size, dtype=torch.float64).numpy()


@dataclass(frozen=True)
class Segments:
    """TSN sampling: ``k`` equal segments of the video, one frame from each.

    Example:
        >>> Segments(4).indices(20, training=False)
        [array([ 2,  7, 12, 17])]
    """

    k: int = 8

    def __post_init__(self) -> None:
        _positive(k=self.k)

    def count(self, training: bool) -> int:
        """Clips per video: one."""
        return 1

    def indices(self, n: int, *, training: bool) -> list[np.ndarray]:
        """One clip of ``k`` indices into ``n`` frames (repeats where ``n < k``)."""
        edges = np.linspace(0, n, self.k + 1)
        width = np.diff(edges)
        where = _uniform(self.k) if training else 0.5
        return [np.floor(edges[:-1] + where * width).astype(np.int64).clip(0, n - 1)]


@dataclass(frozen=True)
class DenseClips:
    """``length`` frames ``stride`` apart; one random clip in training, ``clips`` in test.

    Example:
        >>> DenseClips(length=3, stride=2, clips=2).indices(10, training=False)
        [array([0, 2, 4]), array([5, 7, 9])]
    """

    length: int = 16
    stride: int = 1
    clips: int = 1

    def __post_init__(self) -> None:
        _positive(length=self.length, stride=self.stride, clips=self.clips)

    def count(self, training: bool) -> int:
        """Clips per video: one in training, ``clips`` in test."""
        return 1 if training else self.clips

    def indices(self, n: int, *, training: bool) -> list[np.ndarray]:
        """Index arrays of the clips of a video of ``n`` frames."""
        offsets = np.arange(self.length) * self.stride
        room = max(n - offsets[-1] - 1, 0)  # the last start that fits
        if training:
            starts = np.array([int(torch.randint(room + 1, ()))])
        else:
            starts = np.rint(np.linspace(0, room, self.clips)).astype(np.int64)
        return [np.minimum(start + offsets, n - 1) for start in starts]


ClipSampling = Segments | DenseClips
