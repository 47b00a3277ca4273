"""Test-wide setup: the package import sets the oneDNN ISA cap before MindSpore runs any op."""
import os
import sys
import tempfile

import pytest

import shmatting  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# MindSpore's compile cache in one temp dir for the whole session (GRAPH-mode tests recompile less).
_CACHE = os.environ.setdefault('MS_COMPILER_CACHE_PATH', os.path.join(tempfile.gettempdir(),
                                                                      'shmatting_test_ms_cache'))
os.environ.setdefault('MS_COMPILER_CACHE_ENABLE', '1')


@pytest.fixture
def repo_root():
    """Absolute path of the repository root."""
    return REPO_ROOT
