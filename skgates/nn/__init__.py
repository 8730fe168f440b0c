"""Plain PyTorch building blocks of skgates; they import torch only."""

from .autoencoder import Autoencoder
from .cancelout import CancelOut, CancelOutNetwork
from .contractive import ContractivePenalty, contractive_penalty, jacobian_sq_norms
from .dropconnect import DropConnectLinear, DropConnectNetwork
from .ghost_batch_norm import GhostBatchNorm1d
from .mlp import MLP
from .sparsemax import Entmax15, Sparsemax, entmax15, sparsemax
from .tabnet import (
    AttentiveTransformer, CategoricalEmbedding, FeatureTransformer, GLUBlock, GLULayer, TabNet,
    TabNetDecoder, TabNetEncoder, TabNetPretraining, TabNetPretrainingLoss,
)
from .taildropout import TailDropout, TailDropoutRankerNetwork

__all__ = [
    "AttentiveTransformer",
    "Autoencoder",
    "CancelOut",
    "CancelOutNetwork",
    "CategoricalEmbedding",
    "contractive_penalty",
    "ContractivePenalty",
    "DropConnectLinear",
    "DropConnectNetwork",
    "Entmax15",
    "entmax15",
    "FeatureTransformer",
    "GhostBatchNorm1d",
    "GLUBlock",
    "GLULayer",
    "jacobian_sq_norms",
    "MLP",
    "sparsemax",
    "Sparsemax",
    "TabNet",
    "TabNetDecoder",
    "TabNetEncoder",
    "TabNetPretraining",
    "TabNetPretrainingLoss",
    "TailDropout",
    "TailDropoutRankerNetwork",
]
