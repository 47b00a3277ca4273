"""Loading transforms: read image, alpha, trimap and foreground files (BGR uint8 as OpenCV)."""

import cv2

from ...registry import TRANSFORMS
from ..image_io import CorruptSampleError, read_image

__all__ = [
    'LoadImageFromFile',
    'LoadAlphaFromFile',
    'LoadTrimapFromFile',
    'LoadFgFromFile',
    'CorruptSampleError',
    'read_image',
]

cv2.setNumThreads(0)  # data workers must not compete with the compute threads


class _Load:
    key = ''
    flag = cv2.IMREAD_GRAYSCALE

    def __init__(self, required: bool = True):
        self.required = required

    def __call__(self, results):
        path = results.get(f'{self.key}_path')
        if path is None:
            if self.required:
                raise CorruptSampleError(
                    f'{type(self).__name__}: the sample has no {self.key}_path'
                )
            return results
        results[self.key] = read_image(path, self.flag)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(required={self.required})'


@TRANSFORMS.register_module()
class LoadImageFromFile(_Load):
    """Read ``img_path`` as BGR uint8. Adds ``img`` (H x W x 3), ``ori_shape`` (H, W)."""

    key = 'img'
    flag = cv2.IMREAD_COLOR

    def __call__(self, results):
        results = super().__call__(results)
        results['ori_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadAlphaFromFile(_Load):
    """Read ``alpha_path`` as uint8 H x W. Adds ``alpha``; checks it matches ``img``'s size."""

    key = 'alpha'

    def __call__(self, results):
        results = super().__call__(results)
        if (
            'img' in results
            and 'alpha' in results
            and results['alpha'].shape != results['img'].shape[:2]
        ):
            raise CorruptSampleError(
                f'alpha {results["alpha_path"]} is {results["alpha"].shape} '
                f'but the image is {results["img"].shape[:2]}'
            )
        return results


@TRANSFORMS.register_module()
class LoadTrimapFromFile(_Load):
    """Read ``trimap_path`` as uint8 H x W ({0, 128, 255}). Adds ``trimap``."""

    key = 'trimap'


@TRANSFORMS.register_module()
class LoadFgFromFile(_Load):
    """Read ``fg_path`` (foreground colours) as BGR uint8. Adds ``fg``; optional by default."""

    key = 'fg'
    flag = cv2.IMREAD_COLOR

    def __init__(self, required: bool = False):
        super().__init__(required)
