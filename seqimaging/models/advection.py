"""Semi-Lagrangian advection in torch: fields carried along a motion field.

The scheme is pysteps' (``pysteps.extrapolation.semilagrangian``, Germann and Zawadzki
2002): backward trajectories integrated by the midpoint rule, one step per interval, the
motion field sampled bilinearly (clamped at the edges), the field sampled bilinearly at
the trajectory's end (zero outside the grid). Written with
:func:`torch.nn.functional.grid_sample`, so it runs batched, on any device, and passes
gradients to the field and the motion.

Motion is ``[B, 2, H, W]``: the x (column) and y (row) displacement in pixels per unit
of time, pysteps' order; durations are in the same unit of time.
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def _pixel_grid(height: int, width: int, like: Tensor) -> Tensor:
    """Pixel coordinates ``[1, 2, H, W]``: x (column) then y (row)."""
    y, x = torch.meshgrid(
        torch.arange(height, dtype=like.dtype, device=like.device),
        torch.arange(width, dtype=like.dtype, device=like.device),
        indexing="ij",
    )
    return torch.stack([x, y])[None]


def sample_at(image: Tensor, coords: Tensor, *, padding: str = "zeros") -> Tensor:
    """``image [B, C, H, W]`` bilinearly sampled at pixel coordinates ``coords [B, 2, H, W]``."""
    height, width = image.shape[-2:]
    scale = coords.new_tensor([max(width - 1, 1), max(height - 1, 1)]).reshape(1, 2, 1, 1)
    grid = (2 * coords / scale - 1).permute(0, 2, 3, 1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode=padding, align_corners=True)


def displacements(motion: Tensor, durations: Tensor) -> Tensor:
    """Backward displacements ``[B, K, 2, H, W]`` after each of ``durations [B, K]``.

    ``durations`` ascend along ``K`` (times since the start, in the motion's unit of
    time); the value forecast at pixel ``p`` after ``durations[:, k]`` is the start field
    at ``p + displacement[:, k]``.
    """
    grid = _pixel_grid(*motion.shape[-2:], motion)
    intervals = torch.diff(durations, dim=1, prepend=torch.zeros_like(durations[:, :1]))
    displacement = torch.zeros_like(motion)
    increment = motion * intervals[:, 0].reshape(-1, 1, 1, 1)
    result = []
    for k in range(durations.shape[1]):
        interval = intervals[:, k].reshape(-1, 1, 1, 1)
        midpoint = sample_at(motion, grid + displacement - increment / 2, padding="border")
        displacement = displacement - midpoint * interval
        increment = sample_at(motion, grid + displacement, padding="border") * interval
        result.append(displacement)
    return torch.stack(result, dim=1)


def advect(field: Tensor, motion: Tensor, durations: Tensor) -> Tensor:
    """``field [B, C, H, W]`` carried by ``motion`` for each of ``durations [B, K]``:
    ``[B, K, C, H, W]``, zero where a trajectory leaves the grid.

    Example:
        >>> field = torch.zeros(1, 1, 1, 5)
        >>> field[..., 1] = 1.0
        >>> motion = torch.zeros(1, 2, 1, 5)
        >>> motion[:, 0] = 1.0  # one pixel to the right per unit of time
        >>> advect(field, motion, torch.tensor([[1.0, 2.0]]))[0, :, 0, 0].tolist()
        [[0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0]]
    """
    batch, leads = durations.shape
    grid = _pixel_grid(*field.shape[-2:], field)
    coords = (grid[:, None] + displacements(motion, durations)).flatten(0, 1)
    repeated = field[:, None].expand(-1, leads, -1, -1, -1).flatten(0, 1)
    return sample_at(repeated, coords).unflatten(0, (batch, leads))
