"""Tests of seqimaging.testing.MovingShapes: contract, determinism, and that the motion is real.

The motion checks measure the shape's centre on the torus as a circular mean: the phase
of the first Fourier coefficient of the image's row and column sums.
"""

import doctest

import numpy as np
import pytest
import torch

import seqimaging.testing
from seqimaging.errors import SeqImagingError
from seqimaging.sample import collate
from seqimaging.testing import MovingShapes

STEP = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])  # (dx, dy) of each direction


def _centres(frames: np.ndarray) -> np.ndarray:
    """Circular centre ``(x, y)`` in pixels of each image of ``frames`` ``[..., H, W]``."""
    n = frames.shape[-1]
    phase = np.exp(2j * np.pi * np.arange(n) / n)
    x = np.angle((frames.sum(-2) * phase).sum(-1))
    y = np.angle((frames.sum(-1) * phase).sum(-1))
    return np.stack([x, y], -1) * n / (2 * np.pi)


def _wrap(d: np.ndarray, n: int) -> np.ndarray:
    """Displacements on a torus of side ``n``, the short way round."""
    return (d + n / 2) % n - n / 2


def _stack(data: MovingShapes, key: str = "frames") -> np.ndarray:
    return np.stack([data[i][key][:, 0].numpy() for i in range(len(data))])


def test_sample_contract_shapes_and_dtypes():
    data = MovingShapes(6, frames=5, horizon=3, size=12, channels=2, group_size=4, seed=3)
    assert len(data) == 6
    assert MovingShapes.num_classes == 4 == len(MovingShapes.class_names)
    for i in range(len(data)):
        s = data[i]
        assert set(s) == {"frames", "times", "label", "target", "future", "future_times", "meta"}
        assert s["frames"].shape == (5, 2, 12, 12) and s["frames"].dtype == torch.float32
        assert s["future"].shape == (3, 2, 12, 12) and s["future"].dtype == torch.float32
        assert s["times"].tolist() == [0, 1, 2, 3, 4] and s["times"].dtype == torch.float32
        assert s["future_times"].tolist() == [5, 6, 7] and s["future_times"].dtype == torch.float32
        assert s["label"].shape == () and s["label"].dtype == torch.int64
        assert s["target"].shape == (1,) and s["target"].dtype == torch.float32
        assert 1.0 <= s["target"].item() <= 3.0
        assert 0 <= s["frames"].min() and s["frames"].max() <= 1 and s["frames"].max() >= 0.5
        assert s["meta"] == {"id": f"shapes-{i:05d}", "group": f"group-{i // 4:05d}"}
        assert data.labels[i] == s["label"].item()
        assert data.groups[i] == s["meta"]["group"]
        # channel c is channel 0 scaled by 1 - c / (2 C)
        torch.testing.assert_close(s["frames"][:, 1], 0.75 * s["frames"][:, 0])
        assert s["frames"].numel() * 4 < 8192  # a few KB
    assert set(data[0]) - {"future", "future_times"} == set(MovingShapes(1, size=8)[0])
    assert "future" not in MovingShapes(1, size=8)[0]


def test_deterministic_per_seed_and_index():
    a, b = MovingShapes(5, size=10, seed=7), MovingShapes(5, size=10, seed=7)
    for i in range(5):
        torch.testing.assert_close(a[i]["frames"], b[i]["frames"], rtol=0, atol=0)
    torch.testing.assert_close(a[-1]["frames"], a[4]["frames"], rtol=0, atol=0)
    other = MovingShapes(5, size=10, seed=8)
    assert not torch.equal(a[0]["frames"], other[0]["frames"])
    assert not torch.equal(a[0]["frames"], a[1]["frames"])
    with pytest.raises(IndexError):
        a[5]


def test_future_continues_the_motion():
    """Frames T.. of a sample with a horizon are the frames T.. of a longer sequence."""
    short = MovingShapes(8, frames=4, horizon=3, size=12, seed=2)
    long = MovingShapes(8, frames=7, size=12, seed=2)
    for i in range(8):
        torch.testing.assert_close(short[i]["frames"], long[i]["frames"][:4], rtol=0, atol=0)
        torch.testing.assert_close(short[i]["future"], long[i]["frames"][4:], rtol=0, atol=0)
        torch.testing.assert_close(short[i]["future_times"], long[i]["times"][4:])


