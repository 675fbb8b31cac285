"""The scale a model learns rain on: decibels of rain rate, as pysteps nowcasts it.

In decibels (dBR, ``10 · log10 R``), drizzle and downpours weigh alike in a loss and
motion is estimated on the field that is forecast; rain below 0.1 mm/h is "no rain",
given −15 dB (pysteps' ``dB_transform(threshold=0.1, zerovalue=-15)``). Scaled dBR maps
−15 dB … +15 dB (31.6 mm/h) onto 0 … 1, so that 0 is no rain.
"""

from collections.abc import Sequence

import numpy as np
import torch

DBR_THRESHOLD, DBR_ZERO, DBR_RANGE = 0.1, -15.0, 30.0
"""The no-rain threshold (mm/h), the dB given below it, the dB span of 0 … 1 when scaled."""


def dbr(rain: torch.Tensor) -> torch.Tensor:
    """Rain rate (mm/h) → dBR, −15 dB below 0.1 mm/h; NaN stays NaN."""
    db = 10 * torch.log10(rain.clamp_min(DBR_THRESHOLD))
    return torch.where(rain < DBR_THRESHOLD, DBR_ZERO, db)


def to_dbr(rain: torch.Tensor) -> torch.Tensor:
    """Rain rate (mm/h) → scaled dBR, ``(dBR + 15) / 30``: 0 is no rain, 1 is 31.6 mm/h.

    Example:
        >>> to_dbr(torch.tensor([0.0, 1.0])).tolist()
        [0.0, 0.5]
    """
    return (dbr(rain) - DBR_ZERO) / DBR_RANGE


def rain_from_dbr(scaled: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`to_dbr`: below −10 dB (0.1 mm/h) is no rain, as pysteps'
    inverse ``dB_transform(threshold=-10)``; clipped at 200 mm/h (no radar sees more)."""
    db = scaled * DBR_RANGE + DBR_ZERO
    rain = (10 ** (db / 10)).clamp_max(200.0)
    return torch.where(db < 10 * np.log10(DBR_THRESHOLD) - 1e-4, 0.0, rain)


def rain_weight_steps(steps: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(rain rate, weight)`` loss-weight steps (e.g. HKO-7's) with the rates in scaled
    dBR, for :func:`seqimaging.tasks.losses.value_weights` on a scaled-dBR truth."""
    return [(float(to_dbr(torch.tensor(float(rate)))), float(weight)) for rate, weight in steps]
