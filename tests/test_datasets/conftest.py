import os
import shutil

import pytest

from shmatting.datasets.synthetic import write_synthetic_dataset


@pytest.fixture(scope='session')
def raw_synthetic(tmp_path_factory):
    """20 small synthetic portraits in the raw AISegment layout (read-only by convention)."""
    root = str(tmp_path_factory.mktemp('raw') / 'raw')
    write_synthetic_dataset(root, num=20, size=(64, 80), seed=0, num_backgrounds=4, workers=1)
    return root


@pytest.fixture
def raw_copy(raw_synthetic, tmp_path):
    """A private copy of the raw tree that a test may add junk to."""
    dst = str(tmp_path / 'raw')
    shutil.copytree(raw_synthetic, dst)
    return dst


@pytest.fixture(scope='session')
def prepared(raw_synthetic, tmp_path_factory):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = str(tmp_path_factory.mktemp('prep') / 'prep')
    res = subprocess.run(
        [
            sys.executable,
            'tools/dataset_converters/human_matting.py',
            raw_synthetic,
            out,
            '--workers',
            '1',
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    return out
