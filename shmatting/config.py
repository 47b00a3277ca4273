"""Python config files with inheritance: ``Config``, ``ConfigDict`` and ``DictAction``.

A config is a Python file whose top-level names form the config. It may inherit from other files:

* ``_base_ = 'base.py'`` or ``_base_ = ['a.py', 'b.py']``, resolved relative to the file, nested to
  any depth. Dicts merge recursively into the bases; any other value replaces the base value. Two
  bases of one file must not define the same top-level key.
* ``key=dict(_delete_=True, ...)`` replaces the base dict instead of merging into it. A dict that
  meets a non-dict base value (other than ``None``) is an error that suggests ``_delete_=True``.
* ``{{_base_.a.b}}`` is the value of ``a.b`` in the merged bases (list indices allowed:
  ``{{_base_.pipeline.0}}``); bare, quoted or inside a longer string.
* ``{{$ENV_VAR:default}}`` is replaced by the environment variable or the default, and
  ``{{ fileDirname }}``, ``{{ fileBasename }}``, ``{{ fileBasenameNoExtension }}`` and
  ``{{ fileExtname }}`` by facts about the file.
* ``custom_imports=dict(imports=['pkg.mod'], allow_failed_imports=False)`` imports user modules
  (which register their classes) when the file is loaded.
"""

import ast
import copy
import functools
import importlib
import math
import os
import os.path as osp
import re
import sys
import types
import uuid
import warnings
from argparse import Action, ArgumentParser, Namespace
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from addict import Dict

__all__ = [
    'Config',
    'ConfigDict',
    'DictAction',
    'import_modules_from_strings',
    'find_config',
    'config_dirs',
]

BASE_KEY = '_base_'
DELETE_KEY = '_delete_'
RESERVED_KEYS = ('filename', 'text', 'pretty_text')
_REF_FUNC = '__shm_base_ref__'
_BASE_REF = re.compile(r'\{\{\s*_base_\.([\w.]+)\s*\}\}')
_QUOTED_BASE_REF = re.compile(r'([\'"])\{\{\s*_base_\.([\w.]+)\s*\}\}\1')
_ENV_REF = re.compile(r'\{\{\s*\$([A-Za-z_]\w*)\s*(?::(.*?))?\s*\}\}')


