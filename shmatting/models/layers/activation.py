"""One activation factory for every layer: names (``'relu'``), configs (``dict(type='LeakyReLU',
alpha=0.1)``) or None."""

from typing import Optional, Union

from mindspore import nn

from ...registry import ACTIVATIONS

__all__ = ['build_activation', 'activation_name', 'FUSED_ACTIVATIONS']

# what BatchNormAct2d's CPU kernel fuses; any other activation runs after it on MindSpore ops
FUSED_ACTIVATIONS = (None, 'relu', 'relu6')

for _names, _cell in (
    (['ReLU', 'relu'], nn.ReLU),
    (['ReLU6', 'relu6'], nn.ReLU6),
    (['LeakyReLU', 'leaky_relu'], nn.LeakyReLU),
    (['GELU', 'gelu'], nn.GELU),
    (['Sigmoid', 'sigmoid'], nn.Sigmoid),
    (['Tanh', 'tanh'], nn.Tanh),
    (['HSwish', 'hswish'], nn.HSwish),
    (['SiLU', 'silu'], nn.SiLU),
):
    ACTIVATIONS.register_module(name=_names, module=_cell)


def activation_name(act: Union[str, dict, None]) -> Optional[str]:
    """The canonical lower-case name of a fused-capable activation, else the config's type.

    Args:
        act (str | dict | None): ``None``/``'none'``, a registered name or a config.

    Returns:
        str | None: ``None``, ``'relu'``, ``'relu6'`` or the given type name.
    """
    if act is None or (isinstance(act, str) and act.lower() == 'none'):
        return None
    name = act.get('type') if isinstance(act, dict) else act
    if (
        isinstance(name, str)
        and name.lower() in ('relu', 'relu6')
        and not (isinstance(act, dict) and len(act) > 1)
    ):
        return name.lower()
    return name if isinstance(name, str) else getattr(name, '__name__', str(name))


def build_activation(act: Union[str, dict, None]) -> Optional[nn.Cell]:
    """Build an activation cell.

    Args:
        act (str | dict | None): ``None`` or ``'none'`` (no activation), a name registered in
            ``ACTIVATIONS`` (``'relu'``, ``'relu6'``, ``'leaky_relu'``, ``'gelu'``, ``'sigmoid'``,
            ``'tanh'``, ``'hswish'``, ``'silu'`` or their class names; plugins add more) or a
            config ``dict(type=..., **kwargs)``.

    Returns:
        nn.Cell | None: the activation.
    """
    if act is None or (isinstance(act, str) and act.lower() == 'none'):
        return None
    cfg = dict(type=act) if isinstance(act, str) else dict(act)
    return ACTIVATIONS.build(cfg)
