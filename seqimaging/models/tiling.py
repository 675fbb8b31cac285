"""Forecasting a grid larger than the training patches, in windows of the training size.

The encoders normalise each frame with GroupNorm over the image they see, so a model
meets the statistics it was trained on only in patches of that size. A whole grid is
therefore forecast window by window: MONAI's sliding-window inference runs the model on
windows of the patch size overlapping by ``overlap`` and blends them with Gaussian
weights.
"""

import torch
from torch import Tensor, nn

from seqimaging._optional import require


def tiled_forecast(
    model: nn.Module,
    frames: Tensor,
    mask: Tensor,
    patch: int,
    *,
    overlap: float = 0.5,
    batch_size: int = 16,
    horizon: int | None = None,
) -> Tensor:
    """The forecast ``[1, K, C, H, W]`` of one context ``[T, C, H, W]`` over its whole grid.

    Args:
        model: a forecaster, ``model(frames, mask=mask)`` → ``[N, K, C, p, p]``.
        frames: the context, with no NaN (masked pixels any finite value).
        mask: ``[T, 1, H, W]`` bool, the valid pixels.
        patch: window size in pixels (the training patch size).
        overlap: overlap of neighbouring windows, as a fraction of ``patch``.
        batch_size: windows per forward pass.
        horizon: frames to forecast; default the model's own.
    """
    inferers = require("monai.inferers", extra="medical")
    steps, channels = frames.shape[:2]
    stacked = torch.cat([frames.flatten(0, 1), mask.flatten(0, 1).float()])[None]

    def predict(windows: Tensor) -> Tensor:  # [N, T·C + T, p, p] → [N, K·C, p, p]
        context = windows[:, : steps * channels].unflatten(1, (steps, channels))
        valid = windows[:, steps * channels :, None] > 0.5
        return model(context, mask=valid, horizon=horizon).flatten(1, 2).contiguous()

    with torch.no_grad():
        blended = inferers.sliding_window_inference(
            stacked, patch, batch_size, predict, overlap=overlap, mode="gaussian"
        )
    return blended.unflatten(1, (-1, channels))
