"""CubeWindows: the sample contract, irregular times, masks, skipping, patches and splits."""

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from seqimaging.data import SequenceDataModule
from seqimaging.errors import DataError
from seqimaging.geo import CubeWindows, Sen2rNdvi, read_stack

DATA = Path(__file__).parents[1] / "data"


def _cube(frames: int = 10, size: int = 16, days=None) -> xr.DataArray:
    days = np.arange(frames) if days is None else np.asarray(days)
    values = np.arange(frames * size * size, dtype=np.float32).reshape(frames, 1, size, size)
    time = np.datetime64("2024-01-01") + days * np.timedelta64(1, "D")
    return xr.DataArray(values, dims=("time", "band", "y", "x"), coords={"time": time})


def test_samples_follow_the_contract_with_irregular_real_dates():
    cube = Sen2rNdvi.read_masked(DATA / "sentinel2_sen2rts")  # ... 09-30, 10-10, 10-15
    windows = CubeWindows(cube, context=2, horizon=1, min_valid=0.0)
    sample = windows[len(windows) - 1]
    assert sample["frames"].shape == (2, 1, 7, 25) and sample["frames"].dtype == torch.float32
    assert sample["mask"].shape == (2, 1, 7, 25) and sample["mask"].dtype == torch.bool
    assert sample["future"].shape == (1, 1, 7, 25) and sample["future_mask"].shape == (1, 1, 7, 25)
    assert sample["times"].tolist() == [0.0, 10.0] and sample["future_times"].tolist() == [15.0]
    assert sample["meta"]["dates"] == [
        "2020-09-30T00:00:00", "2020-10-10T00:00:00", "2020-10-15T00:00:00"
    ]  # fmt: skip
    assert not sample["future_mask"].any()  # 2020-10-15 is all cloud
    assert (sample["future"] == 0).all()


def test_mostly_invalid_windows_are_skipped():
    cube = Sen2rNdvi.read_masked(DATA / "sentinel2_sen2rts")  # dates 2 and 6 all cloud
    starts = {w.start for w in CubeWindows(cube, context=1, min_valid=0.5).windows}
    assert starts == {0, 2, 3, 4}
    assert len(CubeWindows(cube, context=2, min_valid=0.0)) == 5
    with pytest.raises(DataError, match="no window"):
        CubeWindows(cube, context=6, min_valid=0.9)


def test_frames_mask_and_time_stride_index_the_cube():
    cube = _cube()
    cube[3, 0, :4, :4] = np.nan
    windows = CubeWindows(cube, context=2, horizon=1, patch=8, region=8, time_stride=2)
    assert len(windows) == 4 * (10 - 4)  # 4 patches x starts 0..5 (each spans 5 frames)
    index = next(i for i, w in enumerate(windows.windows) if (w.top, w.left, w.start) == (0, 0, 1))
    sample = windows[index]
    np.testing.assert_array_equal(sample["future"][0, 0], np.nan_to_num(cube.values[5, 0, :8, :8]))
    np.testing.assert_array_equal(sample["frames"][1, 0], np.nan_to_num(cube.values[3, 0, :8, :8]))
    assert not sample["mask"][1, 0, :4, :4].any() and sample["mask"][1, 0, 4:, 4:].all()
    assert (sample["frames"][1, 0, :4, :4] == 0).all()
    assert sample["times"].tolist() == [0.0, 2.0] and sample["future_times"].tolist() == [4.0]


def test_grid_patches_are_fixed_and_random_patches_stay_in_their_region():
    cube = _cube(frames=4, size=32)
    grid = CubeWindows(cube, context=2, patch=8, stride=4, region=16)
    assert len({w.region for w in grid.windows}) == 4
    assert {(w.top, w.left) for w in grid.windows if w.region == "cube/r0c1"} == {
        (t, 16 + dx) for t in (0, 4, 8) for dx in (0, 4, 8)
    }
    assert torch.equal(grid[5]["frames"], grid[5]["frames"])
    random = CubeWindows(cube, context=2, patch=8, region=16, random_patches=True)
    assert len(random) == 4 * 3
    torch.manual_seed(0)
    corners = set()
    for i in range(len(random)):
        for _ in range(5):
            sample = random[i]
            value = int(sample["frames"][0, 0, 0, 0]) % (32 * 32)
            top, left = divmod(value, 32)
            region = random.regions[sample["meta"]["group"]]
            assert region.top <= top <= region.top + 8 and region.left <= left <= region.left + 8
            corners.add((top, left))
    assert len(corners) > 12  # not the fixed grid


