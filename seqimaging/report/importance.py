"""Which frames, and where in them, a classifier's decision comes from: occlusion in time
(:func:`temporal_occlusion`) and in space, frame by frame (:func:`spatial_occlusion`).

Both replace part of the sequence by its mean frame and measure the drop in the log-odds
of the predicted class, computed from the logits (:func:`log_odds`), which never
saturate. Occlusion asks the whole model, recurrent core included, rather than reading
gradients at the encoder: in a ConvLSTM the gradient at a frame's features mixes what
that frame shows with how the state carries it on.
"""

from itertools import pairwise

import torch
from torch import Tensor, nn


def log_odds(logits: Tensor, label: int) -> Tensor:
    """``log(p / (1 − p))`` of class ``label`` per row of ``logits`` ``[N, K]``, as
    ``logit_label − logsumexp`` of the other logits."""
    others = torch.cat([logits[:, :label], logits[:, label + 1 :]], dim=1)
    return logits[:, label] - torch.logsumexp(others, dim=1)


@torch.no_grad()
def temporal_occlusion(model: nn.Module, frames: Tensor, length: int | None = None) -> Tensor:
    """Importance of each frame of one sequence for the model's predicted class.

    Frame ``t`` is replaced by the sequence's mean frame (its motion removed, its
    content kept) and the importance is the drop in the log-odds ``log(p / (1 - p))`` of
    the predicted class: positive where the frame supports the decision, about zero where
    it does not matter. Log-odds rather than the probability, which saturates near 1 for
    a confident model; from the logits (:func:`log_odds`), which never saturate (from
    ``p`` they would, once ``1 − p`` rounds to zero). All occluded copies run as one batch.

    Args:
        model: a classifier taking ``frames`` ``[B, T, C, H, W]`` and ``lengths``.
        frames: one sequence ``[T, C, H, W]``.
        length: valid frames (the rest is padding), all by default.

    Returns:
        ``[length]`` importance per valid frame.
    """
    length = len(frames) if length is None else length
    frames = frames[:length]
    mean = frames.mean(dim=0)
    batch = frames.repeat(length + 1, 1, 1, 1, 1)  # copy 0 is the original
    batch[torch.arange(1, length + 1), torch.arange(length)] = mean
    lengths = torch.full((length + 1,), length, device=frames.device)
    logits = model(batch, lengths).float()
    odds = log_odds(logits, int(logits[0].argmax()))
    return odds[0] - odds[1:]


@torch.no_grad()
def spatial_occlusion(
    model: nn.Module, frames: Tensor, length: int | None = None, *, grid: int = 8, chunk: int = 64
) -> Tensor:
    """Where in each frame the evidence for the predicted class is: occlusion maps.

    Frame ``t`` is cut into ``grid × grid`` patches; each patch in turn is replaced by the
    same patch of the sequence's mean frame, and its importance is the drop in the
    predicted class's log-odds (:func:`log_odds`), as :func:`temporal_occlusion` does for
    whole frames: positive where the patch supports the decision, about zero where it
    does not matter, comparable across frames. ``length × grid²`` copies run in batches of
    ``chunk``.

    Args:
        model: a classifier taking ``frames`` ``[B, T, C, H, W]`` and ``lengths``.
        frames: one sequence ``[T, C, H, W]``.
        length: valid frames (the rest is padding), all by default.
        grid: patches per side (at most the frame's height and width).

    Returns:
        ``[length, H, W]``: each pixel holds its patch's importance.
    """
    length = len(frames) if length is None else length
    frames = frames[:length]
    height, width = frames.shape[-2:]
    rows = torch.linspace(0, height, min(grid, height) + 1).round().long().tolist()
    cols = torch.linspace(0, width, min(grid, width) + 1).round().long().tolist()
    patches = [
        (t, slice(r0, r1), slice(c0, c1))
        for t in range(length)
        for r0, r1 in pairwise(rows)
        for c0, c1 in pairwise(cols)
    ]
    mean = frames.mean(dim=0)
    logits = model(frames[None], torch.tensor([length], device=frames.device)).float()
    predicted = int(logits[0].argmax())
    original = log_odds(logits, predicted)[0]
    importance = frames.new_zeros(length, height, width, dtype=torch.float32)
    for start in range(0, len(patches), chunk):
        part = patches[start : start + chunk]
        batch = frames.repeat(len(part), 1, 1, 1, 1)
        for copy, (t, r, c) in enumerate(part):
            batch[copy, t, :, r, c] = mean[:, r, c]
        lengths = torch.full((len(part),), length, device=frames.device)
        drops = original - log_odds(model(batch, lengths).float(), predicted)
        for (t, r, c), drop in zip(part, drops, strict=True):
            importance[t, r, c] = drop
    return importance
