"""Generated action clips: real video files in UCF101's layout whose classes differ only
in the direction of time.

Four motions, each with its time-reversal as a second class: a disk that grows or
shrinks, a square that brightens or darkens, a square that slides right or left, a dot
that turns clockwise or anticlockwise. A clip of one class is, frame for frame, a clip
of its twin played backwards, with the same distribution of every other setting (start,
speed, size, colour); so any single frame, and any order-free summary of the frames
(their mean), has the same distribution in both twins. A model that ignores the order of
the frames can at best find the motion (top-1 about 50 %, top-2 about 100 %); telling
the twins apart needs the order, which is what a sequence model adds.

As in UCF101, the clips of a group share a scene (background, texture, object colour),
and the train/test lists keep groups apart: groups 1–7 are the test list of split 1,
the rest train. :func:`make_action_clips` writes the tree
(``UCF-101/<Class>/v_<Class>_gNN_cMM.avi``, MPEG-4 Part 2 in AVI, and
``ucfTrainTestlist/``), which :class:`~seqimaging.video.UCF101` reads.

Example:
    >>> root = make_action_clips("actions", groups=8, seed=0)  # doctest: +SKIP
    >>> UCF101(root, split=1, fold="test").class_names[:2]  # doctest: +SKIP
    ('Grow', 'Shrink')
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqimaging.errors import SeqImagingError
from seqimaging.video.writer import write_video

TEST_GROUPS = 7
"""Groups 1..7 are the test list of split 1, as in UCF101's first split."""


@dataclass(frozen=True)
class Scene:
    """What the clips of one group share: background colour and texture, object colour."""

    background: np.ndarray  # [3, H, W] in [0, 1]
    colour: np.ndarray  # [3]


def random_scene(rng: np.random.Generator, size: int) -> Scene:
    """A random scene of ``size × size`` pixels."""
    coarse = rng.uniform(-1, 1, (3, 4, 4))
    texture = np.kron(coarse, np.ones((size // 4 + 1, size // 4 + 1)))[:, :size, :size]
    base = rng.uniform(0.1, 0.5, (3, 1, 1))
    return Scene(np.clip(base + 0.08 * texture, 0, 1), rng.uniform(0.6, 1.0, 3))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.mgrid[:size, :size].astype(np.float64) + 0.5


def _soft(distance: np.ndarray) -> np.ndarray:
    """Coverage of pixels ``distance`` inside (>0) an edge, anti-aliased over a pixel."""
    return np.clip(distance + 0.5, 0, 1)


def _disk(size: int, cy: float, cx: float, radius: float) -> np.ndarray:
    y, x = _grid(size)
    return _soft(radius - np.hypot(y - cy, x - cx))


def _square(size: int, cy: float, cx: float, half: float) -> np.ndarray:
    y, x = _grid(size)
    return _soft(half - np.maximum(np.abs(y - cy), np.abs(x - cx)))


def _grow(rng, size, phase):
    small, large = rng.uniform(0.05, 0.1) * size, rng.uniform(0.22, 0.3) * size
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    return [_disk(size, cy, cx, small + (large - small) * p) for p in phase], np.ones(len(phase))


def _brighten(rng, size, phase):
    cy, cx = rng.uniform(0.3, 0.7, 2) * size
    shape = _square(size, cy, cx, rng.uniform(0.12, 0.2) * size)
    return [shape] * len(phase), 0.15 + 0.85 * phase


def _slide(rng, size, phase):
    half, travel = rng.uniform(0.08, 0.12) * size, rng.uniform(0.35, 0.5) * size
    start = rng.uniform(half + 1, size - half - 1 - travel)
    cy = rng.uniform(0.3, 0.7) * size
    return [_square(size, cy, start + travel * p, half) for p in phase], np.ones(len(phase))


def _turn(rng, size, phase):
    radius, dot = rng.uniform(0.22, 0.3) * size, rng.uniform(0.07, 0.1) * size
    start, sweep = rng.uniform(0, 2 * np.pi), rng.uniform(0.75, 1.25) * np.pi
    angles = start + sweep * phase  # clockwise on screen: y points down
    centre = size / 2
    shapes = [
        _disk(size, centre + radius * np.sin(a), centre + radius * np.cos(a), dot) for a in angles
    ]
    return shapes, np.ones(len(phase))


MOTIONS: dict[tuple[str, str], Callable] = {
    ("Grow", "Shrink"): _grow,
    ("Brighten", "Darken"): _brighten,
    ("SlideRight", "SlideLeft"): _slide,
    ("TurnClockwise", "TurnAnticlockwise"): _turn,
}
"""Each motion's two classes, forwards and backwards in time, and its renderer
``(rng, size, phase in [0, 1] per frame) -> (coverage per frame, brightness per frame)``."""
CLASSES = tuple(name for pair in MOTIONS for name in pair)


def action_clip(
    motion: Callable,
    backwards: bool,
    scene: Scene,
    rng: np.random.Generator,
    frames: int,
    noise: float = 0.02,
) -> np.ndarray:
    """One clip ``[T, 3, H, W]`` ``uint8``: ``motion`` over ``scene``, played backwards or
    not, with independent Gaussian noise of standard deviation ``noise`` per pixel."""
    size = scene.background.shape[-1]
    phase = np.linspace(0, 1, frames)
    shapes, brightness = motion(rng, size, phase)
    order = slice(None, None, -1) if backwards else slice(None)
    clip = []
    for shape, level in zip(shapes[order], brightness[order], strict=True):
        image = scene.background * (1 - shape) + (level * scene.colour)[:, None, None] * shape
        image = image + rng.normal(0, noise, image.shape)
        clip.append(np.clip(image * 255, 0, 255).round().astype(np.uint8))
    return np.stack(clip)


def make_action_clips(
    root: str | Path,
    *,
    groups: int = 25,
    clips: int = 2,
    frames: int = 24,
    size: int = 64,
    fps: int = 25,
    seed: int = 0,
) -> Path:
    """Write the clips and split-1 lists in UCF101's layout under ``root``; return it.

    Args:
        groups: scenes (UCF101 has 25); groups 1..7 (:data:`TEST_GROUPS`) are the test list.
        clips: clips per class per group.
        frames: frames per clip.
        size: height and width, even.
        fps: frame rate of the files.
        seed: the generator's seed; the same seed writes the same clips.
    """
    if groups <= TEST_GROUPS:
        raise SeqImagingError(f"groups must exceed the {TEST_GROUPS} test groups, got {groups}")
    root, rng = Path(root), np.random.default_rng(seed)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    train, test = [], []
    for group in range(1, groups + 1):
        shared = random_scene(rng, size)
        for (forwards, backwards), motion in MOTIONS.items():
            for name in (forwards, backwards):
                for clip in range(1, clips + 1):
                    relative = f"{name}/v_{name}_g{group:02d}_c{clip:02d}.avi"
                    video = action_clip(motion, name == backwards, shared, rng, frames)
                    (root / "UCF-101" / name).mkdir(parents=True, exist_ok=True)
                    write_video(  # every frame a keyframe: compression is time-symmetric
                        root / "UCF-101" / relative, video, fps=fps, quality=3, keyframes=1
                    )
                    if group <= TEST_GROUPS:
                        test.append(relative)
                    else:
                        train.append(f"{relative} {CLASSES.index(name) + 1}")
    classes = "".join(f"{i} {name}\n" for i, name in enumerate(CLASSES, start=1))
    (lists / "classInd.txt").write_text(classes)
    (lists / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (lists / "testlist01.txt").write_text("\n".join(test) + "\n")
    return root
