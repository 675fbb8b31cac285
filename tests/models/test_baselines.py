"""Tests of seqimaging.models.baselines against forecasts computed by hand.

One-pixel frames whose values are small integers, so every forecast is exact; padding is
NaN, so reading it would show.
"""

import numpy as np
import pytest
import torch

from seqimaging.errors import ShapeError
from seqimaging.models import LinearExtrapolation, Persistence, build_model

NAN = float("nan")
# two sequences of one-pixel frames: 1, 3, 4 and 2, 5 (padded)
FRAMES = torch.tensor([[1.0, 3.0, 4.0], [2.0, 5.0, NAN]]).reshape(2, 3, 1, 1, 1)
LENGTHS = torch.tensor([3, 2])


def _values(forecast: torch.Tensor) -> list[list[float]]:
    return forecast.reshape(forecast.shape[:2]).tolist()


def test_linear_forecaster_moves_the_last_frame_on_by_its_last_change():
    model = build_model("linear_forecaster", horizon=3)
    assert isinstance(model, LinearExtrapolation)
    # x_t + h (x_t − x_{t−1}): 4 + h·1 and 5 + h·3, for h = 1, 2, 3
    assert _values(model(FRAMES, LENGTHS)) == [[5.0, 6.0, 7.0], [8.0, 11.0, 14.0]]
    assert _values(model(FRAMES[:1], horizon=2)) == [[5.0, 6.0]]  # no lengths: all valid


def test_persistence_repeats_each_last_valid_frame():
    model = build_model("persistence_forecaster", horizon=3)
    assert isinstance(model, Persistence)
    assert _values(model(FRAMES, LENGTHS)) == [[4.0, 4.0, 4.0], [5.0, 5.0, 5.0]]
    assert _values(model({"frames": FRAMES, "lengths": LENGTHS}, horizon=1)) == [[4.0], [5.0]]


def test_masked_pixels_are_zero_for_the_baselines():
    mask = torch.tensor([[True, False, True], [True, True, False]]).reshape(2, 3, 1, 1, 1)
    batch = {"frames": FRAMES, "lengths": LENGTHS, "mask": mask}
    assert _values(LinearExtrapolation(2)(batch)) == [[8.0, 12.0], [8.0, 11.0]]  # 4 + h·4
    assert _values(Persistence(1)(batch)) == [[4.0], [5.0]]


def test_linear_extrapolation_needs_two_frames():
    with pytest.raises(ShapeError, match="two context frames"):
        LinearExtrapolation(2)(FRAMES, torch.tensor([3, 1]))
    with pytest.raises(ShapeError, match="two context frames"):
        LinearExtrapolation(2)(FRAMES[:, :1])


def test_optical_flow_extrapolation_follows_a_moving_field():
    pytest.importorskip("pysteps")
    pytest.importorskip("cv2")
    from seqimaging.models.baselines import optical_flow_extrapolation

    y, x = np.mgrid[0:64, 0:64]
    frames = np.stack(
        [8 * np.exp(-((x - 20 - 1.5 * t) ** 2 + (y - 30) ** 2) / 40.0) for t in range(12)]
    )
    forecast = optical_flow_extrapolation(frames[:6], 6)
    truth = frames[6:]
    persistence = np.abs(frames[5] - truth).mean()
    assert np.abs(forecast - truth).mean() < 0.3 * persistence
