"""An example plugin package: a backbone registered from outside shmatting."""

from .tiny_resnet import TinyResNet

__all__ = ['TinyResNet']
