"""Shared by the offline inference flow: file names and the export sidecar."""

import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401
except ImportError:
    sys.path.insert(0, ROOT)


def load_sidecar(path):
    """The JSON written next to an exported model (``<model>.json``), checked."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'sidecar not found: {path} (tools/export_mindir.py writes '
            '<model file>.json next to the model)'
        )
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
        meta['input']['shape']
    except (ValueError, KeyError, TypeError):
        raise ValueError(f'{path} is not the JSON sidecar tools/export_mindir.py writes') from None
    return meta


def sample_name(index, rel):
    """``matting_{i:04d}_{basename}`` as the model zoo's preprocess.py names its files."""
    return f'matting_{index:04d}_{osp.basename(rel)}'
