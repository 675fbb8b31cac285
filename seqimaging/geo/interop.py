"""torchgeo interoperation: a time-series ``RasterDataset`` and its samplers as our samples.

torchgeo 0.10 stacks the files of a ``[x, y, t]`` slice into ``image`` ``[T, C, H, W]``
but returns no dates. :class:`TorchGeoWindows` finds them the way torchgeo selects the
files (the index rows whose time interval overlaps the slice, every ``t.step``-th), and
turns each sample into ``frames``/``future`` with ``times`` from the real dates.
"""

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.sample import window_sample


class TorchGeoWindows(Dataset):
    """Samples in the contract from a torchgeo ``RasterDataset(time_series=True)``.

    The sampler's locations are drawn once, when this dataset is made, so it is a
    map-style dataset with a fixed length; a spatial sampler combined with a temporal
    one by ``@`` (e.g. ``GriddedPatchSampler(ds, size=64) @
    SequentialTimedeltaSampler(ds, delta=pd.Timedelta(days=60))``) gives sliding time
    windows over patches. Slices with fewer than ``context + horizon`` dates are
    skipped; of longer ones the first ``context + horizon`` frames are kept. The group of
    a sample is its patch's position (``"x0,y0"`` in CRS units), so that group splits
    keep places apart.

    Args:
        dataset: a torchgeo ``RasterDataset`` made with ``time_series=True``.
        sampler: a torchgeo ``GeoSampler`` over it (or any iterable of ``[x, y, t]``
            slices).
        context: input frames.
        horizon: frames to forecast after them; 0 for none.
        nodata: raw value torchgeo fills nodata with; those pixels are masked. ``None``
            for no mask.
        time_unit: unit of ``times`` (``"D"`` days, ``"h"``, ...).
        transform: a function applied to each sample (:mod:`seqimaging.transforms`).
    """

    def __init__(
        self,
        dataset: Any,
        sampler: Iterable[Any],
        context: int,
        horizon: int = 0,
        *,
        nodata: float | None = None,
        time_unit: str = "D",
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        if not getattr(dataset, "time_series", False):
            raise SeqImagingError(
                f"{type(dataset).__name__} was made with time_series=False; expected a "
                f"torchgeo RasterDataset(time_series=True), which stacks dates"
            )
        self.dataset, self.context, self.horizon = dataset, context, horizon
        self.nodata, self.time_unit, self.transform = nodata, time_unit, transform
        self.slices, self.dates = [], []
        for index in sampler:
            dates = self._dates(index)
            if len(dates) >= context + horizon:
                self.slices.append(index)
                self.dates.append(dates)
        if not self.slices:
            raise DataError(
                f"no sampled slice of {type(dataset).__name__} holds {context + horizon} "
                f"dates; use a longer time window (delta) or a shorter context/horizon"
            )
        self.groups = [f"{x.start:.0f},{y.start:.0f}" for x, y, _ in self.slices]

    def _dates(self, index: Any) -> np.ndarray:
        """The dates torchgeo stacks for ``index``, in its stacking order."""
        x, y, t = self.dataset._disambiguate_slice(index)
        frame = self.dataset.index
        frame = frame.iloc[frame.index.overlaps(pd.Interval(t.start, t.stop))]
        frame = frame.iloc[:: t.step].cx[x.start : x.stop, y.start : y.stop]
        return frame.index.left.to_numpy(dtype="datetime64[ns]")

    def __len__(self) -> int:
        return len(self.slices)

    def __getitem__(self, i: int) -> dict[str, Any]:
        image = self.dataset[self.slices[i]]["image"].float()
        dates = self.dates[i]
        order = np.argsort(dates, kind="stable")[: self.context + self.horizon]
        image, dates = image[torch.from_numpy(order)], dates[order]
        mask = torch.ones_like(image[:, :1], dtype=torch.bool)
        if self.nodata is not None:
            mask = (image != self.nodata).all(dim=1, keepdim=True)
        sample = window_sample(image, mask, dates, self.context, self.time_unit)
        start = np.datetime_as_string(dates[0], unit="s")
        sample["meta"] |= {"id": f"{self.groups[i]}/{start}", "group": self.groups[i]}
        return sample if self.transform is None else self.transform(sample)
