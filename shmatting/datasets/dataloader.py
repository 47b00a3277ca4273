"""Samplers and the data loader (``mindspore.dataset.GeneratorDataset`` underneath).

Sharding is done here, not with ``GeneratorDataset(num_shards=...)`` (which pads by repeating
samples): the training order is a permutation drawn from ``(seed, epoch)`` and cut so every rank gets
the same number of batches; evaluation takes ``indices[rank::world]`` without padding. A resumed
run calls ``set_epoch(k)`` and sees exactly the order and augmentations of an uninterrupted run.
"""
import logging
import math
import os

import numpy as np

from .transforms.loading import CorruptSampleError

__all__ = ['TrainSampler', 'EvalSampler', 'DataLoader', 'build_dataloader']

logger = logging.getLogger('shmatting')

# errors that mean "this sample's data is bad": skipped and counted, never fatal
DATA_ERRORS = (CorruptSampleError, OSError, ValueError)
MAX_SUBSTITUTES = 16


class TrainSampler:
    """Per-epoch order of the training samples of one rank.

    Args:
        num_samples (int): dataset length.
        batch_size (int): samples per device and step.
        seed (int): the run's seed (identical on every rank).
        shuffle (bool): permute per epoch.
        rank (int): this rank.
        world_size (int): number of ranks.
        drop_last (bool): drop the incomplete last batch (else wrap around to fill it, like
            ``DistributedSampler``).
    """

    def __init__(self, num_samples, batch_size, seed=0, shuffle=True, rank=0, world_size=1,
                 drop_last=True):
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is outside world size {world_size}')
        self.num_samples, self.batch_size = int(num_samples), int(batch_size)
        self.seed, self.shuffle = int(seed), shuffle
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        if drop_last:
            self.num_batches = (self.num_samples // world_size) // self.batch_size
            if self.num_batches == 0:
                raise ValueError(f'{num_samples} samples give no full batch of {batch_size} on '
                                 f'{world_size} device(s); lower samples_per_device or set '
                                 'drop_last=False')
            self.per_rank = self.num_batches * self.batch_size
        else:
            self.per_rank = math.ceil(self.num_samples / world_size)
            self.num_batches = math.ceil(self.per_rank / self.batch_size)

    def indices(self, epoch):
        """Sample indices of this rank for ``epoch`` (a function of seed and epoch only)."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, int(epoch)]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        total = self.per_rank * self.world_size
        if total > len(order):
            order = np.concatenate([order, order[:total - len(order)]])
        return order[:total][self.rank::self.world_size]

    def __len__(self):
        return self.num_batches


class EvalSampler:
    """``indices[rank::world]``: every sample exactly once over the ranks, no padding."""

    def __init__(self, num_samples, rank=0, world_size=1):
        self.num_samples, self.rank, self.world_size = int(num_samples), rank, world_size
        self.batch_size = 1
        self.num_batches = len(range(rank, self.num_samples, world_size))

    def indices(self, epoch=0):
        return np.arange(self.num_samples)[self.rank::self.world_size]

    def __len__(self):
        return self.num_batches


class _EpochSource:
    """Random-access source over one epoch's indices, for ``GeneratorDataset``."""

    def __init__(self, dataset, indices, epoch, seed, keys):
        self.dataset, self.indices = dataset, np.asarray(indices)
        self.epoch, self.seed, self.keys = epoch, seed, keys

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, j):
        index = int(self.indices[j])
        n = len(self.dataset)
        for skipped in range(MAX_SUBSTITUTES):
            try:
                sample = self.dataset.get_sample((index + skipped) % n, self.epoch, self.seed)
                inputs = sample['inputs']
                break
            except DATA_ERRORS as exc:
                logger.warning(f'skipping corrupt sample {(index + skipped) % n}: {exc}')
        else:
            raise RuntimeError(f'{MAX_SUBSTITUTES} consecutive corrupt samples from index {index}; '
                               'check the dataset')
        return tuple(inputs[k] for k in self.keys) + (np.array(sample['index'], np.int64),
                                                      np.array(skipped, np.int32))


