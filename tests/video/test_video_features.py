"""FeatureDataset: cached features equal the encoder run on the sampled frames; the cache
is keyed by the encoder's weights and the frame size and rate, not by the sampling."""

import numpy as np
import pytest
import torch
from video_helpers import gradient_frames

from seqimaging.errors import SeqImagingError
from seqimaging.models import ConvEncoder
from seqimaging.video import (
    UCF101,
    DenseClips,
    FeatureDataset,
    Segments,
    weights_digest,
    write_video,
)


def _encoder(seed: int = 0) -> ConvEncoder:
    torch.manual_seed(seed)
    return ConvEncoder(3, stride=4, width=4).eval()


def _reference(encoder, frames: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return encoder(frames).mean(dim=(2, 3))


@pytest.mark.parametrize("training", [False, True])
def test_features_equal_the_encoder_on_the_same_frames(ucf_mini, tmp_path, training):
    videos = UCF101(ucf_mini, fold="test", training=training, sampling=Segments(4), size=(32, 48))
    encoder = _encoder()
    cached = FeatureDataset(videos, encoder, tmp_path / "cache", batch_size=7)
    assert cached.stats.videos == 4 and cached.stats.frames == 80
    assert len(cached) == len(videos) and cached.labels == videos.labels
    for index in range(len(videos)):
        torch.manual_seed(index)
        sample = cached[index]
        torch.manual_seed(index)  # the same random draw of frames
        expected = videos[index]
        assert sample["frames"].shape == (4, cached.folder and 16, 1, 1)
        torch.testing.assert_close(
            sample["frames"][:, :, 0, 0],
            _reference(encoder, expected["frames"]),
            atol=2e-3,
            rtol=2e-3,
        )
        torch.testing.assert_close(sample["times"], expected["times"])
        assert sample["meta"] == expected["meta"] and sample["label"] == expected["label"]


def test_cache_key_follows_weights_size_and_rate_not_sampling(ucf_mini, tmp_path):
    cache = tmp_path / "cache"
    videos = UCF101(ucf_mini, fold="train", size=(16, 24))
    first = FeatureDataset(videos, _encoder(0), cache)
    assert first.stats.videos == 3
    assert FeatureDataset(videos, _encoder(0), cache).stats.videos == 0
    dense = UCF101(ucf_mini, fold="train", size=(16, 24), sampling=DenseClips(length=5, clips=2))
    again = FeatureDataset(dense, _encoder(0), cache)
    assert again.folder == first.folder and again.stats.videos == 0 and len(again) == 6
    assert FeatureDataset(videos, _encoder(1), cache).stats.videos == 3  # other weights
    bigger = UCF101(ucf_mini, fold="train", size=(32, 48))
    assert FeatureDataset(bigger, _encoder(0), cache).stats.videos == 3
    slower = UCF101(ucf_mini, fold="train", size=(16, 24), fps=10)
    assert FeatureDataset(slower, _encoder(0), cache).stats.videos == 3
    assert len({p.name for p in cache.iterdir()}) == 4
    edited = videos.records[0].path
    write_video(edited, gradient_frames(6, 36, 64), fps=25)  # the file changes: encoded anew
    assert (
        FeatureDataset(
            UCF101(ucf_mini, fold="train", size=(16, 24)), _encoder(0), cache
        ).stats.videos
        == 1
    )


def test_samples_need_no_decoding_once_cached(ucf_mini, tmp_path, monkeypatch):
    videos = UCF101(ucf_mini, fold="test", sampling=Segments(3), size=(16, 24))
    cached = FeatureDataset(videos, _encoder(), tmp_path)
    expected = cached[1]

    def refuse(*args, **kwargs):
        raise AssertionError("a video was opened")

    for name in ("frame_times", "read_frames"):
        monkeypatch.setattr(f"seqimaging.video.base.{name}", refuse)
    again = FeatureDataset(
        UCF101(ucf_mini, fold="test", sampling=Segments(3), size=(16, 24)), _encoder(), tmp_path
    )
    torch.testing.assert_close(again[1]["frames"], expected["frames"])
    assert again.feature_size == 16
    settings = again.data_settings()
    assert settings["size"] == (16, 24) and settings["features"]["class"] == "ConvEncoder"


def test_weights_digest_sees_one_changed_value():
    one, other = _encoder(0), _encoder(0)
    assert weights_digest(one) == weights_digest(other)
    with torch.no_grad():
        other.body[0][0].weight[0, 0, 0, 0] += 1e-6
    assert weights_digest(one) != weights_digest(other)


def test_workers_encode_the_same(ucf_mini, tmp_path):
    videos = UCF101(ucf_mini, fold="test", size=(16, 24))
    serial = FeatureDataset(videos, _encoder(), tmp_path / "a")
    parallel = FeatureDataset(videos, _encoder(), tmp_path / "b", workers=2)
    for a, b in zip(serial.entries, parallel.entries, strict=True):
        np.testing.assert_array_equal(np.load(a), np.load(b))


def test_refusals(ucf_mini, tmp_path):
    with pytest.raises(SeqImagingError, match="has a transform"):
        FeatureDataset(UCF101(ucf_mini, transform=lambda s: s), _encoder(), tmp_path)
    cached = FeatureDataset(UCF101(ucf_mini, size=(16, 24)), _encoder(), tmp_path)
    np.save(cached.entries[0], np.zeros((3, 16), np.float16))
    with pytest.raises(SeqImagingError, match="3 feature rows for 20 frame times"):
        cached[0]
