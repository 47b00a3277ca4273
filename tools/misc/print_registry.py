"""List registered names: ``python tools/misc/print_registry.py [REGISTRY]`` (e.g. BACKBONES)."""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from shmatting.registry import ALL_REGISTRIES  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description='Print the contents of the registries')
    parser.add_argument(
        'name', nargs='?', help=f'one of {", ".join(ALL_REGISTRIES)} (default: all)'
    )
    args = parser.parse_args(argv)
    if args.name is None:
        names = list(ALL_REGISTRIES)
    else:
        key = args.name.upper()
        if key not in ALL_REGISTRIES:
            parser.error(f"unknown registry '{args.name}'; choose from {', '.join(ALL_REGISTRIES)}")
        names = [key]
    for name in names:
        print(repr(ALL_REGISTRIES[name]))


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
