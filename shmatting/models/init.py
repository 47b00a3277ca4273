"""Weight initialisation by ``init_cfg``: PyTorch's default init and loading a checkpoint.

``dict(type='TorchDefault')`` reproduces ``torch.nn`` defaults, which the model zoo's numbers
started from (its ``init_weight.ckpt`` was converted from an untrained PyTorch model): convolution
weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5)), BatchNorm
gamma=1, beta=0, moving mean 0 and variance 1. Draws come from MindSpore's global seed
(``ms.set_seed``).

``dict(type='Pretrained', checkpoint='x.ckpt', prefix='tnet.')`` loads the checkpoint's parameters
whose names start with ``prefix`` (all when None) into the same names of the model.
"""

import math

import numpy as np
from mindspore import nn
from mindspore.common.initializer import Constant, Uniform, initializer

from .layers.deconv import ConvTranspose2dK5S2

__all__ = ['init_torch_default', 'load_pretrained', 'apply_init_cfg', 'INITIALIZERS']


def _uniform_(param, bound):
    param.set_data(initializer(Uniform(bound), param.shape, param.dtype))


def init_torch_default(cell):
    """Initialise every conv, transposed conv, dense and BatchNorm layer inside ``cell`` as PyTorch.

    Args:
        cell (nn.Cell): the network (modified in place).
    """
    for _, sub in cell.cells_and_names():
        if isinstance(sub, nn.Conv2dTranspose):
            shape = sub.weight.shape  # (in, out/g, k, k): torch's fan_in uses dim 1
            bound = 1.0 / math.sqrt(shape[1] * int(np.prod(shape[2:])))
            _uniform_(sub.weight, bound)
            if sub.bias is not None:
                _uniform_(sub.bias, bound)
        elif isinstance(sub, nn.Conv2d):
            shape = sub.weight.shape  # (out, in/g, k, k)
            bound = 1.0 / math.sqrt(int(np.prod(shape[1:])))
            _uniform_(sub.weight, bound)
            if sub.bias is not None:
                _uniform_(sub.bias, bound)
        elif isinstance(sub, ConvTranspose2dK5S2):
            shape = sub.weight.shape
            _uniform_(sub.weight, 1.0 / math.sqrt(shape[1] * int(np.prod(shape[2:]))))
        elif isinstance(sub, nn.Dense):
            bound = 1.0 / math.sqrt(sub.weight.shape[1])
            _uniform_(sub.weight, bound)
            if sub.bias is not None:
                _uniform_(sub.bias, bound)
        elif isinstance(sub, (nn.BatchNorm2d, nn.BatchNorm1d)):
            for name, value in (
                ('gamma', 1.0),
                ('beta', 0.0),
                ('moving_mean', 0.0),
                ('moving_variance', 1.0),
            ):
                p = getattr(sub, name)
                p.set_data(initializer(Constant(value), p.shape, p.dtype))


def load_pretrained(cell, checkpoint, prefix=None, strict=False, logger=None):
    """Load parameters from a checkpoint file into ``cell`` by name.

    Args:
        cell (nn.Cell): the network.
        checkpoint (str): a MindSpore ``.ckpt`` path.
        prefix (str, optional): only load keys starting with it (e.g. ``'tnet.'``).
        strict (bool): raise when a model parameter under ``prefix`` is missing from the file.
        logger (logging.Logger, optional): where the load report goes.

    Returns:
        tuple[list, list]: (model parameters not loaded, checkpoint keys not used), under prefix.
    """
    import os

    import mindspore as ms

    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f'Pretrained: checkpoint not found: {checkpoint}')
    params = ms.load_checkpoint(checkpoint)
    model_names = {p.name for p in cell.get_parameters()}
    selected = {k: v for k, v in params.items() if prefix is None or k.startswith(prefix)}
    usable = {k: v for k, v in selected.items() if k in model_names}
    for key, value in usable.items():
        target = dict(cell.parameters_and_names())[key]
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(
                f'Pretrained: {checkpoint}: {key} has shape {tuple(value.shape)} '
                f'but the model expects {tuple(target.shape)}'
            )
    ms.load_param_into_net(cell, usable)
    missing = sorted(
        n for n in model_names if (prefix is None or n.startswith(prefix)) and n not in usable
    )
    unexpected = sorted(k for k in selected if k not in model_names)
    if strict and missing:
        raise KeyError(
            f'Pretrained: {checkpoint} lacks {len(missing)} parameters, e.g. {missing[:5]}'
        )
    if logger is not None:
        logger.info(
            f'Loaded {len(usable)} tensors from {checkpoint} (prefix {prefix!r}); '
            f'missing {len(missing)}, unexpected {len(unexpected)}'
        )
    return missing, unexpected


INITIALIZERS = {
    'TorchDefault': lambda cell, **kw: init_torch_default(cell, **kw),
    'Pretrained': lambda cell, **kw: load_pretrained(cell, **kw),
}


def apply_init_cfg(cell, init_cfg, logger=None):
    """Apply one or several ``init_cfg`` dicts to ``cell`` in order.

    Args:
        cell (nn.Cell): the network.
        init_cfg (dict | list[dict] | None): e.g. ``dict(type='TorchDefault')``.
        logger (logging.Logger, optional): passed to ``Pretrained``.
    """
    if init_cfg is None:
        return
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for cfg in cfgs:
        cfg = dict(cfg)
        kind = cfg.pop('type', None)
        if kind not in INITIALIZERS:
            raise KeyError(f'init_cfg type {kind!r} is unknown; use one of {sorted(INITIALIZERS)}')
        if kind == 'Pretrained':
            cfg.setdefault('logger', logger)
        INITIALIZERS[kind](cell, **cfg)