def test_groups_are_regions_so_splits_keep_regions_apart():
    windows = CubeWindows(_cube(frames=6, size=32), context=2, horizon=1, patch=8, region=8)
    assert len(set(windows.groups)) == 16 and len(windows) == 16 * 4
    data = SequenceDataModule(windows, batch_size=4, val_fraction=0.25, test_fraction=0.25)
    data.setup()
    parts = [data.train_indices, data.val_indices, data.test_indices]
    regions = [{windows.groups[i] for i in part} for part in parts]
    assert all(regions) and not (regions[0] & regions[1] or regions[0] & regions[2])
    batch = next(iter(data.train_dataloader()))
    assert batch["future_mask"].shape == (4, 1, 1, 8, 8) and len(batch["meta"]) == 4

    train, val, test = windows.split(val_fraction=0.25, test_fraction=0.25)
    sets = [set(part.groups) for part in (train, val, test)]
    assert sum(map(len, sets)) == 16 and not (sets[0] & sets[1] or sets[1] & sets[2])
    assert len(train) + len(val) + len(test) == len(windows)


def test_labels_per_region_or_per_window():
    cube = _cube(frames=4, size=16)
    by_region = {"cube/r0c0": 0, "cube/r0c1": 1, "cube/r1c0": 1, "cube/r1c1": 0}
    windows = CubeWindows(cube, context=2, region=8, labels=by_region)
    assert windows.labels == [by_region[g] for g in windows.groups]
    assert windows[0]["label"].dtype == torch.int64
    season = CubeWindows(
        cube, context=2, labels=lambda region, date: int(date.astype("M8[D]").astype(int) % 2)
    )
    assert [int(season[i]["label"]) for i in range(len(season))] == [1, 0, 1]


def test_lazy_cube_windows_equal_the_loaded_cube(series):
    lazy = read_stack(series)
    a = CubeWindows(lazy, context=3, horizon=2, patch=16, region=16)
    b = CubeWindows(lazy.load(), context=3, horizon=2, patch=16, region=16)
    assert a.windows == b.windows
    for key in ("frames", "mask", "future", "future_mask", "times"):
        assert torch.equal(a[3][key], b[3][key])
    assert a[0]["meta"]["crs"] == lazy.attrs["crs"]
    assert a[0]["meta"]["transform"][2] == lazy.attrs["transform"][2]


def _reference_windows(cube, context, horizon, patch, stride, time_stride, region, random, low):
    """(region, top, left, start) of every window, by brute force over the patch boxes."""
    valid = np.isfinite(cube.values).all(axis=1)
    frames, height, width = valid.shape
    side_h, side_w = min(region or height, height), min(region or width, width)
    steps = np.arange(context + horizon) * time_stride
    out = []
    for row, top in enumerate(range(0, height, side_h)):
        for col, left in enumerate(range(0, width, side_w)):
            h, w = min(side_h, height - top), min(side_w, width - left)
            if h < patch or w < patch:
                continue
            boxes = (
                [(top, left, h, w)]
                if random
                else [
                    (top + dy, left + dx, patch, patch)
                    for dy in range(0, h - patch + 1, stride)
                    for dx in range(0, w - patch + 1, stride)
                ]
            )
            for y, x, bh, bw in boxes:
                fraction = valid[:, y : y + bh, x : x + bw].mean(axis=(1, 2))
                for start in range(frames - steps[-1]):
                    if fraction[start + steps].mean() >= low:
                        out.append((f"cube/r{row}c{col}", y, x, start))
    return out


@pytest.mark.parametrize(
    "frames, height, width, context, horizon, patch, stride, time_stride, region, random, low",
    [
        (8, 37, 29, 2, 1, 5, 3, 2, 13, False, 0.5),  # partial regions at both edges
        (8, 37, 29, 2, 1, 5, 5, 1, 13, True, 0.4),
        (6, 30, 41, 3, 0, 7, 2, 1, None, False, 0.6),
        (6, 30, 41, 1, 2, 4, 6, 2, 10, False, 0.0),  # stride above patch
        (9, 24, 24, 4, 1, 6, 4, 1, 12, False, 0.8),
        (9, 25, 19, 2, 2, 3, 1, 2, 8, True, 0.55),
    ],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_windows_equal_a_brute_force_reference(
    lazy, frames, height, width, context, horizon, patch, stride, time_stride, region, random, low
):
    rng = np.random.default_rng(frames * height + width)
    values = rng.random((frames, 2, height, width)).astype(np.float32)
    values[rng.random(values.shape) < 0.12] = np.nan
    values[2, :, : height // 2] = np.nan  # a frame half cloud
    days = np.datetime64("2024-01-01") + np.arange(frames) * np.timedelta64(1, "D")
    cube = xr.DataArray(values, dims=("time", "band", "y", "x"), coords={"time": days})
    if lazy:
        cube = cube.chunk({"time": 1, "y": 11, "x": 7})
    args = (context, horizon, patch, stride, time_stride, region, random, low)
    expected = _reference_windows(cube, *args)
    assert expected  # some windows, and (low > 0) some skipped, for a meaningful check
    windows = CubeWindows(
        cube, context, horizon, patch, stride, time_stride,
        region=region, random_patches=random, min_valid=low,
    )  # fmt: skip
    assert [(w.region, w.top, w.left, w.start) for w in windows.windows] == expected
