"""shmatting: Semantic Human Matting on MindSpore.

Importing the package caps oneDNN at AVX2 before MindSpore runs any operator. MindSpore's bundled
oneDNN hands every non-1x1 convolution on AVX-512 CPUs to a reference kernel (16-34x slower);
with the cap it selects the gemm path. ``setdefault`` keeps a value the user chose.

It also refuses numpy >= 2 in one line: MindSpore 2.10 is built against numpy 1 and fails deep
inside its PyNative mode otherwise.
"""

import os
import sys

os.environ.setdefault('ONEDNN_MAX_CPU_ISA', 'AVX2')
# GLOG_v=3 keeps only MindSpore's ERROR messages: it hides all of its C++ warnings (a few
# harmless ones per process, such as the deprecated FusedSparseAdam); GLOG_v=2 shows them.
os.environ.setdefault('GLOG_v', '3')


class IncompatibleEnvironmentError(ImportError):
    """An installed package version that MindSpore 2.10 cannot work with."""


def _one_line_excepthook(kind, value, tb, _default=sys.excepthook):
    if issubclass(kind, IncompatibleEnvironmentError):
        print(f'error: {value}', file=sys.stderr)
    else:
        _default(kind, value, tb)


def _check_numpy():
    import numpy

    if int(numpy.__version__.split('.')[0]) >= 2:
        sys.excepthook = _one_line_excepthook  # a script that imports us prints one line
        raise IncompatibleEnvironmentError(
            f'shmatting needs numpy<2 with MindSpore 2.10 (numpy {numpy.__version__} is '
            "installed): pip install 'numpy>=1.24,<2'"
        )


_check_numpy()

from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info', 'IncompatibleEnvironmentError']
