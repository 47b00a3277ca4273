"""SHM: T-Net (trimap) + M-Net (matting) + fusion, trained in phases."""

import copy
from typing import List, Optional, Union

from mindspore import nn, ops

from ...registry import BACKBONES, HEADS, LOSSES, MODELS
from ..init import apply_init_cfg
from ..layers import ChannelSoftmax

__all__ = ['SHM', 'EncoderDecoder', 'PHASES', 'TRAIN_INPUT_ORDER']

PHASES = ('tnet', 'mnet', 'e2e')
# the batch keys forward_train reads, in its argument order
TRAIN_INPUT_ORDER = ('img', 'trimap', 'alpha', 'fg', 'bg')
PHASE_INPUTS = {
    'tnet': ('img', 'trimap'),
    'mnet': ('img', 'trimap', 'alpha'),
    'e2e': ('img', 'trimap', 'alpha'),
}
PHASE_METRICS = {
    'tnet': ('TrimapIoU',),
    'mnet': ('SAD', 'MSE', 'MAD'),
    'e2e': ('SAD', 'MSE', 'MAD'),
}
LOSS_NAMES = {
    'tnet': ('loss_trimap',),
    'mnet': ('loss_alpha', 'loss_comp'),
    'e2e': ('loss_alpha', 'loss_comp', 'loss_trimap'),
}


class EncoderDecoder(nn.Cell):
    """A backbone and a head wired from the backbone's ``out_channels`` / ``out_strides``.

    Args:
        backbone (dict): BACKBONES config.
        head (dict): HEADS config (gets ``in_channels`` and ``in_strides`` by default).
        in_channels (int): input channels of the backbone.
        name (str): used in error messages (``'tnet'`` / ``'mnet'``).
    """

    def __init__(self, backbone: dict, head: dict, in_channels: int, name: str):
        super().__init__()
        self.backbone = BACKBONES.build(backbone, default_args=dict(in_channels=in_channels))
        for attr in ('out_channels', 'out_strides'):
            if not isinstance(getattr(self.backbone, attr, None), (tuple, list)):
                raise AttributeError(
                    f'{name}.backbone ({type(self.backbone).__name__}) must expose `{attr}` as a '
                    'tuple with one entry per output (the backbone contract in DESIGN.md)'
                )
        self.out_strides = tuple(self.backbone.out_strides)
        self.head = HEADS.build(
            head,
            default_args=dict(
                in_channels=tuple(self.backbone.out_channels), in_strides=self.out_strides
            ),
        )

    def set_input_grad(self, enabled: bool) -> None:
        """Tell the backbone whether the gradient with respect to its input is used (backbones
        that cannot skip it need not define ``set_input_grad``).

        Args:
            enabled (bool): False when the input is data.
        """
        setter = getattr(self.backbone, 'set_input_grad', None)
        if setter is not None:
            setter(enabled)

    def construct(self, x):
        return self.head(self.backbone(x))


def _check_parts(**parts: dict) -> None:
    """Raise a one-line KeyError unless each part is ``dict(backbone=..., head=...)``."""
    for name, part in parts.items():
        if not isinstance(part, dict) or set(part) - {'backbone', 'head'} or 'backbone' not in part:
            raise KeyError(
                f'SHM: {name} must be dict(backbone=dict(...), head=dict(...)), '
                f'got keys {sorted(part) if isinstance(part, dict) else part!r}'
            )


