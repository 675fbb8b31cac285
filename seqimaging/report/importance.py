"""Which frames change a classifier's decision: temporal occlusion."""

import torch
from torch import Tensor, nn


@torch.no_grad()
def temporal_occlusion(model: nn.Module, frames: Tensor, length: int | None = None) -> Tensor:
    """Importance of each frame of one sequence for the model's predicted class.

    Frame ``t`` is replaced by the sequence's mean frame (its motion removed, its
    content kept) and the importance is the drop in the log-odds ``log(p / (1 - p))`` of
    the predicted class: positive where the frame supports the decision, about zero where
    it does not matter. Log-odds rather than the probability, which saturates near 1 for
    a confident model; and computed from the logits, as ``logit_c − logsumexp`` of the
    other logits, which never saturates (from ``p`` it would, once ``1 − p`` rounds to
    zero). All occluded copies run as one batch.

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
    predicted = int(logits[0].argmax())
    others = torch.cat([logits[:, :predicted], logits[:, predicted + 1 :]], dim=1)
    log_odds = logits[:, predicted] - torch.logsumexp(others, dim=1)
    return log_odds[0] - log_odds[1:]
