"""Spatial and intensity transforms of a cine, the same for every frame and slice.

A cine ``[T, C, H, W]`` (C slices) is folded to ``[T * C, H, W]`` for MONAI: MONAI treats
the first axis as channels, so one spatial transform (zoom, crop, affine, flip) and one
intensity transform apply identically to every frame, as ``LoadImaged(...,
ensure_channel_first=True)`` does with a 4D NIfTI, whose time axis becomes MONAI's channel.
"""

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqimaging._optional import require


def heart_centre(frames: np.ndarray, top_percent: float = 5.0) -> tuple[float, float]:
    """``(y, x)`` of the heart in ``frames`` ``[T, C, H, W]``: where the image changes most.

    The centroid of the ``top_percent`` % of pixels with the largest standard deviation
    over time (averaged over channels), weighted by it. Anything that beats finds the
    heart; static anatomy and noise weigh little. The image centre if nothing moves.
    """
    motion = frames.std(axis=0).mean(axis=0)
    weights = np.where(motion >= np.percentile(motion, 100 - top_percent), motion, 0.0)
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return (frames.shape[2] - 1) / 2, (frames.shape[3] - 1) / 2
    ys, xs = np.indices(weights.shape)
    return float((weights * ys).sum() / total), float((weights * xs).sum() / total)


def zoomed_size(
    size: tuple[int, int], pixel_spacing: tuple[float, float], spacing: float
) -> tuple[int, int]:
    """``(h, w)`` of an image of ``size`` pixels of ``pixel_spacing`` (mm) resampled to
    ``spacing`` mm by :func:`crop_and_normalise`, rounded down as MONAI's ``Zoom`` does.

    Example:
        >>> zoomed_size((64, 48), (1.5, 1.25), 2.0)
        (48, 30)
    """
    return tuple(math.floor(n * (p / spacing)) for n, p in zip(size, pixel_spacing, strict=True))


def crop_and_normalise(
    frames: np.ndarray,
    pixel_spacing: tuple[float, float],
    *,
    spacing: float | None,
    size: int | None,
    percentiles: tuple[float, float],
) -> Tensor:
    """Resample, crop around the heart and rescale ``frames`` ``[T, C, H, W]``.

    Args:
        frames: the cine, float32.
        pixel_spacing: ``(y, x)`` pixel size in mm.
        spacing: resample in-plane to this pixel size in mm (bilinear); None keeps it.
        size: crop ``size x size`` pixels centred on :func:`heart_centre`, padding with
            zeros at the image border; None keeps the whole image.
        percentiles: ``(low, high)`` percentiles of all voxels, mapped to 0 and 1 and clipped.

    Returns:
        float32 ``[T, C, size, size]``.
    """
    transforms = require("monai.transforms", extra="medical")
    t, c, h, w = frames.shape
    image = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).reshape(t * c, h, w)
    if spacing is not None:
        zoom = (pixel_spacing[0] / spacing, pixel_spacing[1] / spacing)
        image = transforms.Zoom(zoom, keep_size=False, mode="bilinear")(image)
    if size is not None:
        centre = heart_centre(image.reshape(t, c, *image.shape[1:]).numpy())
        image = transforms.SpatialCrop(roi_center=np.round(centre).astype(int), roi_size=size)(
            image
        )
        image = transforms.SpatialPad((size, size))(image)
    low, high = percentiles
    image = transforms.ScaleIntensityRangePercentiles(low, high, 0.0, 1.0, clip=True)(image)
    out = _plain(image)
    return out.reshape(t, c, *out.shape[1:])


class CineAugmentation:
    """Random MONAI augmentation of a sample's cine ``frames`` ``[T, C, H, W]``, the same
    for every frame: a sample transform (:mod:`seqimaging.transforms`).

    Each step applies with probability ``prob``: an affine map (rotation within
    ``rotate_deg`` degrees, scaling within ``scale``, translation within ``translate_px``
    pixels), a flip of each axis (if ``flip``), intensity scaling within ``intensity`` and
    Gaussian noise of standard deviation ``noise_std`` (0 for none). Give it to
    a cine dataset as ``transform`` for training data only.

    Example:
        >>> augment = CineAugmentation(seed=0)
        >>> augment({"frames": torch.rand(12, 3, 32, 32)})["frames"].shape
        torch.Size([12, 3, 32, 32])
    """

    def __init__(
        self,
        prob: float = 0.5,
        *,
        rotate_deg: float = 15.0,
        scale: float = 0.1,
        translate_px: float = 4.0,
        flip: bool = True,
        intensity: float = 0.1,
        noise_std: float = 0.02,
        seed: int | None = None,
    ) -> None:
        transforms = require("monai.transforms", extra="medical")
        steps = [
            transforms.RandAffine(
                prob=prob,
                rotate_range=np.deg2rad(rotate_deg),
                scale_range=(scale, scale),
                translate_range=(translate_px, translate_px),
                padding_mode="zeros",
            ),
            transforms.RandScaleIntensity(factors=intensity, prob=prob),
        ]
        if flip:
            steps += [transforms.RandFlip(prob, spatial_axis=0), transforms.RandFlip(prob, 1)]
        if noise_std:
            steps.append(transforms.RandGaussianNoise(prob=prob, std=noise_std))
        self.compose = transforms.Compose(steps)
        if seed is not None:
            self.compose.set_random_state(seed)

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        t, c, h, w = sample["frames"].shape
        out = _plain(self.compose(sample["frames"].reshape(t * c, h, w)))
        return sample | {"frames": out.reshape(t, c, *out.shape[1:])}


def _plain(image) -> Tensor:
    """A MONAI transform's output as a plain float32 tensor, without its metadata.

    A ``MetaTensor`` left in a batch makes every op of the model on it, forward and
    backward, go through its ``__torch_function__``.
    """
    utils = require("monai.utils", extra="medical")
    return utils.convert_to_tensor(image, dtype=torch.float32, track_meta=False)
