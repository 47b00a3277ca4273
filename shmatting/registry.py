"""Registries: name -> class maps that build objects from ``dict(type='Name', ...)``.

Every swappable part of shmatting lives in one of the per-category registries declared at the
bottom of this file. The package's own modules register themselves lazily: the first lookup in a
registry imports its ``locations``, so ``BACKBONES.build(dict(type='MobileNetV2'))`` works right
after ``from shmatting.registry import BACKBONES``. Code outside the package is imported through the
config's ``custom_imports``.
"""

import difflib
import importlib
import inspect
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

__all__ = [
    'Registry',
    'RegistryKeyError',
    'build_from_cfg',
    'MODELS',
    'BACKBONES',
    'HEADS',
    'LOSSES',
    'DATASETS',
    'TRANSFORMS',
    'HOOKS',
    'METRICS',
    'OPTIMIZERS',
    'LR_SCHEDULERS',
    'ACTIVATIONS',
    'ALL_REGISTRIES',
]

_MISSING = object()


class RegistryKeyError(KeyError):
    """A ``KeyError`` whose message prints as plain text (``KeyError`` quotes its argument)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class Registry:
    """A name -> class (or function) map with lazy self-registration of built-in modules.

    Args:
        name (str): registry name used in messages, e.g. ``'BACKBONES'``.
        locations (list[str]): modules imported on first use; importing them registers the
            package's own classes.
        build_func (callable, optional): ``build_func(cfg, registry, default_args)``; defaults to
            :func:`build_from_cfg`.

    Example:
        >>> CONVS = Registry('CONVS')
        >>> @CONVS.register_module()
        ... class MyConv:
        ...     def __init__(self, k=3):
        ...         self.k = k
        >>> CONVS.build(dict(type='MyConv', k=5)).k
        5
    """

    def __init__(
        self, name: str, locations: Iterable[str] = (), build_func: Optional[Callable] = None
    ):
        self._name = name
        self._module_dict = {}
        self._locations = list(locations)
        self._imported = False
        self._importing = False
        self._build_func = build_func or build_from_cfg

    # ------------------------------------------------------------------ basic properties
    @property
    def name(self) -> str:
        """str: the registry's name."""
        return self._name

    @property
    def module_dict(self) -> Dict[str, Any]:
        """dict: registered name -> object (after the lazy import of built-ins)."""
        self._import_locations()
        return self._module_dict

    def __len__(self) -> int:
        return len(self.module_dict)

    def __contains__(self, key: object) -> bool:
        return self.get(key, None) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.module_dict))

    def __repr__(self) -> str:
        from terminaltables import AsciiTable

        rows = [['Name', 'Defined in']]
        for key in sorted(self.module_dict):
            obj = self._module_dict[key]
            rows.append([key, f'{getattr(obj, "__module__", "?")}'])
        return f'Registry {self._name} ({len(rows) - 1} entries)\n{AsciiTable(rows).table}'

    # ------------------------------------------------------------------ lazy import
    def _import_locations(self) -> None:
        if self._imported or self._importing:
            return
        self._importing = True
        try:
            for loc in self._locations:
                importlib.import_module(loc)
            self._imported = True
        finally:
            self._importing = False

    # ------------------------------------------------------------------ lookup
    def get(self, key: str, default: Any = _MISSING) -> Any:
        """Return the object registered under ``key``.

        A full dotted path (``'my_pkg.module.MyClass'``) that is not a registered name is imported
        as a fallback.

        Args:
            key (str): registered name or dotted import path.
            default: returned on a miss when given; otherwise a miss raises.

        Returns:
            The registered class or function.

        Raises:
            RegistryKeyError: ``key`` is unknown and no ``default`` was given. The message names
                the registry, lists close matches and mentions ``custom_imports``.
        """
        if not isinstance(key, str):
            raise TypeError(f'{self._name}: a registry key must be a str, got {type(key).__name__}')
        self._import_locations()
        if key in self._module_dict:
            return self._module_dict[key]
        if '.' in key:
            obj = _import_dotted(key)
            if obj is not None:
                return obj
        if default is not _MISSING:
            return default
        raise RegistryKeyError(self._miss_message(key))

    def _miss_message(self, key: str) -> str:
        names = sorted(self._module_dict)
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        lower = [n for n in names if n.lower() == key.lower() and n not in close]
        close = lower + close
        hint = f' Did you mean: {", ".join(close)}?' if close else ''
        listing = ', '.join(names) if names else '(empty)'
        return (
            f"'{key}' is not in the {self._name} registry.{hint} Registered: {listing}. "
            f"If '{key}' is defined in your own package, import it from the config with "
            f"custom_imports=dict(imports=['your_package.module']) "
            f'(registry defined in {__file__}).'
        )

    # ------------------------------------------------------------------ registration
    def _register(
        self, module: Callable, name: Union[str, List[str], None] = None, force: bool = False
    ) -> None:
        if not (inspect.isclass(module) or inspect.isfunction(module)):
            raise TypeError(
                f'{self._name}: only a class or a function can be registered, '
                f'got {type(module).__name__}'
            )
        names = (
            [module.__name__] if name is None else ([name] if isinstance(name, str) else list(name))
        )
        for n in names:
            if not isinstance(n, str):
                raise TypeError(f'{self._name}: a registered name must be a str, got {n!r}')
            if not force and n in self._module_dict and self._module_dict[n] is not module:
                existing = self._module_dict[n]
                raise KeyError(
                    f"'{n}' is already registered in {self._name} "
                    f'(by {existing.__module__}.{existing.__qualname__}); pick another '
                    f'name or pass force=True to replace it'
                )
            self._module_dict[n] = module

    def register_module(
        self,
        name: Union[str, List[str], Callable, None] = None,
        force: bool = False,
        module: Optional[Callable] = None,
    ) -> Callable:
        """Register a class or function, as a decorator or as a direct call.

        Args:
            name (str | list[str], optional): name(s) to register under; defaults to
                ``module.__name__``.
            force (bool): replace an existing entry of the same name instead of raising.
            module (type | callable, optional): register this object directly.

        Returns:
            The decorator, or ``module`` when it is given.

        Example:
            >>> @BACKBONES.register_module()            # doctest: +SKIP
            ... class MyNet(nn.Cell): ...
            >>> BACKBONES.register_module(name='Alias', module=MyNet)   # doctest: +SKIP
        """
        if module is None and (inspect.isclass(name) or inspect.isfunction(name)):
            self._register(name, None, force)  # used as a bare decorator: @REG.register_module
            return name
        if not isinstance(force, bool):
            raise TypeError(f'force must be a bool, got {type(force).__name__}')
        if name is not None and not isinstance(name, (str, list, tuple)):
            raise TypeError(f'name must be None, a str or a list of str, got {type(name).__name__}')
        if module is not None:
            self._register(module, name, force)
            return module

        def _decorator(cls: Callable) -> Callable:
            self._register(cls, name, force)
            return cls

        return _decorator

    # ------------------------------------------------------------------ building
    def build(self, cfg: dict, default_args: Optional[dict] = None) -> Any:
        """Build an object from ``cfg`` (a dict with a ``type`` key); ``cfg`` is never mutated.

        Args:
            cfg (dict): ``type`` plus the constructor's keyword arguments.
            default_args (dict, optional): arguments used where ``cfg`` does not give them.

        Returns:
            The constructed object.
        """
        return self._build_func(cfg, self, default_args)


