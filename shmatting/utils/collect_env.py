"""Facts about the software environment, logged at the start of every run."""

import os
import os.path as osp
import platform
import subprocess
import sys
from collections import OrderedDict

__all__ = ['collect_env', 'get_git_hash', 'env_table']


def get_git_hash(digits=7):
    """Return the git commit of the shmatting source tree (``'unknown'`` outside a checkout).

    Args:
        digits (int): length of the abbreviated hash.

    Returns:
        str: the hash, with ``+dirty`` when the tree has uncommitted changes.
    """
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    try:
        sha = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=root, capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return 'unknown'
        status = subprocess.run(
            ['git', 'status', '--porcelain', '--untracked-files=no'],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
        dirty = '+dirty' if status.stdout.strip() else ''
        return sha.stdout.strip()[:digits] + dirty
    except (OSError, subprocess.SubprocessError):
        return 'unknown'


def _device_targets():
    """Device targets this MindSpore build can run on (without starting a device)."""
    try:
        import mindspore as ms

        found = []
        for target in ('Ascend', 'GPU'):
            try:
                if ms.hal.is_available(target):
                    found.append(target)
            except Exception:
                pass
        found.append('CPU')
        return ', '.join(found)
    except Exception as exc:  # pragma: no cover - depends on the installation
        return f'unavailable ({exc})'


def collect_env():
    """Collect versions and settings that matter for reproducing a run.

    Returns:
        OrderedDict: name -> value strings.
    """
    from .. import __version__

    env = OrderedDict()
    env['sys.platform'] = sys.platform
    env['Python'] = sys.version.replace('\n', ' ')
    env['Machine'] = f'{platform.machine()}, {os.cpu_count()} CPUs'
    try:
        import mindspore

        env['MindSpore'] = mindspore.__version__
    except ImportError:
        env['MindSpore'] = 'not installed'
    env['Device targets'] = _device_targets()
    import numpy

    env['NumPy'] = numpy.__version__
    try:
        import cv2

        env['OpenCV'] = cv2.__version__
    except ImportError:
        env['OpenCV'] = 'not installed'
    env['shmatting'] = f'{__version__}+{get_git_hash()}'
    env['ONEDNN_MAX_CPU_ISA'] = os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')
    try:
        from ..ops import cpu_kernel_status

        env['CPU kernels'] = cpu_kernel_status()
    except (ImportError, ValueError) as err:
        env['CPU kernels'] = f'error: {err}'
    return env


def env_table(env=None):
    """Render :func:`collect_env` as a terminaltables table.

    Args:
        env (dict, optional): precomputed environment facts.

    Returns:
        str: the table.
    """
    from terminaltables import AsciiTable

    env = collect_env() if env is None else env
    rows = [['Item', 'Value']] + [[k, str(v)] for k, v in env.items()]
    return AsciiTable(rows, title=' Environment ').table
