"""MobileNetV2 encoder, with the options that reproduce SHM's T-Net encoder exactly."""

from typing import Any, Optional, Sequence

from mindspore import lazy_inline, nn

from ...registry import BACKBONES
from ..layers.activation import build_activation
from ..layers.conv import batch_norm, conv_bn_act, make_divisible, set_block_input_grad
from ..layers.depthwise import DepthwiseConv3x3
from ..layers.fused_block import FusedInvertedResidual
from ..layers.norm_act import BatchNormAct2d
from ..layers.norm_act_fused import NormActConv1x1, NormActDepthwise
from ..layers.same_conv import same_conv2d

__all__ = ['MobileNetV2', 'InvertedResidual']

# (expand ratio t, channels c, repeats n, stride s) of the seven stages
ARCH_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

VARIANTS = {
    # SHM T-Net as in the PyTorch original and the MindSpore model zoo
    'zoo': dict(stem_stride=1, stem_act='relu', keep_t1_expand=True, final_conv=False),
    # the MobileNetV2 of the paper (Sandler et al. 2018)
    'standard': dict(stem_stride=2, stem_act='relu6', keep_t1_expand=False, final_conv=True),
}


class InvertedResidual(nn.Cell):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 linear projection (+ identity).

    The layers live in ``self.conv`` with the original indices
    ``[conv, bn, relu6, dwconv, bn, relu6, conv, bn]``; each ReLU6 is fused into the BatchNorm
    before it and its slot holds an ``nn.Identity`` so that the parameter names stay the zoo's.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        stride (int): depthwise stride (1 or 2).
        expand_ratio (int): hidden channels = ``in_channels * expand_ratio``.
        keep_t1_expand (bool): keep the 1x1 expansion conv when ``expand_ratio == 1``
            (zoo-compatible: the original builds a 32->32 1x1 conv there).
    """

    # MindSpore compiles each block's graph before inlining it ('front'): the repeated blocks of a
    # stage are parsed and inferred once, 1.8 s less of the train step's compile
    # (docs/performance.md); the compiled graph is the same
    @lazy_inline(policy='front')
    def __init__(self, in_channels, out_channels, stride, expand_ratio, keep_t1_expand=True):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers = []
        self.expands = expand_ratio != 1 or keep_t1_expand
        if self.expands:
            layers += [
                same_conv2d(in_channels, hidden, 1),
                batch_norm(hidden, 'relu6'),
                nn.Identity(),
            ]
        layers += [
            DepthwiseConv3x3(hidden, stride),
            batch_norm(hidden, 'relu6'),
            nn.Identity(),
            same_conv2d(hidden, out_channels, 1),
            batch_norm(out_channels),
        ]
        self.conv = nn.SequentialCell(layers)
        # training on the CPU kernels: each BatchNorm + ReLU6 runs in one kernel with the
        # convolution that reads it (the depthwise one, the 1x1 projection), which never stores
        # the map between them
        self.norm_depthwise = NormActDepthwise(stride, 'relu6') if self.expands else None
        self.norm_project = NormActConv1x1('relu6')
        self.dw_index = 3 if self.expands else 0  # where the depthwise layer sits in ``conv``
        # inference after fuse_conv_bn, on the CPU kernels: the whole block as one kernel
        self.fused_block = FusedInvertedResidual(stride, self.use_res_connect, self.expands)

    def construct(self, x):
        c, d = self.conv, self.dw_index
        if self.fused_block.applies(c):
            return self.fused_block(x, c)
        out = c[0](x)
        if self.expands:
            if self.norm_depthwise.applies(c[1], c[3]):
                out = self.norm_depthwise(out, c[1], c[3])
            else:
                out = c[3](c[2](c[1](out)))
        if self.norm_project.applies(c[d + 1], c[d + 3]):
            out = self.norm_project(out, c[d + 1], c[d + 3])
        else:
            out = c[d + 3](c[d + 2](c[d + 1](out)))
        if self.use_res_connect:
            if isinstance(c[d + 4], BatchNormAct2d):
                return c[d + 4](out, x)  # the identity added in the BatchNorm's own pass
            return x + c[d + 4](out)
        return c[d + 4](out)


def _variant_options(variant: str, **overrides: Any) -> dict:
    """A variant's settings with the non-None overrides applied, checked."""
    if variant not in VARIANTS:
        raise ValueError(f'variant must be one of {sorted(VARIANTS)}, got {variant!r}')
    opts = dict(VARIANTS[variant])
    opts.update({k: v for k, v in overrides.items() if v is not None})
    if opts['stem_act'] in (None, 'none'):
        raise ValueError(
            f"stem_act must be an activation such as 'relu' or 'relu6', got {opts['stem_act']!r}"
        )
    build_activation(opts['stem_act'])  # an unknown name fails here, naming the registry
    return opts


