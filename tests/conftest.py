"""Test-wide setup: the package import sets the oneDNN ISA cap before MindSpore runs any op."""

import os
import sys

import pytest

import shmatting  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# No MindSpore compile cache in tests: a cache left by an earlier run of changed code returned a
# graph with the wrong outputs here (MS_COMPILER_CACHE_ENABLE=1, MindSpore 2.10).
os.environ['MS_COMPILER_CACHE_ENABLE'] = '0'


@pytest.fixture
def repo_root():
    """Absolute path of the repository root."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """24 synthetic 64x80 portraits, prepared (train 14 / val 4 / test 6 by the 6:2:2 rule)."""
    from tests.helpers import make_tiny_data

    return make_tiny_data(tmp_path_factory)