class ConfigKeyError(KeyError):
    """A ``KeyError`` raised for config problems; its message prints as plain text."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class ConfigDict(Dict):
    """An ``addict.Dict`` that raises on a missing key instead of returning an empty dict.

    Attribute access (``cfg.model.tnet``) and item access (``cfg['model']``) both work; a typo
    raises ``AttributeError`` / ``KeyError`` naming the key.
    """

    def __missing__(self, name: str) -> Any:
        raise KeyError(name)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None


def import_modules_from_strings(
    imports: Union[str, List[str]], allow_failed_imports: bool = False
) -> list:
    """Import user modules listed in a config's ``custom_imports``.

    Args:
        imports (str | list[str]): module names, e.g. ``['my_pkg.my_backbone']``.
        allow_failed_imports (bool): warn and go on instead of raising when an import fails.

    Returns:
        list: the imported modules (``None`` for a failed import that was allowed).
    """
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)) or not all(isinstance(i, str) for i in imports):
        raise TypeError(f'custom_imports.imports must be a list of module names, got {imports!r}')
    cwd = os.getcwd()
    if cwd not in sys.path:  # packages beside the user's working directory, as `python -m` would
        sys.path.append(cwd)
    modules = []
    for name in imports:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            if not allow_failed_imports:
                raise ImportError(f"custom_imports: cannot import '{name}': {exc}") from exc
            warnings.warn(f"custom_imports: '{name}' failed to import and is skipped: {exc}")
            modules.append(None)
    return modules


# ---------------------------------------------------------------------- finding configs by name
def config_dirs() -> List[str]:
    """Where configs are found by name: the checkout's ``configs/`` (a source or editable
    install) and the copy installed with the package (``shmatting/.mim/configs``)."""
    here = osp.dirname(osp.abspath(__file__))
    dirs = [osp.join(osp.dirname(here), 'configs'), osp.join(here, '.mim', 'configs')]
    return [d for d in dirs if osp.isdir(osp.join(d, 'shm'))]


def find_config(name: str) -> str:
    """A config path from a path, or from a name of the project's configs, as mim does.

    ``configs/shm/e2e_8x8.py`` (from the checkout), ``shm/e2e_8x8.py``, ``shm/e2e_8x8`` and
    ``e2e_8x8`` (a unique file name) all find the same file from any working directory.

    Args:
        name (str): a path or a config name.

    Returns:
        str: the path (``name`` itself when it is a file or nothing else matches).
    """
    if osp.isfile(name) or osp.isabs(name):
        return name
    rel = name[len('configs/') :] if name.startswith('configs/') else name
    rel = rel if rel.endswith('.py') else rel + '.py'
    for folder in config_dirs():
        if osp.isfile(osp.join(folder, rel)):
            return osp.join(folder, rel)
        if '/' not in rel:
            hits = [osp.join(root, rel) for root, _, files in os.walk(folder) if rel in files]
            if len(hits) == 1:
                return hits[0]
    return name


# ---------------------------------------------------------------------- merging helpers
def _strip_delete(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_delete(v) for k, v in value.items() if k != DELETE_KEY}
    if isinstance(value, list):
        return [_strip_delete(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_strip_delete(v) for v in value)
    return value


def _merge_a_into_b(
    a: dict, b: Union[dict, list], allow_list_keys: bool = False, path: str = ''
) -> Any:
    """Merge dict ``a`` into a copy of ``b`` and return it (neither input is modified).

    Args:
        a (dict): the overriding values; a dict value with ``_delete_=True`` replaces.
        b (dict | list): the base values; with ``allow_list_keys`` a list is indexed by digit keys.
        allow_list_keys (bool): allow ``{'0': ...}`` keys to address list elements.
        path (str): dotted location of ``b`` (for messages).

    Returns:
        dict | list: the merged copy.
    """
    if isinstance(b, list):
        b = list(b)
    else:
        b = dict(b)
    for key, value in a.items():
        where = f'{path}{key}'
        if isinstance(b, list):
            if not (isinstance(key, str) and key.lstrip('-').isdigit()) and not isinstance(
                key, int
            ):
                raise TypeError(
                    f"'{where}': '{key}' is not a list index ({path.rstrip('.')} is a list)"
                )
            idx = int(key)
            if not -len(b) <= idx < len(b):
                raise IndexError(
                    f"'{where}': index {idx} is out of range for "
                    f"'{path.rstrip('.')}' (a list of length {len(b)})"
                )
            key = idx
        if isinstance(value, dict):
            value = dict(value)
            delete = value.pop(DELETE_KEY, False)
            if delete or (isinstance(b, dict) and key not in b) or b[key] is None:
                b[key] = _strip_delete(value)
            elif isinstance(b[key], dict):
                b[key] = _merge_a_into_b(value, b[key], allow_list_keys, where + '.')
            elif (
                allow_list_keys
                and isinstance(b[key], list)
                and value
                and all(isinstance(k, str) and k.lstrip('-').isdigit() for k in value)
            ):
                b[key] = _merge_a_into_b(value, b[key], allow_list_keys, where + '.')
            else:
                raise TypeError(
                    f"'{where}' is a dict in the child config but a {type(b[key]).__name__} "
                    f'({b[key]!r}) in its base; add `_delete_=True` to that dict to replace the '
                    f'base value instead of merging into it'
                )
        else:
            b[key] = _strip_delete(value)
    return b


def _lookup(cfg: Any, dotted: str, what: str) -> Any:
    node = cfg
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)) and part.lstrip('-').isdigit():
            try:
                node = node[int(part)]
            except IndexError:
                raise IndexError(f'{what}: index {part} out of range in {dotted!r}') from None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ConfigKeyError(
                f'{what}: {dotted!r} is not defined in the base configs (no key {part!r})'
            )
    return node


def _inside_string(line_prefix: str) -> bool:
    """Rough test: does a position follow an unclosed quote on its line?"""
    stripped = re.sub(r'\\.', '', line_prefix)
    return stripped.count("'") % 2 == 1 or stripped.count('"') % 2 == 1


# ---------------------------------------------------------------------- literal formatting

_LIST_INDEX = re.compile(r'-?\d+')
_CODE_TEXT = re.compile(r'^\s*((dict|list|tuple|set)\s*\(.*\)|\{.*\})\s*$', re.S)


def _option_key_parts(full_key: Any) -> List[str]:
    """The parts of a ``--cfg-options`` key: identifiers, dotted identifiers, list indices."""
    parts = str(full_key).split('.') if isinstance(full_key, str) else []
    valid = (
        bool(parts)
        and _is_identifier(parts[0])
        and all(_is_identifier(p) or _LIST_INDEX.fullmatch(p) for p in parts[1:])
    )
    if not valid:
        raise KeyError(
            f'invalid option key {full_key!r}: keys are identifiers, dotted identifiers or list '
            'indices (model.tnet.backbone.widen_factor, data.train.pipeline.4.crop_size)'
        )
    return parts


def _refuse_code_text(full_key: str, value: Any) -> None:
    """A dict or call written as text cannot be evaluated from the command line: say so."""
    if isinstance(value, str) and _CODE_TEXT.match(value):
        raise ValueError(
            f'option {full_key}={value!r}: a dict written as code is not evaluated; give dotted '
            f"keys ({full_key}.type=...) or a literal with quoted keys ({{'type': 'X'}})"
        )


def _is_identifier(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not _is_keyword(key)


def _is_keyword(key: str) -> bool:
    import keyword

    return keyword.iskeyword(key)


def _format_value(value: Any) -> str:
    if isinstance(value, dict):
        if all(_is_identifier(k) for k in value):
            return 'dict(' + ', '.join(f'{k}={_format_value(v)}' for k, v in value.items()) + ')'
        return (
            '{'
            + ', '.join(f'{_format_value(k)}: {_format_value(v)}' for k, v in value.items())
            + '}'
        )
    if isinstance(value, list):
        return '[' + ', '.join(_format_value(v) for v in value) + ']'
    if isinstance(value, tuple):
        inner = ', '.join(_format_value(v) for v in value)
        return f'({inner},)' if len(value) == 1 else f'({inner})'
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"float('{value}')"
        return repr(value)
    if isinstance(value, (int, str, bytes)):
        return repr(value)
    if hasattr(value, 'item') and hasattr(value, 'dtype') and getattr(value, 'ndim', 1) == 0:
        return _format_value(value.item())  # numpy scalar
    if isinstance(value, (type, types.FunctionType)):
        # a class or function in a config is dumped as its import path, which registries accept
        return repr(f'{value.__module__}.{value.__qualname__}')
    raise TypeError(
        f'cannot write a value of type {type(value).__name__} ({value!r}) to a config file'
    )


# yapf takes about 0.5 s per config; a run formats the same text for its log, its dump and every
# checkpoint's metadata, so the result is kept per text.
@functools.lru_cache(maxsize=8)
def _yapf_format(text: str) -> str:
    """Format Python source with yapf; return ``text`` unchanged when yapf is absent or fails.

    Args:
        text (str): Python source (a resolved config).

    Returns:
        str: the formatted source.
    """
    try:
        from yapf.yapflib.yapf_api import FormatCode

        style = dict(
            based_on_style='pep8',
            column_limit=100,
            blank_line_before_nested_class_or_def=True,
            split_before_expression_after_opening_paren=True,
        )
        try:
            return FormatCode(text, style_config=style, verify=True)[0]
        except TypeError:  # yapf >= 0.40.2 dropped the `verify` keyword
            return FormatCode(text, style_config=style)[0]
    except Exception as exc:  # never let pretty-printing break a run
        warnings.warn(
            f'yapf could not format the config ({type(exc).__name__}: {exc}); '
            'writing it unformatted'
        )
        return text


# ---------------------------------------------------------------------- Config
class Config:
    """A config: a tree of dicts and lists with attribute access, loaded from Python files.

    Args:
        cfg_dict (dict, optional): the config values.
        cfg_text (str, optional): the source text (for logs and checkpoints).
        filename (str, optional): the file it came from.

    Example:
        >>> cfg = Config(dict(model=dict(type='SHM'), lr=0.1))
        >>> cfg.model.type
        'SHM'
        >>> cfg.merge_from_dict({'model.type': 'Other', 'lr': 0.2})
        >>> cfg.model.type, cfg.lr
        ('Other', 0.2)
    """

    def __init__(
        self,
        cfg_dict: Union[dict, 'Config', None] = None,
        cfg_text: Optional[str] = None,
        filename: Optional[str] = None,
    ):
        if cfg_dict is None:
            cfg_dict = {}
        elif isinstance(cfg_dict, Config):
            cfg_dict = cfg_dict.to_dict()
        elif not isinstance(cfg_dict, dict):
            raise TypeError(f'cfg_dict must be a dict, got {type(cfg_dict).__name__}')
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(f"'{key}' is reserved for Config and cannot be a config key")
            if not _is_identifier(key):
                raise KeyError(
                    f'config keys are Python identifiers (a dumped config must load '
                    f'back), got {key!r}'
                )
        super().__setattr__('_cfg_dict', ConfigDict(cfg_dict))
        super().__setattr__('_filename', None if filename is None else str(filename))
        if cfg_text is None:
            cfg_text = ''
            if filename is not None and osp.isfile(filename):
                with open(filename, encoding='utf-8') as f:
                    cfg_text = f.read()
        super().__setattr__('_text', cfg_text)

    # ------------------------------------------------------------------ loading
    @staticmethod
    def fromfile(
        filename: str, use_predefined_variables: bool = True, import_custom_modules: bool = True
    ) -> 'Config':
        """Load a Python config file with its bases.

        Args:
            filename (str): path of a ``.py`` config.
            use_predefined_variables (bool): substitute ``{{ fileDirname }}`` and friends.
            import_custom_modules (bool): import ``custom_imports`` now.

        Returns:
            Config: the resolved config.
        """
        filename = osp.abspath(osp.expanduser(find_config(str(filename))))
        cfg_dict, text = Config._file2dict(filename, use_predefined_variables, ())
        if import_custom_modules and cfg_dict.get('custom_imports'):
            ci = cfg_dict['custom_imports']
            if not isinstance(ci, dict) or 'imports' not in ci:
                raise TypeError(
                    f'{filename}: custom_imports must be dict(imports=[...], '
                    f'allow_failed_imports=False), got {ci!r}'
                )
            unknown = set(ci) - {'imports', 'allow_failed_imports'}
            if unknown:
                raise KeyError(f'{filename}: unknown custom_imports keys {sorted(unknown)}')
            import_modules_from_strings(**ci)
        return Config(cfg_dict, cfg_text=text, filename=filename)

    @staticmethod
    def fromstring(text: str, filename: str = '<string>.py') -> 'Config':
        """Load a config from Python source (bases resolve relative to ``filename``'s folder)."""
        import tempfile

        folder = osp.dirname(osp.abspath(filename)) if filename != '<string>.py' else None
        with tempfile.NamedTemporaryFile(
            'w', suffix='.py', dir=folder, delete=False, encoding='utf-8'
        ) as f:
            f.write(text)
            tmp = f.name
        try:
            return Config.fromfile(tmp)
        finally:
            os.remove(tmp)

    @staticmethod
    def _substitute_text(text: str, filename: str, use_predefined_variables: bool) -> str:
        if use_predefined_variables:
            base = osp.basename(filename)
            values = dict(
                fileDirname=osp.dirname(filename),
                fileBasename=base,
                fileBasenameNoExtension=osp.splitext(base)[0],
                fileExtname=osp.splitext(base)[1],
            )
            for key, val in values.items():
                text = re.sub(r'\{\{\s*' + key + r'\s*\}\}', val.replace('\\', '/'), text)

        def env_sub(match: 're.Match') -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is None:
                line = text.count('\n', 0, match.start()) + 1
                raise ConfigKeyError(
                    f'{filename}:{line}: environment variable ${name} is not set and '
                    f'{match.group(0)} gives no default (write {{{{${name}:default}}}})'
                )
            return default

        return _ENV_REF.sub(env_sub, text)

    @staticmethod
    def _file2dict(
        filename: str, use_predefined_variables: bool, stack: Tuple[str, ...]
    ) -> Tuple[dict, str]:
        raw_text = _read_config_file(filename, stack)
        text = Config._substitute_text(raw_text, filename, use_predefined_variables)
        text, embedded = _mark_base_refs(text)
        try:
            tree = ast.parse(text, filename=filename)
        except SyntaxError as exc:
            raise SyntaxError(
                f'{filename}:{exc.lineno}: invalid Python in config: {exc.msg}'
            ) from None
        base_files = Config._find_bases(tree, filename)
        base_dict, base_texts = _load_bases(filename, base_files, use_predefined_variables, stack)
        if embedded:
            text = _embed_base_refs(text, base_dict, filename)
        cfg_dict = _exec_config(text, filename, base_dict)
        merged = _strip_delete(_merge_a_into_b(cfg_dict, base_dict))
        full_text = '\n'.join(base_texts + [f'# {filename}\n{raw_text}'])
        return merged, full_text

    @staticmethod
    def _find_bases(tree: ast.Module, filename: str) -> List[str]:
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == BASE_KEY for t in node.targets
            ):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    raise TypeError(
                        f'{filename}:{node.lineno}: _base_ must be a string or a list '
                        'of strings written literally'
                    ) from None
                if isinstance(value, str):
                    return [value]
                if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                    return list(value)
                raise TypeError(
                    f'{filename}:{node.lineno}: _base_ must be a str or a list of '
                    f'str, got {value!r}'
                )
        return []

    # ------------------------------------------------------------------ overrides
    def merge_from_dict(self, options: dict, allow_list_keys: bool = True) -> None:
        """Merge dotted-key overrides into the config (``--cfg-options`` semantics).

        Args:
            options (dict): e.g. ``{'model.tnet.backbone.widen': 1.0,
                'data.train.pipeline.2.size': 256}``; digit parts index into lists.
            allow_list_keys (bool): allow digit parts to address list elements.
        """
        if not isinstance(options, dict):
            raise TypeError(f'options must be a dict, got {type(options).__name__}')
        tree = {}
        for full_key, value in options.items():
            parts = _option_key_parts(full_key)
            _refuse_code_text(full_key, value)
            node = tree
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise KeyError(f'option {full_key!r} conflicts with another option')
            node[parts[-1]] = value
        merged = _merge_a_into_b(tree, self._cfg_dict.to_dict(), allow_list_keys)
        super().__setattr__('_cfg_dict', ConfigDict(merged))

    # ------------------------------------------------------------------ output
    @property
    def filename(self) -> Optional[str]:
        """str: the file the config was loaded from (or None)."""
        return self._filename

    @property
    def text(self) -> str:
        """str: the source text of the file and its bases."""
        return self._text

    @property
    def pretty_text(self) -> str:
        """str: the resolved config as Python source, formatted with yapf when it can."""
        lines = [f'{k} = {_format_value(v)}' for k, v in self._cfg_dict.to_dict().items()]
        return _yapf_format('\n'.join(lines) + '\n')

    def dump(self, file: Optional[str] = None) -> Optional[str]:
        """Write the resolved config as a Python file that ``Config.fromfile`` reads back equal.

        Args:
            file (str, optional): destination (written atomically). Without it, return the text.

        Returns:
            str | None: the text when ``file`` is None.
        """
        text = self.pretty_text
        if file is None:
            return text
        file = str(file)
        if not file.endswith('.py'):
            raise ValueError(f'a config is dumped as Python source; use a .py name, got {file}')
        folder = osp.dirname(osp.abspath(file))
        os.makedirs(folder, exist_ok=True)
        tmp = osp.join(folder, f'.{osp.basename(file)}.{uuid.uuid4().hex[:8]}.tmp')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, file)
        return None

    def to_dict(self) -> dict:
        """dict: a plain (deep) copy of the config values."""
        return copy.deepcopy(self._cfg_dict.to_dict())

    def copy(self) -> 'Config':
        """Config: a deep copy."""
        return Config(self.to_dict(), cfg_text=self._text, filename=self._filename)

    __deepcopy__ = lambda self, memo: self.copy()  # noqa: E731
    __copy__ = copy

    # ------------------------------------------------------------------ dict-like access
    def __getattr__(self, name: str) -> Any:
        return getattr(self._cfg_dict, name)

    def __getitem__(self, name: str) -> Any:
        return self._cfg_dict[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, dict):
            value = ConfigDict(value)
        self._cfg_dict.__setattr__(name, value)

    def __setitem__(self, name: str, value: Any) -> None:
        if isinstance(value, dict):
            value = ConfigDict(value)
        self._cfg_dict.__setitem__(name, value)

    def __delattr__(self, name: str) -> None:
        del self._cfg_dict[name]

    def __delitem__(self, name: str) -> None:
        del self._cfg_dict[name]

    def __contains__(self, name: object) -> bool:
        return name in self._cfg_dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self.to_dict() == other.to_dict()
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    def __getstate__(self) -> tuple:
        return (self._cfg_dict.to_dict(), self._text, self._filename)

    def __setstate__(self, state: tuple) -> None:
        cfg_dict, text, filename = state
        super().__setattr__('_cfg_dict', ConfigDict(cfg_dict))
        super().__setattr__('_text', text)
        super().__setattr__('_filename', filename)

    def __repr__(self) -> str:
        return f'Config (path: {self._filename}): {self._cfg_dict.to_dict()!r}'


