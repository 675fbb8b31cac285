"""Frozen features: every frame of a video through a pretrained CNN once, kept on disk.

The CNN → LSTM recipe trains its LSTM on the vectors a frozen ImageNet CNN gives for
each frame. Encoding is most of the cost, and the same for every epoch, so
:class:`FeatureDataset` encodes each video's frames once (all of them, on the
:meth:`~seqimaging.video.VideoDataset.timeline` of the dataset it wraps: the record's
range at its ``fps``) and stores one ``.npy`` per video; its samples are then clips
of those vectors, drawn by the wrapped dataset's sampling *after* the cache (TSN's
random frames stay random in every epoch, and changing the sampling needs no new
encoding).

The cache folder of an encoder is ``cache_dir/<key>``, the key a hash of the encoder's
class, its weights and buffers, and the frame size and rate it was fed: any change to
them is another folder, never a stale hit. Inside, an entry per video is named by its
path, size, modification time and range, so an edited video is encoded again. Entries
are written whole or not at all (:func:`~seqimaging.files.atomic_write`).

Example:
    >>> videos = UCF101("UCF101", split=1, fold="train", training=True, fps=5)  # doctest: +SKIP
    >>> encoder = ImageNetResNet("resnet18", weights="resnet18-f37072fd.pth")  # doctest: +SKIP
    >>> train = FeatureDataset(videos, encoder, "features", workers=2)  # doctest: +SKIP
    >>> model = build_model("cnn_lstm_video_classifier", in_channels=512, num_classes=101,
    ...                     encoder="identity")  # doctest: +SKIP
"""

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from seqimaging.errors import SeqImagingError
from seqimaging.files import atomic_write
from seqimaging.video.base import VideoDataset, file_key
from seqimaging.video.reader import read_frames

CHUNK = 256
"""Frames decoded and encoded at a time: a long video never sits in memory whole."""


def weights_digest(module: nn.Module) -> str:
    """A SHA-256 of ``module``'s class and of every tensor of its state dict (names,
    shapes, dtypes and bytes)."""
    digest = hashlib.sha256(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class _WholeVideos(Dataset):
    """The frames of each video's timeline, in chunks of :data:`CHUNK`, as ``uint8``."""

    def __init__(self, videos: VideoDataset, todo: list[int]) -> None:
        self.videos, self.todo = videos, todo

    def __len__(self) -> int:
        return len(self.todo)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray, list[np.ndarray]]:
        record = self.videos.records[self.todo[index]]
        times = self.videos.timeline(record)
        chunks = [
            read_frames(record.path, times[i : i + CHUNK], size=self.videos.size).values
            for i in range(0, len(times), CHUNK)
        ]
        return self.todo[index], times, chunks


@dataclass
class EncodingStats:
    """What the last :meth:`FeatureDataset.prepare` did: videos and frames encoded, and
    the seconds spent waiting for decoded frames and encoding them."""

    videos: int = 0
    frames: int = 0
    waiting: float = 0.0
    encoding: float = 0.0


