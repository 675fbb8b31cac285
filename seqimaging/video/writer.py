"""Writing frames to a video file with PyAV: test clips, generated action clips, results.

The file is written to a temporary name beside ``path`` and renamed when complete, so a
failure leaves nothing half-written.

Example:
    >>> import numpy as np
    >>> frames = np.zeros((5, 3, 32, 48), np.uint8)
    >>> write_video("clip.avi", frames, fps=25)  # doctest: +SKIP
"""

from pathlib import Path

import numpy as np

from seqimaging._optional import require
from seqimaging.errors import DataError
from seqimaging.files import atomic_write


def write_video(
    path: str | Path,
    frames: np.ndarray,
    *,
    fps: int = 25,
    codec: str = "mpeg4",
    quality: int = 4,
    keyframes: int = 12,
) -> Path:
    """Encode ``frames`` ``[T, 3, H, W]`` RGB ``uint8`` at ``fps`` into ``path``.

    Args:
        path: the file; its suffix picks the container (``.avi``, ``.mp4``, ``.mkv``, ...).
        frames: the frames; height and width even (the codecs' 4:2:0 chroma needs it).
        fps: frames per second (an int: the container's time base is ``1 / fps``).
        codec: an FFmpeg encoder, e.g. ``"mpeg4"`` (MPEG-4 Part 2, UCF101's XviD kind),
            ``"libx264"``, ``"libvpx-vp9"``.
        quality: the encoder's fixed quantiser (``qscale``, 1 best to 31 worst) where it
            has one.
        keyframes: frames from one keyframe to the next (1: every frame is one).

    Returns:
        ``path``.
    """
    av = require("av", extra="video")
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1] != 3 or frames.dtype != np.uint8 or not len(frames):
        raise DataError(
            f"{path}: frames of shape {frames.shape} and dtype {frames.dtype}; expected "
            "[T >= 1, 3, H, W] uint8 RGB"
        )
    height, width = frames.shape[2:]
    if height % 2 or width % 2:
        raise DataError(f"{path}: frames of {height}×{width}; expected even height and width")
    with atomic_write(path) as file:
        with av.open(file, mode="w", format=_format(path)) as out:
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.qscale = quality
            stream.codec_context.gop_size = keyframes
            for image in frames:
                frame = av.VideoFrame.from_ndarray(image.transpose(1, 2, 0), format="rgb24")
                out.mux(stream.encode(frame))
            out.mux(stream.encode())
    return path


_FORMATS = {".avi": "avi", ".mp4": "mp4", ".mkv": "matroska", ".webm": "webm", ".mov": "mov"}


def _format(path: Path) -> str:
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise DataError(
            f"{path}: no container for suffix {path.suffix!r}; expected one of {sorted(_FORMATS)}"
        ) from None