# ---------------------------------------------------------------------- loading steps
def _read_config_file(filename: str, stack: Tuple[str, ...]) -> str:
    """The text of a config file, after checking it exists, is Python and closes no cycle."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'config file not found: {filename}')
    if not filename.endswith('.py'):
        raise ValueError(f'only Python (.py) config files are supported, got {filename}')
    if filename in stack:
        chain = ' -> '.join(list(stack) + [filename])
        raise RecursionError(f'circular _base_ inheritance: {chain}')
    with open(filename, encoding='utf-8') as f:
        return f.read()


def _mark_base_refs(text: str) -> Tuple[str, bool]:
    """``{{_base_.x}}`` as a whole value becomes a call of the lookup function; a reference inside
    a longer string is left for :func:`_embed_base_refs` (the flag says there is one)."""
    text = _QUOTED_BASE_REF.sub(lambda m: f"{_REF_FUNC}('{m.group(2)}')", text)
    pieces, embedded, pos = [], False, 0
    for m in _BASE_REF.finditer(text):
        line_start = text.rfind('\n', 0, m.start()) + 1
        if _inside_string(text[line_start : m.start()]):
            embedded = True
            continue
        pieces.append(text[pos : m.start()])
        pieces.append(f"{_REF_FUNC}('{m.group(1)}')")
        pos = m.end()
    pieces.append(text[pos:])
    return ''.join(pieces), embedded


def _load_bases(
    filename: str, base_files: List[str], use_predefined_variables: bool, stack: Tuple[str, ...]
) -> Tuple[dict, List[str]]:
    """The merged values and the texts of a file's bases (a key may come from one base only)."""
    base_dict, base_texts, owner = {}, [], {}
    for base in base_files:
        beside = osp.abspath(osp.join(osp.dirname(filename), osp.expanduser(base)))
        # else a config name of the project, found from anywhere (shm/zoo/zoo_tnet_8x8.py)
        base_path = beside if osp.isfile(beside) or osp.isabs(base) else find_config(base)
        if not osp.isfile(base_path):
            raise FileNotFoundError(
                f"{filename}: _base_ file '{base}' not found (looked for {beside})"
            )
        base_path = osp.abspath(base_path)
        sub_dict, sub_text = Config._file2dict(
            base_path, use_predefined_variables, stack + (filename,)
        )
        for key in sub_dict:
            if key in base_dict:
                raise ConfigKeyError(
                    f"{filename}: the key '{key}' is defined by two of its bases, "
                    f'{owner[key]} and {base_path}; a key may come from one base only'
                )
            owner[key] = base_path
        base_dict.update(sub_dict)
        base_texts.append(sub_text)
    return base_dict, base_texts


