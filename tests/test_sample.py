"""Tests of seqimaging.sample: collate's stacking, padding, lengths and error messages."""

import doctest
import re

import pytest
import torch
from torch.utils.data import DataLoader

import seqimaging.sample
from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.sample import collate


def _sample(i: int, steps: int, *, mask: bool = False, future: int = 0, size: int = 4) -> dict:
    """A sample in the contract whose values tell where they came from."""
    sample = {
        "frames": torch.full((steps, 2, size, size), float(i + 1)),
        "times": torch.arange(steps, dtype=torch.float32) + 0.5,
        "label": torch.tensor(i % 3),
        "target": torch.tensor([float(i), -float(i)]),
        "meta": {"id": f"s{i}", "group": f"g{i // 2}", "path": f"/data/{i}.nii"},
    }
    if mask:
        sample["mask"] = torch.ones(steps, 1, size, size, dtype=torch.bool)
    if future:
        sample["future"] = torch.full((future, 2, size, size), -float(i + 1))
        sample["future_times"] = torch.arange(steps, steps + future, dtype=torch.float32)
        sample["future_mask"] = torch.ones(future, 1, size, size, dtype=torch.bool)
    return sample


def test_equal_lengths_stack_every_key():
    samples = [_sample(i, 3, mask=True, future=2) for i in range(4)]
    batch = collate(samples)
    assert set(batch) == set(samples[0]) | {"lengths"}
    assert batch["frames"].shape == (4, 3, 2, 4, 4)
    assert batch["frames"].dtype == torch.float32
    assert batch["times"].shape == (4, 3)
    assert batch["mask"].shape == (4, 3, 1, 4, 4) and batch["mask"].dtype == torch.bool
    assert batch["label"].tolist() == [0, 1, 2, 0] and batch["label"].dtype == torch.int64
    assert batch["target"].shape == (4, 2)
    assert batch["future"].shape == (4, 2, 2, 4, 4)
    assert batch["future_times"].shape == (4, 2)
    assert batch["future_mask"].shape == (4, 2, 1, 4, 4)
    assert batch["lengths"].tolist() == [3, 3, 3, 3] and batch["lengths"].dtype == torch.int64
    assert batch["meta"] == [s["meta"] for s in samples]
    for b, sample in enumerate(samples):
        for key in ("frames", "times", "mask", "future", "future_times", "target"):
            torch.testing.assert_close(batch[key][b], sample[key])


def test_variable_lengths_pad_at_the_end():
    steps = [2, 5, 3]
    samples = [_sample(i, n, mask=True) for i, n in enumerate(steps)]
    batch = collate(samples)
    assert batch["lengths"].tolist() == steps
    assert batch["frames"].shape == (3, 5, 2, 4, 4)
    assert batch["times"].shape == (3, 5)
    assert batch["mask"].shape == (3, 5, 1, 4, 4)
    for b, (sample, n) in enumerate(zip(samples, steps, strict=True)):
        torch.testing.assert_close(batch["frames"][b, :n], sample["frames"])
        torch.testing.assert_close(batch["times"][b, :n], sample["times"])
        assert batch["mask"][b, :n].all()
        assert (batch["frames"][b, n:] == 0).all()
        assert (batch["times"][b, n:] == 0).all()
        assert not batch["mask"][b, n:].any()  # padding is never a valid pixel


def test_padding_does_not_depend_on_leftover_memory():
    """The padded tail is zero even where a previous allocation left garbage."""
    for _ in range(3):
        torch.full((2, 5, 2, 4, 4), float("nan"))
        batch = collate([_sample(0, 1), _sample(1, 5)])
        assert (batch["frames"][0, 1:] == 0).all()


def test_non_tensor_values_become_lists():
    samples = [dict(_sample(i, 2), source=f"file{i}") for i in range(2)]
    batch = collate(samples)
    assert batch["source"] == ["file0", "file1"]


def test_works_as_collate_fn_in_worker_processes():
    """In a worker the batch is built in shared memory, as default_collate does."""
    samples = [_sample(i, 2 + i % 3) for i in range(6)]
    loader = DataLoader(samples, batch_size=3, collate_fn=collate, num_workers=1)
    batches = list(loader)
    assert [b["lengths"].tolist() for b in batches] == [[2, 3, 4], [2, 3, 4]]
    torch.testing.assert_close(batches[1]["frames"][2, :4], samples[5]["frames"])
    assert (batches[0]["frames"][0, 2:] == 0).all()


# ------------------------------------------------------------------------- errors


def test_errors_are_shape_errors():
    assert issubclass(ShapeError, SeqImagingError)
    with pytest.raises(ShapeError, match="at least one sample"):
        collate([])


def test_future_shape_mismatch_names_sample_key_found_and_expected():
    samples = [_sample(0, 3, future=2), _sample(1, 3, future=3)]
    with pytest.raises(ShapeError) as info:
        collate(samples)
    message = str(info.value)
    for part in ["'s1'", "'future'", "(3, 2, 4, 4)", "expected shape (2, 2, 4, 4)", "'s0'"]:
        assert part in message


def test_image_size_mismatch_in_frames():
    samples = [_sample(0, 3), _sample(1, 2, size=5)]
    with pytest.raises(
        ShapeError,
        match=re.escape("'s1' (index 1): 'frames' has shape (2, 2, 5, 5); expected [T, *shape]")
        + ".*"
        + re.escape("(2, 4, 4)"),
    ):
        collate(samples)


def test_missing_or_extra_key_is_named():
    samples = [_sample(0, 2, mask=True), _sample(1, 2)]
    with pytest.raises(ShapeError, match=re.escape("'s1' (index 1)") + ".*missing \\['mask'\\]"):
        collate(samples)
    with pytest.raises(ShapeError, match=re.escape("'s0' (index 1)") + ".*extra \\['mask'\\]"):
        collate([_sample(1, 2), _sample(0, 2, mask=True)])


def test_sample_without_meta_is_named_by_index():
    samples = [{"frames": torch.zeros(2, 1, 3, 3)}, {"frames": torch.zeros(2, 2, 3, 3)}]
    with pytest.raises(ShapeError, match=re.escape("sample at index 1: 'frames'")):
        collate(samples)


def test_time_axes_of_one_sample_must_agree():
    bad = _sample(1, 3)
    bad["times"] = torch.arange(4, dtype=torch.float32)
    with pytest.raises(
        ShapeError, match=re.escape("'s1' (index 1): frames has 3, times has 4 time steps")
    ):
        collate([_sample(0, 3), bad])


def test_dtype_mismatch_is_an_error_not_a_silent_cast():
    bad = _sample(1, 3)
    bad["label"] = bad["label"].float()
    with pytest.raises(ShapeError, match=re.escape("'label' has dtype torch.float32; expected")):
        collate([_sample(0, 3), bad])


def test_tensor_in_one_sample_and_not_another():
    bad = _sample(1, 3)
    bad["target"] = [1.0, -1.0]
    with pytest.raises(ShapeError, match=re.escape("'target' is a list; expected a tensor")):
        collate([_sample(0, 3), bad])


def test_docstring_examples():
    assert doctest.testmod(seqimaging.sample).failed == 0
