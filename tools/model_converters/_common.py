"""Shared by the weight converters: the target model's shapes and the report."""

import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401
except ImportError:
    sys.path.insert(0, ROOT)

import shmatting  # noqa: E402,F401
from shmatting.config import Config  # noqa: E402

DEFAULT_CONFIG = osp.join(ROOT, 'configs', '_base_', 'models', 'shm_mobilenetv2.py')


def expected_shapes(config=DEFAULT_CONFIG):
    """Parameter name -> shape of the model described by ``config``."""
    import mindspore as ms

    from shmatting.models import build_model

    ms.set_context(mode=ms.PYNATIVE_MODE)
    cfg = Config.fromfile(config)
    model_cfg = cfg.model.to_dict()
    model_cfg['init_cfg'] = []  # shapes only: skip the random init
    model = build_model(model_cfg)
    return {p.name: tuple(p.shape) for p in model.get_parameters()}


def print_report(report, dropped=()):
    if report['optimizer']:
        print(
            f'stripped {len(report["optimizer"])} optimizer keys '
            f'(e.g. {", ".join(report["optimizer"][:3])})'
        )
    if report['prefixes']:
        print(f'stripped wrapper prefixes: {", ".join(report["prefixes"])}')
    if report['other']:
        print(
            f'ignored {len(report["other"])} non-tensor entries ({", ".join(report["other"][:5])})'
        )
    if dropped:
        print(f'dropped {len(dropped)} keys the model does not use (e.g. {", ".join(dropped[:3])})')