def _embed_base_refs(text: str, base_dict: dict, filename: str) -> str:
    """Replace ``{{_base_.x}}`` inside strings by the text of its (str or number) value."""

    def embed(match: 're.Match') -> str:
        value = _lookup(base_dict, match.group(1), filename)
        if not isinstance(value, (str, int, float)):
            raise TypeError(
                f'{filename}: {{{{_base_.{match.group(1)}}}}} is used inside a '
                f'string but its value is a {type(value).__name__}'
            )
        return str(value)

    return _BASE_REF.sub(embed, text)


def _exec_config(text: str, filename: str, base_dict: dict) -> dict:
    """Run the user's config file and return its top-level values (modules and dunders left out)."""
    namespace = {
        '__file__': filename,
        '__name__': '__shmatting_config__',
        _REF_FUNC: lambda path: copy.deepcopy(_lookup(base_dict, path, filename)),
    }
    try:
        exec(compile(text, filename, 'exec'), namespace)  # the user's own config file
    except ConfigKeyError:  # {{_base_.x}} lookups already name the file
        raise
    except Exception as exc:
        message = f'{filename}: error while executing the config: {type(exc).__name__}: {exc}'
        try:
            new_exc = type(exc)(message)
        except Exception:
            new_exc = RuntimeError(message)
        raise new_exc from exc
    cfg_dict = {
        k: v
        for k, v in namespace.items()
        if not k.startswith('__') and not isinstance(v, types.ModuleType) and k != _REF_FUNC
    }
    cfg_dict.pop(BASE_KEY, None)
    for key in cfg_dict:
        if key in RESERVED_KEYS:
            raise KeyError(f"{filename}: '{key}' is reserved and cannot be a config key")
    return cfg_dict


