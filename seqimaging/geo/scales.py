"""The scale a model sees a cube's values on, from training to forecast.

A :class:`ValueScale` maps raw values (reflectance, mm/h) to the model's and back. A
training dataset fits it on its cube (:class:`~seqimaging.geo.CubeWindows` ``scale=``)
and records it in the checkpoint's data settings; ``seqimaging forecast`` applies it to
the new input and undoes it on the forecast, so that a forecast comes out in the input's
units. Each kind is a row of :data:`SCALES`.

Values are ``[..., band, y, x]``; a fitted scale has one ``low`` and ``high`` per band.

Example:
    >>> scale = ValueScale("min_max", low=(10.0, 0.0), high=(30.0, 1.0))
    >>> scale(torch.tensor([[[20.0]], [[0.5]]])).flatten().tolist()
    [0.5, 0.5]
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import Tensor

from seqimaging.choices import Choices
from seqimaging.errors import DataError
from seqimaging.geo.rain_scale import rain_from_dbr, to_dbr

Map = Callable[[Tensor, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class ScaleKind:
    """A kind of scale: ``forward(values, low, high)``, its ``inverse``, and whether
    ``low``/``high`` are fitted (each band's minimum and maximum in the training cube);
    ``low`` and ``high`` come as ``[band, 1, 1]`` tensors."""

    forward: Map
    inverse: Map
    fitted: bool = False


def _unchanged(values: Tensor, low: Tensor, high: Tensor) -> Tensor:
    return values


def _to_unit(values: Tensor, low: Tensor, high: Tensor) -> Tensor:
    return (values - low) / (high - low)


def _from_unit(values: Tensor, low: Tensor, high: Tensor) -> Tensor:
    return values * (high - low) + low


SCALES: Choices[ScaleKind] = Choices(
    "value scale",
    {
        "identity": ScaleKind(_unchanged, _unchanged),
        "min_max": ScaleKind(_to_unit, _from_unit, fitted=True),
        "dbr": ScaleKind(lambda v, lo, hi: to_dbr(v), lambda v, lo, hi: rain_from_dbr(v)),
    },
)
"""``identity``: values as they are; ``min_max``: each band's range in the training cube
onto 0 … 1; ``dbr``: rain rate (mm/h) as scaled decibels
(:func:`~seqimaging.geo.rain_scale.to_dbr`), back to mm/h with
:func:`~seqimaging.geo.rain_scale.rain_from_dbr`."""


@dataclass(frozen=True)
class ValueScale:
    """A row of :data:`SCALES` with its parameters, ``low`` and ``high`` one per band;
    NaN (invalid) stays NaN."""

    kind: str = "identity"
    low: tuple[float, ...] = (0.0,)
    high: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        SCALES.check(self.kind)
        low, high = (tuple(float(v) for v in np.atleast_1d(x)) for x in (self.low, self.high))
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if len(low) != len(high):
            raise DataError(f"{self.kind} scale: {len(low)} lows but {len(high)} highs")
        bad = [b for b, v in enumerate(low + high) if not np.isfinite(v)]
        if bad:
            raise DataError(
                f"{self.kind} scale: low={low}, high={high}; expected finite numbers "
                "(fit on a cube whose valid pixels are finite; NaN marks invalid ones)"
            )
        flat = [b for b, (lo, hi) in enumerate(zip(low, high, strict=True)) if not hi > lo]
        if SCALES[self.kind].fitted and flat:
            raise DataError(
                f"{self.kind} scale: band {flat[0]} has low={low[flat[0]]!r}, "
                f"high={high[flat[0]]!r}; expected high > low (a band with more than one value)"
            )

    @classmethod
    def fit(cls, kind: str, cube: xr.DataArray) -> "ValueScale":
        """The ``kind`` scale of a ``(time, band, y, x)`` cube: each band's minimum and
        maximum over its finite values if ``kind`` is fitted, in one pass over a lazy
        cube (the whole cube given: to fit on training data alone, pass that part)."""
        if not SCALES[kind].fitted:
            return cls(kind)
        finite = cube.where(np.isfinite(cube))
        over = ("time", "y", "x")
        extremes = xr.Dataset({"low": finite.min(over), "high": finite.max(over)}).compute()
        return cls(kind, tuple(extremes["low"].values), tuple(extremes["high"].values))

    def check_bands(self, bands: int, source: str) -> "ValueScale":
        """This scale, if it fits ``bands`` bands (one low/high for all, or one per band);
        else a :class:`DataError` naming ``source``."""
        if len(self.low) not in (1, bands):
            raise DataError(
                f"{source} has {bands} bands; its {self.kind} scale has {len(self.low)} "
                "(expected one per band, or one for all)"
            )
        return self

    def _bands(self, values: Tensor) -> tuple[Tensor, Tensor]:
        return tuple(
            torch.tensor(v, dtype=values.dtype, device=values.device).view(-1, 1, 1)
            for v in (self.low, self.high)
        )

    def __call__(self, values: Tensor) -> Tensor:
        """Raw values ``[..., band, y, x]`` → the model's."""
        return SCALES[self.kind].forward(values, *self._bands(values))

    def inverse(self, values: Tensor) -> Tensor:
        """The model's values ``[..., band, y, x]`` → raw ones."""
        return SCALES[self.kind].inverse(values, *self._bands(values))

    def settings(self) -> dict[str, Any]:
        """What a checkpoint records; ``ValueScale(**settings)`` rebuilds it."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


IDENTITY = ValueScale()
"""The values as they are."""


def value_scale(scale: "ValueScale | str | None", cube: xr.DataArray, source: str) -> ValueScale:
    """``scale`` for ``cube`` (named ``source``) as a :class:`ValueScale`: a name (fitted
    on ``cube``) or ``None`` for ``identity``; checked against the cube's bands."""
    if not isinstance(scale, ValueScale):
        scale = IDENTITY if scale is None else ValueScale.fit(scale, cube)
    return scale.check_bands(cube.sizes["band"], source)
