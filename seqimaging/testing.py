"""Tiny synthetic sequence datasets for tests, examples and smoke runs.

:class:`MovingShapes` needs no files and makes every key of the sample contract
(:mod:`seqimaging.sample`) that a classifier, a regressor and a forecaster use.
"""

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seqimaging.errors import SeqImagingError

_DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # (dx, dy) per class


class MovingShapes(Dataset):
    """One shape per sequence gliding in a straight line across a wrap-around image.

    Each sample is a disk or a square (radius, or half side, uniform in ``size/8 ..
    size/5``; intensity uniform in ``0.5 .. 1``) that starts at a uniformly random
    sub-pixel position and moves at a constant speed, uniform in ``speed`` pixels per
    frame, in one of four directions: 0 right, 1 down, 2 left, 3 up. The image is a
    torus: what leaves one side comes back on the other. Edges are anti-aliased (each
    pixel holds the shape's coverage of it), so sub-pixel motion shows.

    So the future is predictable from the past, and the task needs motion: the start is
    uniform on the torus and the shapes look the same in every direction, so any single
    frame has the same distribution in every class, while two frames tell direction and
    speed.

    A sample holds ``frames`` ``[T, C, H, W]`` float32 in [0, 1] (channel ``c`` is the
    image scaled by ``1 - c / (2 C)``), ``times`` ``0 .. T-1``, ``label`` (the direction),
    ``target`` ``[1]`` (the speed), with ``horizon > 0`` also ``future`` ``[horizon, C, H, W]``
    and ``future_times`` ``T .. T+horizon-1`` (the motion continued), and ``meta`` with
    ``id`` ``"shapes-00012"`` and ``group`` ``"group-00003"`` (index // ``group_size``).

    Samples are a function of ``(seed, index)`` only: the same on every call, in every
    worker, and the first ``T`` frames do not depend on ``frames`` or ``horizon``.

    Args:
        num_samples: number of sequences.
        frames: frames per sequence ``T`` (the most, with ``min_frames``).
        horizon: frames to forecast after them; 0 for no ``future``.
        size: image height and width in pixels.
        channels: channels ``C``.
        min_frames: if given, each sequence has a random ``T`` in ``[min_frames, frames]``.
        speed: ``(low, high)`` of the speed in pixels per frame.
        group_size: consecutive samples per group (a patient with several slices).
        seed: seed of the whole dataset.

    Example:
        >>> data = MovingShapes(16, frames=6, horizon=2, size=16)
        >>> sample = data[0]
        >>> sample["frames"].shape, sample["future"].shape, data.class_names[sample["label"]]
        (torch.Size([6, 1, 16, 16]), torch.Size([2, 1, 16, 16]), 'up')
    """

    num_classes = 4
    class_names = ("right", "down", "left", "up")

    def __init__(
        self,
        num_samples: int = 64,
        *,
        frames: int = 8,
        horizon: int = 0,
        size: int = 32,
        channels: int = 1,
        min_frames: int | None = None,
        speed: tuple[float, float] = (1.0, 3.0),
        group_size: int = 1,
        seed: int = 0,
    ) -> None:
        for name, value, low in [
            ("num_samples", num_samples, 0),
            ("frames", frames, 1),
            ("horizon", horizon, 0),
            ("size", size, 4),
            ("channels", channels, 1),
            ("group_size", group_size, 1),
        ]:
            if not isinstance(value, int) or value < low:
                raise SeqImagingError(f"{name} must be an int >= {low}, got {value!r}")
        if min_frames is not None and not (
            isinstance(min_frames, int) and 1 <= min_frames <= frames
        ):
            raise SeqImagingError(
                f"min_frames must be an int in [1, frames={frames}], got {min_frames!r}"
            )
        low, high = speed
        if not 0 <= low <= high:
            raise SeqImagingError(f"speed must be (low, high) with 0 <= low <= high, got {speed!r}")
        self.num_samples = num_samples
        self.frames, self.horizon, self.size, self.channels = frames, horizon, size, channels
        self.min_frames = min_frames
        self.speed = (float(low), float(high))
        self.group_size = group_size
        self.seed = seed
        params = [self._params(i) for i in range(num_samples)]
        self.labels = [p["direction"] for p in params]
        self.groups = [f"group-{i // group_size:05d}" for i in range(num_samples)]

    def __len__(self) -> int:
        return self.num_samples

    def _params(self, index: int) -> dict[str, Any]:
        """The random parameters of sample ``index``, drawn in a fixed order."""
        rng = np.random.default_rng([self.seed, index])
        params = {
            "direction": int(rng.integers(4)),
            "speed": float(rng.uniform(*self.speed)),
            "radius": float(rng.uniform(self.size / 8, self.size / 5)),
            "intensity": float(rng.uniform(0.5, 1.0)),
            "square": bool(rng.integers(2)),
            "start": rng.uniform(0, self.size, 2),
        }
        # drawn last, so the parameters above do not depend on min_frames
        params["length"] = (
            self.frames
            if self.min_frames is None
            else int(rng.integers(self.min_frames, self.frames + 1))
        )
        return params

    def _render(self, params: dict[str, Any], times: np.ndarray) -> torch.Tensor:
        """Frames ``[len(times), C, H, W]`` of the shape at ``times``."""
        size = self.size
        centre = (
            params["start"] + times[:, None] * params["speed"] * _DIRECTIONS[params["direction"]]
        )
        grid = np.arange(size, dtype=np.float64)
        # signed distance of each pixel centre to the shape's centre, the short way round
        dx = (grid[None, :] - centre[:, :1] + size / 2) % size - size / 2  # [T, W]
        dy = (grid[None, :] - centre[:, 1:] + size / 2) % size - size / 2  # [T, H]
        r = params["radius"]
        if params["square"]:  # exact pixel coverage of an axis-aligned square
            cover_x = np.clip(r + 0.5 - np.abs(dx), 0, 1)
            cover_y = np.clip(r + 0.5 - np.abs(dy), 0, 1)
            image = cover_y[:, :, None] * cover_x[:, None, :]
        else:  # a one-pixel linear ramp across the circle's edge
            dist = np.sqrt(dy[:, :, None] ** 2 + dx[:, None, :] ** 2)
            image = np.clip(r + 0.5 - dist, 0, 1)
        gains = 1 - np.arange(self.channels) / (2 * self.channels)
        frames = (params["intensity"] * image)[:, None] * gains[None, :, None, None]
        return torch.from_numpy(frames.astype(np.float32))

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -self.num_samples <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} samples")
        index %= self.num_samples
        params = self._params(index)
        length = params["length"]
        sample = {
            "frames": self._render(params, np.arange(length, dtype=np.float64)),
            "times": torch.arange(length, dtype=torch.float32),
            "label": torch.tensor(params["direction"], dtype=torch.int64),
            "target": torch.tensor([params["speed"]], dtype=torch.float32),
        }
        if self.horizon:
            future_times = np.arange(length, length + self.horizon, dtype=np.float64)
            sample["future"] = self._render(params, future_times)
            sample["future_times"] = torch.from_numpy(future_times.astype(np.float32))
        sample["meta"] = {"id": f"shapes-{index:05d}", "group": self.groups[index]}
        return sample
