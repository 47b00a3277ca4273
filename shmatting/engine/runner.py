"""The Runner: one training phase built from a Config, an epoch loop and hooks."""
import difflib
import os
import os.path as osp
import random
import time

import numpy as np

from .. import __version__
from ..registry import HOOKS
from ..utils import env_table, get_logger
from ..utils.logging import remove_file_handlers
from .checkpoint import find_latest_full_state, load_weights, read_meta
from .dist import broadcast_from_rank0, init_dist
from .hooks.hook import Hook, get_priority

__all__ = ['Runner', 'apply_context', 'apply_recompute', 'resolve_device_target', 'set_device',
           'REQUIRED_KEYS']

REQUIRED_KEYS = ('model', 'data', 'optimizer', 'total_epochs')
PHASE_INPUTS = {'tnet': ('img', 'trimap'), 'mnet': ('img', 'trimap', 'alpha'),
                'e2e': ('img', 'trimap', 'alpha')}
ARG_ORDER = ('img', 'trimap', 'alpha', 'fg', 'bg')


def resolve_device_target(target):
    """``'auto'`` -> Ascend, GPU or CPU, whichever this MindSpore build can use."""
    if target not in ('auto', 'CPU', 'GPU', 'Ascend'):
        raise ValueError(f"device_target must be auto, CPU, GPU or Ascend, got {target!r}")
    if target != 'auto':
        return target
    import mindspore as ms
    for candidate in ('Ascend', 'GPU'):
        try:
            if ms.hal.is_available(candidate):
                return candidate
        except Exception:
            continue
    return 'CPU'


def set_device(target, device_id=None):
    """``ms.set_device`` that tolerates a process whose runtime already runs on ``target``."""
    import mindspore as ms
    try:
        if device_id is None:
            ms.set_device(target)
        else:
            ms.set_device(target, int(device_id))
    except RuntimeError as exc:
        if ms.get_context('device_target') != target:
            raise RuntimeError(f'cannot switch this process to {target}: {exc}') from None


def apply_context(context, device_target=None, deterministic=False, launcher='none'):
    """Apply ``context=dict(mode, device_target, device_id, jit_level, precision_mode)``.

    Returns:
        dict: the context actually applied (for the log).
    """
    import mindspore as ms
    ctx = dict(mode='GRAPH', device_target='auto', device_id=None, jit_level=None,
               precision_mode=None)
    unknown = set(context or {}) - set(ctx)
    if unknown:
        raise KeyError(f'context: unknown keys {sorted(unknown)}; use {sorted(ctx)}')
    ctx.update(context or {})
    if device_target:
        ctx['device_target'] = device_target
    ctx['device_target'] = resolve_device_target(ctx['device_target'])
    mode = str(ctx['mode']).upper()
    if mode not in ('GRAPH', 'PYNATIVE'):
        raise ValueError(f"context.mode must be 'GRAPH' or 'PYNATIVE', got {ctx['mode']!r}")
    if launcher != 'rank_table':  # the rank-table launch binds DEVICE_ID itself
        set_device(ctx['device_target'], ctx['device_id'])
    kwargs = dict(mode=ms.GRAPH_MODE if mode == 'GRAPH' else ms.PYNATIVE_MODE)
    if ctx['jit_level']:
        kwargs['jit_config'] = {'jit_level': ctx['jit_level']}
    if deterministic:
        kwargs['deterministic'] = 'ON'
    ms.set_context(**kwargs)
    if ctx['precision_mode'] and ctx['device_target'] == 'Ascend':
        ms.device_context.ascend.op_precision.precision_mode(ctx['precision_mode'])
    ctx['mode'] = mode
    return ctx


def apply_recompute(model, names):
    """Recompute the activations of the named sub-cells in the backward pass (less memory).

    Args:
        model (nn.Cell): the model.
        names (list[str] | None): cell names such as ``'tnet.backbone.block_2'``.
    """
    if not names:
        return
    cells = dict(model.cells_and_names())
    for name in names:
        if name not in cells:
            close = difflib.get_close_matches(name, list(cells), n=3)
            raise KeyError(f'recompute: no cell named {name!r}'
                           + (f' (did you mean {", ".join(close)}?)' if close else ''))
        cells[name].recompute()


def _check_required(cfg):
    for key in REQUIRED_KEYS:
        if key not in cfg:
            close = difflib.get_close_matches(key, list(cfg.keys()), n=2)
            hint = f' (did you mean {", ".join(close)}?)' if close else ''
            raise KeyError(f"config {cfg.filename or ''}: missing required key '{key}'{hint}")


