"""Video: a worker-safe reader (PyAV), action-recognition datasets, clip sampling, features.

Extra ``video`` (``pip install 'seqimaging[video]'``, PyAV with FFmpeg in its wheels).

- :func:`read_video`, :func:`read_frames`, :func:`frame_times` (:mod:`.reader`) and
  :func:`write_video` (:mod:`.writer`).
- Datasets on one base, :class:`VideoDataset`: :class:`UCF101`, :class:`HMDB51`,
  :class:`Kinetics` and :class:`VideoTable` (a CSV of a user's own clips).
- Clip sampling (:mod:`.sampling`): :class:`Segments` (TSN) and :class:`DenseClips`,
  with :func:`average_clips` for multi-clip test.
- Frozen features (:mod:`.features`): :class:`FeatureDataset` encodes each video once
  with a pretrained CNN and caches it on disk, so the LSTM of the CNN → LSTM recipe
  trains in minutes on a CPU.
"""

from seqimaging.video.base import FrameIndex, VideoDataset, VideoRecord, average_clips
from seqimaging.video.features import FeatureDataset, weights_digest
from seqimaging.video.hmdb51 import HMDB51
from seqimaging.video.kinetics import Kinetics
from seqimaging.video.reader import frame_times, read_frames, read_video
from seqimaging.video.sampling import DenseClips, Segments
from seqimaging.video.table import VideoTable
from seqimaging.video.ucf101 import UCF101
from seqimaging.video.writer import write_video

__all__ = [
    "HMDB51",
    "UCF101",
    "DenseClips",
    "FeatureDataset",
    "FrameIndex",
    "Kinetics",
    "Segments",
    "VideoDataset",
    "VideoRecord",
    "VideoTable",
    "average_clips",
    "frame_times",
    "read_frames",
    "read_video",
    "weights_digest",
    "write_video",
]
