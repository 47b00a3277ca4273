"""Backbones (encoders). Each exposes ``out_channels`` and ``out_strides`` tuples."""

from .mnet_encoder import MNetEncoder
from .mobilenet_v2 import InvertedResidual, MobileNetV2
from .resnet import ResNet
from .vgg import VGG16Encoder

__all__ = ['MobileNetV2', 'InvertedResidual', 'MNetEncoder', 'ResNet', 'VGG16Encoder']
