"""Mattors: complete matting models."""

from .shm import PHASES, SHM, EncoderDecoder

__all__ = ['SHM', 'EncoderDecoder', 'PHASES']