@MODELS.register_module()
class SHM(nn.Cell):
    """Semantic Human Matting: ``alpha_p = P_fg + P_unknown * M(concat(I, P))`` with ``P = T(I)``.

    All three parts are always built, so checkpoint keys (``tnet.*``, ``mnet.*``) are the same in
    every phase; ``train_cfg.phase`` picks the training path and losses:

    * ``'tnet'``: T-Net alone, trimap cross-entropy L_t.
    * ``'mnet'``: M-Net on the one-hot ground-truth trimap (no softmax of a one-hot), L_p.
    * ``'e2e'``: the whole network, ``L_p + lambda_trimap * L_t`` (lambda 0.01).

    with ``L_p = L_alpha + L_comp`` (each weighted 0.5 in the default losses).

    Args:
        tnet (dict): ``dict(backbone=..., head=...)`` (3 input channels, 3-class logits).
        mnet (dict): ``dict(backbone=..., head=...)`` (6 input channels, 1 output channel).
        fusion (dict): HEADS config of the fusion module.
        losses (dict): ``trimap``, ``alpha`` and ``comp`` LOSSES configs (``comp=None`` drops it).
        train_cfg (dict): ``phase`` and ``lambda_trimap``.
        test_cfg (dict): ``size_divisor`` (default: the largest backbone stride), ``clamp``
            (clip alpha to [0, 1] after resizing back, default True), the evaluation protocol
            options used by the evaluation code (``resize``...), and ``fuse_conv_bn`` (default
            True: inference tools fold BatchNorms into convolutions, ``apis.load_mattor``).
        init_cfg (dict | list[dict]): ``dict(type='TorchDefault')`` by default.

    Inputs of ``construct``:
        img (Tensor): ``[N, 3, H, W]`` normalised BGR, H and W multiples of ``size_divisor``.
        trimap_onehot (Tensor, optional): ``[N, 3, H, W]`` one-hot trimap to use instead of
            T-Net's softmax (M-Net phase evaluation).

    Outputs of ``construct``:
        tuple: ``(trimap_logits [N, 3, H, W], alpha [N, 1, H, W])``, alpha unclamped. With a given
        ``trimap_onehot``, the first output is that trimap. Images of any size go through
        :func:`shmatting.evaluation.predict_image` (the test protocol).
    """

    def __init__(
        self,
        tnet: dict,
        mnet: dict,
        fusion: Optional[dict] = None,
        losses: Optional[dict] = None,
        train_cfg: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        init_cfg: Union[dict, List[dict], None] = None,
    ):
        super().__init__()
        _check_parts(tnet=tnet, mnet=mnet)
        self.tnet = EncoderDecoder(tnet['backbone'], tnet['head'], 3, 'tnet')
        self.mnet = EncoderDecoder(mnet['backbone'], mnet['head'], 6, 'mnet')
        self.tnet.set_input_grad(False)  # it reads the image
        self.fusion = HEADS.build(fusion or dict(type='FusionHead'))
        self.softmax = ChannelSoftmax()

        losses = copy.deepcopy(dict(losses)) if losses is not None else {}
        unknown = set(losses) - {'trimap', 'alpha', 'comp'}
        if unknown:
            raise KeyError(f'SHM: unknown losses {sorted(unknown)}; use trimap, alpha and comp')
        defaults = dict(
            trimap=dict(type='TrimapCrossEntropyLoss'),
            alpha=dict(type='AlphaPredictionLoss', loss_weight=0.5),
            comp=dict(type='CompositionLoss', loss_weight=0.5),
        )
        for key, default in defaults.items():
            losses.setdefault(key, default)
        self.loss_trimap = LOSSES.build(losses['trimap'])
        self.loss_alpha = LOSSES.build(losses['alpha'])
        self.use_comp = losses['comp'] is not None
        self.loss_comp = LOSSES.build(losses['comp']) if self.use_comp else None

        train_cfg = dict(train_cfg or {})
        unknown = set(train_cfg) - {'phase', 'lambda_trimap'}
        if unknown:
            raise KeyError(
                f'SHM: unknown train_cfg keys {sorted(unknown)}; use phase and lambda_trimap'
            )
        self.lambda_trimap = float(train_cfg.get('lambda_trimap', 0.01))
        self.train_cfg = train_cfg
        self.test_cfg = dict(test_cfg or {})
        largest = max(max(self.tnet.out_strides), max(self.mnet.out_strides))
        self.size_divisor = int(self.test_cfg.get('size_divisor') or largest)
        if self.size_divisor % largest:
            raise ValueError(
                f'SHM: test_cfg.size_divisor={self.size_divisor} must be a multiple of '
                f'the largest backbone stride ({largest})'
            )
        self.train_phase = 'e2e'
        self.set_phase(train_cfg.get('phase', 'e2e'))
        apply_init_cfg(self, init_cfg if init_cfg is not None else dict(type='TorchDefault'))

    # ------------------------------------------------------------------ phases
    def set_phase(self, phase):
        """Select the training phase and freeze the parameters it does not train.

        Args:
            phase (str): ``'tnet'``, ``'mnet'`` or ``'e2e'``.
        """
        if phase not in PHASES:
            raise ValueError(f'SHM: phase must be one of {PHASES}, got {phase!r}')
        self.train_phase = phase
        # the M-Net's input carries a gradient only from the T-Net's probabilities (end to end)
        self.mnet.set_input_grad(phase == 'e2e')
        active = {'tnet': ('tnet',), 'mnet': ('mnet',), 'e2e': ('tnet', 'mnet')}[phase]
        for name, param in self.parameters_and_names():
            if 'moving_' in name:
                continue  # BatchNorm statistics are never trainable
            param.requires_grad = name.split('.', 1)[0] in active

    def phase_trainable_params(self):
        """list[Parameter]: the parameters the active phase trains (for the optimizer)."""
        return self.trainable_params()

    @property
    def loss_names(self):
        """tuple[str]: names of the loss terms returned by :meth:`forward_train`."""
        names = LOSS_NAMES[self.train_phase]
        if not self.use_comp:
            names = tuple(n for n in names if n != 'loss_comp')
        return names

    def train_inputs(self):
        """tuple[str]: the batch keys :meth:`forward_train` reads in the active phase, in its
        argument order (``fg`` and ``bg`` when the composition loss composites)."""
        needed = set(PHASE_INPUTS[self.train_phase])
        if (
            self.train_phase != 'tnet'
            and self.use_comp
            and getattr(self.loss_comp, 'mode', '') == 'composite'
        ):
            needed |= {'fg', 'bg'}
        return tuple(k for k in TRAIN_INPUT_ORDER if k in needed)

    def check_train_keys(self, keys):
        """Raise ``KeyError`` naming what the active phase needs and a batch lacks.

        Args:
            keys (Iterable[str]): the keys the train pipeline packs.
        """
        missing = [k for k in self.train_inputs() if k not in tuple(keys)]
        if missing:
            raise KeyError(
                f'phase {self.train_phase!r} needs {missing} in the train pipeline '
                f'(PackInputs keys are {list(keys)})'
            )

    def default_metrics(self):
        """list[str]: the metrics evaluated when a config names none (mIoU for the T-Net
        phase, SAD/MSE/MAD otherwise); the first is what ``save_best='auto'`` keeps."""
        return list(PHASE_METRICS[self.train_phase])

    @property
    def eval_uses_gt_trimap(self):
        """bool: evaluation feeds the one-hot ground-truth trimap (the M-Net phase)."""
        return self.train_phase == 'mnet'

    @property
    def compile_phase(self) -> str:
        """str: the graph phase MindSpore last ran this network as (its ``Cell`` property)."""
        return self._compile_phase

    @compile_phase.setter
    def compile_phase(self, value: str) -> None:
        # MindSpore sets it before every GRAPH call, on each of the network's ~380 cells (2.3 ms
        # of a 90-100 ms inference); while it stays the same, they hold it already.
        if value != self._compile_phase:
            nn.Cell.compile_phase.fset(self, value)

    # ------------------------------------------------------------------ forward
    def construct(self, img, trimap_onehot=None):
        if trimap_onehot is None:
            logits = self.tnet(img)
            probs = self.softmax(logits)
        else:
            logits = trimap_onehot
            probs = trimap_onehot
        alpha_r = self.mnet(ops.concat((img, probs), axis=1))
        return logits, self.fusion(probs, alpha_r)

    def _alpha_losses(self, img, alpha_p, alpha, fg, bg):
        loss_alpha = self.loss_alpha(alpha_p, alpha)
        if not self.use_comp:
            return loss_alpha, (loss_alpha,)
        loss_comp = self.loss_comp(alpha_p, alpha, img, fg, bg)
        return loss_alpha + loss_comp, (loss_alpha, loss_comp)

    def forward_train(self, img, trimap_index, alpha=None, fg=None, bg=None):
        """Losses of the active phase.

        Args:
            img (Tensor): ``[N, 3, H, W]`` normalised input.
            trimap_index (Tensor): ``[N, H, W]`` or ``[N, 1, H, W]`` int class indices (0 bg,
                1 unknown, 2 fg): the batch's ``trimap``.
            alpha (Tensor): ``[N, 1, H, W]`` ground-truth alpha in [0, 1] (M-Net and e2e phases).
            fg (Tensor, optional): ``[N, 3, H, W]`` foreground in [0, 1] (composition loss).
            bg (Tensor, optional): ``[N, 3, H, W]`` background in [0, 1] (composition loss).

        Returns:
            tuple: ``(total_loss, terms)`` with ``terms`` a tuple ordered as :attr:`loss_names`.
        """
        if self.train_phase == 'tnet':
            loss_t = self.loss_trimap(self.tnet(img), trimap_index)
            return loss_t, (loss_t,)
        if self.train_phase == 'mnet':
            label = trimap_index.squeeze(1) if trimap_index.ndim == 4 else trimap_index
            onehot = ops.one_hot(label.astype('int32'), 3, 1.0, 0.0, axis=1).astype(img.dtype)
            alpha_r = self.mnet(ops.concat((img, onehot), axis=1))
            alpha_p = self.fusion(onehot, alpha_r)
            return self._alpha_losses(img, alpha_p, alpha, fg, bg)
        logits, alpha_p = self.construct(img)
        loss_p, terms = self._alpha_losses(img, alpha_p, alpha, fg, bg)
        loss_t = self.loss_trimap(logits, trimap_index)
        return loss_p + self.lambda_trimap * loss_t, terms + (loss_t,)
