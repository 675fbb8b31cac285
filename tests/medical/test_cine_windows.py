"""Forecasting windows of gated cines, on tiny generated arrays and the Sunnybrook subset."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from seqimaging.errors import DataError, SeqImagingError, ShapeError
from seqimaging.medical import (
    CineSampling,
    CineWindows,
    Sunnybrook,
    all_windows,
    centre_crop,
    heart_region,
    patient_cines,
    window_phases,
)
from seqimaging.sample import collate
from seqimaging.transforms import RandomTurn


def _coded(slices=2, phases=10, height=6, width=6) -> np.ndarray:
    """``[S, T, H, W]`` whose value tells where it is: ``1000 s + 100 t + W y + x``."""
    s, t, y, x = np.indices((slices, phases, height, width))
    return (1000 * s + 100 * t + width * y + x).astype(np.float32)


def _phases(frames: torch.Tensor) -> list[int]:
    """The phase of each of a window's frames ``[K, 1, H, W]`` of :func:`_coded`."""
    return ((frames[:, 0, 0, 0] % 1000) // 100).int().tolist()


@pytest.mark.parametrize("phases, length", [(10, 10), (20, 10), (5, 3)])
def test_window_phases_wrap_around_the_cycle(phases, length):
    rows = window_phases(phases, length)
    assert rows.shape == (phases, length)
    assert rows[:, 0].tolist() == list(range(phases))
    assert (np.diff(rows, axis=1) % phases == 1).all()
    assert all(len(set(row)) == length for row in rows)  # no phase twice in a window


def test_all_windows_go_slice_by_slice_start_by_start_and_wrap():
    past, future = all_windows(_coded(phases=10), context=6, horizon=4)
    assert past.shape == (20, 6, 1, 6, 6) and future.shape == (20, 4, 1, 6, 6)
    assert past.dtype == torch.float32
    assert _phases(past[7]) == [7, 8, 9, 0, 1, 2] and _phases(future[7]) == [3, 4, 5, 6]
    assert _phases(past[13]) == [3, 4, 5, 6, 7, 8] and past[13, 0, 0, 0, 0] // 1000 == 1


def test_a_cycle_shorter_than_context_and_horizon_is_refused():
    with pytest.raises(DataError, match="has 8 phases; expected at least 10"):
        all_windows(_coded(phases=8), 6, 4)
    with pytest.raises(DataError, match="p1 has 8 phases"):
        CineWindows({"p0": _coded(phases=10), "p1": _coded(phases=8)}, 6, 4)


@pytest.mark.parametrize(
    "cine, kwargs, error",
    [
        (np.zeros((10, 6, 6), np.float32), {}, ShapeError),
        (np.zeros((1, 10, 6, 6), np.float32), {"crop": 7}, ShapeError),
        (np.zeros((1, 10, 6, 6), np.float32), {"crop": 0}, SeqImagingError),
        (np.zeros((1, 10, 6, 6), np.float32), {"context": 0}, SeqImagingError),
    ],
)
def test_bad_arguments_are_refused(cine, kwargs, error):
    with pytest.raises(error):
        CineWindows({"p": cine}, **{"context": 6, "horizon": 4} | kwargs)


def test_samples_are_the_windows_in_the_sample_contract():
    cines = {"a": _coded(slices=2, phases=10), "b": _coded(slices=1, phases=12)}
    windows = CineWindows(cines, context=6, horizon=4)
    assert len(windows) == 2 * 10 + 12 and windows.groups == ["a"] * 20 + ["b"] * 12
    past, future = all_windows(cines["a"], 6, 4)
    for i in (0, 7, 13):
        sample = windows[i]
        torch.testing.assert_close(sample["frames"], past[i], rtol=0, atol=0)
        torch.testing.assert_close(sample["future"], future[i], rtol=0, atol=0)
    sample = windows[20 + 9]  # patient b, start phase 9 of 12: wraps after 3 phases
    assert sample["meta"] == {"id": "b_s00_t09", "group": "b", "slice": 0, "start": 9}
    torch.testing.assert_close(sample["times"], (9 + torch.arange(6.0)) / 12)
    torch.testing.assert_close(sample["future_times"], (15 + torch.arange(4.0)) / 12)
    assert sample["frames"][3, 0, 0, 0] == 0  # phase 12 % 12, after 1 (times 12 / 12)


def test_random_crops_stay_inside_the_frame_and_reach_every_position():
    height, width, crop = 7, 9, 5
    windows = CineWindows({"p": _coded(1, 10, height, width)}, 6, 4, crop=crop)
    torch.manual_seed(0)
    corners = set()
    for _ in range(300):
        sample = windows[4]
        frames = torch.cat([sample["frames"], sample["future"]])
        assert frames.shape == (10, 1, crop, crop)
        first = int(frames[0, 0, 0, 0]) % 100
        y, x = divmod(first, width)
        expected = _coded(1, 10, height, width)[0][:, y : y + crop, x : x + crop]
        np.testing.assert_array_equal(frames[:, 0].numpy() % 100, expected % 100)
        corners.add((y, x))
    assert corners == {(y, x) for y in range(height - crop + 1) for x in range(width - crop + 1)}


def test_the_crop_is_drawn_first_then_the_transform_applies_alike_to_frames_and_future():
    cine = np.tile(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5), (1, 10, 1, 1))
    cine += 100 * np.arange(10, dtype=np.float32)[None, :, None, None]  # phase t: 100 t + pattern
    windows = CineWindows({"p": cine}, 6, 4, crop=3, transform=RandomTurn())
    for seed in range(8):
        torch.manual_seed(seed)
        sample = windows[2]
        torch.manual_seed(seed)
        y, x = (int(torch.randint(5 - 3 + 1, ())) for _ in range(2))
        turned = RandomTurn()({"frames": torch.from_numpy(cine[0, :1, y : y + 3, x : x + 3])})
        frames = torch.cat([sample["frames"], sample["future"]])[:, 0]
        phases = torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 0, 1], dtype=torch.float32)
        torch.testing.assert_close(
            frames - 100 * phases[:, None, None], turned["frames"][0].expand(10, 3, 3)
        )


