"""Matting datasets described by a list file."""

import copy
import os.path as osp
from typing import Callable, Optional, Sequence, Union

import numpy as np

from ..registry import DATASETS
from .image_io import IMAGE_EXTENSIONS
from .transforms import Compose

__all__ = ['MattingDataset']


def _resolve(stem, suffixes):
    """``stem`` plus the first suffix that exists (the stem itself if it already has one)."""
    if osp.splitext(stem)[1].lower() in IMAGE_EXTENSIONS and osp.isfile(stem):
        return stem
    for suffix in suffixes:
        if osp.isfile(stem + suffix):
            return stem + suffix
    return stem + suffixes[0]  # reported as missing when the sample is read


@DATASETS.register_module()
class MattingDataset:
    """A matting dataset from a list file; usable for P3M, PPM, AIM or any folder layout.

    Each line of ``ann_file`` is either one relative path without extension (``<rel>``: files are
    ``<data_root>/<img_dir>/<rel>.jpg|png``, ``<data_root>/<alpha_dir>/<rel>.png`` ...) or
    whitespace-separated explicit paths relative to ``data_root``: ``image alpha [trimap [fg]]``.

    Args:
        ann_file (str): the list file (relative to ``data_root`` unless absolute).
        data_root (str): root folder.
        img_dir (str): image folder (required).
        alpha_dir (str): alpha folder (required).
        trimap_dir (str, optional): trimap folder.
        fg_dir (str, optional): foreground-colour folder.
        bg_dir (str, optional): background images for ``CompositeBackground`` transforms that do
            not name their own folder.
        pipeline (list[dict]): TRANSFORMS configs.
        seed (int): base of the per-sample random generators (the loader sets the run's seed).

    A sample's randomness comes from ``np.random.default_rng([seed, epoch, index])``, so results do
    not depend on the number or kind of data workers.
    """

    def __init__(
        self,
        ann_file: str,
        data_root: str = '',
        img_dir: str = 'image',
        alpha_dir: str = 'alpha',
        trimap_dir: Optional[str] = None,
        fg_dir: Optional[str] = None,
        bg_dir: Optional[str] = None,
        pipeline: Sequence[Union[dict, Callable]] = (),
        seed: int = 0,
    ):
        self.data_root = data_root or ''
        self.ann_file = ann_file if osp.isabs(ann_file) else osp.join(self.data_root, ann_file)
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: list file not found: {self.ann_file}')
        self.dirs = dict(img=img_dir, alpha=alpha_dir, trimap=trimap_dir, fg=fg_dir)
        self.bg_dir = (
            None
            if bg_dir is None
            else (
                bg_dir
                if osp.isabs(bg_dir) or not self.data_root
                else osp.join(self.data_root, bg_dir)
            )
        )
        self.seed = int(seed)
        self.samples = self.load_annotations()
        if not self.samples:
            raise ValueError(f'{type(self).__name__}: {self.ann_file} lists no samples')
        self.pipeline_cfg = copy.deepcopy(list(pipeline))
        self.pipeline = Compose(self._with_bg_dir(self.pipeline_cfg))

    def _with_bg_dir(self, pipeline):
        out = []
        for t in pipeline:
            if (
                isinstance(t, dict)
                and t.get('type') == 'CompositeBackground'
                and t.get('bg_dir') is None
                and self.bg_dir is not None
            ):
                t = dict(t, bg_dir=self.bg_dir)
            out.append(t)
        return out

    def _path(self, key, rel):
        folder = self.dirs[key]
        if folder is None:
            return None
        stem = osp.join(self.data_root, folder, rel)
        suffixes = ('.png', '.jpg') if key in ('alpha', 'trimap', 'fg') else IMAGE_EXTENSIONS
        return _resolve(stem, suffixes)

    def load_annotations(self):
        """Parse the list file.

        Returns:
            list[dict]: per sample ``rel`` and ``img_path`` / ``alpha_path`` / ``trimap_path`` /
            ``fg_path`` (None when absent).
        """
        samples = []
        with open(self.ann_file, encoding='utf-8') as f:
            for line in f:
                fields = line.split()
                if not fields:
                    continue
                if len(fields) == 1:
                    rel = fields[0]
                    samples.append(
                        dict(
                            rel=rel,
                            **{
                                f'{k}_path': self._path(k, rel)
                                for k in ('img', 'alpha', 'trimap', 'fg')
                            },
                        )
                    )
                else:
                    paths = [osp.join(self.data_root, p) for p in fields[:4]]
                    paths += [None] * (4 - len(paths))
                    samples.append(
                        dict(
                            rel=osp.splitext(fields[0])[0],
                            img_path=paths[0],
                            alpha_path=paths[1],
                            trimap_path=paths[2],
                            fg_path=paths[3],
                        )
                    )
        return samples

    def __len__(self):
        return len(self.samples)

    def get_sample(self, index, epoch=0, seed=None):
        """Run the pipeline on sample ``index`` with the generator of (seed, epoch, index).

        Args:
            index (int): sample index.
            epoch (int): the epoch (changes the augmentation).
            seed (int, optional): the run's seed (default: the dataset's).

        Returns:
            dict: the pipeline's results (``inputs`` holds the packed arrays).
        """
        seed = self.seed if seed is None else int(seed)
        results = dict(
            self.samples[index],
            index=int(index),
            epoch=int(epoch),
            rng=np.random.default_rng([seed, int(epoch), int(index)]),
        )
        return self.pipeline(results)

    def __getitem__(self, index):
        return self.get_sample(index)

    def __repr__(self):
        return (
            f'{type(self).__name__}(num_samples={len(self)}, ann_file={self.ann_file!r},\n'
            f'  pipeline={self.pipeline!r})'
        )
