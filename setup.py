"""Install shmatting: ``pip install -e .`` (extras: ``[tests]``, ``[optional]``)."""

import os.path as osp
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = []
    with open(osp.join(HERE, 'requirements', f'{name}.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def read_version() -> str:
    with open(osp.join(HERE, 'shmatting', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


class BuildWithConfigs(build_py):
    """Also copy configs/ into the package (``shmatting/.mim/configs``), so that an installed
    shmatting finds its configs by name from any folder (``Config.fromfile('shm/e2e_8x8.py')``),
    as mim installs do. An editable install reads them from the checkout instead."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        target = osp.join(self.build_lib, 'shmatting', '.mim', 'configs')
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            osp.join(HERE, 'configs'), target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc')
        )


setup(
    name='shmatting',
    version=read_version(),
    description='Semantic Human Matting (SHM) research framework on MindSpore',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['shmatting', 'shmatting.*']),
    # the CPU kernels' source: compiled on first use (shmatting/ops/build.py)
    package_data={'shmatting.ops': ['csrc/*.cc', 'csrc/*.h']},
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
    },
    license='Apache-2.0',
    license_files=['LICENSE'],
    cmdclass={'build_py': BuildWithConfigs},
    zip_safe=False,
)