class FeatureDataset(Dataset):
    """The clips of ``videos`` as frozen ``encoder`` features ``[T, D, 1, 1]``.

    A sample is that of ``videos`` (``times``, ``label``, ``meta``) with ``frames`` the
    clip's frames' features, each the encoder's map averaged over space; ``labels``,
    ``groups`` and ``class_names`` are those of ``videos``.

    Args:
        videos: the clips (any :class:`~seqimaging.video.VideoDataset`); its sampling and
            ``training`` flag choose the frames of each clip, its ``size`` and ``fps``
            what is encoded. Pixel transforms cannot reach cached features: ``videos``
            must have none.
        encoder: a frame CNN, ``[N, 3, H, W]`` in [0, 1] → ``[N, D, h, w]``, e.g.
            :class:`~seqimaging.models.ImageNetResNet`; run in eval mode, without
            gradients.
        cache_dir: where the features are kept.
        batch_size: frames per forward pass of the encoder.
        workers: DataLoader workers decoding videos while the encoder runs.
        device: where the encoder runs.
        dtype: the stored dtype; float16 halves the disk at a relative rounding error of
            at most 2⁻¹¹ (about 5e-4).

    Missing entries are encoded when the dataset is made (:attr:`stats` says how many
    and how long decoding and encoding took); ``encoder`` is then in eval mode on
    ``device``. Each entry holds the frame times beside the features (read once, into
    :attr:`timelines`), so samples are drawn without opening a video.
    """

    def __init__(
        self,
        videos: VideoDataset,
        encoder: nn.Module,
        cache_dir: str | Path,
        *,
        batch_size: int = 64,
        workers: int = 0,
        device: str = "cpu",
        dtype: np.dtype = np.float16,
    ) -> None:
        if videos.transform is not None:
            raise SeqImagingError(
                "the wrapped video dataset has a transform, which cached features cannot "
                "see; apply augmentations to the frames before encoding, or drop it"
            )
        self.videos, self.encoder, self.device = videos, encoder, device
        self.batch_size, self.workers, self.dtype = batch_size, workers, np.dtype(dtype)
        settings = {
            "weights_sha256": weights_digest(encoder),
            "size": videos.size,
            "fps": videos.fps,
            "dtype": self.dtype.name,
        }
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = Path(cache_dir) / key
        self.folder.mkdir(parents=True, exist_ok=True)
        self.settings = settings | {"class": type(encoder).__qualname__}
        settings_file = self.folder / "settings.json"
        if not settings_file.is_file():
            with atomic_write(settings_file, "w") as file:
                json.dump(self.settings, file, indent=1)
        self.entries = [
            self.folder / f"{file_key(r.path, r.start, r.end)}.npy" for r in videos.records
        ]
        self.labels, self.groups = videos.labels, videos.groups
        self.class_names = videos.class_names
        self.stats = self.prepare()
        self.timelines = [np.load(_times_file(entry)) for entry in self.entries]

    def prepare(self) -> EncodingStats:
        """Encode the videos that have no entry yet; return what it took."""
        todo = [i for i, entry in enumerate(self.entries) if not entry.is_file()]
        stats = EncodingStats()
        if not todo:
            return stats
        loader = DataLoader(
            _WholeVideos(self.videos, todo),
            batch_size=None,
            num_workers=self.workers,
        )
        self.encoder.eval().to(self.device)
        ready = time.perf_counter()
        for i, times, chunks in loader:
            stats.waiting += time.perf_counter() - ready
            start = time.perf_counter()
            features = np.concatenate([self._encode(chunk) for chunk in chunks])
            with atomic_write(_times_file(self.entries[i])) as file:
                np.save(file, np.asarray(times, np.float64))
            with atomic_write(self.entries[i]) as file:  # last: an entry is complete
                np.save(file, features.astype(self.dtype))
            stats.videos, stats.frames = stats.videos + 1, stats.frames + len(features)
            ready = time.perf_counter()
            stats.encoding += ready - start
        return stats

    @torch.inference_mode()
    def _encode(self, frames: torch.Tensor) -> np.ndarray:
        """Features of ``uint8`` frames ``[N, 3, H, W]`` (the loader made them tensors)."""
        out = []
        for i in range(0, len(frames), self.batch_size):
            batch = frames[i : i + self.batch_size].to(self.device)
            out.append(self.encoder(batch.float().div_(255)).mean(dim=(2, 3)).float().cpu())
        return torch.cat(out).numpy()

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i, clip = self.videos.item(index)
        entry, timeline = self.entries[i], self.timelines[i]
        features = np.load(entry, mmap_mode="r")
        if len(features) != len(timeline):
            raise SeqImagingError(
                f"{entry}: {len(features)} feature rows for {len(timeline)} frame times of "
                f"{self.videos.records[i].path}; delete the entry to encode it again"
            )
        picks = self.videos.picks(clip, len(timeline))
        frames = torch.from_numpy(np.asarray(features[picks], np.float32))[:, :, None, None]
        sample = self.videos.clip_meta(self.videos.records[i], clip, timeline[picks])
        return {"frames": frames} | sample

    @property
    def feature_size(self) -> int:
        """``D``, the length of each frame's vector."""
        return int(np.load(self.entries[0], mmap_mode="r").shape[1])

    def data_settings(self) -> dict[str, Any]:
        """The wrapped dataset's settings and the encoder's, recorded in checkpoints."""
        return self.videos.data_settings() | {"features": self.settings}


def _times_file(entry: Path) -> Path:
    """The frame times stored beside an entry's features."""
    return entry.with_suffix(".times.npy")
