"""Cycle resampling, slice choice, heart crop, normalisation and augmentation."""

import numpy as np
import pytest
import torch

from seqimaging.errors import SeqImagingError
from seqimaging.medical import CineAugmentation, CineSampling
from seqimaging.medical.sampling import mid_slices, resample_cycle
from seqimaging.medical.transforms import crop_and_normalise, heart_centre


def test_resample_cycle_is_periodic_linear_interpolation():
    values = np.random.default_rng(0).random((7, 2, 3))
    out = resample_cycle(values, 11)
    phases = np.arange(7) / 7
    for i in range(2):
        for j in range(3):
            expected = np.interp(np.arange(11) / 11, phases, values[:, i, j], period=1.0)
            np.testing.assert_allclose(out[:, i, j], expected)
    np.testing.assert_array_equal(resample_cycle(values, 7), values)


@pytest.mark.parametrize(
    "n, k, expected", [(10, 3, [3, 4, 5]), (9, 3, [3, 4, 5]), (5, 5, [0, 1, 2, 3, 4])]
)
def test_mid_slices(n, k, expected):
    assert list(mid_slices(n, k)) == expected


def _beating_disk(t=8, size=48, centre=(30.0, 14.0)):
    yy, xx = np.indices((size, size))
    frames = np.zeros((t, 2, size, size), np.float32)
    for i in range(t):
        radius = 6 + 3 * np.sin(2 * np.pi * i / t)
        frames[i, :] = (np.hypot(yy - centre[0], xx - centre[1]) < radius) * 1.0
    return frames + np.random.default_rng(0).normal(0, 0.01, frames.shape).astype(np.float32)


def test_heart_centre_finds_what_beats():
    frames = _beating_disk()
    frames[:, :, 5:15, 30:45] += 3.0  # bright but static
    assert heart_centre(frames) == pytest.approx((30.0, 14.0), abs=1.0)


def test_crop_and_normalise_centres_resamples_and_scales():
    out = crop_and_normalise(
        _beating_disk(), (1.0, 1.0), spacing=0.5, size=40, percentiles=(0.0, 100.0)
    )
    assert out.shape == (8, 2, 40, 40) and out.dtype == torch.float32
    assert type(out) is torch.Tensor  # not MONAI's MetaTensor: it would slow every model op
    assert out.min() == 0 and out.max() == 1
    motion = out.std(dim=0).mean(dim=0)
    ys, xs = torch.nonzero(motion > motion.max() / 2, as_tuple=True)
    assert ys.float().mean() == pytest.approx(19.5, abs=2) and xs.float().mean() == pytest.approx(
        19.5, abs=2
    )


def test_augmentation_moves_every_frame_and_slice_alike():
    frame = torch.zeros(1, 1, 32, 32)
    frame[..., 4:12, 6:20] = 1.0
    frames = frame.expand(10, 3, 32, 32).clone()
    sample = {"frames": frames, "label": torch.tensor(1)}
    augmented = CineAugmentation(prob=1.0, noise_std=0.0, seed=3)(sample)
    out = augmented["frames"]
    assert augmented["label"] is sample["label"]
    assert out.shape == frames.shape and not torch.equal(out, frames)
    assert type(out) is torch.Tensor
    torch.testing.assert_close(out, out[:1, :1].expand_as(out))


@pytest.mark.parametrize(
    "kwargs", [{"slices": 0}, {"frames": 2.5}, {"spacing": -1.0}, {"percentiles": (50, 10)}]
)
def test_bad_sampling_options_are_refused(kwargs):
    with pytest.raises(SeqImagingError):
        CineSampling(**kwargs)
