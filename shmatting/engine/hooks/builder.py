"""Hooks from a config: ``default_hooks`` (named, replaceable) and ``custom_hooks`` (a list).

``default_hooks=dict(nan_guard=..., logger=..., eval=..., checkpoint=...)`` configures the four
built-in hooks; a leaf config changes one setting with ``default_hooks=dict(checkpoint=dict(
save_best='SAD'))`` (dicts merge into the base) and switches a hook off with ``None``. This file
is also the one place that reads the older keys ``log_config``, ``checkpoint_config`` and
``evaluation``: they are mapped onto ``default_hooks`` with a deprecation warning.
"""

import difflib
import warnings
from typing import Any, Dict, Optional

__all__ = ['DEFAULT_HOOKS', 'LEGACY_HOOK_KEYS', 'resolve_default_hooks', 'eval_settings']

# name -> the hook type used when a config gives settings without a type
DEFAULT_HOOKS = {
    'nan_guard': 'NaNGuardHook',
    'logger': 'LoggerHook',
    'eval': 'EvalHook',
    'checkpoint': 'CheckpointHook',
}
LEGACY_HOOK_KEYS = {'log_config': 'logger', 'checkpoint_config': 'checkpoint', 'evaluation': 'eval'}


class ConfigDeprecationWarning(FutureWarning):
    """A config uses a key that still works but has a newer spelling (shown by default)."""


def _as_dict(value: Any, where: str) -> Optional[dict]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f'{where} must be a dict or None, got {type(value).__name__} ({value!r})')
    return dict(value)


def resolve_default_hooks(cfg: Any) -> Dict[str, Optional[dict]]:
    """The configs of the named default hooks of a run (``None``: switched off).

    Args:
        cfg (Config | dict): the run's config.

    Returns:
        dict: ``name -> HOOKS config or None`` for ``nan_guard``, ``logger``, ``eval`` and
        ``checkpoint``, in that order.
    """
    hooks = {name: dict(type=kind) for name, kind in DEFAULT_HOOKS.items()}
    given = _as_dict(cfg.get('default_hooks'), 'default_hooks') or {}
    unknown = sorted(set(given) - set(DEFAULT_HOOKS))
    if unknown:
        close = {u: difflib.get_close_matches(u, list(DEFAULT_HOOKS), n=1) for u in unknown}
        hint = '; '.join(
            f'{u!r} (did you mean {c[0]!r}?)' if c else repr(u) for u, c in close.items()
        )
        raise KeyError(
            f'default_hooks: unknown names {hint}; use {list(DEFAULT_HOOKS)} and put '
            'other hooks in custom_hooks'
        )
    for key, name in LEGACY_HOOK_KEYS.items():
        if key in cfg:
            warnings.warn(
                f'config key {key!r} is deprecated: write default_hooks=dict({name}='
                f'...) instead (it is applied as default_hooks.{name})',
                ConfigDeprecationWarning,
                stacklevel=2,
            )
            legacy = cfg.get(key)
            given[name] = (
                None if legacy is None else {**(given.get(name) or {}), **_as_dict(legacy, key)}
            )
    for name, value in given.items():
        value = _as_dict(value, f'default_hooks.{name}')
        hooks[name] = None if value is None else {**hooks[name], **value}
    return hooks


def eval_settings(cfg: Any) -> dict:
    """The evaluation settings of a config (``metrics``, ``convention``), for tools that
    evaluate outside training (``tools/test.py``).

    Args:
        cfg (Config | dict): the config.

    Returns:
        dict: ``metrics`` (None: the model's defaults) and ``convention`` (default ``'p3m'``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConfigDeprecationWarning)
        hook = resolve_default_hooks(cfg)['eval'] or {}
    return dict(metrics=hook.get('metrics'), convention=hook.get('convention', 'p3m'))
