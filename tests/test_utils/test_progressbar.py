import io

from shmatting.utils import ProgressBar, track_progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_tty():
    out = io.StringIO()
    items = list(track_progress(range(5), file=out, interval=1e9, desc='prep'))
    assert items == list(range(5))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # only the final line: the interval never elapsed
    assert lines[-1].startswith('prep [') and '5/5' in lines[-1]
    assert '\r' not in out.getvalue()


def test_redraws_on_a_tty():
    out = FakeTTY()
    bar = ProgressBar(3, file=out)
    for _ in range(3):
        bar.update()
    text = out.getvalue()
    assert text.count('\r') == 3 and text.endswith('\n') and '3/3' in text


def test_unknown_total():
    out = io.StringIO()
    bar = ProgressBar(0, file=out, interval=0)
    bar.update(4)
    assert 'completed: 4' in out.getvalue()
