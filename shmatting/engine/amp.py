"""Mixed precision for the SHM model with MindSpore's level semantics.

``amp=dict(enabled=True, level='O1'|'O2'|'O3', loss_scale='dynamic')``:

* ``O1``: convolutions and dense layers compute in float16, everything else in float32;
* ``O2``: the sub-networks compute in float16 except BatchNorm (float32, as MindSpore's O2);
* ``O3``: the sub-networks compute in float16, BatchNorm included.

At every level the parameters and the optimizer state stay float32 (master weights; checkpoints
have the float32 names and load into a float32 model), the trimap softmax, the fusion and the
losses run in float32 (the sub-networks' outputs are cast back), gradients are cast to their
parameters' dtype before the optimizer, and the loss is scaled (dynamic by default: a step whose
gradients overflow is skipped and the scale lowered).

On the CPU target the layers that run on the project's CPU kernels (float32 only) and the
convolutions with a hand-written gradient stay in float32 at every level: float16 is no faster on
a CPU, so amp there is for checking a recipe before it goes to Ascend. On Ascend the kernels are
off and the levels apply to every layer. The Ascend operators' own automatic precision
(``context.precision_mode``, the model zoo's setting) is independent of this and can be combined.
"""

from typing import Any, Optional, Union

import mindspore as ms
from mindspore import nn, ops

__all__ = ['AMP_LEVELS', 'apply_amp', 'parse_amp', 'keeps_float32']

AMP_LEVELS = ('O0', 'O1', 'O2', 'O3')
_FP16 = ms.float16
_FP32 = ms.float32


def parse_amp(amp_cfg: Optional[dict]) -> dict:
    """Normalise a config's ``amp``.

    Args:
        amp_cfg (dict, optional): ``enabled``, ``level`` (default ``'O2'`` when enabled),
            ``loss_scale`` (``'dynamic'``, a number for a fixed scale, or ``dict(type='dynamic',
            init_scale=2**16, scale_factor=2, scale_window=1000)``); the older top-level
            ``init_scale``, ``scale_factor`` and ``scale_window`` keys are read too.

    Returns:
        dict: ``enabled``, ``level``, ``loss_scale`` (a dict with ``type`` ``'dynamic'`` or
        ``'fixed'``).
    """
    cfg = dict(amp_cfg or {})
    unknown = set(cfg) - {
        'enabled',
        'level',
        'loss_scale',
        'init_scale',
        'scale_factor',
        'scale_window',
        'type',
    }
    if unknown:
        raise KeyError(f'amp: unknown keys {sorted(unknown)}; use enabled, level, loss_scale')
    enabled = bool(cfg.get('enabled', False))
    level = cfg.get('level', 'O2' if enabled else 'O0')  # O0 + enabled: float32, loss scaling
    if level not in AMP_LEVELS:
        raise ValueError(f'amp.level must be one of {AMP_LEVELS}, got {level!r}')
    scale = cfg.get('loss_scale', 'dynamic')
    dynamic = dict(
        type='dynamic',
        init_scale=cfg.get('init_scale', 2**16),
        scale_factor=cfg.get('scale_factor', 2),
        scale_window=cfg.get('scale_window', 1000),
    )
    if scale == 'dynamic':
        scale = dynamic
    elif isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0:
        scale = dict(type='fixed', init_scale=float(scale))
    elif isinstance(scale, dict) and scale.get('type', 'dynamic') in ('dynamic', 'fixed'):
        scale = {**dynamic, **scale}
    else:
        raise ValueError(
            f"amp.loss_scale must be 'dynamic', a positive number or a dict, got {scale!r}"
        )
    return dict(enabled=enabled, level=level, loss_scale=scale)


class _CastOutputs(nn.Cell):
    """Runs a cell and casts its floating outputs to ``dtype``; parameter names unchanged."""

    def __init__(self, backbone: nn.Cell, dtype: Any):
        super().__init__(auto_prefix=False)
        self._backbone = backbone
        self.dtype = dtype
        self._get_attr_from_cell(backbone)

    def construct(self, *args):
        return ops.mixed_precision_cast(self.dtype, self._backbone(*args))


def keeps_float32(cell: nn.Cell, level: str) -> bool:
    """Whether ``cell`` computes in float32 at ``level``.

    Args:
        cell (nn.Cell): a layer.
        level (str): ``'O1'``, ``'O2'`` or ``'O3'``.

    Returns:
        bool: True for the CPU-kernel layers and hand-written gradients (every level), and for
        BatchNorm at O1 and O2.
    """
    if getattr(cell, 'use_cpu_kernel', False) or getattr(cell, 'forward_dx', False):
        return True
    return level in ('O1', 'O2') and isinstance(cell, (nn.BatchNorm2d, nn.LayerNorm))


def _is_compute_heavy(cell: nn.Cell) -> bool:
    from ..models.layers import ConvTranspose2dK5S2

    return isinstance(cell, (nn.Conv2d, nn.Dense, nn.Conv2dTranspose, ConvTranspose2dK5S2))


def _convert(cell: nn.Cell, level: str) -> None:
    """Set the compute dtype of ``cell``'s children in place (``cell`` itself is float16 for O2
    and O3, unchanged for O1)."""
    for name, child in list(cell.name_cells().items()):
        if getattr(child, 'amp_follows_layers', False):
            continue  # runs other layers' parameters only when those stayed plain (fused kernels)
        if keeps_float32(child, level):
            child.to_float(_FP32)
            if level != 'O1':  # the parent computes in float16: hand it float16 back
                cell._cells[name] = _CastOutputs(child, _FP16)
        elif level == 'O1' and _is_compute_heavy(child):
            child.to_float(_FP16)
            cell._cells[name] = _CastOutputs(child, _FP32)
        else:
            _convert(child, level)
    if isinstance(cell, nn.SequentialCell):
        cell.cell_list = list(cell.cells())


def apply_amp(model: nn.Cell, level: Union[str, None]) -> nn.Cell:
    """Convert the model's sub-networks (``tnet``, ``mnet``) to mixed precision in place.

    Args:
        model (nn.Cell): an SHM-like model with ``tnet`` and ``mnet`` children.
        level (str): ``'O0'`` (nothing), ``'O1'``, ``'O2'`` or ``'O3'``.

    Returns:
        nn.Cell: the model.
    """
    if level in (None, 'O0'):
        return model
    if level not in AMP_LEVELS:
        raise ValueError(f'amp level must be one of {AMP_LEVELS}, got {level!r}')
    for name in ('tnet', 'mnet'):
        sub = model._cells[name]
        if level != 'O1':
            sub.to_float(_FP16)
        _convert(sub, level)
        model._cells[name] = _CastOutputs(sub, _FP32)  # softmax, fusion, losses in float32
    return model
