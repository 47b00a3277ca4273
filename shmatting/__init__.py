"""shmatting: Semantic Human Matting on MindSpore.

Importing the package caps oneDNN at AVX2 before MindSpore runs any operator. MindSpore's bundled
oneDNN hands every non-1x1 convolution on AVX-512 CPUs to a reference kernel (16-34x slower);
with the cap it selects the gemm path. ``setdefault`` keeps a value the user chose.
"""

import os

os.environ.setdefault('ONEDNN_MAX_CPU_ISA', 'AVX2')
# MindSpore prints a few harmless WARNING lines per process (deprecated FusedSparseAdam, ...).
os.environ.setdefault('GLOG_v', '3')

from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info']