class Runner:
    """Train one phase of a config.

    Args:
        cfg (Config): the run's config.
        work_dir (str, optional): default ``cfg.work_dir`` or ``work_dirs/<config name>``.
        launcher (str): ``'none'``, ``'msrun'`` or ``'rank_table'``.
        resume (str, optional): ``'auto'`` (newest full-state checkpoint in the work dir, if any)
            or a path.
        load_from (str | dict, optional): weights to start from (overrides ``cfg.load_from``).
        seed (int, optional): overrides ``cfg.seed``.
        deterministic (bool): ask MindSpore for deterministic kernels.
        validate (bool): evaluate during training.
        device_target (str, optional): overrides ``cfg.context.device_target``.
    """

    def __init__(self, cfg, work_dir=None, launcher='none', resume=None, load_from=None, seed=None,
                 deterministic=False, validate=True, device_target=None):
        import mindspore as ms
        _check_required(cfg)
        self.cfg = cfg
        self.context = apply_context(cfg.get('context'), device_target, deterministic, launcher)
        self.rank, self.world_size = init_dist(launcher, self.context['device_target'])
        name = osp.splitext(osp.basename(cfg.filename or 'config.py'))[0]
        self.work_dir = osp.abspath(work_dir or cfg.get('work_dir') or osp.join('work_dirs', name))
        os.makedirs(self.work_dir, exist_ok=True)
        self.timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        self.logger = get_logger('shmatting', osp.join(self.work_dir, f'{self.timestamp}.log'),
                                 rank=self.rank)

        resume = resume if resume is not None else cfg.get('resume_from')
        self.resume_path = None
        resume_meta = {}
        if resume:
            self.resume_path = find_latest_full_state(self.work_dir) if resume == 'auto' else resume
            if resume != 'auto' and not osp.isfile(resume):
                raise FileNotFoundError(f'--resume: checkpoint not found: {resume}')
            if self.resume_path:
                resume_meta = read_meta(self.resume_path)
                if resume_meta.get('kind') != 'full':
                    raise ValueError(f'--resume: {self.resume_path} is not a full-state checkpoint '
                                     '(weights-only files are for load_from)')
        self.seed = self._decide_seed(resume_meta.get('seed', seed if seed is not None else cfg.get('seed')))
        ms.set_seed(self.seed)
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)
        cfg.merge_from_dict({'seed': self.seed})
        if self.rank == 0:
            cfg.dump(osp.join(self.work_dir, f'{name}.py'))
        self.logger.info('\n' + env_table())
        self.logger.info(f'context: {self.context}, rank {self.rank}/{self.world_size}, '
                         f'seed {self.seed}, work_dir {self.work_dir}')

        self._build_model_and_data(validate)
        self._build_optimizer_and_step()
        self.epoch = self.start_epoch = 0
        self.iter = 0
        self.inner_iter = 0
        self.meta = {}
        self.nonfinite = False
        self.last_metrics = {}
        self.last_eval_epoch = None
        self.outputs = None
        self.data_time = 0.0
        self.hooks = []
        self._register_hooks(validate)
        if self.resume_path:
            self._resume(self.resume_path, resume_meta)
        else:
            load = load_from if load_from is not None else cfg.get('load_from')
            if load:
                load_weights(self.model, load, strict=bool(cfg.get('load_strict', False)),
                             logger=self.logger)

    # ------------------------------------------------------------------ building
    def _decide_seed(self, seed):
        if seed is None:
            seed = random.SystemRandom().randrange(2**31) if self.rank == 0 else 0
            seed = int(broadcast_from_rank0(seed))
        return int(seed)

    def _build_model_and_data(self, validate):
        from ..datasets import build_dataloader, build_dataset
        from ..evaluation import Evaluator
        from ..models import build_model
        cfg = self.cfg
        self.model = build_model(cfg.model)
        apply_recompute(self.model, cfg.get('recompute'))
        self.phase = self.model.train_phase
        self.loss_names = self.model.loss_names
        data = cfg.data
        for key in ('train', 'samples_per_device'):
            if key not in data:
                raise KeyError(f"config data: missing '{key}'")
        data_root = cfg.get('data_root')
        self.train_dataset = build_dataset(data.train, data_root=data_root, seed=self.seed)
        self.train_loader = build_dataloader(self.train_dataset, data.samples_per_device,
                                             workers=data.get('workers', 0), shuffle=data.get('shuffle', True),
                                             seed=self.seed, rank=self.rank,
                                             world_size=self.world_size, drop_last=True)
        self.samples_per_step = int(data.samples_per_device)
        keys = self.train_loader.keys
        needed = list(PHASE_INPUTS[self.phase])
        comp = getattr(self.model, 'loss_comp', None)
        if self.phase != 'tnet' and comp is not None and getattr(comp, 'mode', '') == 'composite':
            needed += ['fg', 'bg']
        missing = [k for k in needed if k not in keys]
        if missing:
            raise KeyError(f'phase {self.phase!r} needs {missing} in the train pipeline '
                           f"(PackInputs keys are {list(keys)})")
        self.step_keys = tuple(k for k in ARG_ORDER if k in needed)
        self.val_loader = None
        eval_cfg = cfg.get('evaluation', {})
        default_metrics = ['TrimapIoU'] if self.phase == 'tnet' else ['SAD', 'MSE', 'MAD']
        convention = (eval_cfg or {}).get('convention', 'p3m')
        metrics = [dict(type=m, convention=convention) if isinstance(m, str) else m
                   for m in ((eval_cfg or {}).get('metrics') or default_metrics)]
        self.evaluator = Evaluator(metrics, self.model.test_cfg, use_gt_trimap=self.phase == 'mnet')
        self.metric_rules = self.evaluator.rules
        self.metric_units = {m.key: m.unit for m in self.evaluator.metrics}
        self.metric_convention = self.evaluator.metrics[0].convention
        self.val_protocol = self.evaluator.protocol
        if validate and eval_cfg is not None and 'val' in data:
            self.val_dataset = build_dataset(data.val, data_root=data_root, seed=self.seed)
            self.val_loader = build_dataloader(self.val_dataset, 1, workers=data.get('val_workers', 0),
                                               seed=self.seed, rank=self.rank,
                                               world_size=self.world_size, mode='eval')
        self.iters_per_epoch = len(self.train_loader)
        self.max_epochs = int(cfg.total_epochs)
        self.max_iters = self.max_epochs * self.iters_per_epoch

    def _build_optimizer_and_step(self):
        import mindspore as ms
        from mindspore import amp
        from .lr_schedules import build_lr_values
        from .optimizers import build_optimizer
        from .train_step import MattorWithLoss, TrainStep, TrainStepWithLossScale
        cfg = self.cfg
        if 'lr' not in cfg.optimizer:
            raise KeyError("config optimizer: missing 'lr'")
        self.lr_values = build_lr_values(cfg.get('lr_config'), float(cfg.optimizer.lr),
                                         self.max_iters, self.iters_per_epoch)
        params = self.model.phase_trainable_params()
        self.optimizer = build_optimizer(cfg.optimizer, params, ms.Tensor(self.lr_values))
        net = MattorWithLoss(self.model)
        amp_cfg = dict(cfg.get('amp') or {})
        self.use_loss_scale = bool(amp_cfg.get('enabled', False))
        if self.use_loss_scale:
            if amp_cfg.get('level', 'O0') != 'O0':
                net = amp.auto_mixed_precision(net, amp_cfg['level'])
            manager = amp.DynamicLossScaleManager(amp_cfg.get('init_scale', 2**16),
                                                  amp_cfg.get('scale_factor', 2),
                                                  amp_cfg.get('scale_window', 1000))
            self.train_step = TrainStepWithLossScale(net, self.optimizer, len(self.loss_names),
                                                     manager.get_update_cell())
        else:
            self.train_step = TrainStep(net, self.optimizer, len(self.loss_names))
        self.train_step.set_train()
        n_params = sum(int(np.prod(p.shape)) for p in params)
        self.logger.info(f'phase {self.phase}: optimizing {len(params)} tensors '
                         f'({n_params:,} parameters) with {type(self.optimizer).__name__}')

    def _register_hooks(self, validate):
        cfg = self.cfg
        log_interval = (cfg.get('log_config') or {}).get('interval', 10)
        defaults = {
            'nan_guard': dict(type='NaNGuardHook', interval=log_interval),
            'logger': None if cfg.get('log_config', {}) is None else
            dict(type='LoggerHook', **(cfg.get('log_config') or {})),
            'eval': None if (not validate or cfg.get('evaluation', {}) is None or self.val_loader is None)
            else dict(type='EvalHook', **{k: v for k, v in (cfg.get('evaluation') or {}).items()}),
            'checkpoint': None if cfg.get('checkpoint_config', {}) is None else
            dict(type='CheckpointHook', **(cfg.get('checkpoint_config') or {})),
        }
        overrides = dict(cfg.get('default_hooks') or {})
        unknown = set(overrides) - set(defaults)
        if unknown:
            raise KeyError(f'default_hooks: unknown names {sorted(unknown)}; use {sorted(defaults)}')
        defaults.update(overrides)
        for name, hook_cfg in defaults.items():
            if hook_cfg is not None:
                self.register_hook(hook_cfg, name=name)
        for hook_cfg in cfg.get('custom_hooks') or []:
            self.register_hook(hook_cfg)
        order = ', '.join(f'{n}({type(h).__name__}, {p})' for p, n, h in self.hooks)
        self.logger.info(f'hooks in order: {order}')

    def register_hook(self, hook, name=None, priority=None):
        """Add a hook (an instance or a HOOKS config with optional ``priority``)."""
        if isinstance(hook, dict):
            hook = dict(hook)
            priority = hook.pop('priority', priority)
            hook = HOOKS.build(hook)
        if not isinstance(hook, Hook):
            raise TypeError(f'a hook must derive from shmatting.engine.Hook, got {type(hook).__name__}')
        p = get_priority(priority if priority is not None else hook.priority)
        self.hooks.append((p, name or type(hook).__name__, hook))
        self.hooks.sort(key=lambda item: item[0])  # stable: equal priorities keep their order

    def call_hook(self, stage, **kwargs):
        """Call ``stage`` on every hook in priority order."""
        for _, _, hook in self.hooks:
            getattr(hook, stage)(self, **kwargs)

    # ------------------------------------------------------------------ state
    def current_lr(self):
        """float: the learning rate of the last step."""
        return float(self.lr_values[min(max(self.iter - 1, 0), len(self.lr_values) - 1)])

    def checkpoint_meta(self, kind):
        """The metadata stored in checkpoints (``kind``: 'full' or 'weights')."""
        meta = dict(kind=kind, epoch=self.epoch + 1, iter=self.iter, phase=self.phase,
                    seed=self.seed, version=__version__, world_size=self.world_size,
                    config=self.cfg.pretty_text if kind == 'full' else None)
        for key in ('best_score', 'best_key', 'best_epoch', 'best_ckpt', 'best_rule', 'last_ckpt',
                    'saved_ckpts'):
            meta[key] = self.meta.get(key)
        return meta

    def _resume(self, path, meta):
        import mindspore as ms
        params = ms.load_checkpoint(path)
        params.pop('shm_meta', None)
        not_loaded, _ = ms.load_param_into_net(self.train_step, params)
        if not_loaded:
            raise ValueError(f'--resume: {path} does not match this run: {len(not_loaded)} '
                             f'parameters missing, e.g. {not_loaded[:3]} (another phase or model?)')
        if meta.get('phase') not in (None, self.phase):
            raise ValueError(f"--resume: {path} is from phase {meta.get('phase')!r}, this run is "
                             f'{self.phase!r}; use load_from to start a new phase')
        self.start_epoch = int(meta['epoch'])
        self.iter = int(meta['iter'])
        for key in ('best_score', 'best_key', 'best_epoch', 'best_ckpt', 'best_rule', 'last_ckpt',
                    'saved_ckpts'):
            if meta.get(key) is not None:
                self.meta[key] = meta[key]
        self.call_hook('after_load_checkpoint', meta=meta)
        self.logger.info(f'resumed from {path}: epoch {self.start_epoch}, iteration {self.iter}, '
                         f"best {self.meta.get('best_key')}={self.meta.get('best_score')}")

    # ------------------------------------------------------------------ loop
    def _inputs(self, batch):
        import mindspore as ms
        return tuple(ms.Tensor(batch[k]) for k in self.step_keys)

    def run(self):
        """Train from ``start_epoch`` to ``total_epochs``; returns the last metrics."""
        self.epoch = self.start_epoch
        self.call_hook('before_run')
        compiled = False
        try:
            for epoch in range(self.start_epoch, self.max_epochs):
                self.epoch = epoch
                self.train_loader.set_epoch(epoch)
                self.call_hook('before_epoch')
                tick = time.perf_counter()
                for i, batch in enumerate(self.train_loader):
                    self.inner_iter = i
                    inputs = self._inputs(batch)
                    self.data_time = time.perf_counter() - tick
                    if not compiled and self.context['mode'] == 'GRAPH':
                        start = time.perf_counter()
                        self.train_step.compile(*inputs)
                        self.logger.info(f'compiled the train step in {time.perf_counter() - start:.1f}s')
                        compiled = True
                    self.call_hook('before_iter')
                    out = self.train_step(*inputs)
                    self.outputs = out[0] if self.use_loss_scale else out
                    self.iter += 1
                    self.call_hook('after_iter')
                    tick = time.perf_counter()
                self.call_hook('after_epoch')
            self.call_hook('after_run')
        finally:
            if self.train_loader.num_skipped:
                self.logger.warning(f'{self.train_loader.num_skipped} corrupt training samples '
                                    'were replaced by their neighbours')
            remove_file_handlers('shmatting')
        return self.last_metrics

