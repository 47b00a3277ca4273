"""List registered names, the library's and a plugin's.

Usage: python tools/misc/print_registry.py [REGISTRY] [--import PKG.MODULE ...] [--config CONFIG]

A plugin package registers its parts when it is imported: name its modules with ``--import``
(the same names a config's ``custom_imports`` gives) or give a config whose ``custom_imports``
names them. Modules are found on ``sys.path``: the current directory, ``PYTHONPATH`` and installed
packages (``pip install -e my_plugin``).
"""

import argparse
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from shmatting.registry import ALL_REGISTRIES  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the contents of the registries')
    parser.add_argument(
        'name', nargs='?', help=f'one of {", ".join(ALL_REGISTRIES)} (default: all)'
    )
    parser.add_argument(
        '--import',
        dest='imports',
        nargs='+',
        default=[],
        metavar='MODULE',
        help='plugin modules to import first (as custom_imports does)',
    )
    parser.add_argument('--config', help="import the config's custom_imports first")
    return parser.parse_args(argv)


def main(argv=None):
    from shmatting.config import Config, import_modules_from_strings

    args = parse_args(argv)
    if args.name is not None and args.name.upper() not in ALL_REGISTRIES:
        raise KeyError(f"unknown registry '{args.name}'; choose from {', '.join(ALL_REGISTRIES)}")
    if args.imports:
        import_modules_from_strings(args.imports)
    if args.config:
        Config.fromfile(args.config)  # imports its custom_imports
    names = [args.name.upper()] if args.name else list(ALL_REGISTRIES)
    for name in names:
        print(repr(ALL_REGISTRIES[name]))


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
