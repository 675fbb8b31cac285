"""Loading sequence datasets with Lightning: the data module, and caching samples in memory.

:class:`SequenceDataModule` splits a dataset by group (:func:`~seqimaging.splits.split_groups`)
and draws training batches with a :class:`~seqimaging.splits.GroupSampler`; both are
re-exported here.

Example:
    >>> from seqimaging.testing import MovingShapes
    >>> dm = SequenceDataModule(MovingShapes(40, group_size=2), batch_size=4)
    >>> dm.setup("fit")
    >>> len(dm.train_indices) + len(dm.val_indices) + len(dm.test_indices)
    40
    >>> batch = next(iter(dm.train_dataloader()))
    >>> batch["frames"].shape
    torch.Size([4, 8, 1, 32, 32])
"""

import math
from collections.abc import Hashable

import lightning
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset

from seqimaging.errors import SeqImagingError
from seqimaging.sample import collate
from seqimaging.splits import GroupSampler, check_fractions, split_groups

__all__ = ["GroupSampler", "InMemory", "SequenceDataModule", "sample_loader", "split_groups"]


def _groups_and_labels(dataset: Dataset) -> tuple[list[Hashable], list[Hashable] | None]:
    """The group and label of every sample: ``dataset.groups``/``.labels``, else from samples."""
    try:
        n = len(dataset)
    except TypeError as err:
        raise SeqImagingError(
            f"{type(dataset).__name__} has no len(); SequenceDataModule needs a map-style "
            f"dataset of samples"
        ) from err
    if n == 0:
        raise SeqImagingError(f"{type(dataset).__name__} is empty; expected samples to split")
    groups = getattr(dataset, "groups", None)
    labels = getattr(dataset, "labels", None)
    if groups is None:
        groups, found = [], []
        for i in range(n):
            sample = dataset[i]
            meta = sample.get("meta") or {}
            groups.append(meta.get("group", meta.get("id", i)))
            found.append(sample.get("label"))
        if labels is None and all(label is not None for label in found):
            labels = [int(label) for label in found]
    for name, values in [("groups", groups), ("labels", labels)]:
        if values is not None and len(values) != n:
            raise SeqImagingError(
                f"{type(dataset).__name__}.{name} has {len(values)} entries; expected one "
                f"per sample ({n})"
            )
    return list(groups), None if labels is None else list(labels)


def _check_counts(**counts: tuple[int, int]) -> None:
    """Every ``name=(value, least)`` an int of at least ``least``, else SeqImagingError."""
    for name, (value, least) in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise SeqImagingError(f"{name} must be an int of at least {least}, got {value!r}")