def test_min_frames_varies_length_not_content():
    data = MovingShapes(40, frames=6, min_frames=2, size=8, seed=4)
    fixed = MovingShapes(40, frames=6, size=8, seed=4)
    lengths = [data[i]["frames"].shape[0] for i in range(40)]
    assert min(lengths) == 2 and max(lengths) == 6
    for i, n in enumerate(lengths):
        assert data[i]["times"].shape == (n,)
        torch.testing.assert_close(data[i]["frames"], fixed[i]["frames"][:n], rtol=0, atol=0)
    batch = collate([data[i] for i in range(4)])
    assert batch["lengths"].tolist() == lengths[:4]


def test_direction_and_speed_match_measured_motion():
    data = MovingShapes(100, frames=4, size=16, seed=5)
    frames = _stack(data)  # [N, T, H, W]
    steps = _wrap(np.diff(_centres(frames), axis=1), 16)  # [N, T-1, 2] pixels per frame
    for i in range(len(data)):
        direction, speed = data.labels[i], data[i]["target"].item()
        # the circular mean of an anti-aliased shape is within ~0.05 px of its centre
        np.testing.assert_allclose(steps[i], np.tile(speed * STEP[direction], (3, 1)), atol=0.1)


def _nearest_centroid_accuracy(train, y_train, test, y_test) -> float:
    centroids = np.stack([train[y_train == c].mean(0) for c in range(4)])
    predicted = ((test[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)
    return float((predicted == y_test).mean())


def _shift_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation of ``b`` with ``a`` moved 2 px right, down, left, up: ``[N, 4]``."""
    moves = [(2, -1), (2, -2), (-2, -1), (-2, -2)]
    return np.stack([(b * np.roll(a, s, axis=ax)).sum((-1, -2)) for s, ax in moves], -1)


def test_single_frames_do_not_tell_the_direction_but_pairs_do():
    """A nearest-centroid classifier is at chance on one frame and near perfect on two."""
    train, test = (MovingShapes(400, frames=2, size=12, seed=s) for s in (10, 11))
    x_train, x_test = _stack(train), _stack(test)  # [N, 2, H, W]
    y_train, y_test = np.array(train.labels), np.array(test.labels)
    assert np.bincount(y_test, minlength=4).min() > 70

    pixels = _nearest_centroid_accuracy(
        x_train[:, 0].reshape(400, -1), y_train, x_test[:, 0].reshape(400, -1), y_test
    )
    # a translation-invariant view of one frame: its own shift correlations
    single = _nearest_centroid_accuracy(
        _shift_correlations(x_train[:, 0], x_train[:, 0]),
        y_train,
        _shift_correlations(x_test[:, 0], x_test[:, 0]),
        y_test,
    )
    pair = _nearest_centroid_accuracy(
        _shift_correlations(x_train[:, 0], x_train[:, 1]),
        y_train,
        _shift_correlations(x_test[:, 0], x_test[:, 1]),
        y_test,
    )
    assert pixels < 0.4  # chance is 0.25; the standard deviation over 400 samples is 0.022
    assert single < 0.4
    assert pair > 0.95


def test_class_mean_frames_are_alike():
    """The start is uniform on the torus: every class's mean first frame is flat."""
    data = MovingShapes(2000, frames=1, size=8, seed=12)
    first = _stack(data)[:, 0]
    labels = np.array(data.labels)
    means = np.stack([first[labels == c].mean(0) for c in range(4)])
    overall = first.mean(0)  # about 0.074 per pixel, with a standard error of about 0.005
    assert np.abs(means - overall).max() < 0.05
    assert np.abs(overall - overall.mean()).max() < 0.03


def test_bad_arguments():
    with pytest.raises(SeqImagingError, match="min_frames must be an int in \\[1, frames=4\\]"):
        MovingShapes(2, frames=4, min_frames=5)
    with pytest.raises(SeqImagingError, match="size must be an int >= 4"):
        MovingShapes(2, size=2)
    with pytest.raises(SeqImagingError, match="speed"):
        MovingShapes(2, speed=(3.0, 1.0))


def test_docstring_examples():
    assert doctest.testmod(seqimaging.testing).failed == 0
