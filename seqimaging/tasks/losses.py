"""The losses of the regression and forecast tasks, by name.

Each row is a ``torch.nn.functional`` loss ``(prediction, target, reduction="mean")``.
"""

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from seqimaging.choices import Choices

LOSSES: Choices[Callable[..., Tensor]] = Choices(
    "loss", {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss}
)
"""Losses by name: ``"mse"``, ``"l1"`` and ``"huber"`` (``delta=1``)."""
