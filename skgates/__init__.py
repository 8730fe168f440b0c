"""skgates: scikit-learn feature selectors that train PyTorch networks through skorch."""

from .cancelout import CancelOutSelector
from .contractive import ContractiveAutoencoder
from .dropconnect import DropConnectClassifier, DropConnectRegressor
from .tabnet import TabNetClassifier, TabNetPretrainer, TabNetRegressor
from .taildropout import TailDropoutRanker

__all__ = [
    "CancelOutSelector",
    "ContractiveAutoencoder",
    "DropConnectClassifier",
    "DropConnectRegressor",
    "TabNetClassifier",
    "TabNetPretrainer",
    "TabNetRegressor",
    "TailDropoutRanker",
]
__version__ = "0.1.0"
