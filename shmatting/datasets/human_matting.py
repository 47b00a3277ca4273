"""The AISegment "Matting Human Datasets" after preparation (ours or the model zoo's layout)."""

import os.path as osp
from typing import Callable, Optional, Sequence, Tuple, Union

from ..registry import DATASETS
from .matting_dataset import MattingDataset, _resolve

__all__ = ['HumanMattingDataset', 'find_split']

SPLIT_ALIASES = {
    'val': ('val', 'eval'),
    'eval': ('eval', 'val'),
    'train': ('train',),
    'test': ('test',),
}


@DATASETS.register_module()
class HumanMattingDataset(MattingDataset):
    """AISegment human matting on the prepared layout, or the model zoo's.

    Prepared (``tools/dataset_converters/human_matting.py``): ``<root>/<split>.txt`` and
    ``<root>/<split>/{image,alpha,trimap,fg}/<rel>.jpg|png``.

    Model zoo (``generate_datasets.py``): ``<root>/<split>/<split>.txt`` with lines relative to
    ``matting/`` (``1803151818/matting_00000000/1803151818-00000003.png``) and
    ``<root>/<split>/{clip_img,alpha,trimap}/``; ``eval`` is an alias of ``val``.

    Args:
        data_root (str): the prepared root.
        split (str): ``'train'``, ``'val'`` (or ``'eval'``) or ``'test'``.
        pipeline (list[dict]): TRANSFORMS configs.
        bg_dir (str, optional): backgrounds for compositing (default: ``<data_root>/backgrounds``
            when that folder exists, e.g. the synthetic data's).
        use_trimap (bool): expose the prepared trimaps (``trimap_path``).
        use_fg (bool): expose the foreground colours (``fg_path``) when present.
        layout (str): ``'auto'``, ``'prepared'`` or ``'zoo'``.
        seed (int): base seed of the per-sample generators.
    """

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        pipeline: Sequence[Union[dict, Callable]] = (),
        bg_dir: Optional[str] = None,
        use_trimap: bool = True,
        use_fg: bool = True,
        layout: str = 'auto',
        seed: int = 0,
    ):
        if split not in SPLIT_ALIASES:
            raise ValueError(f'split must be one of {sorted(SPLIT_ALIASES)}, got {split!r}')
        self.split = split
        self.layout, self.split_dir = find_split(data_root, split, layout)
        if bg_dir is None and osp.isdir(osp.join(data_root, 'backgrounds')):
            bg_dir = osp.abspath(osp.join(data_root, 'backgrounds'))
        d = self.split_dir
        self._use_trimap = use_trimap
        if self.layout == 'prepared':
            ann, img_dir = f'{d}.txt', f'{d}/image'
            trimap_dir = f'{d}/trimap' if osp.isdir(osp.join(data_root, d, 'trimap')) else None
            fg_dir = f'{d}/fg' if use_fg and osp.isdir(osp.join(data_root, d, 'fg')) else None
        else:
            ann, img_dir, trimap_dir, fg_dir = (
                osp.join(d, f'{d}.txt'),
                f'{d}/clip_img',
                f'{d}/trimap',
                None,
            )
        super().__init__(
            ann,
            data_root,
            img_dir=img_dir,
            alpha_dir=f'{d}/alpha',
            trimap_dir=trimap_dir if use_trimap else None,
            fg_dir=fg_dir,
            bg_dir=bg_dir,
            pipeline=pipeline,
            seed=seed,
        )

    def load_annotations(self):
        if getattr(self, 'layout', 'prepared') == 'prepared':
            return super().load_annotations()
        samples = []
        root = osp.join(self.data_root, self.split_dir)
        with open(self.ann_file, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                clip = line.replace('matting', 'clip')
                img_stem = osp.splitext(osp.join(root, 'clip_img', clip))[0]
                samples.append(
                    dict(
                        rel=osp.splitext(line)[0],
                        img_path=_resolve(img_stem, ('.jpg', '.png')),
                        alpha_path=_resolve(
                            osp.splitext(osp.join(root, 'alpha', line))[0], ('.png', '.jpg')
                        ),
                        trimap_path=(
                            _resolve(
                                osp.splitext(osp.join(root, 'trimap', line))[0], ('.png', '.jpg')
                            )
                            if self._use_trimap
                            else None
                        ),
                        fg_path=None,
                    )
                )
        return samples


def find_split(data_root: str, split: str, layout: str = 'auto') -> Tuple[str, str]:
    """Which layout holds ``split`` under ``data_root``, and the split's folder name.

    Args:
        data_root (str): the prepared root.
        split (str): ``'train'``, ``'val'`` (or ``'eval'``) or ``'test'``.
        layout (str): ``'auto'``, ``'prepared'`` or ``'zoo'``.

    Returns:
        tuple: ``('prepared' | 'zoo', folder name)``.
    """
    if layout not in ('auto', 'prepared', 'zoo'):
        raise ValueError(f"layout must be 'auto', 'prepared' or 'zoo', got {layout!r}")
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'data_root {data_root!r} does not exist (relative to {osp.abspath(".")}); set '
            "data_root=... (or the config's environment variable) to the folder that "
            'tools/dataset_converters/human_matting.py prepared'
        )
    for name in SPLIT_ALIASES[split]:
        if layout in ('auto', 'prepared') and osp.isfile(osp.join(data_root, f'{name}.txt')):
            return 'prepared', name
        if layout in ('auto', 'zoo') and osp.isfile(osp.join(data_root, name, f'{name}.txt')):
            return 'zoo', name
    raise FileNotFoundError(
        f'HumanMattingDataset: no {split!r} split under {data_root!r}: expected '
        f'{osp.join(data_root, split + ".txt")} (prepared layout) or '
        f'{osp.join(data_root, split, split + ".txt")} (model-zoo layout)'
    )
