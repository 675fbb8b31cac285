"""The motion forecaster and its semi-Lagrangian advection, against pysteps."""

import numpy as np
import pytest
import torch

from seqimaging.models.advection import advect
from seqimaging.models.motion import MotionForecaster
from seqimaging.transforms import RandomTurn

pytest.importorskip("pysteps")


def _field(height: int = 40, width: int = 50) -> np.ndarray:
    y, x = np.mgrid[:height, :width].astype(float)
    return np.exp(-((x - 20) ** 2 + (y - 15) ** 2) / 30) + 0.5 * np.exp(
        -((x - 35) ** 2 + (y - 25) ** 2) / 10
    )


def _rotation(height: int = 40, width: int = 50) -> np.ndarray:
    y, x = np.mgrid[:height, :width].astype(float)
    return np.stack([0.08 * (y - 20) + 1.0, -0.08 * (x - 25) + 0.3])


def test_advect_matches_pysteps_semilagrangian():
    """Same scheme as pysteps (midpoint rule, bilinear): equal away from the inflow edges,
    where pysteps gives the outside value to points beyond the last pixel and
    ``grid_sample`` still interpolates towards zero."""
    from pysteps.extrapolation.semilagrangian import extrapolate

    field, motion, leads = _field(), _rotation(), [0.5, 1.5, 2.0, 3.7]
    expected = extrapolate(field, motion, leads, outval=0.0)
    got = advect(
        torch.tensor(field)[None, None],
        torch.tensor(motion)[None],
        torch.tensor([leads], dtype=torch.float64),
    )[0, :, 0].numpy()
    np.testing.assert_allclose(got[:, 8:-8, 8:-8], expected[:, 8:-8, 8:-8], atol=1e-12)
    assert np.abs(got - field).max() > 0.1  # it moved


def test_advect_passes_gradients_to_field_and_motion():
    field = torch.tensor(_field())[None, None].requires_grad_()
    motion = torch.tensor(_rotation())[None].requires_grad_()
    advect(field, motion, torch.tensor([[1.0, 2.0]]).double()).square().sum().backward()
    assert field.grad.abs().sum() > 0 and motion.grad.abs().sum() > 0


def test_turned_field_and_motion_give_the_turned_forecast():
    """RandomTurn turns a motion field as arrows: advection commutes with every turn."""
    field = torch.rand(1, 1, 16, 16)
    motion = torch.tensor([1.3, -0.6]).reshape(2, 1, 1).expand(2, 16, 16)
    one = torch.tensor([[1.0]])
    for seed in range(8):
        torch.manual_seed(seed)
        turned = RandomTurn()({"frames": field, "motion": motion})
        torch.manual_seed(seed)
        moved = RandomTurn()({"frames": advect(field, motion[None], one)[0]})["frames"]
        moved_turned = advect(turned["frames"], turned["motion"][None], one)
        torch.testing.assert_close(moved_turned[0][..., 3:-3, 3:-3], moved[..., 3:-3, 3:-3])


def _moving_blobs(times: np.ndarray, speed: float, size: int = 48) -> torch.Tensor:
    """Textured rain moving right at ``speed`` pixels per unit of time: ``[1, T, 1, H, W]``."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(8, size - 8, (12, 2))
    y, x = np.mgrid[:size, :size].astype(float)
    frames = [
        sum(np.exp(-((x - cx - speed * t) ** 2 + (y - cy) ** 2) / 6) for cy, cx in centres)
        for t in times
    ]
    return torch.tensor(np.stack(frames), dtype=torch.float32)[None, :, None]


def _centre_x(frames: torch.Tensor) -> np.ndarray:
    """The x of each frame's centre of mass."""
    weights = frames[0, :, 0].double()
    x = torch.arange(weights.shape[-1], dtype=torch.float64)
    return ((weights * x).sum((1, 2)) / weights.sum((1, 2))).numpy()


