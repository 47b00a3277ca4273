"""The Runner: one training phase built from a Config, an epoch loop and hooks."""

import os
import os.path as osp
import random
import time
from typing import Any, Dict, Optional, Union

import numpy as np

from ..registry import HOOKS
from ..utils import env_table, get_logger
from ..utils.logging import remove_file_handlers
from .checkpoint import check_finite, load_weights, save_with_meta, sweep_temp_files
from .compile_cache import OUTCOMES, compile_step
from .context import apply_context, apply_recompute
from .dist import all_reduce_sum, average_bn_statistics, broadcast_from_rank0, init_dist
from .hooks.builder import resolve_default_hooks
from .hooks.hook import STAGES, Hook, check_stage_names, get_priority
from .resume import ResumePlan, find_resume_checkpoint, restore_state

__all__ = ['Runner', 'REQUIRED_KEYS', 'HOOK_SURFACE']

REQUIRED_KEYS = ('model', 'data', 'optimizer', 'total_epochs')
# top-level config keys that cannot change the compiled train step (the compile cache's key)
_NOT_IN_GRAPH = ('work_dir', 'load_from', 'resume_from', 'seed')
_UNSAFE_MS_CACHE = (
    "MS_COMPILER_CACHE_ENABLE=1: MindSpore's own compile cache can load a graph compiled for "
    'other shapes, constants or trainable parameters; context.compile_cache=True caches safely'
)
# what hooks may read from the runner (tests/test_engine/test_hook_contract.py keeps hooks to it)
HOOK_SURFACE = (
    'cfg',
    'work_dir',
    'timestamp',
    'logger',
    'rank',
    'world_size',
    'model',
    'phase',
    'loss_names',
    'epoch',
    'iter',
    'max_epochs',
    'max_iters',
    'iters_per_epoch',
    'val_loader',
    'last_checkpoint',
    'current_lr',
    'val',
    'save_checkpoint',
    'nonfinite_steps',
    'call_hook',
)


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

    For hooks (read-only; see :class:`~shmatting.engine.Hook` for when each stage runs):

    * ``cfg``, ``work_dir``, ``timestamp``, ``logger``, ``rank``, ``world_size``;
    * ``model`` (the mattor), ``phase``, ``loss_names`` (the loss terms after the total);
    * ``epoch`` (0-based, the epoch running or just run), ``iter`` (steps done),
      ``max_epochs``, ``max_iters``, ``iters_per_epoch``; ``val_loader`` (None without
      validation); ``last_checkpoint`` (the newest full-state file written or resumed from);
    * ``current_lr()``, ``val(evaluator)`` (an evaluation with its hook stages; every rank),
      ``save_checkpoint(path, kind)`` (every rank; rank 0 writes), ``nonfinite_steps()``
      (non-finite losses so far, summed over ranks), ``call_hook(stage, **kwargs)``.
    """

    def __init__(
        self,
        cfg: Any,
        work_dir: Optional[str] = None,
        launcher: str = 'none',
        resume: Optional[str] = None,
        load_from: Union[str, dict, None] = None,
        seed: Optional[int] = None,
        deterministic: bool = False,
        validate: bool = True,
        device_target: Optional[str] = None,
    ):
        from .config_check import check_run_config

        check_run_config(cfg, REQUIRED_KEYS)
        self.cfg = cfg
        self.context = apply_context(cfg.get('context'), device_target, deterministic, launcher)
        self.rank, self.world_size = init_dist(launcher, self.context['device_target'])
        name = osp.splitext(osp.basename(cfg.filename or 'config.py'))[0]
        self.work_dir = osp.abspath(work_dir or cfg.get('work_dir') or osp.join('work_dirs', name))
        os.makedirs(self.work_dir, exist_ok=True)
        self.timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        self.logger = get_logger(
            'shmatting', osp.join(self.work_dir, f'{self.timestamp}.log'), rank=self.rank
        )
        if self.rank == 0:
            for left in sweep_temp_files(self.work_dir):
                self.logger.warning(
                    f'removed {left}, left in {self.work_dir} by an interrupted save'
                )
        resume = resume if resume is not None else cfg.get('resume_from')
        self.resume_path, resume_meta = find_resume_checkpoint(resume, self.work_dir)
        self._set_seed(resume_meta.get('seed', seed if seed is not None else cfg.get('seed')))
        if self.rank == 0:
            cfg.dump(osp.join(self.work_dir, f'{name}.py'))
        self.logger.info('\n' + env_table())
        self.logger.info(
            f'context: {self.context}, rank {self.rank}/{self.world_size}, '
            f'seed {self.seed}, work_dir {self.work_dir}'
        )
        self._hook_cfgs = resolve_default_hooks(cfg)
        self._build_model_and_data(validate and self._hook_cfgs['eval'] is not None)
        self._build_optimizer_and_step()
        self.epoch = self.start_epoch = 0
        self.iter = 0
        self.last_checkpoint = None
        self._last_metrics = {}
        self.hooks = []
        self._register_hooks(validate)
        if self.resume_path:
            self._resume(resume_meta)
        else:
            load = load_from if load_from is not None else cfg.get('load_from')
            if load:
                load_weights(
                    self.model, load, strict=bool(cfg.get('load_strict', False)), logger=self.logger
                )

    # ------------------------------------------------------------------ building
    def _set_seed(self, seed: Optional[int]) -> None:
        import mindspore as ms

        self._seed_drawn = seed is None
        if seed is None:
            seed = random.SystemRandom().randrange(2**31) if self.rank == 0 else 0
            seed = broadcast_from_rank0(seed)
        self.seed = int(seed)
        ms.set_seed(self.seed)
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)
        self.cfg.merge_from_dict({'seed': self.seed})

    def _build_model_and_data(self, validate: bool) -> None:
        from ..datasets import build_dataloader, build_dataset
        from ..models import build_model

        cfg, data = self.cfg, self.cfg.data
        self.model = build_model(cfg.model)
        apply_recompute(self.model, cfg.get('recompute'))
        self.phase = self.model.train_phase
        self.loss_names = self.model.loss_names
        data_root = cfg.get('data_root')
        self.train_dataset = build_dataset(data.train, data_root=data_root, seed=self.seed)
        self.train_loader = build_dataloader(
            self.train_dataset,
            data.samples_per_device,
            workers=data.get('workers', 0),
            shuffle=data.get('shuffle', True),
            seed=self.seed,
            rank=self.rank,
            world_size=self.world_size,
            drop_last=True,
        )
        self.model.check_train_keys(self.train_loader.keys)
        self.step_keys = self.model.train_inputs()
        self.val_loader = None
        if validate and 'val' in data:
            val_dataset = build_dataset(data.val, data_root=data_root, seed=self.seed)
            self.val_loader = build_dataloader(
                val_dataset,
                1,
                workers=data.get('val_workers', 0),
                seed=self.seed,
                rank=self.rank,
                world_size=self.world_size,
                mode='eval',
            )
        self.iters_per_epoch = len(self.train_loader)
        self.max_epochs = int(cfg.total_epochs)
        self.max_iters = self.max_epochs * self.iters_per_epoch

    def _build_optimizer_and_step(self) -> None:
        import mindspore as ms

        from .lr_schedules import build_lr_values
        from .optimizers import build_optimizer
        from .train_step import build_train_step

        cfg = self.cfg
        self.lr_values = build_lr_values(
            cfg.get('lr_config'), float(cfg.optimizer.lr), self.max_iters, self.iters_per_epoch
        )
        params = self.model.phase_trainable_params()
        self.optimizer = build_optimizer(cfg.optimizer, params, ms.Tensor(self.lr_values))
        self.train_step = build_train_step(
            self.model, self.optimizer, len(self.loss_names), cfg.get('amp')
        )
        n_params = sum(int(np.prod(p.shape)) for p in params)
        self.logger.info(
            f'phase {self.phase}: optimizing {len(params)} tensors '
            f'({n_params:,} parameters) with {type(self.optimizer).__name__}; '
            f'{self.train_step.describe()}'
        )

    def _register_hooks(self, validate: bool) -> None:
        for name, hook_cfg in self._hook_cfgs.items():
            if hook_cfg is None or (name == 'eval' and (not validate or self.val_loader is None)):
                continue
            self.register_hook(hook_cfg, name=name)
        for hook_cfg in self.cfg.get('custom_hooks') or []:
            self.register_hook(hook_cfg)
        order = ', '.join(f'{n}({type(h).__name__}, {p})' for p, n, h in self.hooks)
        self.logger.info(f'hooks in order: {order}')

    def register_hook(
        self,
        hook: Union[Hook, dict],
        name: Optional[str] = None,
        priority: Union[str, int, None] = None,
    ) -> None:
        """Add a hook (an instance or a HOOKS config with optional ``priority``).

        Args:
            hook (Hook | dict): the hook.
            name (str, optional): its name in the log (default: the class name).
            priority (str | int, optional): overrides the hook's own priority.
        """
        if isinstance(hook, dict):
            hook = dict(hook)
            priority = hook.pop('priority', priority)
            hook = HOOKS.build(hook)
        if not isinstance(hook, Hook):
            raise TypeError(
                f'a hook must derive from shmatting.engine.Hook, got {type(hook).__name__}'
            )
        check_stage_names(hook, name)
        p = get_priority(priority if priority is not None else hook.priority)
        self.hooks.append((p, name or type(hook).__name__, hook))
        self.hooks.sort(key=lambda item: item[0])  # stable: equal priorities keep their order

    def call_hook(self, stage: str, **kwargs: Any) -> None:
        """Call ``stage`` on every hook in priority order.

        Args:
            stage (str): one of :data:`~shmatting.engine.hooks.hook.STAGES`.
            **kwargs: the stage's arguments.
        """
        if stage not in STAGES:
            raise ValueError(f'unknown hook stage {stage!r}; stages: {", ".join(STAGES)}')
        for _, _, hook in self.hooks:
            getattr(hook, stage)(self, **kwargs)

    # ------------------------------------------------------------------ for hooks
    def current_lr(self) -> float:
        """float: the learning rate of the last step."""
        return float(self.lr_values[min(max(self.iter - 1, 0), len(self.lr_values) - 1)])

    def nonfinite_steps(self) -> int:
        """int: steps with a non-finite loss so far, summed over ranks."""
        local = np.asarray(self.train_step.nonfinite_steps.asnumpy(), np.float64)
        return int(all_reduce_sum(local).sum())

    def val(self, evaluator: Any) -> Dict[str, float]:
        """Evaluate on ``val_loader`` on every rank (BatchNorm statistics averaged first),
        between the ``before_val_epoch`` and ``after_val_epoch`` stages.

        Args:
            evaluator (Evaluator): what to compute and under which protocol.

        Returns:
            MetricResults: the metrics, identical on every rank.
        """
        average_bn_statistics(self.model)
        self.call_hook('before_val_epoch')
        results = evaluator.evaluate(self.model, self.val_loader, all_reduce=all_reduce_sum)
        self._last_metrics = results
        self.call_hook('after_val_epoch', metrics=results)
        return results

    def save_checkpoint(self, path: str, kind: str = 'full') -> None:
        """Write a checkpoint; call on every rank (BatchNorm statistics are averaged over
        ranks), only rank 0 writes. Non-finite weights are refused and nothing is written.

        Args:
            path (str): a ``.ckpt`` path.
            kind (str): ``'full'`` (model, optimizer, loss scale, metadata: what ``--resume``
                needs) or ``'weights'`` (the model only).
        """
        if kind not in ('full', 'weights'):
            raise ValueError(f"kind must be 'full' or 'weights', got {kind!r}")
        average_bn_statistics(self.model)
        cell = self.train_step if kind == 'full' else self.model
        check_finite(cell, 'training state' if kind == 'full' else 'model')
        meta = self._checkpoint_meta(kind)
        self.call_hook('before_save_checkpoint', meta=meta)
        if self.rank == 0:
            save_with_meta(cell, path, meta)
        if kind == 'full':
            self.last_checkpoint = path

    def _checkpoint_meta(self, kind: str) -> dict:
        from .. import __version__

        return dict(
            kind=kind,
            epoch=self.epoch + 1,
            iter=self.iter,
            phase=self.phase,
            seed=self.seed,
            version=__version__,
            world_size=self.world_size,
            iters_per_epoch=self.iters_per_epoch,
            max_epochs=self.max_epochs,
            samples_per_device=int(self.cfg.data.samples_per_device),
            config=self.cfg.pretty_text if kind == 'full' else None,
        )

    # ------------------------------------------------------------------ resume
    def _resume(self, meta: dict) -> None:
        plan = ResumePlan.from_meta(
            meta, self.phase, self.resume_path, self.iters_per_epoch, self.max_epochs
        )
        restore_state(self.train_step, self.resume_path, plan.iter)
        self.start_epoch, self.iter = plan.epoch, plan.iter
        self.last_checkpoint = self.resume_path
        self.call_hook('after_load_checkpoint', meta=meta)
        for line in plan.notes():
            self.logger.warning(line)
        self.logger.info(
            f'resumed from {self.resume_path}: epoch {self.start_epoch}, iteration '
            f'{self.iter}, best {meta.get("best_key")}={meta.get("best_score")}'
        )

    # ------------------------------------------------------------------ loop
    def _inputs(self, batch: dict) -> tuple:
        import mindspore as ms

        return tuple(ms.Tensor(batch[k]) for k in self.step_keys)

    def _compile(self, inputs: tuple) -> None:
        start = time.perf_counter()
        root = self.context['compile_cache']
        if root is None and os.environ.get('MS_COMPILER_CACHE_ENABLE') == '1':
            self.logger.warning(_UNSAFE_MS_CACHE)
        how, where = compile_step(
            self.train_step, inputs, root, self._graph_config(), self._graph_extra(), self.rank
        )
        log = self.logger.warning if how not in ('off', 'hit', 'stored') else self.logger.info
        log(
            f'train step {OUTCOMES[how]} in {time.perf_counter() - start:.1f}s'
            + (f' (cache: {where})' if where else '')
        )

    def _graph_config(self) -> dict:
        """The config as it can shape the train graph: paths and a drawn seed left out."""
        cfg = {k: v for k, v in self.cfg.to_dict().items() if k not in _NOT_IN_GRAPH}
        if not self._seed_drawn:
            cfg['seed'] = self.seed
        return cfg

    def _graph_extra(self) -> list:
        import mindspore as ms

        context = {k: v for k, v in self.context.items() if k != 'compile_cache'}
        return [
            f'context {sorted(context.items())!r}',
            f'deterministic {ms.get_context("deterministic")}',
            f'world size {self.world_size}',  # MindSpore keeps each rank's graph apart
        ]

    def _train_epoch(self, compiled: bool) -> bool:
        self.train_loader.set_epoch(self.epoch)
        self.call_hook('before_train_epoch')
        for batch_idx, batch in enumerate(self.train_loader):
            inputs = self._inputs(batch)
            if not compiled and self.context['mode'] == 'GRAPH':
                self._compile(inputs)
                compiled = True
            self.call_hook('before_train_iter', batch_idx=batch_idx, data_batch=batch)
            outputs = self.train_step.outputs(self.train_step(*inputs), self.loss_names)
            self.iter += 1
            self.call_hook(
                'after_train_iter', batch_idx=batch_idx, data_batch=batch, outputs=outputs
            )
        self.call_hook('after_train_epoch')
        return compiled

    def run(self) -> Dict[str, float]:
        """Train from ``start_epoch`` to ``total_epochs``.

        Returns:
            dict: the last evaluation's metrics (empty without evaluation).
        """
        self.epoch = self.start_epoch
        self.call_hook('before_run')
        compiled = False
        try:
            for epoch in range(self.start_epoch, self.max_epochs):
                self.epoch = epoch
                compiled = self._train_epoch(compiled)
            self.call_hook('after_run')
        finally:
            if self.train_loader.num_skipped:
                self.logger.warning(
                    f'{self.train_loader.num_skipped} corrupt training samples '
                    'were replaced by their neighbours'
                )
            remove_file_handlers('shmatting')
        return self._last_metrics
