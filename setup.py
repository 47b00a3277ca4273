"""Install shmatting: ``pip install -e .`` (extras: ``[tests]``, ``[optional]``)."""

import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = []
    with open(osp.join(HERE, 'requirements', f'{name}.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def read_version():
    with open(osp.join(HERE, 'shmatting', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


setup(
    name='shmatting',
    version=read_version(),
    description='Semantic Human Matting (SHM) research framework on MindSpore',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['shmatting', 'shmatting.*']),
    # the CPU kernels' source: compiled on first use (shmatting/ops/build.py)
    package_data={'shmatting.ops': ['csrc/*.cc']},
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