class SequenceDataModule(lightning.LightningDataModule):
    """Train / validation / test loaders of a sequence dataset, split by group.

    For users of Lightning and torchgeo: this is the ``LightningDataModule`` you would
    pass to ``Trainer.fit``. As in torchgeo's ``NonGeoDataModule``, ``setup`` makes the
    train / val / test datasets and the loaders use the project's collate function, but
    the dataset is passed as an object (``class_path``/``init_args`` in a LightningCLI
    YAML), and the split is by group (:func:`split_groups`): the dataset's ``groups`` and
    ``labels`` attributes when it has them (one entry per sample), else ``meta["group"]``
    (or ``meta["id"]``, or the index) and ``label`` of every sample, loaded once. A dataset
    with ``groups`` but no ``labels`` is split without stratification.

    Training batches come from a :class:`GroupSampler`, which shards over ranks itself;
    evaluation loaders are in order, sharded with ``DistributedSampler(shuffle=False)``
    over several ranks (which, as Lightning does, repeats up to ``world_size - 1``
    samples to even out the ranks). Under a distributed strategy pass
    ``Trainer(use_distributed_sampler=False)``: otherwise Lightning would wrap the group
    sampler in its own, and ``train_dataloader`` raises :class:`SeqImagingError`.

    Its :meth:`state_dict` (saved by Lightning in every checkpoint) is the epoch and the
    number of its batches already trained on, so a run resumed from a checkpoint taken
    in mid-epoch takes up the epoch's order where it stopped: with ``num_workers=0``, or
    data whose randomness comes from the loader's seeds only, it ends bit for bit where
    a run never stopped ends.

    Args:
        dataset: a map-style dataset of samples in the contract of :mod:`seqimaging.sample`.
        test_dataset: an official test split; if given, it is the test set and no test
            set is cut from ``dataset`` (``test_fraction`` is ignored).
        batch_size: samples per batch on each rank.
        num_workers: DataLoader worker processes (persistent when above 0).
        val_fraction: about this fraction of ``dataset`` is for validation; 0 for none.
        test_fraction: about this fraction of ``dataset`` is for testing; 0 for none.
        fold: test fold of the ``round(1 / test_fraction)``-fold cross-validation.
        samples_per_group: training samples drawn from each group per epoch (see
            :class:`GroupSampler`); ``None`` for every sample once.
        seed: seed of the split and of the training order.

    After :meth:`setup`, ``train_indices``, ``val_indices`` and ``test_indices`` hold the
    split as indices into ``dataset`` (``test_indices`` is empty with ``test_dataset``),
    and ``groups`` / ``labels`` what it was made from, for reporting.

    Example:
        >>> from seqimaging.testing import MovingShapes
        >>> dm = SequenceDataModule(MovingShapes(40), test_dataset=MovingShapes(8, seed=1))
        >>> dm.setup("fit")
        >>> len(dm.test_indices), len(dm.test_dataloader().dataset)
        (0, 8)
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        test_dataset: Dataset | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        fold: int = 0,
        samples_per_group: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        _check_counts(batch_size=(batch_size, 1), num_workers=(num_workers, 0), fold=(fold, 0))
        check_fractions(val_fraction, test_fraction)
        self.save_hyperparameters(ignore=["dataset", "test_dataset"])
        self.dataset, self.test_dataset = dataset, test_dataset
        self.batch_size, self.num_workers = batch_size, num_workers
        self.val_fraction, self.test_fraction, self.fold = val_fraction, test_fraction, fold
        self.samples_per_group, self.seed = samples_per_group, seed
        self.groups: list[Hashable] | None = None
        self.labels: list[Hashable] | None = None
        self.train_indices: np.ndarray | None = None
        self.val_indices: np.ndarray | None = None
        self.test_indices: np.ndarray | None = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self._resume: dict[str, int] | None = None

    def setup(self, stage: str | None = None) -> None:
        """Split ``dataset`` by group and make the subsets; later calls keep the first split."""
        if self.train_indices is not None:
            return
        self.groups, self.labels = _groups_and_labels(self.dataset)
        train, val, test = split_groups(
            self.groups,
            self.labels,
            val_fraction=self.val_fraction,
            test_fraction=0.0 if self.test_dataset is not None else self.test_fraction,
            fold=0 if self.test_dataset is not None else self.fold,
            seed=self.seed,
        )
        self.train_set = Subset(self.dataset, train.tolist())
        self.val_set = Subset(self.dataset, val.tolist())
        if self.test_dataset is not None:
            self.test_set = self.test_dataset
        elif len(test):
            self.test_set = Subset(self.dataset, test.tolist())
        self.train_indices, self.val_indices, self.test_indices = train, val, test

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches of the training groups, from a :class:`GroupSampler`."""
        self._setup_once()
        num_replicas, rank = self._replicas(training=True)
        sampler = GroupSampler(
            [self.groups[i] for i in self.train_indices],
            samples_per_group=self.samples_per_group,
            shuffle=True,
            seed=self.seed,
            num_replicas=num_replicas,
            rank=rank,
        )
        if self.trainer is not None:
            sampler.set_epoch(self.trainer.current_epoch)
        if self._resume is not None:  # once, in a run resumed from a checkpoint
            self._take_up(sampler, **self._resume)
            self._resume = None
        return self._loader(self.train_set, sampler)

    def val_dataloader(self) -> DataLoader:
        """Batches of the validation groups, in order (empty with ``val_fraction=0``)."""
        self._setup_once()
        return self._loader(self.val_set, self._eval_sampler(self.val_set))

    def test_dataloader(self) -> DataLoader:
        """Batches of the test set, in order."""
        self._setup_once()
        if self.test_set is None:
            raise SeqImagingError(
                "there is no test set: test_fraction is 0 and no test_dataset was given; "
                "pass test_fraction > 0 or test_dataset"
            )
        return self._loader(self.test_set, self._eval_sampler(self.test_set))

    def predict_dataloader(self) -> DataLoader:
        """Batches of the test set, in order, for ``Trainer.predict``."""
        return self.test_dataloader()

    def _setup_once(self) -> None:
        if self.train_indices is None:
            self.setup()

    def _replicas(self, training: bool) -> tuple[int, int]:
        """``(world_size, global_rank)`` of the attached trainer, ``(1, 0)`` without one."""
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        connector = getattr(trainer, "_accelerator_connector", None)
        wraps = getattr(connector, "use_distributed_sampler", False)
        if training and wraps and getattr(connector, "is_distributed", False):
            raise SeqImagingError(
                "SequenceDataModule shards training batches with its own GroupSampler, but the "
                "Trainer runs a distributed strategy with use_distributed_sampler=True and "
                "would wrap that sampler in a DistributedSampler (each rank would see a "
                "subset of its own shard); pass Trainer(use_distributed_sampler=False)"
            )
        return trainer.world_size, trainer.global_rank

    def _eval_sampler(self, dataset: Dataset) -> Sampler[int] | None:
        num_replicas, rank = self._replicas(training=False)
        if num_replicas == 1:
            return None
        return DistributedSampler(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)

    def state_dict(self) -> dict[str, int]:
        """Where training stands in its epoch, saved by Lightning with each checkpoint."""
        trainer = self.trainer
        if trainer is None or trainer.state.fn != "fit":
            return {}
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        return {"epoch": trainer.current_epoch, "batches": done}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Take up training where the checkpoint was taken, in mid-epoch too."""
        self._resume = dict(state_dict) or None

    def _take_up(self, sampler: GroupSampler, epoch: int, batches: int) -> None:
        """Point ``sampler`` after the ``batches`` of ``epoch`` already trained on."""
        if batches < math.ceil(len(sampler) / self.batch_size):
            sampler.set_epoch(epoch)
            sampler.resume_at(batches * self.batch_size)
        else:  # the checkpoint closed the epoch
            sampler.set_epoch(epoch + 1)

    def _loader(self, dataset: Dataset, sampler: Sampler[int] | None) -> DataLoader:
        """A loader whose worker seeds come from the sampler's or a fixed generator, never
        from the global random state (which then stays the model's alone)."""
        generator = getattr(sampler, "generator", None)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate,
            persistent_workers=self.num_workers > 0,
            generator=generator or torch.Generator().manual_seed(self.seed),
        )