def test_half_the_time_step_gives_half_the_displacement_per_frame():
    """Motion is estimated per unit of time (pysteps' Lucas–Kanade on the frames, divided
    by their step) and applied for each lead: the same rain sampled twice as often moves
    half as far per forecast frame."""
    model = MotionForecaster(1, context=3, width=4).eval()
    shifts = {}
    for step in (4.0, 2.0):
        times = np.arange(5) * step
        frames = _moving_blobs(times, speed=0.4)
        batch = {
            "frames": frames[:, :3],
            "times": torch.tensor(times[None, :3], dtype=torch.float32),
            "future_times": torch.tensor(times[None, 3:], dtype=torch.float32),
        }
        with torch.no_grad():
            forecast = model(batch)
        shifts[step] = np.diff(_centre_x(torch.cat([frames[:, 2:3], forecast], 1)))
    np.testing.assert_allclose(shifts[4.0], 1.6, atol=0.25)  # 0.4 pixels/unit · 4
    np.testing.assert_allclose(shifts[2.0], 0.8, atol=0.15)
    np.testing.assert_allclose(shifts[2.0] / shifts[4.0], 0.5, atol=0.06)


def test_the_motion_field_is_the_estimate_forward_advects_along():
    """A blob moving 0.4 pixels per unit of time, sampled every 4 units: the field is
    about (1.6 / 4, 0) on the blob, per unit of time, and advecting along it is forward."""
    model = MotionForecaster(1, context=3, width=4).eval()
    times = np.arange(3) * 4.0
    batch = {"frames": _moving_blobs(times, speed=0.4), "times": torch.tensor(times[None])}
    field = model.motion_field(batch)
    assert field.shape == (1, 2, 48, 48)
    on_blob = batch["frames"][0, -1, 0] > 0.5
    np.testing.assert_allclose(field[0, 0][on_blob].median(), 0.4, atol=0.06)
    np.testing.assert_allclose(field[0, 1][on_blob].median(), 0.0, atol=0.06)
    with torch.no_grad():
        torch.testing.assert_close(model(batch), model(batch | {"motion": field}))
    given = torch.ones(1, 2, 48, 48)
    assert model.motion_field(batch | {"motion": given}) is given


def test_untrained_model_is_the_advection_of_the_last_frame_at_the_lead_times():
    model = MotionForecaster(1, context=2, width=4)
    frames = _moving_blobs(np.arange(2.0), speed=0.5)
    motion = torch.zeros(1, 2, 48, 48)
    motion[:, 0] = 0.5
    batch = {
        "frames": frames,
        "times": torch.tensor([[0.0, 5.0]]),
        "future_times": torch.tensor([[10.0, 20.0]]),  # leads 5 and 15
        "motion": motion,
    }
    expected = advect(frames[:, -1], motion, torch.tensor([[5.0, 15.0]]))
    torch.testing.assert_close(model(batch), expected)
    torch.testing.assert_close(model(batch, correct=False), expected)


def test_correction_learns_decay_along_the_trajectories():
    """Rain that halves as it moves: advection alone over-forecasts; a few optimiser steps
    of the correction bring the error well below it."""
    torch.manual_seed(0)
    model = MotionForecaster(1, context=2, width=8, time_scale=2.0)
    frames = _moving_blobs(np.arange(4.0), speed=1.0, size=24)
    motion = torch.zeros(1, 2, 24, 24)
    motion[:, 0] = 1.0
    batch = {
        "frames": frames[:, :2],
        "times": torch.tensor([[0.0, 1.0]]),
        "future_times": torch.tensor([[2.0, 3.0]]),
        "motion": motion,
    }
    truth = 0.5 * frames[:, 2:]
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = (model(batch) - truth).abs().mean().item()
    for _ in range(150):
        optimiser.zero_grad()
        loss = (model(batch) - truth).abs().mean()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.4 * before


def test_motion_forecaster_refuses_a_single_context_frame():
    from seqimaging.errors import SeqImagingError

    with pytest.raises(SeqImagingError, match="at least 2"):
        MotionForecaster(1, context=1)
