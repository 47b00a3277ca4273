"""High-level inference: build a mattor from a config and a checkpoint, matte any image."""

from typing import Any, Optional, Union

import numpy as np

__all__ = ['init_mattor', 'load_mattor', 'inference_mattor', 'get_norm_cfg', 'load_split']


def get_norm_cfg(cfg: Any, split: str = 'test') -> dict:
    """The ``Normalize`` mean/std of the config's ``split`` pipeline (BGR, 0-255).

    Args:
        cfg (Config): the config.
        split (str): which data pipeline to read.

    Returns:
        dict: ``mean`` and ``std`` lists.
    """
    data = cfg.get('data', {}) or {}
    for name in (split, 'test', 'val', 'train'):
        for t in (data.get(name) or {}).get('pipeline', []) or []:
            if t.get('type') == 'Normalize':
                return _norm_values(t)
    img_norm = cfg.get('img_norm_cfg')
    if img_norm:
        return _norm_values(img_norm)
    raise KeyError('the config has no Normalize transform and no img_norm_cfg')


def _norm_values(spec: dict) -> dict:
    from ..datasets.transforms.formatting import read_mean_std

    if spec.get('mean_std_file'):
        mean, std = read_mean_std(spec['mean_std_file'])
        return dict(mean=mean, std=std)
    return dict(
        mean=list(spec.get('mean', (114.0, 121.0, 134.0))),
        std=list(spec.get('std', (255.0, 255.0, 255.0))),
    )


def load_mattor(cfg: Any, checkpoint: Optional[str] = None, fuse: Optional[bool] = None) -> Any:
    """Build the config's model in eval mode and load ``checkpoint`` (every parameter required).

    Args:
        cfg (Config): the config.
        checkpoint (str, optional): weights; without it the model keeps its initialisation.
        fuse (bool, optional): fold each BatchNorm into the convolution before it
            (:func:`~shmatting.models.layers.fuse_conv_bn`; the same function, fewer passes);
            default ``model.test_cfg.fuse_conv_bn``, itself True by default.

    Returns:
        nn.Cell: the model, with ``model.cfg`` set.
    """
    from ..engine.checkpoint import load_weights
    from ..models import build_model

    model_cfg = cfg.model.to_dict()
    if checkpoint is not None:
        model_cfg['init_cfg'] = []
    model = build_model(model_cfg)
    if checkpoint is not None:
        report = load_weights(model, checkpoint)
        if report['missing']:
            raise ValueError(
                f'{checkpoint} lacks {len(report["missing"])} model parameters, '
                f'e.g. {report["missing"][:3]}'
            )
    model.set_train(False)
    if fuse if fuse is not None else model.test_cfg.get('fuse_conv_bn', True):
        from ..models.layers import fuse_conv_bn

        fuse_conv_bn(model)
    model.cfg = cfg
    return model


def init_mattor(
    config: Union[str, Any],
    checkpoint: Optional[str] = None,
    device_target: str = 'CPU',
    cfg_options: Optional[dict] = None,
) -> Any:
    """Build a mattor ready for inference.

    Args:
        config (str | Config): config file or object.
        checkpoint (str, optional): weights; without it the model keeps its initialisation.
        device_target (str): ``'CPU'``, ``'GPU'``, ``'Ascend'`` or ``'auto'``.
        cfg_options (dict, optional): overrides merged into the config.

    Returns:
        nn.Cell: the model in eval mode, with ``model.cfg`` set.
    """
    from ..config import Config
    from ..engine.context import resolve_device_target, set_device

    cfg = Config.fromfile(config) if isinstance(config, str) else config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    set_device(resolve_device_target(device_target))
    return load_mattor(cfg, checkpoint)


def inference_mattor(model: Any, image: np.ndarray) -> np.ndarray:
    """Alpha matte of one image of any size, per the model's ``test_cfg`` protocol.

    Args:
        model: from :func:`init_mattor`.
        image (np.ndarray): ``H x W x 3`` BGR (as ``cv2.imread``). uint8 is taken as is, uint16 is
            divided by 257 and a float image must lie in [0, 1] (it is multiplied by 255); grey
            images are repeated to three channels and a fourth channel is dropped. NaN or Inf
            values and empty images are refused (``ValueError``).

    Returns:
        np.ndarray: ``H x W`` float32 alpha in [0, 1] (clamped unless ``test_cfg.clamp=False``).
    """
    from ..datasets.image_io import as_uint8_bgr
    from ..evaluation.protocol import predict_image

    image = as_uint8_bgr(image, 'inference_mattor: the image')
    norm = get_norm_cfg(model.cfg)
    mean, std = (np.asarray(norm[k], np.float32) for k in ('mean', 'std'))
    x = (image.astype(np.float32) - mean) / std
    alpha, _ = predict_image(model, x.transpose(2, 0, 1), model.test_cfg)
    return alpha


def load_split(cfg: Any, split: str = 'test', rank: int = 0, world_size: int = 1) -> tuple:
    """The dataset of a config's split and its evaluation loader (batches of one, never a
    neighbour in place of a sample that cannot be read).

    Args:
        cfg (Config): the config (``data.<split>``, ``data_root``).
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        rank (int): this rank.
        world_size (int): the number of ranks.

    Returns:
        tuple: ``(dataset, loader)``.
    """
    from ..datasets import build_dataloader, build_dataset

    if split not in cfg.data:
        raise KeyError(f'the config has no data.{split}; it has {sorted(cfg.data)}')
    dataset = build_dataset(cfg.data[split], data_root=cfg.get('data_root'), seed=0)
    loader = build_dataloader(dataset, 1, workers=0, rank=rank, world_size=world_size, mode='eval')
    return dataset, loader
