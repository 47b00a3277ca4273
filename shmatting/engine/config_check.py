"""Checks of a run's config before anything is built: wrong values name their key, and a
top-level key that nothing reads (``optimzer=`` beside ``optimizer``) is warned about."""

import difflib
import numbers
import warnings
from typing import Any, Callable, Dict, Iterable, Tuple

__all__ = [
    'ConfigValueError',
    'UnusedConfigKeyWarning',
    'check_run_config',
    'RUN_KEYS',
    'HELPER_KEYS',
]


class ConfigValueError(ValueError):
    """A config value of the wrong type or range; the message names the key."""


class UnusedConfigKeyWarning(UserWarning):
    """A top-level config key that no part of a run reads (often a typo)."""


def _positive_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0


def _non_negative_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0


def _positive_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0


def _optional(kind: type) -> Callable[[Any], bool]:
    return lambda v: v is None or isinstance(v, kind)


_IS_DICT = _optional(dict)
# top-level keys a run reads -> (check, what the value must be)
RUN_KEYS: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    'model': (lambda v: isinstance(v, dict), 'a dict'),
    'data': (lambda v: isinstance(v, dict), 'a dict'),
    'optimizer': (lambda v: isinstance(v, dict), 'a dict'),
    'total_epochs': (_positive_int, 'a positive integer'),
    'lr_config': (_IS_DICT, 'a dict or None'),
    'default_hooks': (_IS_DICT, 'a dict or None'),
    'custom_hooks': (lambda v: v is None or isinstance(v, (list, tuple)), 'a list'),
    'data_root': (_optional(str), 'a path'),
    'work_dir': (_optional(str), 'a path or None'),
    'load_from': (lambda v: v is None or isinstance(v, (str, dict)), 'a path, a dict or None'),
    'load_strict': (lambda v: isinstance(v, bool), 'True or False'),
    'resume_from': (_optional(str), 'a path, auto or None'),
    'context': (_IS_DICT, 'a dict or None'),
    'amp': (_IS_DICT, 'a dict or None'),
    'seed': (lambda v: v is None or _non_negative_int(v), 'a non-negative integer or None'),
    'recompute': (lambda v: v is None or isinstance(v, (list, tuple)), 'a list of cell names'),
    'custom_imports': (_IS_DICT, 'dict(imports=[...])'),
    # read by engine/hooks/builder.py (deprecated spellings of default_hooks)
    'log_config': (_IS_DICT, 'a dict or None'),
    'checkpoint_config': (_IS_DICT, 'a dict or None'),
    'evaluation': (_IS_DICT, 'a dict or None'),
}
# variables the stock bases define to build other values (conventional in OpenMMLab configs)
HELPER_KEYS = (
    'dataset_type',
    'img_norm_cfg',
    'crop_size',
    'train_pipeline',
    'test_pipeline',
    'val_pipeline',
)
_NESTED = {
    'optimizer.lr': (_positive_number, 'a positive number'),
    'optimizer.type': (lambda v: isinstance(v, str), 'an optimizer name'),
    'data.samples_per_device': (_positive_int, 'a positive integer'),
    'data.workers': (_non_negative_int, 'a non-negative integer'),
    'data.val_workers': (_non_negative_int, 'a non-negative integer'),
    'data.shuffle': (lambda v: isinstance(v, bool), 'True or False'),
    'data.train': (lambda v: isinstance(v, dict), 'a dataset dict'),
    'data.val': (lambda v: isinstance(v, dict), 'a dataset dict'),
    'data.test': (lambda v: isinstance(v, dict), 'a dataset dict'),
}


def _where(cfg: Any) -> str:
    name = getattr(cfg, 'filename', None)
    return f' ({name})' if name else ''


def _fail(key: str, value: Any, expected: str, cfg: Any) -> None:
    raise ConfigValueError(
        f'config key {key!r} must be {expected}, got {value!r} '
        f'({type(value).__name__}){_where(cfg)}'
    )


def _lookup(cfg: Any, dotted: str) -> Tuple[bool, Any]:
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) and not hasattr(node, 'get'):
            return False, None
        if part not in node:
            return False, None
        node = node[part]
    return True, node


def check_run_config(cfg: Any, required: Iterable[str] = ()) -> None:
    """Check a run's config: required keys, value types and ranges, unread top-level keys.

    Args:
        cfg (Config): the config.
        required (Iterable[str]): top-level keys that must be present.

    Raises:
        KeyError: a required key is missing (with the close match).
        ConfigValueError: a value of the wrong type or range, naming its key.
    """
    keys = list(cfg.keys())
    for key in required:
        if key not in cfg:
            close = difflib.get_close_matches(key, keys, n=2)
            hint = f' (did you mean {", ".join(close)}?)' if close else ''
            raise KeyError(f"config{_where(cfg)}: missing required key '{key}'{hint}")
    for key in keys:
        if key in RUN_KEYS:
            check, expected = RUN_KEYS[key]
            if not check(cfg[key]):
                _fail(key, cfg[key], expected, cfg)
        elif key not in HELPER_KEYS and not key.startswith('_'):
            close = difflib.get_close_matches(key, list(RUN_KEYS), n=1, cutoff=0.75)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            warnings.warn(
                f"config key '{key}' is not read by anything{_where(cfg)}{hint}",
                UnusedConfigKeyWarning,
                stacklevel=2,
            )
    for dotted, (check, expected) in _NESTED.items():
        found, value = _lookup(cfg, dotted)
        if found and not check(value):
            _fail(dotted, value, expected, cfg)