def sample_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool = False, seed: int = 0
) -> DataLoader:
    """Batches of ``dataset``'s samples (:func:`~seqimaging.sample.collate`) drawn with the
    loader's own generator, seeded with ``seed``, never the global random state: a
    validation loader opened between training epochs then leaves the training's batch
    order, and the model's random draws, as they were."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(seed),
    )


class InMemory(Dataset):
    """Every sample of ``dataset``, built once and kept: for small data without augmentation.

    Reading and resampling a cine or cutting a window can cost more than a training step;
    this pays it once. ``labels``, ``groups``, ``class_names`` and ``data_settings`` are
    passed through when the dataset has them.

    Args:
        dataset: a map-style dataset of samples.
        workers: processes that build the samples side by side (a DataLoader's
            workers); 0 builds them in this one. The samples, and their order, are the
            same either way; an error raised for a sample keeps its type and message.
    """

    def __init__(self, dataset: Dataset, workers: int = 0) -> None:
        if workers:
            loader = DataLoader(dataset, batch_size=None, num_workers=workers, collate_fn=_as_is)
            self.samples = [_owned(sample) for sample in loader]
        else:
            self.samples = [dataset[i] for i in range(len(dataset))]
        for name in ("labels", "groups", "class_names", "data_settings"):
            setattr(self, name, getattr(dataset, name, None))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        return self.samples[index]


def _as_is(sample: dict) -> dict:
    return sample


def _owned(sample: dict) -> dict:
    """``sample`` with its tensors copied out of the shared memory a worker sent them in
    (each kept shared tensor would hold a file descriptor open)."""
    return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in sample.items()}
