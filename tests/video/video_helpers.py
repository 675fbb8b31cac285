"""Paths of the shipped test clips and writers of generated ones."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

DATA = Path(__file__).parents[1] / "data" / "video"
H264 = DATA / "bunny_h264.mp4"
UCF_MINI = DATA / "ucf_mini"


def gradient_frames(count: int, height: int = 32, width: int = 48) -> np.ndarray:
    """Smooth frames whose brightness rises with the frame number (easy to compress)."""
    y, x = np.mgrid[:height, :width]
    base = (x * 3 + y * 2)[None, None]
    level = np.arange(count)[:, None, None, None] * 6
    return np.broadcast_to((base + level) % 256, (count, 3, height, width)).astype(np.uint8)


def write_variable_rate(path: Path, gaps: list[int], time_base: Fraction = Fraction(1, 100)):
    """An MKV whose frame ``i`` is presented at ``sum(gaps[:i])`` ticks: a variable rate."""
    frames = gradient_frames(len(gaps))
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        stream.codec_context.time_base = time_base
        pts = np.concatenate([[0], np.cumsum(gaps)[:-1]])
        for image, tick in zip(frames, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(image.transpose(1, 2, 0), format="rgb24")
            frame.pts, frame.time_base = int(tick), time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return pts * float(time_base)
