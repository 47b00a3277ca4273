"""Losses: trimap cross-entropy, alpha prediction and composition."""

from .alpha_loss import AlphaPredictionLoss
from .composition_loss import CompositionLoss
from .trimap_ce import TrimapCrossEntropyLoss
from .utils import reduce_loss

__all__ = ['TrimapCrossEntropyLoss', 'AlphaPredictionLoss', 'CompositionLoss', 'reduce_loss']
