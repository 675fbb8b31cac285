"""The base every video dataset shares: records in, clips out, decoded in the worker.

A dataset file (:mod:`~seqimaging.video.ucf101`, ...) only reads its index into
:class:`VideoRecord` s; :class:`VideoDataset` does the rest: a frame index per file
(:class:`FrameIndex`, demuxed once and kept), the clip sampling
(:mod:`~seqimaging.video.sampling`), decoding just the sampled frames
(:func:`~seqimaging.video.read_frames`) and the sample dict of :mod:`seqimaging.sample`.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seqimaging.errors import DataError
from seqimaging.files import atomic_write
from seqimaging.video.reader import TOLERANCE, Size, frame_times, on_grid, read_frames
from seqimaging.video.sampling import ClipSampling, Segments

TSN = Segments()
"""The default sampling: 8 TSN segments."""


@dataclass(frozen=True)
class VideoRecord:
    """One video (or a range of one) and what an index file says about it.

    Args:
        id: unique id, e.g. ``"v_Biking_g01_c01"``.
        path: the file.
        label: class index, or None.
        group: what a split keeps together (the UCF101 ``gNN`` actor group, the source
            film); defaults to ``id``.
        start: first second of the range (Kinetics' ``time_start`` in a full video), or None.
        end: end of the range (exclusive), or None.
        info: anything else to pass on in ``meta``.
    """

    id: str
    path: Path
    label: int | None = None
    group: str | None = None
    start: float | None = None
    end: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


def file_key(path: str | Path, *extra: object) -> str:
    """A name for what is derived from file ``path`` (and ``extra``): a hash of its
    resolved path, size and modification time, which an edit of the file changes."""
    path = Path(path)
    stat = path.stat()
    key = "|".join(map(str, (path.resolve(), stat.st_size, stat.st_mtime_ns, *extra)))
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class FrameIndex:
    """Frame times of each file (:func:`~seqimaging.video.frame_times`), demuxed once.

    Kept in memory for the life of the object (each DataLoader worker has its own copy) and,
    with ``folder``, in a ``.npy`` file per video named by its path, size and modification
    time, so later runs and other workers skip the demuxing; a changed file gets a new
    entry. The videos themselves are only read.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = None if folder is None else Path(folder)
        self._times: dict[Path, np.ndarray] = {}

    def __call__(self, path: str | Path) -> np.ndarray:
        path = Path(path)
        if path in self._times:
            return self._times[path]
        entry = None if self.folder is None else self.folder / f"{file_key(path)}.npy"
        if entry is not None and entry.is_file():
            times = np.load(entry)
        else:
            times = frame_times(path)
            if entry is not None:
                with atomic_write(entry) as file:
                    np.save(file, times)
        self._times[path] = times
        return times


class VideoDataset(Dataset):
    """Clips of videos as samples in the contract of :mod:`seqimaging.sample`.

    Subclasses read their index files into :class:`VideoRecord` s and set ``class_names``.
    A sample has ``frames`` float32 ``[T, 3, H, W]`` RGB in [0, 1], ``times`` float32 ``[T]``
    in seconds since the clip's first frame (from the container's timestamps), ``label``
    where the record has one, and ``meta``: ``id`` (``"<video>#<clip>"``), ``video`` (the
    record's id, for :func:`~seqimaging.video.average_clips`), ``clip``, ``group``, ``path``,
    ``start`` (the first frame's time in the file, s) and the record's ``info``.

    ``labels`` and ``groups`` hold one entry per sample (clip) without opening any file, for
    :class:`~seqimaging.data.SequenceDataModule`, whose splits then keep groups apart.

    Args:
        records: the videos.
        sampling: :class:`~seqimaging.video.Segments` (TSN, the default: 8 segments) or
            :class:`~seqimaging.video.DenseClips`.
        training: draw the clips at random (training) rather than fixed (test, and the
            several clips of :class:`~seqimaging.video.DenseClips` per video).
        size: frame size, ``(height, width)``, the shorter side, or None (as stored).
        fps: sample each video at this rate first (the frame on screen at each instant);
            None uses its own frames.
        transform: a function applied to each sample (:mod:`seqimaging.transforms`).
        index_folder: where :class:`FrameIndex` keeps the frame times between runs; None
            keeps them in memory only.

    Raises:
        DataError: a record's file does not exist (naming it).
    """

    class_names: tuple[str, ...] = ()

    def __init__(
        self,
        records: Sequence[VideoRecord],
        sampling: ClipSampling = TSN,
        *,
        training: bool = False,
        size: Size = (112, 112),
        fps: float | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        index_folder: str | Path | None = None,
    ) -> None:
        self.records = list(records)
        missing = [r.path for r in self.records if not Path(r.path).is_file()]
        if missing:
            raise DataError(
                f"{missing[0]}: no such video file ({len(missing)} of {len(self.records)} "
                "records name a missing file); expected every listed clip to exist"
            )
        if fps is not None and not fps > 0:
            raise DataError(f"fps must be positive or None, got {fps!r}")
        self.sampling, self.training, self.size, self.fps = sampling, training, size, fps
        self.transform = transform
        self.index = FrameIndex(index_folder)
        per_video = sampling.count(training)
        self._items = [(i, c) for i in range(len(self.records)) for c in range(per_video)]
        chosen = [self.records[i] for i, _ in self._items]
        self.groups = [r.group or r.id for r in chosen]
        labelled = bool(chosen) and all(r.label is not None for r in chosen)
        self.labels = [r.label for r in chosen] if labelled else None

    def class_index(self, name: str, where: Path) -> int:
        """The index of class ``name`` in :attr:`class_names`, or a :class:`DataError`
        naming the file ``where`` that gave it."""
        if name not in self.class_names:
            raise DataError(
                f"{where}: class {name!r} is not one of the {len(self.class_names)} classes "
                f"{self.class_names[:5]}{' ...' if len(self.class_names) > 5 else ''}"
            )
        return self.class_names.index(name)

    def timeline(self, record: VideoRecord) -> np.ndarray:
        """The times of the frames a clip of ``record`` is sampled from: the file's frames
        (from the index) in the record's range, on the ``fps`` grid when there is one."""
        times = self.index(record.path)
        keep = np.ones(len(times), bool)
        if record.start is not None:
            keep &= times >= record.start - TOLERANCE
        if record.end is not None:
            keep &= times < record.end - TOLERANCE
        times = times[keep]
        if not len(times):
            raise DataError(
                f"{record.path}: no frame between {record.start} s and {record.end} s; "
                "expected the record's range inside the video"
            )
        return times if self.fps is None else on_grid(times, self.fps)

    def item(self, index: int) -> tuple[int, int]:
        """Sample ``index`` without decoding: its record's position in :attr:`records` and
        its clip number."""
        return self._items[index]

    def picks(self, clip: int, frames: int) -> np.ndarray:
        """The indices of clip ``clip`` among a video's ``frames`` frames (drawn anew in
        training)."""
        picks = self.sampling.indices(frames, training=self.training)
        return picks[clip % len(picks)]

    def clip_meta(self, record: VideoRecord, clip: int, times: np.ndarray) -> dict[str, Any]:
        """The sample's ``meta`` and ``times`` (s since its first frame), and its label."""
        meta = {
            "id": f"{record.id}#{clip}",
            "video": record.id,
            "clip": clip,
            "group": record.group or record.id,
            "path": str(record.path),
            "start": float(times[0]),
            **record.info,
        }
        sample = {"times": torch.as_tensor(times - times[0], dtype=torch.float32), "meta": meta}
        if record.label is not None:
            sample["label"] = torch.tensor(record.label, dtype=torch.int64)
        return sample

    def data_settings(self) -> dict[str, Any]:
        """What a model trained on this dataset expects of new videos, recorded in its
        checkpoints: the sampling, frame size and rate."""
        sampling = {"kind": type(self.sampling).__name__, **asdict(self.sampling)}
        return {"sampling": sampling, "size": self.size, "fps": self.fps}

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i, clip = self.item(index)
        record = self.records[i]
        timeline = self.timeline(record)
        times = timeline[self.picks(clip, len(timeline))]
        frames = read_frames(record.path, times, size=self.size).values
        sample = {"frames": torch.from_numpy(frames).float().div_(255)}
        sample |= self.clip_meta(record, clip, times)
        return sample if self.transform is None else self.transform(sample)


def average_clips(scores: torch.Tensor, videos: Sequence[str]) -> tuple[torch.Tensor, list[str]]:
    """Multi-clip test: the mean of ``scores`` ``[N, K]`` (probabilities or logits) over the
    clips of each video (``meta["video"]`` of each row); returns ``([V, K], video ids)`` in
    order of first appearance."""
    order = list(dict.fromkeys(videos))
    position = {video: i for i, video in enumerate(order)}
    which = torch.tensor([position[v] for v in videos])
    total = scores.new_zeros(len(order), scores.shape[1]).index_add_(0, which, scores)
    counts = torch.bincount(which, minlength=len(order)).to(scores.dtype)
    return total / counts[:, None], order
