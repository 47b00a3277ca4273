"""The README's main job: synthetic data -> prepare -> train T-Net -> train end to end -> test ->
export -> deploy flow, with the elapsed time of each stage and a final table.

Stages are added as the parts of the framework land; until training exists this script says so.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import shmatting  # noqa: E402,F401
from shmatting.utils import env_table  # noqa: E402


def main():
    print(env_table())
    print('The quick-start training job is not yet available: it lands with the engine issue '
          '(Runner, tools/train.py). Run the tests with the second Quick start command.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
