import logging

from shmatting.utils import get_logger, print_log
from shmatting.utils.logging import get_env_rank, remove_file_handlers


def test_rank0_logs_to_console_and_file(tmp_path, capsys):
    log_file = tmp_path / 'run.log'
    logger = get_logger('shmatting.test_a', log_file=str(log_file), rank=0)
    logger.info('hello file')
    print_log('via print_log', logger=logger)
    remove_file_handlers('shmatting.test_a')
    text = log_file.read_text()
    assert 'hello file' in text and 'via print_log' in text
    assert 'hello file' in capsys.readouterr().out


def test_other_ranks_log_warnings_only_and_no_file(tmp_path, capsys):
    log_file = tmp_path / 'rank1.log'
    logger = get_logger('shmatting.test_b', log_file=str(log_file), rank=1)
    logger.info('quiet')
    logger.warning('loud')
    out = capsys.readouterr().out
    assert 'quiet' not in out and 'loud' in out
    assert not log_file.exists()
    assert logger.level == logging.WARNING


def test_env_rank(monkeypatch):
    monkeypatch.delenv('RANK', raising=False)
    monkeypatch.setenv('RANK_ID', '3')
    assert get_env_rank() == 3
    monkeypatch.delenv('RANK_ID')
    assert get_env_rank() == 0
