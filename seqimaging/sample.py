"""The sample contract: what every dataset returns and every model and task consumes.

A sample is a ``dict``:

=================  ==============================  ================================================
key                type                            meaning
=================  ==============================  ================================================
``frames``         float32 ``[T, C, H, W]``        the input sequence
``times``          float32 ``[T]``                 time of each frame: seconds since the first, or
                                                   fraction of the cardiac cycle; may be irregular
``mask``           bool ``[T, 1, H, W]``           (optional) valid pixels: False for nodata,
                                                   clouds, padding
``label``          int64 ``[]``                    (optional) class index (diagnosis, land cover,
                                                   direction of motion)
``target``         float32 ``[K]``                 (optional) regression targets (e.g. LVEF %)
``future``         float32 ``[T_out, C, H, W]``    (optional) frames to forecast
``future_times``   float32 ``[T_out]``             times of ``future``, on the clock of ``times``
``future_mask``    bool ``[T_out, 1, H, W]``       (optional) valid pixels of ``future``, for
                                                   cloud- or nodata-masked forecast losses
``meta``           ``dict``                        ``id`` (unique), ``group`` (patient / region id
                                                   used for splits), anything else (source paths,
                                                   spacing, CRS, dates)
=================  ==============================  ================================================

A batch, made by :func:`collate`, has the same keys with a leading batch dimension ``B``.
``frames``, ``times`` and ``mask`` of sequences of different lengths are padded at the
end of the time axis to the longest ``T``; the batch always carries ``lengths`` int64
``[B]``, the true ``T`` of each sequence, and, when the samples have a ``mask``, the
padded steps are masked out (False). ``meta`` becomes a list of dicts, one per sample.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqimaging.errors import ShapeError

TIME_KEYS = ("frames", "times", "mask")
"""Keys whose first axis is the input time axis ``T``, which may differ between samples."""


def collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack samples into a batch, padding ``frames``, ``times`` and ``mask`` to the longest ``T``.

    Every tensor key is stacked along a new first axis. ``frames``, ``times`` and ``mask``
    are padded at the end of the time axis (with 0, 0 and False); ``lengths`` holds each
    sample's true ``T``. Every other key must have the same shape in every sample.
    ``meta`` and any other non-tensor value become lists, one entry per sample.

    Args:
        samples: samples in the contract of this module, all with the same keys.

    Returns:
        The batch: the samples' keys, each stacked, plus ``lengths`` int64 ``[B]``.

    Raises:
        ShapeError: no samples; a sample lacks a key that others have or has an extra
            one; a tensor has another shape or dtype than in the first sample (apart from
            ``T``); ``frames``, ``times`` and ``mask`` of one sample disagree on ``T``.

    Example:
        >>> a = {"frames": torch.zeros(3, 1, 4, 4), "times": torch.arange(3.0)}
        >>> b = {"frames": torch.ones(5, 1, 4, 4), "times": torch.arange(5.0)}
        >>> batch = collate([a, b])
        >>> batch["frames"].shape, batch["lengths"].tolist()
        (torch.Size([2, 5, 1, 4, 4]), [3, 5])

    Use it as a ``DataLoader``'s ``collate_fn``.
    """
    if len(samples) == 0:
        raise ShapeError("collate needs at least one sample, got an empty list")
    first = samples[0]
    keys = list(first)
    time_keys = [k for k in TIME_KEYS if k in first]
    lengths = [_length(sample, i, time_keys) for i, sample in enumerate(samples)]
    for i, sample in enumerate(samples[1:], start=1):
        if sample.keys() != first.keys():
            missing = sorted(first.keys() - sample.keys())
            extra = sorted(sample.keys() - first.keys())
            raise ShapeError(
                f"sample {_name(sample, i)}: keys differ from sample {_name(first, 0)}'s: "
                f"missing {missing}, extra {extra}; every sample of a batch needs the same keys"
            )

    batch: dict[str, Any] = {}
    longest = max(lengths)
    for key in keys:
        values = [sample[key] for sample in samples]
        if not isinstance(values[0], Tensor):
            batch[key] = values
            continue
        padded = key in time_keys
        _check_tensors(samples, key, values, padded)
        shape = (len(values), *values[0].shape)
        if padded:
            shape = (len(values), longest, *values[0].shape[1:])
        out = _new_batch(values[0], shape)
        if padded:
            for b, value in enumerate(values):
                out[b, : value.shape[0]] = value
                out[b, value.shape[0] :] = 0  # the tail only: zeroing all would write twice
        else:
            torch.stack(values, out=out)
        batch[key] = out
    batch["lengths"] = torch.tensor(lengths, dtype=torch.int64)
    return batch