def _check_out_indices(out_indices: Sequence[int], num_stages: int) -> tuple:
    out_indices = tuple(out_indices)
    if not out_indices or any(not 0 <= i < num_stages for i in out_indices):
        raise ValueError(f'out_indices must be in range(0, {num_stages}), got {out_indices}')
    if list(out_indices) != sorted(set(out_indices)):
        raise ValueError(f'out_indices must be increasing, got {out_indices}')
    return out_indices


@BACKBONES.register_module()
class MobileNetV2(nn.Cell):
    """MobileNetV2 returning several stage outputs.

    Args:
        in_channels (int): input channels (3 for an image).
        widen_factor (float): width multiplier (channels rounded to multiples of 8). ``widen`` is
            accepted as an alias.
        out_indices (tuple[int]): stages whose outputs are returned, 0..6 for the seven inverted-
            residual stages and 7 for the final 1x1 conv (when present). The zoo T-Net uses
            ``(0, 1, 2, 4, 6)``.
        variant (str): ``'zoo'`` (default: stride-1 stem with ReLU, 1x1 expansion kept at t=1, no
            final 1280 conv) or ``'standard'`` (stride-2 stem with ReLU6, no expansion at t=1,
            final 1x1 conv to 1280).
        stem_stride, stem_act, keep_t1_expand, final_conv: override single settings of the variant.

    Attributes:
        out_channels (tuple[int]): channels of each returned output.
        out_strides (tuple[int]): stride of each returned output relative to the input.
    """

    def __init__(
        self,
        in_channels: int = 3,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (0, 1, 2, 4, 6),
        variant: str = 'zoo',
        stem_stride: Optional[int] = None,
        stem_act: Optional[str] = None,
        keep_t1_expand: Optional[bool] = None,
        final_conv: Optional[bool] = None,
        widen: Optional[float] = None,
    ):
        super().__init__()
        opts = _variant_options(
            variant,
            stem_stride=stem_stride,
            stem_act=stem_act,
            keep_t1_expand=keep_t1_expand,
            final_conv=final_conv,
        )
        widen_factor = widen if widen is not None else widen_factor
        if (
            isinstance(widen_factor, bool)
            or not isinstance(widen_factor, (int, float))
            or widen_factor <= 0
        ):
            raise ValueError(f'widen_factor must be a positive number, got {widen_factor!r}')
        self.out_indices = _check_out_indices(out_indices, len(ARCH_SETTINGS) + opts['final_conv'])
        self.widen_factor, self.variant = widen_factor, variant
        stem_channels = make_divisible(32 * widen_factor, 8)
        self.head_conv = conv_bn_act(
            in_channels, stem_channels, 3, stride=opts['stem_stride'], act=opts['stem_act']
        )
        channels, strides = self._build_stages(stem_channels, opts)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.out_strides = tuple(strides[i] for i in self.out_indices)

    def _build_stages(self, in_channels, opts):
        """The seven inverted-residual stages (and the final 1x1 conv), named as in the zoo:
        ``block_1``..``block_7``, ``conv_last`` (``t_net.feature.block_2.0.conv.3.weight``).

        Returns:
            tuple: per stage, its output channels and its stride.
        """
        channels, stride = in_channels, opts['stem_stride']
        stage_channels, stage_strides, names = [], [], []
        for i, (t, c, n, s) in enumerate(ARCH_SETTINGS):
            out_c = make_divisible(c * self.widen_factor, 8)
            blocks = [
                InvertedResidual(
                    channels if j == 0 else out_c,
                    out_c,
                    s if j == 0 else 1,
                    t,
                    opts['keep_t1_expand'],
                )
                for j in range(n)
            ]
            channels, stride = out_c, stride * s
            # a one-block stage is the block itself (t_net.feature.block_1.conv.0.weight)
            setattr(self, f'block_{i + 1}', blocks[0] if n == 1 else nn.SequentialCell(blocks))
            names.append(f'block_{i + 1}')
            stage_channels.append(out_c)
            stage_strides.append(stride)
        if opts['final_conv']:
            last = make_divisible(1280 * max(1.0, self.widen_factor), 8)
            self.conv_last = conv_bn_act(channels, last, 1, act='relu6')
            names.append('conv_last')
            stage_channels.append(last)
            stage_strides.append(stride)
        self.stage_names = tuple(names)
        return stage_channels, stage_strides

    def set_input_grad(self, enabled: bool) -> None:
        """Declare whether the gradient with respect to the input is used (the mattor says: not
        for an image); the stem then skips that pass. Optional for backbones.

        Args:
            enabled (bool): False when the input is data.
        """
        set_block_input_grad(self.head_conv, enabled)

    def construct(self, x):
        x = self.head_conv(x)
        outs = ()
        for i in range(len(self.stage_names)):
            x = getattr(self, self.stage_names[i])(x)
            if i in self.out_indices:
                outs = outs + (x,)
        return outs