# ---------------------------------------------------------------------- argparse
def _split_top_level(text: str) -> List[str]:
    parts, depth, cur, quote = [], 0, '', None
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in '\'"':
            quote = ch
        elif ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        elif ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
            continue
        cur += ch
    if cur.strip() or parts:
        parts.append(cur)
    return [p.strip() for p in parts if p.strip() != '']


def parse_literal(text: str) -> Any:
    """Parse a command-line value like a Python literal, without evaluating code.

    ``1`` -> int, ``0.5`` -> float, ``True``/``true`` -> bool, ``None`` -> None, ``'x'`` -> 'x',
    ``[1,2]`` -> list, ``(1,2)`` -> tuple, ``a,b`` -> ['a', 'b'], ``[a,b]`` -> ['a', 'b'], anything
    else -> the string itself.

    Args:
        text (str): the value as typed.

    Returns:
        The parsed value.
    """
    s = text.strip()
    if s.lower() in ('true', 'false'):
        return s.lower() == 'true'
    if s in ('None', 'none', 'null'):
        return None
    bracketed = len(s) >= 2 and (s[0], s[-1]) in (('[', ']'), ('(', ')'))
    if not bracketed and len(_split_top_level(s)) > 1:
        return [parse_literal(p) for p in _split_top_level(s)]
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    if bracketed:
        items = [parse_literal(p) for p in _split_top_level(s[1:-1])]
        return items if s[0] == '[' else tuple(items)
    return s


class DictAction(Action):
    """argparse action collecting ``KEY=VALUE`` pairs into a dict, values parsed as literals.

    Example:
        >>> import argparse
        >>> p = argparse.ArgumentParser()
        >>> _ = p.add_argument('--cfg-options', nargs='+', action=DictAction)
        >>> p.parse_args(['--cfg-options', 'a=1', 'b=[1,2]', 'c=None', "d='text'"]).cfg_options
        {'a': 1, 'b': [1, 2], 'c': None, 'd': 'text'}
    """

    def __call__(
        self,
        parser: ArgumentParser,
        namespace: Namespace,
        values: Union[str, Sequence[str], None],
        option_string: Optional[str] = None,
    ) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        if isinstance(values, str):
            values = [values]
        for kv in values:
            key, sep, val = kv.partition('=')
            if not sep or not key:
                parser.error(f'{option_string}: expected KEY=VALUE, got {kv!r}')
            options[key] = parse_literal(val)
        setattr(namespace, self.dest, options)