def test_samples_collate_into_batches():
    windows = CineWindows({"a": _coded(), "b": _coded()}, 6, 4, crop=4, transform=RandomTurn())
    batch = next(iter(DataLoader(windows, batch_size=5, shuffle=True, collate_fn=collate)))
    assert batch["frames"].shape == (5, 6, 1, 4, 4) and batch["future"].shape == (5, 4, 1, 4, 4)
    assert batch["times"].shape == (5, 6) and batch["future_times"].shape == (5, 4)
    assert batch["lengths"].tolist() == [6] * 5
    assert len(batch["meta"]) == 5 and {m["group"] for m in batch["meta"]} <= {"a", "b"}


def test_heart_region_is_the_central_box_and_centre_crop_keeps_it():
    region = heart_region(10, 4)
    assert region.shape == (1, 1, 1, 10, 10) and region.dtype == torch.bool
    assert region.sum() == 16 and region[0, 0, 0, 3:7, 3:7].all()
    assert centre_crop(region, 4).all() and centre_crop(region, 6).sum() == 16
    frames = torch.arange(5 * 8).reshape(5, 8)
    assert centre_crop(frames, 3).tolist() == [[10, 11, 12], [18, 19, 20], [26, 27, 28]]


def test_patient_cines_stacks_each_patients_slices(sunnybrook):
    sampling = CineSampling(slices=None, frames=None, spacing=4.0, size=24)
    data = Sunnybrook(sunnybrook, sampling)
    cines, intervals = patient_cines(data, slices=2)
    assert list(cines) == list(dict.fromkeys(data.groups)) and set(intervals) == set(cines)
    for patient, cine in cines.items():
        assert cine.shape[0] == 2 and cine.shape[2:] == (24, 24) and cine.dtype == np.float32
        assert intervals[patient] > 0
    with pytest.raises(SeqImagingError, match="slices=None"):
        patient_cines(Sunnybrook(sunnybrook, CineSampling(slices=1)))


def test_patient_cines_refuses_a_dataset_that_augments(sunnybrook):
    sampling = CineSampling(slices=None, frames=None)
    data = Sunnybrook(sunnybrook, sampling, transform=RandomTurn())
    with pytest.raises(SeqImagingError, match="transform"):
        patient_cines(data)


def test_cines_with_channels_give_windows_with_those_channels():
    rng = np.random.default_rng(0)
    cine = rng.random((1, 10, 3, 8, 8), dtype=np.float32)  # one sample's 3 slices as channels
    past, future = all_windows(cine, 6, 4)
    assert past.shape == (10, 6, 3, 8, 8) and future.shape == (10, 4, 3, 8, 8)
    np.testing.assert_array_equal(future[7].numpy(), cine[0, [3, 4, 5, 6]])
    sample = CineWindows({"p": cine}, 6, 4)[7]
    np.testing.assert_array_equal(sample["frames"].numpy(), past[7].numpy())
    np.testing.assert_array_equal(sample["future"].numpy(), future[7].numpy())
    per_slice = all_windows(cine[:, :, 1], 6, 4)[0]  # [S, T, H, W]: one channel
    np.testing.assert_array_equal(per_slice[:, :, 0].numpy(), past[:, :, 1].numpy())
