"""Malformed cubes: odd time coordinates, damaged zarr stores, out-of-range window arguments."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
from _checks import Refused, cases, outcome, outcome_of_arguments
from hypothesis import given
from hypothesis import strategies as st

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo import CubeWindows, open_cube, save_cube

START = np.datetime64("2024-01-01T00:00:00")
DAY = np.timedelta64(1, "D")
IN_MEMORY = "cube 'cube'"
FAR = ["1500-01-01", "1677-09-21", "1677-09-22", "2262-04-10", "2262-04-11", "9999-12-31"]
DAMAGE = ("delete", "empty", "garbage", "truncate", "flip")


def _cube(times, bands: int = 1, height: int = 4, width: int = 4) -> xr.DataArray:
    """Pixel values all different (their index), so a window shows where it was cut."""
    shape = (len(times), bands, height, width)
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    names = [f"b{i}" for i in range(bands)]
    return xr.DataArray(
        values, dims=("time", "band", "y", "x"), coords={"time": times, "band": names}
    )


def _days(*offsets: int) -> np.ndarray:
    return START + np.array(offsets) * DAY


def _both(sample: dict, context: str, future: str) -> torch.Tensor:
    """``sample[context]`` followed by ``sample[future]`` if there is one."""
    return torch.cat([sample[context], *([sample[future]] if future in sample else [])])


def _every_sample(windows: CubeWindows) -> list[dict]:
    return [windows[i] for i in range(len(windows))]


def _windows_of_all_frames(cube: xr.DataArray) -> list[dict]:
    """Samples of windows of every frame (context 1, the rest future), as training cuts."""
    frames = cube.sizes["time"]
    return _every_sample(CubeWindows(cube, context=1, horizon=frames - 1, min_valid=0.0))


def _read(path: Path) -> np.ndarray:
    """Open the store, cut every window and read the whole cube."""
    cube = open_cube(path)
    _every_sample(CubeWindows(cube, context=1, min_valid=0.0))
    return cube.values


@pytest.fixture(autouse=True, scope="module")
def _warm(tmp_path_factory):
    """Imports and first-use caches, outside the allocation bound of the cases."""
    path = save_cube(_cube(_days(0, 1)), tmp_path_factory.mktemp("warm") / "cube.zarr")
    _read(path)
    save_cube(_cube(_days(0, 1)), path.with_suffix(".nc"))
    _read(path.with_suffix(".nc"))


# Time coordinates


@pytest.mark.parametrize("saved", [False, True])
def test_times_out_of_order_are_refused_naming_the_first_position(tmp_path, saved):
    cube = _cube(_days(0, 1, 3, 2, 4))
    with pytest.raises(DataError, match=r"time\[3\] = 2024-01-03T00:00:00 comes before time\[2\]"):
        _windows_of_all_frames(open_cube(save_cube(cube, tmp_path / "c.zarr")) if saved else cube)


@pytest.mark.parametrize("saved", [False, True])
def test_repeated_times_are_refused(tmp_path, saved):
    cube = _cube(_days(0, 1, 1, 2))
    name = str(tmp_path / "c.zarr") if saved else IN_MEMORY
    with pytest.raises(DataError, match=rf"{name}: time\[2\] = 2024-01-02T00:00:00 repeats"):
        _windows_of_all_frames(open_cube(save_cube(cube, tmp_path / "c.zarr")) if saved else cube)


@pytest.mark.parametrize("saved", [False, True])
def test_nat_times_are_refused(tmp_path, saved):
    times = _days(0, 1, 2)
    times[1] = np.datetime64("NaT", "s")
    cube = _cube(times)
    with pytest.raises(DataError, match=r"time\[1\] is NaT"):
        _windows_of_all_frames(open_cube(save_cube(cube, tmp_path / "c.zarr")) if saved else cube)


@pytest.mark.parametrize("saved", [False, True])
def test_times_datetime64_ns_cannot_hold_are_refused(tmp_path, saved):
    cube = _cube(np.array(["2024-01-01", "2300-01-01"], "datetime64[s]"))
    message = "expected .*dates? from 1677-09-22 to 2262-04-10"
    with pytest.raises(DataError, match=message):
        _windows_of_all_frames(open_cube(save_cube(cube, tmp_path / "c.zarr")) if saved else cube)


@pytest.mark.parametrize("times", [np.arange(3), np.arange(3) * 0.5, None])
def test_times_that_are_not_dates_are_refused_at_construction(times):
    cube = _cube(_days(0, 1, 2))
    cube = cube.drop_vars("time") if times is None else cube.assign_coords(time=times)
    with pytest.raises(DataError, match=r"cube 'cube': its time coordinate has dtype .*assign"):
        CubeWindows(cube, context=1)


# Zarr stores


def test_a_missing_chunk_is_refused_at_open_naming_it(tmp_path):
    path = save_cube(_cube(_days(0, 1, 2)), tmp_path / "c.zarr")
    (path / "data/c/1/0/0/0").unlink()
    with pytest.raises(DataError, match=r"c\.zarr: chunk data/c/1/0/0/0 is missing"):
        open_cube(path)


def test_an_array_without_its_metadata_is_refused_at_open(tmp_path):
    path = save_cube(_cube(_days(0, 1, 2)), tmp_path / "c.zarr")
    (path / "band/zarr.json").unlink()
    with pytest.raises(DataError, match=r"c\.zarr: band/ has no zarr metadata"):
        open_cube(path)


def test_all_nan_frames_are_stored_so_no_chunk_is_missing(tmp_path):
    cube = _cube(_days(0, 1, 2))
    cube[1] = np.nan
    path = save_cube(cube, tmp_path / "c.zarr")
    np.testing.assert_array_equal(open_cube(path).values, cube.values)


def test_a_store_written_elsewhere_may_leave_out_all_nan_chunks(tmp_path):
    cube = _cube(_days(0, 1, 2))
    cube[1] = np.nan
    path = tmp_path / "elsewhere.zarr"
    cube.rename("data").chunk({"time": 1}).to_dataset().to_zarr(path, consolidated=False)
    assert not (path / "data/c/1/0/0/0").exists()  # zarr's default leaves it out
    np.testing.assert_array_equal(open_cube(path).values, cube.values)


def _garble(path: Path) -> None:
    path.write_bytes(b"not a zstd frame" * 4)


def test_a_damaged_chunk_is_a_data_error_naming_the_store_wherever_it_is_read(tmp_path):
    path = save_cube(_cube(_days(0, 1, 2)), tmp_path / "c.zarr")
    windows = CubeWindows(open_cube(path), context=1)
    _garble(path / "data/c/1/0/0/0")
    block = r"variable 'data' at \[time 1:2, band 0:1, y 0:4, x 0:4\] cannot be read"
    for read in (lambda: windows[1], lambda: open_cube(path).values, lambda: _read(path)):
        with pytest.raises(DataError, match=rf"c\.zarr: {block} \(RuntimeError: Zstd"):
            read()
    _garble(path / "time/c/0")
    with pytest.raises(DataError, match=r"c\.zarr: cannot be opened as a zarr cube"):
        open_cube(path)


def test_a_flipped_byte_fails_the_chunk_checksum(tmp_path):
    cube = _cube(_days(0, 1, 2))
    cube[:] = np.random.default_rng(0).random(cube.shape, np.float32)  # stored uncompressed
    path = save_cube(cube, tmp_path / "c.zarr")
    chunk = path / "data/c/2/0/0/0"
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 1
    chunk.write_bytes(bytes(raw))
    block = r"variable 'data' at \[time 2:3, band 0:1, y 0:4, x 0:4\]"
    with pytest.raises(DataError, match=rf"c\.zarr: {block} cannot be read .*checksum"):
        open_cube(path).load()


@cases(50)
@given(
    frames=st.integers(1, 4),
    bands=st.integers(1, 2),
    size=st.integers(1, 5),
    nan_frame=st.booleans(),
    damage=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(DAMAGE), st.integers(0, 10**6)),
        min_size=1,
        max_size=3,
    ),
)
def test_damaged_stores_are_refused_naming_the_store(frames, bands, size, nan_frame, damage):
    """A changed chunk file is always refused; damaged metadata may also give a cube."""
    cube = _cube(_days(*range(frames)), bands, size, size)
    if nan_frame:
        cube[0] = np.nan
    with tempfile.TemporaryDirectory() as tmp:
        path = save_cube(cube, Path(tmp) / "cube.zarr")
        files = sorted(p for p in path.rglob("*") if p.is_file())
        chunks_changed = False
        for pick, how, where in damage:
            target = files[pick % len(files)]
            changed = _damage(target, how, where)
            chunks_changed |= changed and target.name != "zarr.json"
        result = outcome(lambda: _read(path), [path])
    assert isinstance(result, Refused) or not chunks_changed


def _damage(path: Path, how: str, where: int) -> bool:
    """Damage the file at ``path`` (if still there); whether its content changed."""
    if not path.exists():
        return False
    raw = path.read_bytes()
    if how == "delete":
        path.unlink()
        return True
    damaged = {
        "empty": b"",
        "garbage": np.random.default_rng(where).bytes(1 + where % 64),
        "truncate": raw[: where % max(len(raw), 1)],
        "flip": _flipped(raw, where),
    }[how]
    path.write_bytes(damaged)
    return damaged != raw


def _flipped(raw: bytes, where: int) -> bytes:
    """``raw`` with one byte xor-ed with a non-zero value."""
    if not raw:
        return raw
    out = bytearray(raw)
    out[where % len(out)] ^= 1 + where % 255
    return bytes(out)


def test_a_truncated_netcdf_cube_is_refused(tmp_path):
    path = save_cube(_cube(_days(0, 1, 2)), tmp_path / "c.nc")
    path.write_bytes(path.read_bytes()[:-64])
    with pytest.raises(DataError, match=r"c\.nc: cannot be opened as a h5netcdf cube"):
        open_cube(path)


# Time coordinates, generated


def _time_coordinate(offsets, nat, far, kind) -> np.ndarray:
    """Day ``offsets`` from START as ``kind`` (a datetime64 or a number type), with NaT
    at ``nat`` and the date ``far`` at ``far[1]`` (both indices modulo the length)."""
    if not kind.startswith("datetime64"):
        return np.array(offsets).astype(kind)
    times = _days(*offsets).astype("datetime64[s]")
    if far is not None:
        times[far[1] % len(times)] = np.datetime64(far[0])
    if nat is not None:
        times[nat % len(times)] = np.datetime64("NaT", "s")
    return times.astype(kind)


def _valid(times: np.ndarray) -> bool:
    """Whether ``times`` are datetime64 dates numpy's nanoseconds hold, increasing."""
    if times.dtype.kind != "M" or np.isnat(times).any():
        return False
    in_range = (times >= np.datetime64("1677-09-22")) & (times < np.datetime64("2262-04-11"))
    return bool(in_range.all() and (np.diff(times) > np.timedelta64(0, "s")).all())


