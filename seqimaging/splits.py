"""Group-aware splits and sampling, without Lightning: the level below the datasets.

Frames of one patient, or patches of one region, are strongly correlated: a model
evaluated on a patient it was trained on looks better than it is. So everything here
works on *groups* (``meta["group"]`` of the sample contract, :mod:`seqimaging.sample`):

- :func:`split_groups` splits indices into train / validation / test with no group in
  two parts, stratified by label, as k-fold cross-validation over groups;
- :class:`GroupSampler` orders training samples, optionally drawing the same number from
  every group each epoch, and shards that order over distributed ranks by itself.

:class:`seqimaging.data.SequenceDataModule` ties them to Lightning.
"""

import math
import warnings
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import StratifiedGroupKFold
from torch.utils.data import Sampler

from seqimaging.errors import SeqImagingError

__all__ = ["GroupSampler", "check_fractions", "group_folds", "split_groups"]


def _encode(values: Sequence[Any], name: str) -> np.ndarray:
    """Integer codes of ``values`` (ids, labels) in order of first appearance."""
    if isinstance(values, torch.Tensor | np.ndarray):
        values = values.tolist()
    codes: dict[Hashable, int] = {}
    try:
        return np.fromiter(
            (
                codes.setdefault(
                    v.item() if isinstance(v, torch.Tensor | np.generic) else v, len(codes)
                )
                for v in values
            ),
            dtype=np.int64,
            count=len(values),
        )
    except TypeError as err:
        raise SeqImagingError(
            f"{name} must be a sequence of hashable ids (str, int, ...): {err}"
        ) from err


def _folds(fraction: float, remainder: float, what: str) -> int:
    """How many folds make one fold about ``fraction`` of the data, given ``remainder`` of it."""
    folds = round(remainder / fraction)
    if folds < 2:
        raise SeqImagingError(
            f"{what} is {fraction} of the data, which leaves fewer than 2 folds of the "
            f"{remainder:g} it is taken from; expected at most {remainder / 1.5:.3g}"
        )
    return folds


def _fold(codes: np.ndarray, labels: np.ndarray, folds: int, fold: int, seed: int, what: str):
    """Indices (into ``codes``) of stratified group fold ``fold`` of ``folds``, and the rest."""
    n_groups = len(np.unique(codes))
    if n_groups < folds:
        raise SeqImagingError(
            f"the {what} needs {folds} folds of groups but there are only {n_groups} groups; "
            f"use fewer folds (a larger fraction), or more groups"
        )
    if np.bincount(labels).max() < folds:  # no class fills every fold: nothing to balance
        labels = np.zeros_like(labels)
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class in y has only n members": stratification is then
        # approximate; the group guarantee holds regardless.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        rest, chosen = list(splitter.split(codes, labels, codes))[fold]
    if len(chosen) == 0:
        raise SeqImagingError(
            f"fold {fold} of the {what} came out empty ({n_groups} groups in {folds} folds); "
            f"use fewer folds or more groups"
        )
    return chosen, rest


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Both fractions in ``[0, 1)`` and leaving training data, else :class:`SeqImagingError`."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1):
        raise SeqImagingError(
            f"val_fraction and test_fraction must be in [0, 1), got {val_fraction} and "
            f"{test_fraction}"
        )
    if val_fraction + test_fraction >= 1:
        raise SeqImagingError(
            f"val_fraction + test_fraction must be below 1 to leave training data, got "
            f"{val_fraction} + {test_fraction}"
        )


