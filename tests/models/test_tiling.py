"""Whole-grid forecasts in windows of the training size (MONAI sliding-window inference)."""

import pytest
import torch

from seqimaging.models import Persistence
from seqimaging.models.tiling import tiled_forecast

pytest.importorskip("monai")


def test_tiled_forecast_of_persistence_is_the_last_frame_everywhere():
    context = 10 * torch.rand(6, 2, 45, 37) ** 2
    mask = torch.ones(6, 1, 45, 37, dtype=torch.bool)
    mask[:, :, :5] = False
    forecast = tiled_forecast(Persistence(4), context, mask, 16)
    assert forecast.shape == (1, 4, 2, 45, 37)
    expected = context[-1].masked_fill(~mask[-1], 0).expand(4, -1, -1, -1)
    torch.testing.assert_close(forecast[0], expected, atol=1e-4, rtol=1e-4)


def test_tiled_forecast_blends_windows_of_the_patch_size():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, frames, mask=None, horizon=None):
            seen.append(frames.shape[-2:])
            return frames[:, -1:]

    tiled_forecast(Recorder(), torch.rand(3, 1, 40, 24), torch.ones(3, 1, 40, 24, dtype=bool), 16)
    assert seen and all(shape == (16, 16) for shape in seen)
