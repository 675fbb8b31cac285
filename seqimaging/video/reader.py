"""Reading video files with PyAV (FFmpeg in its wheels): frames, their times, and seeks.

:func:`read_video` returns a range of a file as a DataArray ``(time, channel, y, x)``
of RGB ``uint8`` with each frame's presentation time in seconds (from the container's
timestamps, so a variable frame rate is kept); :func:`frame_times` lists every frame's
time by demuxing alone (no decoding), which is what a dataset indexes clips by; and
:func:`read_frames` decodes just the frames at some of those times, seeking over gaps.

Each call opens and closes its own container: nothing is shared between calls, so the
functions are safe in DataLoader workers (forked or spawned). Decoding is bounded in
time (``time_limit``): a file that makes FFmpeg spin raises instead of hanging. Every
predictable failure — a missing, corrupt or truncated file, no video stream (audio
only), a codec FFmpeg cannot decode, zero frames — is a :class:`DataError` naming the
file. Files are only ever opened for reading.

Example:
    >>> clip = read_video("v_Biking_g01_c01.avi", start=1.0, end=2.0, size=112)  # doctest: +SKIP
    >>> clip.dims, clip.sizes["channel"]  # doctest: +SKIP
    (('time', 'channel', 'y', 'x'), 3)
"""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError

TIME_LIMIT = 120.0
"""Seconds one call may spend demuxing or decoding before it gives up."""
SEEK_GAP = 2.0
"""Seconds ahead of the decoder beyond which :func:`read_frames` seeks rather than decodes on."""
TOLERANCE = 1e-6
"""Seconds by which a decoded frame's time may differ from the time asked for."""
Size = int | tuple[int, int] | None
"""An output size: ``(height, width)``; an int, the shorter side (aspect kept); None, as stored."""


class _Clock:
    """A deadline of ``limit`` seconds from now for decoding ``path``."""

    def __init__(self, path: Path, limit: float) -> None:
        self.path, self.limit, self.end = path, limit, time.monotonic() + limit

    def exceeded(self) -> DataError:
        return DataError(
            f"{self.path}: reading took longer than {self.limit:g} s (time_limit); "
            "expected a video file FFmpeg decodes at a usual rate"
        )

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise self.exceeded()


@contextmanager
def _opened(path: str | Path, time_limit: float) -> Iterator[tuple[Any, Any, Path]]:
    """The container of ``path`` and its first video stream, closed afterwards; FFmpeg's
    errors on the way become :class:`DataError` naming the file."""
    av = require("av", extra="video")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such video file")
    try:
        container = av.open(str(path), mode="r", timeout=time_limit)
    except av.ExitError as err:  # FFmpeg interrupted by the timeout
        raise _Clock(path, time_limit).exceeded() from err
    except av.FFmpegError as err:
        raise DataError(f"{path}: FFmpeg cannot open it ({err}); expected a video file") from err
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise DataError(
                f"{path}: has no video stream (streams: {', '.join(kinds)}); expected a video"
            )
        stream = container.streams.video[0]
        if stream.codec_context is None or not stream.codec_context.is_decoder:
            raise DataError(
                f"{path}: FFmpeg has no decoder for its video codec; expected a codec FFmpeg "
                "decodes (MPEG-4, H.264, HEVC, VP9, AV1, ...)"
            )
        if stream.time_base is None:
            raise DataError(f"{path}: its video stream has no time base; expected timestamps")
        stream.codec_context.thread_count = 1  # parallel decoding: DataLoader workers
        yield container, stream, path
    except av.ExitError as err:
        raise _Clock(path, time_limit).exceeded() from err
    except av.FFmpegError as err:
        raise DataError(
            f"{path}: FFmpeg failed reading it ({err}); the file is corrupt or truncated"
        ) from err
    finally:
        container.close()


def _seconds(stream) -> Fraction:
    """Seconds per tick of the stream's timestamps."""
    return Fraction(stream.time_base)