def split_groups(
    groups: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    fold: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split sample indices into train / validation / test with every group in one part only.

    The test set is fold ``fold`` of ``k = round(1 / test_fraction)`` stratified group
    folds (scikit-learn's ``StratifiedGroupKFold(k, shuffle=True, random_state=seed)``),
    so ``fold = 0 .. k-1`` is k-fold cross-validation whose test sets partition the
    groups. The validation set is the first of ``round((1 - test_fraction) /
    val_fraction)`` stratified group folds of the rest. Stratification balances the label
    frequencies between parts as far as whole groups allow (not at all where every
    class has fewer samples than there are folds).

    Args:
        groups: one group id per sample (patient, region, scene): any hashable.
        labels: one class label per sample to stratify on, or ``None`` for none.
        val_fraction: about this fraction of the data is for validation; 0 for none.
        test_fraction: about this fraction is for testing; 0 for none.
        fold: which of the test folds is the test set, ``0 <= fold < round(1 / test_fraction)``.
        seed: seed of the group shuffling; the same arguments give the same split.

    Returns:
        ``(train, val, test)``: sorted int64 index arrays that partition ``range(len(groups))``.

    Raises:
        SeqImagingError: fractions or fold out of range, lengths that differ, or fewer
            groups than folds.

    Example:
        >>> groups = [f"patient-{i // 3}" for i in range(30)]  # 10 patients, 3 slices each
        >>> train, val, test = split_groups(groups, val_fraction=0.2, test_fraction=0.2)
        >>> len(train), len(val), len(test)
        (18, 6, 6)
    """
    check_fractions(val_fraction, test_fraction)
    codes = _encode(groups, "groups")
    y = np.zeros(len(codes), dtype=np.int64) if labels is None else _encode(labels, "labels")
    if len(y) != len(codes):
        raise SeqImagingError(f"got {len(codes)} groups but {len(y)} labels; expected one each")
    everything = np.arange(len(codes))
    empty = np.zeros(0, dtype=np.int64)

    test = empty
    rest = everything
    if test_fraction > 0:
        folds = _folds(test_fraction, 1.0, "test_fraction")
        if not 0 <= fold < folds:
            raise SeqImagingError(
                f"fold must be in [0, {folds}) for test_fraction={test_fraction} "
                f"({folds} folds), got {fold}"
            )
        test, rest = _fold(codes, y, folds, fold, seed, "test split")
    elif fold != 0:
        raise SeqImagingError(f"fold={fold} needs test_fraction > 0 (there are no test folds)")

    val = empty
    if val_fraction > 0:
        folds = _folds(val_fraction, 1.0 - test_fraction, "val_fraction")
        chosen, kept = _fold(codes[rest], y[rest], folds, 0, seed, "validation split")
        val, rest = rest[chosen], rest[kept]
    return np.sort(rest), np.sort(val), np.sort(test)


def group_folds(
    groups: Sequence[Hashable], labels: Sequence[Hashable] | None, folds: int, *, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` indices of each fold of a ``folds``-fold cross-validation over groups.

    The test sets are the stratified group folds of :func:`split_groups` (no validation
    set), so they partition the samples and no group is in two of them.

    Example:
        >>> groups = [f"patient-{i // 2}" for i in range(12)]
        >>> [len(test) for _, test in group_folds(groups, None, 3)]
        [4, 4, 4]
    """
    return [
        (train, test)
        for train, _, test in (
            split_groups(
                groups, labels, val_fraction=0, test_fraction=1 / folds, fold=fold, seed=seed
            )
            for fold in range(folds)
        )
    ]


class GroupSampler(Sampler[int]):
    """Sample indices group-aware and shard them over distributed ranks by itself.

    ``samples_per_group=None`` yields every index once per epoch. An int ``k`` instead
    yields ``k`` indices of every group per epoch, so that large groups (a patient with
    many slices, a region with many patches) do not dominate training: without
    replacement where the group has at least ``k`` members, else each member ``k // n`` or
    ``k // n + 1`` times. With ``shuffle`` the draws and their order are random, from a
    generator seeded with ``seed + epoch`` (:meth:`set_epoch`; Lightning calls it at the
    start of every epoch); without, the epoch is the groups' first ``k`` members, group by
    group in order of first appearance.

    Like ``torch.utils.data.DistributedSampler``, every rank builds the same global order,
    pads it by wrapping around (or, with ``drop_last``, cuts it) to a multiple of
    ``num_replicas``, and rank ``r`` takes elements ``r, r + num_replicas, ...``. So with a
    per-rank batch size ``b`` on ``W`` ranks, the ranks' ``i``-th batches together are the
    ``i``-th batch of size ``W·b`` of the single-process order. With
    ``samples_per_group=None`` and ``shuffle`` the order is ``DistributedSampler``'s.

    Under Lightning this sampler replaces ``DistributedSampler``: pass
    ``Trainer(use_distributed_sampler=False)``, or Lightning would wrap it in another one.

    Args:
        groups: the group id of every index of the dataset being sampled.
        samples_per_group: indices drawn from every group per epoch; ``None`` for all.
        shuffle: random draws and order; else a fixed order.
        seed: seed of the shuffling; the same on every rank.
        num_replicas: number of distributed ranks (world size).
        rank: this process's rank, ``0 <= rank < num_replicas``.
        drop_last: cut the order to a multiple of ``num_replicas`` instead of padding it.

    Example:
        >>> sampler = GroupSampler(["a", "a", "a", "a", "b"], samples_per_group=2)
        >>> sorted(sampler.groups[i] for i in sampler)
        ['a', 'a', 'b', 'b']
    """

    def __init__(
        self,
        groups: Sequence[Hashable],
        *,
        samples_per_group: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        drop_last: bool = False,
    ) -> None:
        if samples_per_group is not None and (
            not isinstance(samples_per_group, int) or samples_per_group < 1
        ):
            raise SeqImagingError(
                f"samples_per_group must be a positive int or None, got {samples_per_group!r}"
            )
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise SeqImagingError(f"num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise SeqImagingError(f"rank must be in [0, {num_replicas}), got {rank!r}")
        self.groups, self.samples_per_group = list(groups), samples_per_group
        self.shuffle, self.seed = shuffle, seed
        self.num_replicas, self.rank, self.drop_last = num_replicas, rank, drop_last
        self.generator = torch.Generator()
        self._start = 0
        self.set_epoch(0)
        codes = _encode(self.groups, "groups")
        # indices sorted by group (stable: index order within a group), and group sizes
        self._by_group = np.argsort(codes, kind="stable")
        self._codes = codes
        self._counts = np.bincount(codes) if len(codes) else np.zeros(0, dtype=np.int64)
        per_epoch = (
            len(codes) if samples_per_group is None else len(self._counts) * samples_per_group
        )
        if drop_last:
            self.num_samples = per_epoch // num_replicas
        else:
            self.num_samples = math.ceil(per_epoch / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch``; call it before each epoch (Lightning does).

        It also reseeds :attr:`generator` from ``(seed, epoch)``. Given to the DataLoader
        (``DataLoader(..., sampler=s, generator=s.generator)``), it is where the loader
        draws its workers' seeds, instead of the global random state: each epoch's data
        then depends on the seed and the epoch only, so a run resumed from a checkpoint
        sees the same data as one never stopped.
        """
        self.epoch = epoch
        self.generator.manual_seed(
            int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0])
        )

    def global_order(self) -> np.ndarray:
        """This epoch's order of all ranks together, before padding and sharding."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self._codes)
        k = self.samples_per_group
        if k is None:
            if self.shuffle:
                return torch.randperm(n, generator=generator).numpy()
            return np.arange(n)
        by_group = self._by_group
        if self.shuffle:  # a random order within each group
            keys = torch.rand(n, generator=generator, dtype=torch.float64).numpy()
            by_group = np.lexsort((keys, self._codes))
        starts = np.cumsum(self._counts) - self._counts
        picks = starts[:, None] + np.arange(k)[None, :] % self._counts[:, None]
        order = by_group[picks.ravel()]
        if self.shuffle:
            order = order[torch.randperm(len(order), generator=generator).numpy()]
        return order

    def resume_at(self, position: int) -> None:
        """Begin the next iteration at this rank's ``position``-th index of the epoch.

        A run resumed from a checkpoint taken in mid-epoch so takes up the epoch's order
        where it stopped; later iterations start at the beginning again.
        """
        if not 0 <= position <= self.num_samples:
            raise SeqImagingError(
                f"resume_at({position}): the epoch has {self.num_samples} indices on this rank"
            )
        self._start = position

    def __iter__(self) -> Iterator[int]:
        start, self._start = self._start, 0
        order = self.global_order()
        size = self.num_samples * self.num_replicas
        if size == 0:
            return iter([])
        order = np.resize(order, size)  # wraps around to pad, or cuts
        return iter(order[self.rank :: self.num_replicas][start:].tolist())

    def __len__(self) -> int:
        return self.num_samples
