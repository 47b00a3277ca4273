"""Print the environment table: ``python tools/misc/collect_env.py``."""

import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import shmatting  # noqa: E402,F401  (sets the oneDNN ISA cap first)
from shmatting.utils import env_table  # noqa: E402

if __name__ == '__main__':
    print(env_table())
