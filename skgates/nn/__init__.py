"""Plain PyTorch building blocks of skgates; they import torch only."""

from .cancelout import CancelOut, CancelOutNetwork
from .mlp import MLP

__all__ = ["CancelOut", "CancelOutNetwork", "MLP"]
