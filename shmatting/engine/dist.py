"""Distribution from the launcher: msrun (any device), an HCCL rank table (Ascend) or none.

The rank always comes from the launcher's communication group (``get_rank()``), never from
``DEVICE_ID``. On CPU, AllReduce supports SUM only; reductions of host values go through AllGather.
"""

import os

import numpy as np

__all__ = [
    'init_dist',
    'get_dist_info',
    'all_reduce_sum',
    'broadcast_from_rank0',
    'average_bn_statistics',
    'LAUNCHERS',
]

LAUNCHERS = ('none', 'msrun', 'rank_table')
_STATE = {'rank': 0, 'world_size': 1, 'launcher': 'none'}


def init_dist(launcher='none', device_target=None):
    """Join the launcher's process group and set data parallelism with gradient mean.

    Args:
        launcher (str): ``'none'``, ``'msrun'`` or ``'rank_table'``.
        device_target (str, optional): for ``'rank_table'`` the device is bound to ``DEVICE_ID``.

    Returns:
        tuple[int, int]: ``(rank, world_size)``.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none':
        _STATE.update(rank=0, world_size=1, launcher='none')
        return 0, 1
    import mindspore as ms
    from mindspore.communication import get_group_size, get_rank, init

    if launcher == 'rank_table':
        for var in ('RANK_TABLE_FILE', 'DEVICE_ID', 'RANK_ID', 'RANK_SIZE'):
            if var not in os.environ:
                raise RuntimeError(
                    f'--launcher rank_table needs ${var} (set by tools/dist_train.sh '
                    'when RANK_TABLE_FILE is given)'
                )
        ms.set_device(device_target or 'Ascend', int(os.environ['DEVICE_ID']))
    elif 'MS_ROLE' not in os.environ and 'RANK_TABLE_FILE' not in os.environ:
        raise RuntimeError(
            '--launcher msrun: this process was not started by msrun; use '
            'tools/dist_train.sh CONFIG N or --launcher none'
        )
    init()
    rank, size = get_rank(), get_group_size()
    ms.reset_auto_parallel_context()
    ms.set_auto_parallel_context(
        parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True, device_num=size
    )
    _STATE.update(rank=rank, world_size=size, launcher=launcher)
    return rank, size


def get_dist_info():
    """tuple[int, int]: ``(rank, world_size)`` of this process (``(0, 1)`` without a launcher)."""
    return _STATE['rank'], _STATE['world_size']


def all_reduce_sum(array):
    """Sum a numpy array over all ranks (a copy is returned; identity on one process)."""
    array = np.asarray(array)
    if _STATE['world_size'] == 1:
        return array.copy()
    import mindspore as ms
    from mindspore import ops

    # Collectives run in float32: each rank sends its float64 values as a high and a low float32
    # part through AllGather, and the sum is taken here in float64, in rank order, identically
    # on every rank (~14 significant digits; metric sums and seeds survive).
    value = array.astype(np.float64).reshape(-1)
    hi = value.astype(np.float32)
    lo = (value - hi.astype(np.float64)).astype(np.float32)
    gathered = ops.AllGather()(ms.Tensor(np.stack([hi, lo])[None])).asnumpy().astype(np.float64)
    total = (gathered[:, 0] + gathered[:, 1]).sum(axis=0).reshape(array.shape)
    return total.astype(array.dtype if array.dtype.kind == 'f' else np.float64)


def broadcast_from_rank0(value):
    """Every rank gets rank 0's value of a number (sum of rank 0's value and zeros)."""
    rank, world = get_dist_info()
    if world == 1:
        return value
    arr = np.array([value if rank == 0 else 0], np.float64)
    return type(value)(all_reduce_sum(arr)[0])


def average_bn_statistics(cell):
    """Average BatchNorm moving mean/variance over ranks so every rank holds the same model."""
    world = _STATE['world_size']
    if world == 1:
        return
    import mindspore as ms
    from mindspore import ops

    reduce = ops.AllReduce(ops.ReduceOp.SUM)
    for p in cell.get_parameters():
        if 'moving_mean' in p.name or 'moving_variance' in p.name:
            p.set_data(ms.Tensor(reduce(p.value()).asnumpy() / world))
