"""Tests of seqimaging.data: group splits, the group sampler and the Lightning data module."""

import doctest
import math
import re
from collections import Counter
from types import SimpleNamespace

import lightning
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import Dataset, DistributedSampler

import seqimaging.data
from seqimaging.data import GroupSampler, SequenceDataModule, split_groups
from seqimaging.errors import SeqImagingError
from seqimaging.testing import MovingShapes

# ----------------------------------------------------------------------- split_groups


def _check_partition(groups, parts) -> None:
    """``parts`` partition the indices, and no group is in two of them."""
    everything = np.concatenate(parts)
    assert sorted(everything.tolist()) == list(range(len(groups)))
    owners = {}
    for p, part in enumerate(parts):
        assert part.dtype == np.int64
        assert np.all(np.diff(part) > 0)  # sorted
        for i in part:
            assert owners.setdefault(groups[i], p) == p, f"group {groups[i]} in two parts"


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 60),
    n_groups=st.integers(1, 25),
    n_classes=st.integers(1, 4),
    val_fraction=st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.3]),
    test_fraction=st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5]),
    stratify=st.booleans(),
    seed=st.integers(0, 3),
)
def test_split_never_puts_a_group_in_two_parts(
    data, n, n_groups, n_classes, val_fraction, test_fraction, stratify, seed
):
    groups = data.draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n))
    labels = data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    test_folds = round(1 / test_fraction) if test_fraction else 1
    fold = data.draw(st.integers(0, test_folds - 1))
    kwargs = dict(val_fraction=val_fraction, test_fraction=test_fraction, fold=fold, seed=seed)
    try:
        train, val, test = split_groups(groups, labels if stratify else None, **kwargs)
    except SeqImagingError as err:
        # only for too few groups, and it says how many there are and were needed
        found = re.search(r"needs (\d+) folds of groups but there are only (\d+) groups", str(err))
        assert found, err
        folds, n_found = map(int, found.groups())
        assert n_found < folds <= max(test_folds, round(1 / val_fraction) if val_fraction else 1)
        assert n_found <= len(set(groups))
        return
    _check_partition(groups, [train, val, test])
    assert (len(test) > 0) == (test_fraction > 0)
    assert (len(val) > 0) == (val_fraction > 0)


def test_fractions_of_equal_groups_are_exact():
    groups = np.repeat(np.arange(50), 3)  # 50 patients, 3 slices each
    train, val, test = split_groups(groups, val_fraction=0.2, test_fraction=0.2)
    assert [len(set(groups[p])) for p in (train, val, test)] == [30, 10, 10]
    train, val, test = split_groups(groups, val_fraction=0.1, test_fraction=0.0)
    assert [len(set(groups[p])) for p in (train, val, test)] == [45, 5, 0]
    train, val, test = split_groups(groups, val_fraction=0.0, test_fraction=0.25)
    assert len(val) == 0 and len(set(groups[test])) in (12, 13)


def test_k_folds_of_test_partition_all_groups():
    rng = np.random.default_rng(0)
    groups = [f"region-{g}" for g in rng.integers(0, 30, 120)]
    labels = rng.integers(0, 3, 120)
    tests = [split_groups(groups, labels, test_fraction=0.2, fold=k)[2] for k in range(5)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(120))
    for k, test in enumerate(tests):
        train, val, test_again = split_groups(groups, labels, test_fraction=0.2, fold=k)
        np.testing.assert_array_equal(test, test_again)
        _check_partition(groups, [train, val, test])


def test_stratification_roughly_holds():
    """Groups with a label each (one diagnosis per patient): every part keeps the class mix."""
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 6, 100)
    groups = np.repeat(np.arange(100), sizes)
    labels = np.repeat((np.arange(100) % 10 < 3).astype(int), sizes)  # 30 % of patients ill
    overall = labels.mean()
    for fold in range(5):
        for part in split_groups(groups, labels, fold=fold, seed=fold):
            assert abs(labels[part].mean() - overall) < 0.06


