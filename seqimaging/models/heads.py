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


class Running(NamedTuple):
    """A pooling over the steps seen so far, one step at a time: ``total`` (the last step,
    a sum, or a sum weighted by ``exp(score − peak)``), ``weight`` (count, or the sum of
    those weights) and ``peak`` (the highest score, for attention)."""

    total: Tensor
    weight: Tensor
    peak: Tensor


def _last_step(running: Running | None, step: Tensor, score: nn.Module | None) -> Running:
    one = step.new_ones(step.shape[0], 1)
    return Running(step, one, one)


def _mean_step(running: Running | None, step: Tensor, score: nn.Module | None) -> Running:
    if running is None:
        return Running(step, step.new_ones(step.shape[0], 1), step.new_zeros(step.shape[0], 1))
    return Running(running.total + step, running.weight + 1, running.peak)


def _attention_step(running: Running | None, step: Tensor, score: nn.Module) -> Running:
    """Softmax attention online: the running weights are rescaled by ``exp(old − new
    peak)`` whenever a higher score arrives (the streaming softmax)."""
    s = score(step)
    if running is None:
        return Running(step, torch.ones_like(s), s)
    peak = torch.maximum(running.peak, s)
    old, new = (running.peak - peak).exp(), (s - peak).exp()
    return Running(running.total * old + step * new, running.weight * old + new, peak)


class Pooling(NamedTuple):
    """A way to pool over time.

    Attributes:
        pool: ``(seq [B, T, D], lengths [B], score)`` → ``[B, D]``.
        step: ``(running or None, step [B, D], score)`` → the :class:`Running` pooling
            after one more step; ``total / weight`` equals ``pool`` over the steps so far.
        scored: whether it learns a score per step, ``score = nn.Linear(D, 1)``.
    """

    pool: Callable[[Tensor, Tensor, nn.Module | None], Tensor]
    step: Callable[[Running | None, Tensor, nn.Module | None], Running]
    scored: bool = False


POOLINGS: Choices[Pooling] = Choices(
    "pooling",
    {
        "last": Pooling(_last, _last_step),
        "mean": Pooling(_mean, _mean_step),
        "attention": Pooling(_attention, _attention_step, True),
    },
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

    def step(self, running: Running | None, step: Tensor) -> tuple[Tensor, Running]:
        """One more step ``[B, D]``: the pooling of the steps so far, and the new state."""
        running = self._pooling.step(running, step, self.score)
        return running.total / running.weight, running
