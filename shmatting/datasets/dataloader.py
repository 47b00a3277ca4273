"""Samplers and the data loader (``mindspore.dataset.GeneratorDataset`` underneath).

Sharding is done here, not with ``GeneratorDataset(num_shards=...)`` (which pads by repeating
samples): the training order is a permutation drawn from ``(seed, epoch)`` and cut so every rank
gets the same number of batches; evaluation takes ``indices[rank::world]`` without padding. A
resumed run calls ``set_epoch(k)`` and sees exactly the order and augmentations of an uninterrupted
run.
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
        samples_per_device (int): samples per device and step.
        seed (int): the run's seed (identical on every rank).
        shuffle (bool): permute per epoch.
        rank (int): this rank.
        world_size (int): number of ranks.
        drop_last (bool): drop the incomplete last batch (else wrap around to fill it, like
            ``DistributedSampler``).
    """

    def __init__(
        self,
        num_samples,
        samples_per_device,
        seed=0,
        shuffle=True,
        rank=0,
        world_size=1,
        drop_last=True,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is outside world size {world_size}')
        self.num_samples, self.samples_per_device = int(num_samples), int(samples_per_device)
        self.seed, self.shuffle = int(seed), shuffle
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        if drop_last:
            self.num_batches = (self.num_samples // world_size) // self.samples_per_device
            if self.num_batches == 0:
                raise ValueError(
                    f'{num_samples} samples give no full batch of {samples_per_device} on '
                    f'{world_size} device(s); lower samples_per_device or set '
                    'drop_last=False'
                )
            self.per_rank = self.num_batches * self.samples_per_device
        else:
            self.per_rank = math.ceil(self.num_samples / world_size)
            self.num_batches = math.ceil(self.per_rank / self.samples_per_device)

    def indices(self, epoch):
        """Sample indices of this rank for ``epoch`` (a function of seed and epoch only)."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, int(epoch)]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        total = self.per_rank * self.world_size
        if total > len(order):
            order = np.concatenate([order, order[: total - len(order)]])
        return order[:total][self.rank :: self.world_size]

    def __len__(self):
        return self.num_batches


class EvalSampler:
    """``indices[rank::world]``: every sample exactly once over the ranks, no padding."""

    def __init__(self, num_samples, rank=0, world_size=1):
        self.num_samples, self.rank, self.world_size = int(num_samples), rank, world_size
        self.samples_per_device = 1
        self.num_batches = len(range(rank, self.num_samples, world_size))

    def indices(self, epoch=0):
        return np.arange(self.num_samples)[self.rank :: self.world_size]

    def __len__(self):
        return self.num_batches


class _EpochSource:
    """Random-access source over one epoch's indices, for ``GeneratorDataset``.

    Training (``substitute=True``) replaces a sample that cannot be read by the next index, warns
    and counts it (``skipped``). Evaluation never does: the row carries the reason in ``error``
    (empty when the sample is fine) and zero-size arrays, and the evaluator leaves it out.
    """

    def __init__(self, dataset, indices, epoch, seed, keys, substitute=True):
        self.dataset, self.indices = dataset, np.asarray(indices)
        self.epoch, self.seed, self.keys = epoch, seed, keys
        self.substitute = substitute

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, j):
        index = int(self.indices[j])
        if not self.substitute:
            return self._eval_row(index)
        n = len(self.dataset)
        for skipped in range(MAX_SUBSTITUTES):
            try:
                sample = self.dataset.get_sample((index + skipped) % n, self.epoch, self.seed)
                inputs = sample['inputs']
                break
            except DATA_ERRORS as exc:
                logger.warning(f'skipping corrupt sample {(index + skipped) % n}: {exc}')
        else:
            raise RuntimeError(
                f'{MAX_SUBSTITUTES} consecutive corrupt samples from index {index}; '
                'check the dataset'
            )
        return tuple(inputs[k] for k in self.keys) + (
            np.array(sample['index'], np.int64),
            np.array(skipped, np.int32),
        )

    def _eval_row(self, index):
        try:
            inputs = self.dataset.get_sample(index, self.epoch, self.seed)['inputs']
            error = b''
        except DATA_ERRORS as exc:
            inputs = {k: np.zeros(0, np.int32 if k == 'trimap' else np.float32) for k in self.keys}
            error = str(exc).encode('utf-8', 'replace') or type(exc).__name__.encode()
        return tuple(inputs[k] for k in self.keys) + (
            np.array(index, np.int64),
            np.frombuffer(error, np.uint8).copy(),
        )


class DataLoader:
    """Batches of one rank as dicts of numpy arrays; ``set_epoch`` selects order and augmentation.

    Args:
        dataset: a dataset with ``get_sample(index, epoch, seed)`` returning ``inputs``.
        sampler (TrainSampler | EvalSampler): the rank's indices per epoch.
        keys (tuple[str]): the packed columns (as ``PackInputs(keys=...)``).
        workers (int): data worker processes (0: load in the main process).
        seed (int): the run's seed.
        drop_last (bool): drop an incomplete last batch.
        mode (str): ``'train'`` (a sample that cannot be read is replaced by the next index,
            warned about and counted in ``skipped`` / :attr:`num_skipped`) or ``'eval'`` (never
            replaced: the batch holds ``error``, the reason, instead of the sample's arrays).

    Each batch also holds ``index`` (sample indices).
    """

    def __init__(self, dataset, sampler, keys, workers=0, seed=0, drop_last=True, mode='train'):
        if mode not in ('train', 'eval'):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        self.dataset, self.sampler, self.keys = dataset, sampler, tuple(keys)
        self.samples_per_device = sampler.samples_per_device
        self.workers = max(0, min(int(workers), os.cpu_count() or 1))
        if self.workers != workers:
            logger.info(f'data workers clamped from {workers} to {self.workers} (CPU count)')
        self.seed, self.drop_last, self.mode = int(seed), drop_last, mode
        self.epoch = 0
        self.num_skipped = 0

    def set_epoch(self, epoch):
        """Select the epoch whose order and augmentations the next iteration produces."""
        self.epoch = int(epoch)

    def __len__(self):
        return len(self.sampler)

    @property
    def columns(self):
        """list[str]: the batch keys: the packed keys, ``index`` and ``skipped`` or ``error``."""
        return list(self.keys) + ['index', 'skipped' if self.mode == 'train' else 'error']

    def _batches_in_process(self, source):
        n, size = len(source), self.samples_per_device
        end = (n // size) * size if self.drop_last else n
        for start in range(0, end, size):
            rows = [source[j] for j in range(start, min(start + size, end))]
            yield [np.stack(col) for col in zip(*rows)]

    def _batches_with_workers(self, source):
        import mindspore.dataset as ds

        data = ds.GeneratorDataset(
            source,
            column_names=self.columns,
            shuffle=False,
            num_parallel_workers=self.workers,
            python_multiprocessing=True,
        )
        data = data.batch(self.samples_per_device, drop_remainder=self.drop_last)
        for row in data.create_tuple_iterator(num_epochs=1, output_numpy=True):
            yield row

    def __iter__(self):
        indices = self.sampler.indices(self.epoch)
        source = _EpochSource(
            self.dataset, indices, self.epoch, self.seed, self.keys, substitute=self.mode == 'train'
        )
        batches = (
            self._batches_with_workers(source)
            if self.workers > 0
            else self._batches_in_process(source)
        )
        for cols in batches:
            batch = dict(zip(self.columns, cols))
            if self.mode == 'eval':
                yield _eval_batch(batch, self.keys)
                continue
            skipped = int(np.sum(batch['skipped']))
            if skipped:
                self.num_skipped += skipped
                logger.warning(
                    f'{skipped} corrupt sample(s) replaced in this batch '
                    f'({self.num_skipped} so far)'
                )
            yield batch


def _eval_batch(batch, keys):
    """An eval batch of one: the error text replaces the sample's (empty) arrays."""
    error = np.asarray(batch.pop('error')).reshape(-1).astype(np.uint8).tobytes()
    if not error:
        return batch
    return {'index': batch['index'], 'error': error.decode('utf-8', 'replace')}


def build_dataloader(
    dataset,
    samples_per_device=1,
    workers=0,
    shuffle=True,
    seed=0,
    rank=0,
    world_size=1,
    drop_last=True,
    mode='train',
    keys=None,
):
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
        sampler = TrainSampler(
            len(dataset), samples_per_device, seed, shuffle, rank, world_size, drop_last
        )
    elif mode == 'eval':
        sampler = EvalSampler(len(dataset), rank, world_size)
        drop_last = False
    else:
        raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
    return DataLoader(dataset, sampler, keys, workers, seed, drop_last, mode)


def _pack_keys(dataset):
    from .transforms import PackInputs

    for t in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        if isinstance(t, PackInputs):
            return t.keys
    raise ValueError('the dataset pipeline has no PackInputs; pass keys= to build_dataloader')
