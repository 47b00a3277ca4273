"""Helpers for model tests."""

import numpy as np


def zoo_config(**overrides):
    """The zoo network's model config (from the base config file)."""
    import os

    from shmatting.config import Config

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = Config.fromfile(os.path.join(root, 'configs/_base_/models/shm_mobilenetv2.py')).model
    cfg = cfg.to_dict()
    cfg.update(overrides)
    return cfg


def randomize_bn_stats(model, seed=0):
    """Give every BatchNorm non-trivial moving statistics and affine parameters."""
    import mindspore as ms

    rng = np.random.default_rng(seed)
    for p in model.get_parameters():
        if p.name.endswith(('moving_mean', 'beta')):
            p.set_data(ms.Tensor(rng.normal(0, 0.1, p.shape).astype(np.float32)))
        elif p.name.endswith(('moving_variance', 'gamma')):
            p.set_data(ms.Tensor(rng.uniform(0.5, 1.5, p.shape).astype(np.float32)))


def make_input_sensitive(model, seed=0):
    """Random BatchNorm statistics, BatchNorm scales x2 and the last convolutions x10: an
    untrained network whose alpha spans [0, 1] and changes from image to image (std across the
    tiny test images 0.17 per pixel, against 0.0006 for plain random weights), so that a test
    comparing outputs can see a wrong image, a wrong normalisation or a wrong crop, while
    runtimes still agree to 2e-5 (larger scales make rounding differences explode)."""
    import mindspore as ms

    randomize_bn_stats(model, seed)
    for p in model.get_parameters():
        if p.name.endswith('.gamma'):
            p.set_data(ms.Tensor(p.asnumpy() * 2))
        elif p.name in ('mnet.head.conv.weight', 'tnet.head.last_conv.weight'):
            p.set_data(ms.Tensor(p.asnumpy() * 10))


def zoo_named_params(model):
    """shmatting parameters renamed to model-zoo names, as float64 numpy arrays."""
    from shmatting.models.converters import shm_to_zoo_name

    return {shm_to_zoo_name(p.name): p.asnumpy().astype(np.float64) for p in model.get_parameters()}


def zoo_param_shapes(path):
    """name -> shape from reference/zoo_param_names.txt."""
    shapes = {}
    with open(path) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            name, shape, _ = line.split('\t')
            shapes[name] = tuple(int(s) for s in shape.strip('[]').split(','))
    return shapes
