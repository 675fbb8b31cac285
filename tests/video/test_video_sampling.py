import numpy as np
import pytest
import torch

from seqimaging.errors import SeqImagingError
from seqimaging.video import DenseClips, Segments


def test_segments_centre_in_test_and_inside_their_segment_in_training():
    np.testing.assert_array_equal(Segments(4).indices(20, training=False)[0], [2, 7, 12, 17])
    torch.manual_seed(0)
    draws = np.stack([Segments(4).indices(20, training=True)[0] for _ in range(200)])
    assert ((draws // 5) == np.arange(4)).all()  # one frame from each segment of 5
    assert {len(np.unique(column)) for column in draws.T} == {5}  # every frame of it drawn
    np.testing.assert_array_equal(Segments(4).indices(2, training=False)[0], [0, 0, 1, 1])


def test_dense_clips():
    clips = DenseClips(length=3, stride=2, clips=3).indices(11, training=False)
    np.testing.assert_array_equal(np.stack(clips), [[0, 2, 4], [3, 5, 7], [6, 8, 10]])
    torch.manual_seed(1)
    starts = {
        int(DenseClips(length=3, stride=2).indices(11, training=True)[0][0]) for _ in range(100)
    }
    assert starts == set(range(7))
    np.testing.assert_array_equal(DenseClips(length=4).indices(2, training=False)[0], [0, 1, 1, 1])
    assert DenseClips(clips=5).count(training=True) == 1 and DenseClips(clips=5).count(False) == 5


def test_bad_values():
    with pytest.raises(SeqImagingError, match="k must be a positive int"):
        Segments(0)
    with pytest.raises(SeqImagingError, match="stride must be a positive int"):
        DenseClips(stride=1.5)