def _import_dotted(path: str) -> Any:
    module_name, _, attr = path.rpartition('.')
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def build_from_cfg(cfg: dict, registry: 'Registry', default_args: Optional[dict] = None) -> Any:
    """Build an object from a config dict.

    Args:
        cfg (dict): must contain ``type`` (a registered name, a dotted path or a class).
        registry (Registry): where to look the type up.
        default_args (dict, optional): defaults for arguments missing from ``cfg``.

    Returns:
        The constructed object.

    Raises:
        TypeError: ``cfg`` is not a dict or has no ``type``.
        RegistryKeyError: the type is not registered.
        Exception: any error raised by the constructor, re-raised with the registry and type name
            prefixed (same exception class where possible).
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'{registry.name}: cfg must be a dict, got {type(cfg).__name__}')
    if 'type' not in cfg and (default_args is None or 'type' not in default_args):
        raise TypeError(f'{registry.name}: cfg must contain the key "type", got keys {sorted(cfg)}')
    if default_args is not None and not isinstance(default_args, dict):
        raise TypeError(
            f'{registry.name}: default_args must be a dict or None, '
            f'got {type(default_args).__name__}'
        )
    args = _plain_copy(cfg)
    for k, v in (default_args or {}).items():
        args.setdefault(k, v)
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        type_name = obj_type
    elif inspect.isclass(obj_type) or inspect.isfunction(obj_type):
        obj_cls = obj_type
        type_name = obj_type.__name__
    else:
        raise TypeError(
            f'{registry.name}: type must be a str, a class or a function, '
            f'got {type(obj_type).__name__}'
        )
    try:
        return obj_cls(**args)
    except Exception as exc:
        prefix = f'{registry.name}.{type_name}: '
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        if message.startswith(prefix):
            raise
        try:
            new_exc = type(exc)(prefix + message)
        except Exception:  # exception classes with unusual constructors
            new_exc = RuntimeError(prefix + f'{type(exc).__name__}: {message}')
        raise new_exc.with_traceback(exc.__traceback__) from exc


def _plain_copy(cfg: Any) -> Any:
    """Deep copy of a config dict as plain ``dict``/``list`` (ConfigDicts become dicts)."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, tuple):
            return tuple(conv(x) for x in v)
        return v  # leaves (numbers, strings, user objects) are shared, never modified

    return conv(cfg)


MODELS = Registry('MODELS', locations=['shmatting.models'])
BACKBONES = Registry('BACKBONES', locations=['shmatting.models'])
HEADS = Registry('HEADS', locations=['shmatting.models'])
LOSSES = Registry('LOSSES', locations=['shmatting.models'])
DATASETS = Registry('DATASETS', locations=['shmatting.datasets'])
TRANSFORMS = Registry('TRANSFORMS', locations=['shmatting.datasets'])
HOOKS = Registry('HOOKS', locations=['shmatting.engine'])
METRICS = Registry('METRICS', locations=['shmatting.evaluation'])
OPTIMIZERS = Registry('OPTIMIZERS', locations=['shmatting.engine'])
LR_SCHEDULERS = Registry('LR_SCHEDULERS', locations=['shmatting.engine'])
ACTIVATIONS = Registry('ACTIVATIONS', locations=['shmatting.models'])

ALL_REGISTRIES = {
    r.name: r
    for r in (
        MODELS,
        BACKBONES,
        HEADS,
        LOSSES,
        DATASETS,
        TRANSFORMS,
        HOOKS,
        METRICS,
        OPTIMIZERS,
        LR_SCHEDULERS,
        ACTIVATIONS,
    )
}