def test_same_seed_same_split_other_seed_other_split():
    groups = np.repeat(np.arange(40), 2)
    a = split_groups(groups, seed=3)
    b = split_groups(groups.tolist(), seed=3)
    c = split_groups(groups, seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_labels_may_be_a_tensor_and_groups_strings():
    groups = [f"p{i // 2}" for i in range(40)]
    labels = torch.arange(40) // 2 % 2
    _check_partition(groups, split_groups(groups, labels))


def test_split_errors_name_the_numbers():
    with pytest.raises(
        SeqImagingError, match="test split needs 5 folds of groups but there are only 3 groups"
    ):
        split_groups(["a", "b", "c", "a"])
    with pytest.raises(
        SeqImagingError, match="validation split needs 5 folds of groups but there are only 3"
    ):
        split_groups(["a", "b", "c", "a", "d", "e", "f"], val_fraction=0.1, test_fraction=0.5)
    with pytest.raises(SeqImagingError, match=re.escape("fold must be in [0, 5)")):
        split_groups(range(20), fold=5)
    with pytest.raises(SeqImagingError, match="needs test_fraction > 0"):
        split_groups(range(20), test_fraction=0, fold=1)
    with pytest.raises(SeqImagingError, match=re.escape("must be below 1")):
        split_groups(range(20), val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(SeqImagingError, match=re.escape("in [0, 1)")):
        split_groups(range(20), test_fraction=-0.1)
    with pytest.raises(SeqImagingError, match="fewer than 2 folds"):
        split_groups(range(20), val_fraction=0.6, test_fraction=0.2)
    with pytest.raises(SeqImagingError, match="got 4 groups but 3 labels"):
        split_groups(range(4), [0, 1, 0])
    with pytest.raises(SeqImagingError, match="hashable"):
        split_groups([[1], [2]])


# ----------------------------------------------------------------------- GroupSampler


def _batches(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 40),
    replicas=st.integers(1, 4),
    batch=st.integers(1, 5),
    per_group=st.sampled_from([None, 1, 3]),
    drop_last=st.booleans(),
    epoch=st.integers(0, 3),
)
def test_ranks_batches_together_are_the_single_process_batches(
    data, n, replicas, batch, per_group, drop_last, epoch
):
    """With per-rank batch b on W ranks, batch k of all ranks = batch k (size W·b) of one."""
    groups = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    kwargs = dict(samples_per_group=per_group, seed=5, drop_last=drop_last)
    single = GroupSampler(groups, **kwargs)
    single.set_epoch(epoch)
    order = list(single)
    ranks = []
    for rank in range(replicas):
        sampler = GroupSampler(groups, num_replicas=replicas, rank=rank, **kwargs)
        sampler.set_epoch(epoch)
        ranks.append(list(sampler))
        assert len(ranks[-1]) == len(sampler)
    assert len({len(r) for r in ranks}) == 1  # every rank the same number of samples
    total = len(ranks[0]) * replicas
    # the global order, padded by wrapping around or cut to a multiple of W
    expected = (order * (1 + math.ceil(total / max(len(order), 1))))[:total]
    assert total >= len(order) if not drop_last else total > len(order) - replicas
    per_rank = [_batches(r, batch) for r in ranks]
    for k, global_batch in enumerate(_batches(expected, replicas * batch)):
        union = [i for rank_batches in per_rank for i in rank_batches[k]]
        assert Counter(union) == Counter(global_batch)


def test_every_index_once_and_equal_to_distributed_sampler():
    """Without samples_per_group the order is torch's DistributedSampler's, rank by rank."""
    groups = [i // 3 for i in range(23)]
    for replicas in (1, 3):
        for rank in range(replicas):
            for drop_last in (False, True):
                ours = GroupSampler(
                    groups, seed=4, num_replicas=replicas, rank=rank, drop_last=drop_last
                )
                torch_ = DistributedSampler(
                    range(23), num_replicas=replicas, rank=rank, seed=4, drop_last=drop_last
                )
                ours.set_epoch(2)
                torch_.set_epoch(2)
                assert list(ours) == list(torch_)
                assert len(ours) == len(torch_)
    assert sorted(GroupSampler(groups)) == list(range(23))
    assert list(GroupSampler(groups, shuffle=False)) == list(range(23))


def test_samples_per_group_counts():
    groups = ["big"] * 10 + ["one"] + ["small"] * 3  # interleaving does not matter
    groups = [groups[i] for i in np.random.default_rng(0).permutation(len(groups))]
    sampler = GroupSampler(groups, samples_per_group=4)
    assert len(sampler) == 12
    for epoch in range(5):
        sampler.set_epoch(epoch)
        drawn = list(sampler)
        assert Counter(groups[i] for i in drawn) == {"big": 4, "one": 4, "small": 4}
        per_index = Counter(drawn)
        assert all(per_index[i] == 1 for i in drawn if groups[i] == "big")  # no replacement
        assert all(per_index[i] == 4 for i in drawn if groups[i] == "one")
        small = [i for i, g in enumerate(groups) if g == "small"]
        assert sorted(per_index[i] for i in small) == [1, 1, 2]  # each at least once


def test_resume_at_skips_once_into_the_epochs_order():
    groups = [i // 3 for i in range(30)]
    sampler = GroupSampler(groups, seed=2, num_replicas=2, rank=1)
    sampler.set_epoch(4)
    whole = list(sampler)
    sampler.resume_at(5)
    assert list(sampler) == whole[5:]
    assert list(sampler) == whole  # the next iteration starts at the beginning
    with pytest.raises(SeqImagingError, match="15 indices"):
        sampler.resume_at(16)


def test_samples_per_group_without_shuffle_is_fixed():
    groups = ["b", "a", "b", "b", "a", "c"]
    sampler = GroupSampler(groups, samples_per_group=2, shuffle=False)
    assert list(sampler) == [0, 2, 1, 4, 5, 5]  # groups in order of first appearance
    sampler.set_epoch(3)
    assert list(sampler) == [0, 2, 1, 4, 5, 5]


def test_order_is_deterministic_and_changes_with_epoch_and_seed():
    groups = [i // 4 for i in range(40)]
    for per_group in (None, 2):
        a = GroupSampler(groups, samples_per_group=per_group, seed=1)
        b = GroupSampler(groups, samples_per_group=per_group, seed=1)
        assert list(a) == list(b) == list(a)
        first = list(a)
        a.set_epoch(1)
        assert list(a) != first
        assert Counter(groups[i] for i in a) == Counter(groups[i] for i in first)
        assert list(GroupSampler(groups, samples_per_group=per_group, seed=2)) != first


def test_sampler_edge_cases_and_errors():
    assert list(GroupSampler([])) == [] and len(GroupSampler([])) == 0
    assert len(GroupSampler(range(5), num_replicas=2)) == 3
    assert len(GroupSampler(range(5), num_replicas=2, drop_last=True)) == 2
    assert len(GroupSampler(range(2), num_replicas=4, drop_last=True)) == 0
    assert list(GroupSampler(range(2), num_replicas=4, drop_last=True)) == []
    assert len(list(GroupSampler(range(2), num_replicas=5, rank=4))) == 1  # wraps around
    with pytest.raises(SeqImagingError, match=re.escape("rank must be in [0, 2), got 2")):
        GroupSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(SeqImagingError, match="num_replicas must be a positive int"):
        GroupSampler(range(4), num_replicas=0)
    with pytest.raises(SeqImagingError, match="samples_per_group must be a positive int"):
        GroupSampler(range(4), samples_per_group=0)


# ------------------------------------------------------------------ SequenceDataModule


class _Plain(Dataset):
    """The samples of a dataset without its ``groups`` and ``labels`` attributes."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]


def _ids(loader) -> list[int]:
    return [int(m["id"].split("-")[1]) for batch in loader for m in batch["meta"]]


def _tiny(n: int = 40, **kwargs) -> MovingShapes:
    return MovingShapes(n, frames=3, size=8, group_size=2, **kwargs)


def test_data_module_end_to_end():
    data = _tiny(min_frames=2)
    dm = SequenceDataModule(data, batch_size=4)
    dm.setup("fit")
    _check_partition(data.groups, [dm.train_indices, dm.val_indices, dm.test_indices])
    # 20 groups of 2; stratified folds of so few groups trade size for class balance
    assert 4 <= len(dm.val_indices) <= 12 and 4 <= len(dm.test_indices) <= 12
    first = dm.train_indices
    dm.setup("test")  # idempotent: Lightning calls setup once per stage
    assert dm.train_indices is first

    train = dm.train_dataloader()
    assert isinstance(train.sampler, GroupSampler)
    batch = next(iter(train))
    assert batch["frames"].shape[:1] == (4,) and batch["frames"].shape[2:] == (1, 8, 8)
    assert batch["frames"].shape[1] == batch["lengths"].max()
    assert batch["label"].shape == (4,) and len(batch["meta"]) == 4
    assert sorted(_ids(train)) == dm.train_indices.tolist()  # each training sample once
    assert _ids(dm.val_dataloader()) == dm.val_indices.tolist()  # in order
    assert _ids(dm.test_dataloader()) == dm.test_indices.tolist()
    assert _ids(dm.predict_dataloader()) == dm.test_indices.tolist()
    assert dm.groups == data.groups and dm.labels == data.labels
    assert dm.hparams["batch_size"] == 4 and "dataset" not in dm.hparams


def test_data_module_reads_groups_and_labels_from_samples():
    data = _tiny()
    with_attributes = SequenceDataModule(data, seed=2)
    from_samples = SequenceDataModule(_Plain(data), seed=2)
    for dm in (with_attributes, from_samples):
        dm.setup()
    assert from_samples.groups == data.groups and from_samples.labels == data.labels
    for name in ("train_indices", "val_indices", "test_indices"):
        np.testing.assert_array_equal(getattr(from_samples, name), getattr(with_attributes, name))


def test_data_module_with_official_test_set():
    data, official = _tiny(), _tiny(6, seed=9)
    dm = SequenceDataModule(data, test_dataset=official, fold=3, batch_size=4)
    dm.setup("fit")
    assert len(dm.test_indices) == 0
    _check_partition(data.groups, [dm.train_indices, dm.val_indices])
    assert 4 <= len(dm.val_indices) <= 12  # about 20 % of the dataset
    assert dm.test_dataloader().dataset is official
    assert _ids(dm.test_dataloader()) == list(range(6))


def test_data_module_samples_per_group_and_no_test():
    dm = SequenceDataModule(_tiny(), samples_per_group=3, test_fraction=0, batch_size=5)
    ids = _ids(dm.train_dataloader())  # setup on first use, for scripts without a Trainer
    train_groups = {dm.groups[i] for i in dm.train_indices}
    assert Counter(dm.groups[i] for i in ids) == dict.fromkeys(train_groups, 3)
    with pytest.raises(SeqImagingError, match="no test set"):
        dm.test_dataloader()


def _stub_trainer(world_size=2, rank=1, epoch=3, use_distributed_sampler=False):
    connector = SimpleNamespace(
        use_distributed_sampler=use_distributed_sampler, is_distributed=world_size > 1
    )
    return SimpleNamespace(
        world_size=world_size,
        global_rank=rank,
        current_epoch=epoch,
        _accelerator_connector=connector,
    )


def test_data_module_shards_over_ranks_of_the_trainer():
    dm = SequenceDataModule(_tiny(), batch_size=4)
    dm.trainer = _stub_trainer()
    train = dm.train_dataloader()
    assert (train.sampler.num_replicas, train.sampler.rank, train.sampler.epoch) == (2, 1, 3)
    val = dm.val_dataloader()
    assert isinstance(val.sampler, DistributedSampler) and not val.sampler.shuffle
    assert (val.sampler.num_replicas, val.sampler.rank) == (2, 1)
    assert _ids(val) == dm.val_indices[1::2].tolist()


def test_data_module_refuses_lightnings_distributed_sampler():
    dm = SequenceDataModule(_tiny())
    dm.trainer = _stub_trainer(use_distributed_sampler=True)
    with pytest.raises(SeqImagingError, match=re.escape("Trainer(use_distributed_sampler=False)")):
        dm.train_dataloader()
    dm.val_dataloader()  # evaluation loaders are DistributedSamplers: Lightning keeps them


def test_data_module_checks_a_real_ddp_trainer():
    """The attribute path into a real Trainer, without starting a process group."""
    kwargs = dict(accelerator="cpu", strategy="ddp", devices=1, logger=False)
    dm = SequenceDataModule(_tiny())
    dm.trainer = lightning.Trainer(**kwargs)
    with pytest.raises(SeqImagingError, match="use_distributed_sampler=False"):
        dm.train_dataloader()
    dm.trainer = lightning.Trainer(use_distributed_sampler=False, **kwargs)
    assert dm.train_dataloader().sampler.num_replicas == 1


class _Recorder(lightning.LightningModule):
    """Records the ids of every training batch; learns nothing."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: dict[int, list[int]] = {}

    def training_step(self, batch, batch_idx):
        ids = [int(m["id"].split("-")[1]) for m in batch["meta"]]
        self.seen.setdefault(self.current_epoch, []).extend(ids)
        return (self.weight * batch["target"]).square().mean()

    def validation_step(self, batch, batch_idx):
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_fit_reshuffles_every_epoch(tmp_path):
    dm = SequenceDataModule(_tiny(), batch_size=4, num_workers=1)
    model = _Recorder()
    trainer = lightning.Trainer(
        max_epochs=3,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, dm)
    orders = [model.seen[epoch] for epoch in range(3)]
    for order in orders:
        assert sorted(order) == dm.train_indices.tolist()
    assert orders[0] != orders[1] != orders[2]  # Lightning called set_epoch
    assert dm.train_dataloader().persistent_workers


def test_data_module_from_a_lightning_cli_style_config():
    """jsonargparse builds the dataset from class_path/init_args, as LightningCLI does."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_class_arguments(SequenceDataModule, "data")
    config = parser.parse_object(
        {
            "data": {
                "dataset": {
                    "class_path": "seqimaging.testing.MovingShapes",
                    "init_args": {"num_samples": 20, "size": 8, "frames": 2},
                },
                "batch_size": 2,
                "samples_per_group": 1,
            }
        }
    )
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes  # < 4.49
    dm = instantiate(config).data
    assert isinstance(dm.dataset, MovingShapes) and len(dm.dataset) == 20
    assert next(iter(dm.train_dataloader()))["frames"].shape == (2, 2, 1, 8, 8)


def test_data_module_errors():
    with pytest.raises(SeqImagingError, match="is empty"):
        SequenceDataModule(MovingShapes(0)).setup()

    wrong = _Plain(_tiny())
    wrong.groups = ["a", "b"]
    with pytest.raises(SeqImagingError, match=re.escape("_Plain.groups has 2 entries; expected")):
        SequenceDataModule(wrong).setup()


def test_docstring_examples():
    assert doctest.testmod(seqimaging.data).failed == 0


def test_loaders_never_draw_from_the_global_random_state():
    """Worker seeds come from (seed, epoch): a resumed run sees the data of an unbroken one."""
    module = SequenceDataModule(MovingShapes(24, frames=2, size=8), batch_size=4, seed=3)
    module.setup("fit")
    loader = module.train_dataloader()
    assert loader.generator is loader.sampler.generator
    other = GroupSampler(list(range(5)), seed=3)
    other.set_epoch(2)
    loader.sampler.set_epoch(2)
    assert torch.equal(loader.generator.get_state(), other.generator.get_state())
    other.set_epoch(1)
    assert not torch.equal(loader.generator.get_state(), other.generator.get_state())
    torch.manual_seed(0)
    before = torch.get_rng_state()
    for make in (module.train_dataloader, module.val_dataloader, module.test_dataloader):
        next(iter(make()))
    assert torch.equal(torch.get_rng_state(), before)


def test_group_folds_partition_the_samples_and_keep_groups_apart():
    from seqimaging.splits import group_folds

    groups = [f"p{i // 3}" for i in range(30)]
    labels = [i // 3 % 2 for i in range(30)]
    folds = group_folds(groups, labels, 5, seed=2)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(30))
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        assert len(train) + len(test) == 30


# ----------------------------------------------------------------------- InMemory


class _Unreadable(Dataset):
    """Samples of MovingShapes, but sample 3 cannot be read."""

    def __init__(self, data: Dataset) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict:
        if index == 3:
            raise SeqImagingError("patient003.nii.gz: truncated")
        return self.data[index]


def test_in_memory_with_workers_keeps_the_samples_and_their_order():
    data = MovingShapes(9, group_size=3, seed=4)
    serial, parallel = seqimaging.data.InMemory(data), seqimaging.data.InMemory(data, workers=2)
    assert len(parallel) == len(serial) == 9
    assert parallel.labels == data.labels and parallel.groups == data.groups
    for a, b in zip(serial.samples, parallel.samples, strict=True):
        assert a.keys() == b.keys() and a["meta"] == b["meta"]
        for key, value in a.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, b[key]) and not b[key].is_shared()


def test_in_memory_worker_error_keeps_its_type_and_message():
    with pytest.raises(SeqImagingError, match=r"patient003\.nii\.gz: truncated"):
        seqimaging.data.InMemory(_Unreadable(MovingShapes(6)), workers=2)


def test_sample_loader_draws_from_its_own_generator_only():
    data = MovingShapes(12, group_size=1, seed=1)
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    first = [b["meta"][0]["id"] for b in seqimaging.data.sample_loader(data, 4, shuffle=True)]
    assert torch.equal(torch.random.get_rng_state(), before)  # the global state untouched
    again = [b["meta"][0]["id"] for b in seqimaging.data.sample_loader(data, 4, shuffle=True)]
    other = seqimaging.data.sample_loader(data, 4, shuffle=True, seed=1)
    assert first == again and first != [b["meta"][0]["id"] for b in other]
    batch = next(iter(seqimaging.data.sample_loader(data, 4)))
    assert batch["frames"].shape[0] == 4 and [m["id"] for m in batch["meta"]] == [
        data[i]["meta"]["id"] for i in range(4)
    ]
