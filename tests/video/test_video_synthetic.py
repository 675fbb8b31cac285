"""Generated action clips: each class is its twin played backwards; the tree is UCF101's."""

import numpy as np
import pytest

from seqimaging.errors import SeqImagingError
from seqimaging.video import UCF101, read_video
from seqimaging.video.synthetic import (
    CLASSES,
    MOTIONS,
    action_clip,
    make_action_clips,
    random_scene,
)


@pytest.mark.parametrize("motion", MOTIONS.values(), ids=[pair[0] for pair in MOTIONS])
def test_a_class_is_its_twin_backwards(motion):
    where = random_scene(np.random.default_rng(0), 32)
    forwards = action_clip(motion, False, where, np.random.default_rng(1), 10, noise=0)
    backwards = action_clip(motion, True, where, np.random.default_rng(1), 10, noise=0)
    np.testing.assert_array_equal(backwards, forwards[::-1])
    assert not np.array_equal(forwards[0], forwards[-1])  # it moves


def test_tree_is_read_as_ucf101_with_groups_apart(tmp_path):
    root = make_action_clips(tmp_path, groups=8, clips=1, frames=6, size=32, seed=2)
    train, test = UCF101(root, fold="train"), UCF101(root, fold="test")
    assert train.class_names == CLASSES and len(CLASSES) == 8
    assert len(test) == 7 * 8 and len(train) == 8
    assert set(train.groups) == {"g08"} and set(test.groups) == {f"g{g:02d}" for g in range(1, 8)}
    assert sorted(test.labels) == sorted(list(range(8)) * 7)
    video = read_video(root / "UCF-101" / "Shrink" / "v_Shrink_g08_c01.avi")
    assert video.shape == (6, 3, 32, 32)
    again = make_action_clips(tmp_path / "again", groups=8, clips=1, frames=6, size=32, seed=2)
    same = read_video(again / "UCF-101" / "Shrink" / "v_Shrink_g08_c01.avi")
    np.testing.assert_array_equal(video.values, same.values)
    with pytest.raises(SeqImagingError, match="exceed the 7 test groups"):
        make_action_clips(tmp_path, groups=7)
