"""What turns a core's sequence into the model's numbers: pooling over time, then a head.

- :class:`TemporalPooling`: ``[B, T, D]`` with lengths → ``[B, D]``, by a row of
  :data:`POOLINGS` (``"last"``, ``"mean"``, ``"attention"``);
- a head, a row of :data:`HEADS`: ``[B, D]`` → ``[B, out_features]``
  (``"linear"``: :class:`LinearHead`).
"""

from collections.abc import Callable
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from seqimaging.choices import Choices

PoolingName = Literal["last", "attention", "mean"]


class LinearHead(nn.Sequential):
    """Dropout, then a linear layer (its parameters ``1.weight``, ``1.bias``)."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Dropout(dropout), nn.Linear(in_features, out_features))


HEADS: Choices[Callable[..., nn.Module]] = Choices("head", {"linear": LinearHead})
"""Heads by name, each called as ``(in_features, out_features, dropout)``."""


def _valid(seq: Tensor, lengths: Tensor) -> Tensor:
    """``[B, T]``: which steps of ``seq`` are within their sequence's length."""
    return torch.arange(seq.shape[1], device=seq.device) < lengths[:, None]


def _last(seq: Tensor, lengths: Tensor, score: nn.Module | None) -> Tensor:
    return seq[torch.arange(seq.shape[0], device=seq.device), lengths - 1]


def _mean(seq: Tensor, lengths: Tensor, score: nn.Module | None) -> Tensor:
    return (seq * _valid(seq, lengths)[..., None]).sum(1) / lengths[:, None].to(seq.dtype)


def _attention(seq: Tensor, lengths: Tensor, score: nn.Module) -> Tensor:
    scores = score(seq)[..., 0].masked_fill(~_valid(seq, lengths), float("-inf"))
    return (scores.softmax(dim=1)[..., None] * seq).sum(1)


class Pooling(NamedTuple):
    """A way to pool over time.

    Attributes:
        pool: ``(seq [B, T, D], lengths [B], score)`` → ``[B, D]``.
        scored: whether it learns a score per step, ``score = nn.Linear(D, 1)``.
    """

    pool: Callable[[Tensor, Tensor, nn.Module | None], Tensor]
    scored: bool = False


POOLINGS: Choices[Pooling] = Choices(
    "pooling",
    {"last": Pooling(_last), "mean": Pooling(_mean), "attention": Pooling(_attention, True)},
)
"""Poolings over time by name: the last valid step, the mean of the valid steps, or their
average weighted by the softmax of a learned score."""


class TemporalPooling(nn.Module):
    """``[B, T, D]`` with lengths → ``[B, D]``: the last valid step, a mean, or attention.

    Attention scores each step with a linear layer and averages the steps with the
    softmax of the scores over the valid steps.

    Args:
        features: ``D``.
        mode: a row of :data:`POOLINGS`.
    """

    def __init__(self, features: int, mode: PoolingName = "last") -> None:
        super().__init__()
        self.mode, self._pooling = mode, POOLINGS[mode]
        self.score = nn.Linear(features, 1) if self._pooling.scored else None

    def forward(self, seq: Tensor, lengths: Tensor) -> Tensor:
        return self._pooling.pool(seq, lengths.to(seq.device), self.score)