@cases(60)
@given(
    offsets=st.lists(st.integers(-3, 6), min_size=1, max_size=5),
    nat=st.one_of(st.none(), st.integers(0, 4)),
    far=st.one_of(st.none(), st.tuples(st.sampled_from(FAR), st.integers(0, 4))),
    kind=st.sampled_from(["datetime64[s]", "datetime64[D]", "datetime64[ns]", "int64", "float64"]),
    saved=st.booleans(),
)
def test_time_coordinates_give_windows_in_time_order_or_are_refused(offsets, nat, far, kind, saved):
    if kind == "datetime64[ns]":
        far = None  # cannot be written in it
    times = _time_coordinate(offsets, nat, far, kind)
    cube = _cube(times)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_cube(cube, Path(tmp) / "cube.zarr") if saved else None
        result = outcome(
            lambda: _windows_of_all_frames(open_cube(path) if saved else cube),
            [path or IN_MEMORY],
        )
    if not _valid(times):
        assert isinstance(result, Refused)
        return
    (sample,) = result
    assert (_both(sample, "times", "future_times").diff() > 0).all()
    expected = [str(np.datetime_as_string(t, unit="s")) for t in times]
    assert sample["meta"]["dates"] == expected


# Window arguments


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"patch": 5}, r"patch=5: expected an integer from 1 to 4"),
        ({"patch": 3, "region": 2}, r"patch=3: expected an integer from 1 to 2"),
        ({"patch": 0}, r"patch=0: expected an integer from 1 to 4"),
        ({"patch": -2}, r"patch=-2"),
        ({"patch": 2.5}, r"patch=2.5: expected an integer"),
        ({"stride": 0}, r"stride=0: expected an integer of at least 1"),
        ({"stride": -1}, r"stride=-1"),
        ({"region": 0}, r"region=0: expected an integer of at least 1"),
        ({"context": 0}, r"context=0: expected an integer from 1 to 5"),
        ({"context": 6}, r"context=6: expected an integer from 1 to 5 \(the cube's 5 frames\)"),
        ({"horizon": 5}, r"horizon=5: expected an integer from 0 to 4"),
        ({"horizon": -1}, r"horizon=-1"),
        ({"horizon": 1, "time_stride": 5}, r"time_stride=5: expected an integer from 1 to 4"),
        ({"time_stride": 0}, r"time_stride=0"),
        ({"min_valid": 1.5}, r"min_valid=1.5: expected a fraction from 0 to 1"),
    ],
)
def test_out_of_range_arguments_are_refused_naming_them(arguments, message):
    with pytest.raises(SeqImagingError, match=message) as raised:
        CubeWindows(_cube(_days(*range(5))), **({"context": 1} | arguments))
    assert not isinstance(raised.value, DataError)


