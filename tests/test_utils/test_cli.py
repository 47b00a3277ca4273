"""Counts and sizes on the command line: a zero or negative value is refused by argparse in one
line naming the option, never replaced by a default or left to fail deep inside a tool."""

import argparse

import pytest

from shmatting.utils.cli import non_negative_int, positive_int
from tests.helpers import run_tool


def test_count_types_accept_what_they_say_and_name_the_rest():
    assert positive_int('3') == 3 and non_negative_int('0') == 0
    for text, fn in (('0', positive_int), ('-1', non_negative_int), ('2.5', positive_int)):
        with pytest.raises(argparse.ArgumentTypeError, match=text.replace('.', r'\.')):
            fn(text)


@pytest.mark.parametrize(
    'tool,args,option',
    [
        ('tools/analysis/benchmark.py', ['--train', 'e2e_8x8', '--batch', '0'], '--batch'),
        ('tools/analysis/benchmark.py', ['--infer', 'e2e_8x8', '--steps', '0'], '--steps'),
        ('tools/analysis/get_flops.py', ['e2e_8x8', '--shape', '0', '64'], '--shape'),
        ('tools/analysis/error_gallery.py', ['e2e_8x8', 'x.ckpt', '--num', '-2'], '--num'),
        ('tools/dataset_converters/make_synthetic.py', ['out', '--size', '64', '0'], '--size'),
    ],
)
def test_a_zero_count_is_refused_naming_the_option(tool, args, option):
    res = run_tool(tool, *args)
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and f'argument {option}' in last and 'integer' in last, res.stderr
