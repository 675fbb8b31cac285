"""Sample transforms: the same draw for every image of a sample."""

import pytest
import torch

from seqimaging.errors import ShapeError
from seqimaging.transforms import RandomTurn


def test_random_turn_turns_every_image_of_a_sample_alike():
    torch.manual_seed(3)
    frames = torch.arange(2 * 16.0).reshape(2, 1, 4, 4)
    sample = {"frames": frames, "future": frames + 100, "label": torch.tensor(1)}
    seen = set()
    for _ in range(40):
        out = RandomTurn()(sample)
        torch.testing.assert_close(out["future"], out["frames"] + 100)
        assert out["label"] is sample["label"]
        seen.add(tuple(out["frames"][0, 0, 0].tolist()))
    assert len(seen) == 8  # the 8 flips and quarter turns, told apart by their first row


def test_random_turn_refuses_non_square_images():
    with pytest.raises(ShapeError, match="square"):
        RandomTurn()({"frames": torch.zeros(2, 1, 4, 6)})