def test_an_empty_cube_is_refused():
    with pytest.raises(DataError, match=r"cube 'cube': has sizes .*'y': 0"):
        CubeWindows(_cube(_days(0, 1), height=0), context=1)


def _allowed(frames: int, height: int, width: int, args: dict) -> bool:
    """Whether CubeWindows' documented ranges admit ``args``."""
    context, horizon, time_stride = args["context"], args["horizon"], args["time_stride"]
    patch, stride, region = args["patch"], args["stride"], args["region"]
    if context < 1 or horizon < 0 or time_stride < 1 or (region is not None and region < 1):
        return False
    side = min(height, width, region or height)
    return (
        (context + horizon - 1) * time_stride + 1 <= frames
        and (patch is None or 1 <= patch <= side)
        and (stride is None or stride >= 1)
    )


@st.composite
def _window_case(draw) -> tuple[int, int, int, dict]:
    """Cube sizes and CubeWindows arguments in their ranges, one of them perhaps not."""
    frames, height, width = (draw(st.integers(1, n)) for n in (6, 7, 7))
    context = draw(st.integers(1, frames))
    horizon = draw(st.integers(0, frames - context))
    gaps = context + horizon - 1
    region = draw(st.one_of(st.none(), st.integers(1, 8)))
    args = {
        "context": context,
        "horizon": horizon,
        "time_stride": draw(st.integers(1, (frames - 1) // gaps if gaps else 3)),
        "region": region,
        "patch": draw(st.one_of(st.none(), st.integers(1, min(height, width, region or 8)))),
        "stride": draw(st.one_of(st.none(), st.integers(1, 8))),
        "random_patches": draw(st.booleans()),
    }
    names = [None, "context", "horizon", "time_stride", "region", "patch", "stride"]
    if (name := draw(st.sampled_from(names))) is not None:
        args[name] = draw(st.integers(-2, 9))
    return frames, height, width, args


@cases(80)
@given(case=_window_case())
def test_window_arguments_give_windows_cut_from_the_cube_or_are_refused(case):
    frames, height, width, args = case
    cube = _cube(_days(*range(frames)), height=height, width=width)

    def samples():
        return _every_sample(CubeWindows(cube, min_valid=0.0, **args))

    result = outcome_of_arguments(samples, [IN_MEMORY], list(args))
    if not _allowed(frames, height, width, args):
        assert isinstance(result, Refused)
        return
    assert result
    for sample in result:
        _check_cut_from(cube, sample, args)


def _check_cut_from(cube: xr.DataArray, sample: dict, args: dict) -> None:
    """``sample``'s frames are the cube's at the patch and dates its meta names."""
    top, left = map(int, sample["meta"]["id"].split("/")[-2].split("-"))
    dates = np.array(sample["meta"]["dates"], "datetime64[ns]")
    steps = np.searchsorted(cube.time.values, dates)
    frames = _both(sample, "frames", "future")
    assert len(frames) == args["context"] + args["horizon"]
    assert (np.diff(steps) == args["time_stride"]).all()
    _, _, p, q = frames.shape
    expected = cube.values[steps, :, top : top + p, left : left + q]
    np.testing.assert_array_equal(frames.numpy(), expected)
