"""TensorBoard logs: losses, learning rate, loss scale, metrics and a few validation images."""

import os.path as osp
from typing import Any, Dict, Optional

import numpy as np

from ...registry import HOOKS
from .hook import Hook

__all__ = ['TensorboardLoggerHook']


@HOOKS.register_module()
class TensorboardLoggerHook(Hook):
    """Write TensorBoard event files (``tensorboardX``, an optional extra) on rank 0.

    * every ``interval`` steps: ``train/loss`` and each loss term (averaged over the interval),
      ``train/lr`` and, with mixed precision, ``train/loss_scale``;
    * after each evaluation: ``val/<metric>`` and, for the first ``num_images`` validation
      samples, one image each: the input, the predicted trimap (background black, unknown grey,
      foreground white), the predicted alpha and the composite on green, side by side.

    View with ``tensorboard --logdir work_dirs/<config>/tf_logs``. Configure it beside the
    default hooks: ``custom_hooks = [dict(type='TensorboardLoggerHook', interval=10)]``.

    Args:
        interval (int): steps between scalar records.
        num_images (int): validation samples shown after each evaluation (0: none).
        log_dir (str, optional): default ``<work_dir>/tf_logs``.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 10, num_images: int = 3, log_dir: Optional[str] = None):
        self.interval = max(1, int(interval))
        self.num_images = int(num_images)
        self.log_dir = log_dir
        self.writer, self._losses = None, []

    def before_run(self, runner: Any) -> None:
        if runner.rank != 0:
            return
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                'TensorboardLoggerHook needs tensorboardX: pip install '
                "'tensorboardX>=2.6,<3' (or pip install -e '.[optional]')"
            ) from None
        self.log_dir = self.log_dir or osp.join(runner.work_dir, 'tf_logs')
        self.writer = SummaryWriter(self.log_dir)

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Dict[str, Any], outputs: Dict[str, Any]
    ) -> None:
        if self.writer is None:
            return
        self._losses.append(outputs['losses'])
        if runner.iter % self.interval and batch_idx + 1 != runner.iters_per_epoch:
            return
        mean = np.stack([np.asarray(x.asnumpy()) for x in self._losses]).mean(0)
        for name, value in zip(outputs['loss_names'], mean):
            self.writer.add_scalar(f'train/{name}', float(value), runner.iter)
        self.writer.add_scalar('train/lr', runner.current_lr(), runner.iter)
        if 'loss_scale' in outputs:
            scale = float(np.asarray(outputs['loss_scale'].asnumpy()).reshape(-1)[0])
            self.writer.add_scalar('train/loss_scale', scale, runner.iter)
        self._losses = []

    def after_val_epoch(self, runner: Any, metrics: Dict[str, float]) -> None:
        if self.writer is None:
            return
        for key, value in metrics.items():
            self.writer.add_scalar(f'val/{key}', float(value), runner.iter)
        for i, panel in enumerate(self._panels(runner)):
            self.writer.add_image(f'val/sample_{i}', panel, runner.iter, dataformats='HWC')
        self.writer.flush()

    def _panels(self, runner: Any) -> list:
        """Input | trimap | alpha | composite, uint8 RGB, for the first validation samples."""
        from ...evaluation import predict_image

        if runner.val_loader is None or self.num_images <= 0:
            return []
        dataset = runner.val_loader.dataset
        panels = []
        for index in range(min(self.num_images, len(dataset))):
            img = dataset.get_sample(index)['inputs']['img']
            alpha, classes = predict_image(runner.model, img, runner.model.test_cfg)
            panels.append(_panel(dataset.samples[index]['img_path'], alpha, classes))
        return panels

    def after_run(self, runner: Any) -> None:
        if self.writer is not None:
            self.writer.close()


def _panel(img_path: str, alpha: np.ndarray, classes: np.ndarray) -> np.ndarray:
    import cv2

    from ...visualization import composite, gray, parse_background, trimap_image

    image = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if image is None or image.shape[:2] != alpha.shape:
        image = np.zeros(alpha.shape + (3,), np.uint8)
    green = parse_background('green', alpha.shape)
    row = [image, trimap_image(classes), gray(alpha), composite(image, alpha, green)]
    return np.ascontiguousarray(np.concatenate(row, axis=1)[..., ::-1])  # BGR -> RGB