def window_sample(
    frames: Tensor, mask: Tensor, dates: np.ndarray, context: int, time_unit: str
) -> dict[str, Any]:
    """The sample of a window of dated frames: the first ``context`` are the input, the
    rest (if any) the future to forecast.

    Shared by every dataset that cuts windows from a dated series (cubes, torchgeo), so
    that they agree on the contract: invalid pixels are 0 in ``frames``/``future`` and
    False in ``mask``/``future_mask``; ``times`` count ``time_unit`` since the window's
    first date, however irregular. ``meta`` holds ``dates`` (ISO, to the second); the
    caller adds ``id`` and ``group``.

    Args:
        frames: ``[T, C, H, W]`` float32 values of the window, any value where invalid.
        mask: ``[T, 1, H, W]`` bool, True where valid.
        dates: ``T`` ``datetime64`` dates of the frames.
        context: input frames; ``T - context`` frames become ``future``.
        time_unit: unit of ``times``: ``"D"`` days, ``"h"``, ``"m"``, ``"s"``, ...

    Example:
        >>> dates = np.datetime64("2024-01-01") + np.array([0, 1, 3]) * np.timedelta64(1, "D")
        >>> sample = window_sample(torch.ones(3, 1, 2, 2), torch.ones(3, 1, 2, 2, dtype=bool),
        ...                        dates, context=2, time_unit="D")
        >>> sample["times"].tolist(), sample["future_times"].tolist(), sample["meta"]["dates"][2]
        ([0.0, 1.0], [3.0], '2024-01-04T00:00:00')
    """
    frames = frames.masked_fill(~mask, 0.0)
    times = torch.as_tensor((dates - dates[0]) / np.timedelta64(1, time_unit), dtype=torch.float32)
    c = context
    sample: dict[str, Any] = {"frames": frames[:c], "times": times[:c], "mask": mask[:c]}
    if len(frames) > c:
        sample |= {"future": frames[c:], "future_times": times[c:], "future_mask": mask[c:]}
    sample["meta"] = {"dates": [str(np.datetime_as_string(d, unit="s")) for d in dates]}
    return sample


def _name(sample: dict[str, Any], index: int) -> str:
    """How an error names a sample: its ``meta["id"]`` and index, else its index."""
    meta = sample.get("meta")
    if isinstance(meta, dict) and "id" in meta:
        return f"{meta['id']!r} (index {index})"
    return f"at index {index}"


def _length(sample: dict[str, Any], index: int, time_keys: list[str]) -> int:
    """The sample's ``T``, checked to agree across ``frames``, ``times`` and ``mask``; 0 if none."""
    lengths = {}
    for key in time_keys:
        value = sample.get(key)
        if isinstance(value, Tensor) and value.ndim > 0:
            lengths[key] = value.shape[0]
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ShapeError(
            f"sample {_name(sample, index)}: {found} time steps; expected the same T for "
            f"{', '.join(lengths)}"
        )
    return next(iter(lengths.values()), 0)


def _check_tensors(
    samples: Sequence[dict[str, Any]], key: str, values: list[Any], padded: bool
) -> None:
    """Raise if any of ``values`` differs from the first in dtype or shape (except ``T``)."""
    ref = values[0]
    expected = tuple(ref.shape[1:]) if padded else tuple(ref.shape)
    for i, value in enumerate(values):
        if not isinstance(value, Tensor):
            raise ShapeError(
                f"sample {_name(samples[i], i)}: {key!r} is a {type(value).__name__}; "
                f"expected a tensor as in sample {_name(samples[0], 0)}"
            )
        found = tuple(value.shape[1:]) if padded else tuple(value.shape)
        if padded and value.ndim == 0:
            found = None
        if found != expected:
            what = "[T, *shape] with shape" if padded else "shape"
            raise ShapeError(
                f"sample {_name(samples[i], i)}: {key!r} has shape {tuple(value.shape)}; "
                f"expected {what} {expected} as in sample {_name(samples[0], 0)}"
            )
        if value.dtype != ref.dtype:
            raise ShapeError(
                f"sample {_name(samples[i], i)}: {key!r} has dtype {value.dtype}; "
                f"expected {ref.dtype} as in sample {_name(samples[0], 0)}"
            )


def _new_batch(like: Tensor, shape: tuple[int, ...]) -> Tensor:
    """An uninitialised output tensor for a batch; in shared memory in a DataLoader worker.

    A worker's batch is sent to the main process through shared memory; allocating it
    there at once saves a copy, as ``torch.utils.data.default_collate`` does.
    """
    if torch.utils.data.get_worker_info() is not None and like.device.type == "cpu":
        numel = 1
        for n in shape:
            numel *= n
        storage = like._typed_storage()._new_shared(numel, device=like.device)
        return like.new(storage).view(shape)
    return like.new_empty(shape)
