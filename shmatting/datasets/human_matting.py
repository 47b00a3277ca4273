"""The AISegment "Matting Human Datasets" after preparation (ours or the model zoo's layout)."""

import os.path as osp

from ..registry import DATASETS
from .matting_dataset import MattingDataset, _resolve

__all__ = ['HumanMattingDataset']

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
        data_root,
        split='train',
        pipeline=(),
        bg_dir=None,
        use_trimap=True,
        use_fg=True,
        layout='auto',
        seed=0,
    ):
        if split not in SPLIT_ALIASES:
            raise ValueError(f'split must be one of {sorted(SPLIT_ALIASES)}, got {split!r}')
        if layout not in ('auto', 'prepared', 'zoo'):
            raise ValueError(f"layout must be 'auto', 'prepared' or 'zoo', got {layout!r}")
        self.split = split
        found = None
        for name in SPLIT_ALIASES[split]:
            if layout in ('auto', 'prepared') and osp.isfile(osp.join(data_root, f'{name}.txt')):
                found = ('prepared', name)
                break
            if layout in ('auto', 'zoo') and osp.isfile(osp.join(data_root, name, f'{name}.txt')):
                found = ('zoo', name)
                break
        if found is None:
            raise FileNotFoundError(
                f'HumanMattingDataset: no {split!r} split under {data_root!r}: expected '
                f'{osp.join(data_root, split + ".txt")} (prepared layout) or '
                f'{osp.join(data_root, split, split + ".txt")} (model-zoo layout)'
            )
        self.layout, self.split_dir = found
        if bg_dir is None and osp.isdir(osp.join(data_root, 'backgrounds')):
            bg_dir = osp.abspath(osp.join(data_root, 'backgrounds'))
        if self.layout == 'prepared':
            d = self.split_dir
            trimap_dir = (
                f'{d}/trimap'
                if use_trimap and osp.isdir(osp.join(data_root, d, 'trimap'))
                else None
            )
            fg_dir = f'{d}/fg' if use_fg and osp.isdir(osp.join(data_root, d, 'fg')) else None
            super().__init__(
                f'{d}.txt',
                data_root,
                img_dir=f'{d}/image',
                alpha_dir=f'{d}/alpha',
                trimap_dir=trimap_dir,
                fg_dir=fg_dir,
                bg_dir=bg_dir,
                pipeline=pipeline,
                seed=seed,
            )
        else:
            self._use_trimap = use_trimap
            d = self.split_dir
            super().__init__(
                osp.join(d, f'{d}.txt'),
                data_root,
                img_dir=f'{d}/clip_img',
                alpha_dir=f'{d}/alpha',
                trimap_dir=f'{d}/trimap' if use_trimap else None,
                fg_dir=None,
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