def frame_times(path: str | Path, *, time_limit: float = TIME_LIMIT) -> np.ndarray:
    """The presentation time (s) of every frame of ``path``, sorted, from demuxing only.

    Raises:
        DataError: the file cannot be read, has no video stream or no frame, packets
            without timestamps, or fewer frames than its header promises (truncated).
    """
    with _opened(path, time_limit) as (container, stream, path):
        clock, base, pts = _Clock(path, time_limit), _seconds(stream), []
        for packet in container.demux(stream):
            clock.check()
            if packet.size and packet.pts is not None:
                pts.append(packet.pts)
            elif packet.size:
                raise DataError(f"{path}: a video packet has no timestamp; expected pts")
        promised = stream.frames
    if not pts:
        raise DataError(f"{path}: holds no video frame; expected at least one")
    if promised and len(pts) < promised:
        raise DataError(
            f"{path}: {len(pts)} frames where its header promises {promised}; the file is truncated"
        )
    return np.array(sorted(pts), np.float64) * float(base)


def _target_size(height: int, width: int, size: Size, path: Path) -> tuple[int, int]:
    if size is None:
        return height, width
    if isinstance(size, int):
        scale = size / min(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if len(size) != 2 or min(size) < 1:
        raise DataError(f"{path}: size {size} is not (height, width) of positive ints")
    return int(size[0]), int(size[1])


def _frames(container, stream, clock: _Clock) -> Iterator[tuple[float, Any]]:
    base = _seconds(stream)
    for frame in container.decode(stream):
        clock.check()
        if frame.pts is not None:
            yield float(frame.pts * base), frame


def _decode(container, stream, clock: _Clock, start: float | None) -> Iterator[tuple[float, Any]]:
    """``(time, frame)`` from the keyframe before ``start`` onwards.

    A seek lands on a keyframe by the container's index, which for some files (AVI with
    B-frames) is after ``start``, or drops the frames decoded from before it; then the
    reader seeks again, 1, 2, 4 ... s earlier, down to the start of the file.
    """
    if start is None:
        yield from _frames(container, stream, clock)
        return
    back = 0.0
    while True:
        target = max(start - back, 0.0)
        container.seek(int(target / _seconds(stream)), stream=stream, backward=True)
        decoded = _frames(container, stream, clock)
        first = next(decoded, None)
        if first is None or first[0] <= start + TOLERANCE or target == 0.0:
            if first is not None:
                yield first
                yield from decoded
            return
        back = max(2 * back, 1.0)


def _rgb(frame, shape: tuple[int, int]) -> np.ndarray:
    """The frame as ``[3, H, W]`` uint8 RGB at ``shape`` (FFmpeg's swscale, bilinear).

    swscale runs on the calling thread (``threads=1``): its default pool of threads
    outlives the call, and a DataLoader worker forked from a process holding one
    deadlocks in its first conversion.
    """
    image = frame.to_ndarray(format="rgb24", height=shape[0], width=shape[1], threads=1)
    return image.transpose(2, 0, 1)


def _cube(path: Path, frames: list[np.ndarray], times: Sequence[float], stream) -> xr.DataArray:
    if not frames:
        raise DataError(f"{path}: no frame decoded in the range asked for; expected at least one")
    rate = stream.average_rate
    return xr.DataArray(
        np.stack(frames),
        dims=("time", "channel", "y", "x"),
        coords={"time": np.asarray(times, np.float64), "channel": ["R", "G", "B"]},
        attrs={
            "source": str(path),
            "codec": stream.codec_context.name,
            "frame_rate": float(rate) if rate else None,
            "stored_size": (stream.codec_context.height, stream.codec_context.width),
        },
        name="video",
    )


def _every_frame(decoded, start: float | None, end: float | None):
    """``(time, frame)`` of the frames from ``start`` (inclusive) to ``end`` (exclusive)."""
    for t, frame in decoded:
        if end is not None and t >= end - TOLERANCE:
            return
        if start is None or t >= start - TOLERANCE:
            yield t, frame


def _at_rate(decoded, fps: float, start: float | None, end: float | None):
    """``(instant, frame)`` at instants ``1 / fps`` apart from ``start`` (the first frame
    without one) to ``end`` (exclusive; the last frame's time, inclusive, without one),
    each with the frame on screen then: the latest at or before it (:data:`TOLERANCE`
    apart counts as at), as :func:`on_grid` picks from an index; an instant before the
    first frame takes the first frame."""
    origin, count, shown, last, stop = start, 0, None, None, None
    for t, frame in decoded:
        if end is not None and t >= end - TOLERANCE:
            stop = end
            break
        origin = t if origin is None else origin
        while shown is not None and origin + count / fps < t - TOLERANCE:
            yield origin + count / fps, shown
            count += 1
        shown, last = frame, t
    while shown is not None and (
        origin + count / fps < stop - TOLERANCE
        if stop is not None
        else origin + count / fps <= last + TOLERANCE
    ):
        yield origin + count / fps, shown
        count += 1


def on_grid(times: np.ndarray, fps: float) -> np.ndarray:
    """The frame times (of sorted ``times``) on screen at instants ``1 / fps`` apart from
    the first frame to the last: what ``read_video(fps=fps)`` gives, from an index."""
    steps = int(np.floor((times[-1] - times[0]) * fps + TOLERANCE))
    instants = times[0] + np.arange(steps + 1) / fps
    return times[np.searchsorted(times, instants + TOLERANCE, side="right") - 1]


def read_video(
    path: str | Path,
    *,
    fps: float | None = None,
    start: float | None = None,
    end: float | None = None,
    size: Size = None,
    time_limit: float = TIME_LIMIT,
) -> xr.DataArray:
    """The frames of ``path`` from ``start`` to ``end`` (s), RGB ``uint8``.

    Only the range is decoded: the reader seeks to the keyframe before ``start`` and stops
    at ``end``.

    Args:
        path: any file FFmpeg reads (AVI/XviD, MP4/H.264, WebM/VP9, ...).
        fps: sample the range at this rate, each instant taking the frame on screen then
            (the latest at or before it; ``time`` then holds the instants, from ``start``
            or the first frame); None keeps every frame with its own timestamp (a variable
            frame rate is kept).
        start: first time (s, on the container's clock), inclusive; None from the first frame.
        end: last time, exclusive; None to the last frame.
        size: ``(height, width)``, the shorter side (an int, aspect kept) or None (as stored).
        time_limit: seconds before decoding gives up with a :class:`DataError`.

    Returns:
        DataArray ``(time, channel, y, x)``, ``time`` in seconds, channels ``R, G, B``;
        attrs ``source``, ``codec``, ``frame_rate`` (the container's average) and
        ``stored_size``.
    """
    if fps is not None and not fps > 0:
        raise DataError(f"{path}: fps must be positive, got {fps}")
    if start is not None and end is not None and not end > start:
        raise DataError(f"{path}: end {end} is not after start {start}")
    with _opened(path, time_limit) as (container, stream, path):
        context = stream.codec_context
        shape = _target_size(context.height, context.width, size, path)
        decoded = _decode(container, stream, _Clock(path, time_limit), start)
        picked = (
            _every_frame(decoded, start, end) if fps is None else _at_rate(decoded, fps, start, end)
        )
        times, frames = [], []
        for t, frame in picked:
            times.append(t)
            frames.append(_rgb(frame, shape))
        return _cube(path, frames, times, stream)


def read_frames(
    path: str | Path,
    times: Sequence[float],
    *,
    size: Size = None,
    time_limit: float = TIME_LIMIT,
) -> xr.DataArray:
    """The frames of ``path`` presented at ``times`` (values of :func:`frame_times`).

    Frames are decoded in time order; where the next one is more than :data:`SEEK_GAP`
    seconds ahead of the decoder, the reader seeks to the keyframe before it instead of
    decoding the gap. A time asked for twice gives its frame twice, in the order asked.

    Raises:
        DataError: a time is not a frame's time (the file differs from its index), or
            decoding ends before it (truncated).
    """
    wanted = np.asarray(times, np.float64)
    order = np.unique(wanted)
    with _opened(path, time_limit) as (container, stream, path):
        context = stream.codec_context
        shape = _target_size(context.height, context.width, size, path)
        clock, got, decoded, position, frame = _Clock(path, time_limit), {}, None, -np.inf, None
        for target in order:
            if decoded is None or target > position + SEEK_GAP:
                decoded = _decode(container, stream, clock, target)
            for position, frame in decoded:  # noqa: B007 (the frame found is used below)
                if position >= target - TOLERANCE:
                    break
            else:
                raise DataError(
                    f"{path}: decoding ended at {position:.6f} s before the frame at "
                    f"{target:.6f} s; the file is truncated or differs from its index"
                )
            if position > target + TOLERANCE:
                raise DataError(
                    f"{path}: no frame at {target:.6f} s (the next is at {position:.6f} s); "
                    "expected times from frame_times() of this file"
                )
            got[target] = _rgb(frame, shape)
        return _cube(path, [got[t] for t in order[np.searchsorted(order, wanted)]], wanted, stream)
