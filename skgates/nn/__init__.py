"""Plain PyTorch building blocks of skgates; they import torch only."""

from .cancelout import CancelOut, CancelOutNetwork
from .contractive import (
    Autoencoder, ContractivePenalty, contractive_penalty, jacobian_sq_norms,
)
from .dropconnect import DropConnectLinear, DropConnectNetwork
from .ghost_batch_norm import GhostBatchNorm1d
from .mlp import MLP
from .sparsemax import Entmax15, Sparsemax, entmax15, sparsemax
from .tabnet import (
    AttentiveTransformer, CategoricalEmbedding, FeatureTransformer, GLUBlock, GLULayer, TabNet,
    TabNetDecoder, TabNetEncoder, TabNetPretraining, TabNetPretrainingLoss,
)
from .taildropout import TailDropout

__all__ = ["CancelOut", "CancelOutNetwork", "MLP", "GhostBatchNorm1d", "Sparsemax", "Entmax15", "sparsemax", "entmax15",
    "GLULayer", "GLUBlock", "FeatureTransformer", "AttentiveTransformer", "CategoricalEmbedding",
    "TabNetEncoder", "TabNetDecoder", "TabNet", "TabNetPretraining", "TabNetPretrainingLoss", "TailDropout"]
__all__ += ["DropConnectLinear", "DropConnectNetwork", "Autoencoder", "ContractivePenalty",
            "contractive_penalty", "jacobian_sq_norms"]