class DataLoader:
    """Batches of one rank as dicts of numpy arrays; ``set_epoch`` selects order and augmentation.

    Args:
        dataset: a dataset with ``get_sample(index, epoch, seed)`` returning ``inputs``.
        sampler (TrainSampler | EvalSampler): the rank's indices per epoch.
        keys (tuple[str]): the packed columns (as ``PackInputs(keys=...)``).
        workers (int): data worker processes (0: load in the main process).
        seed (int): the run's seed.
        drop_last (bool): drop an incomplete last batch.

    Each batch also holds ``index`` (sample indices) and ``skipped`` (corrupt samples replaced);
    :attr:`num_skipped` counts them over the loader's life.
    """

    def __init__(self, dataset, sampler, keys, workers=0, seed=0, drop_last=True):
        self.dataset, self.sampler, self.keys = dataset, sampler, tuple(keys)
        self.batch_size = sampler.batch_size
        self.workers = max(0, min(int(workers), os.cpu_count() or 1))
        if self.workers != workers:
            logger.info(f'data workers clamped from {workers} to {self.workers} (CPU count)')
        self.seed, self.drop_last = int(seed), drop_last
        self.epoch = 0
        self.num_skipped = 0

    def set_epoch(self, epoch):
        """Select the epoch whose order and augmentations the next iteration produces."""
        self.epoch = int(epoch)

    def __len__(self):
        return len(self.sampler)

    def _batches_in_process(self, source):
        n = len(source)
        end = (n // self.batch_size) * self.batch_size if self.drop_last else n
        for start in range(0, end, self.batch_size):
            rows = [source[j] for j in range(start, min(start + self.batch_size, end))]
            yield [np.stack(col) for col in zip(*rows)]

    def _batches_with_workers(self, source):
        import mindspore.dataset as ds
        columns = list(self.keys) + ['index', 'skipped']
        data = ds.GeneratorDataset(source, column_names=columns, shuffle=False,
                                   num_parallel_workers=self.workers, python_multiprocessing=True)
        data = data.batch(self.batch_size, drop_remainder=self.drop_last)
        for row in data.create_tuple_iterator(num_epochs=1, output_numpy=True):
            yield row

    def __iter__(self):
        indices = self.sampler.indices(self.epoch)
        source = _EpochSource(self.dataset, indices, self.epoch, self.seed, self.keys)
        batches = self._batches_with_workers(source) if self.workers > 0 else \
            self._batches_in_process(source)
        for cols in batches:
            batch = dict(zip(list(self.keys) + ['index', 'skipped'], cols))
            skipped = int(np.sum(batch['skipped']))
            if skipped:
                self.num_skipped += skipped
                logger.warning(f'{skipped} corrupt sample(s) replaced in this batch '
                               f'({self.num_skipped} so far)')
            yield batch


def build_dataloader(dataset, samples_per_device=1, workers=0, shuffle=True, seed=0, rank=0,
                     world_size=1, drop_last=True, mode='train', keys=None):
    """Build the loader of one rank.

    Args:
        dataset: a :class:`MattingDataset`-like dataset.
        samples_per_device (int): batch size per device (evaluation uses 1).
        workers (int): worker processes (clamped to the CPU count; 0 = main process).
        shuffle (bool): shuffle per epoch (training).
        seed (int): the run's seed, identical on every rank.
        rank (int): this rank.
        world_size (int): number of ranks.
        drop_last (bool): drop incomplete batches (training).
        mode (str): ``'train'`` or ``'eval'`` (batch 1, ``indices[rank::world]``, no padding).
        keys (tuple[str], optional): packed columns; default: the dataset pipeline's
            ``PackInputs`` keys.

    Returns:
        DataLoader: the loader.
    """
    if keys is None:
        keys = _pack_keys(dataset)
    if mode == 'train':
        sampler = TrainSampler(len(dataset), samples_per_device, seed, shuffle, rank, world_size,
                               drop_last)
    elif mode == 'eval':
        sampler = EvalSampler(len(dataset), rank, world_size)
        drop_last = False
    else:
        raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
    return DataLoader(dataset, sampler, keys, workers, seed, drop_last)


def _pack_keys(dataset):
    from .transforms import PackInputs
    for t in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        if isinstance(t, PackInputs):
            return t.keys
    raise ValueError('the dataset pipeline has no PackInputs; pass keys= to build_dataloader')
