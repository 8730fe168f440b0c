"""skgates: scikit-learn feature selectors that train PyTorch networks through skorch."""

from ._export import export
from ._persistence import (
    PersistenceError, UntrustedClassError, VersionMismatchError, load, save,
)
from .cancelout import CancelOutSelector
from .contractive import ContractiveAutoencoder
from .dropconnect import DropConnectClassifier, DropConnectRegressor
from .fdr import FDRSelector
from .stability import StabilitySelector
from .tabnet import TabNetClassifier, TabNetPretrainer, TabNetRegressor
from .taildropout import TailDropoutRanker

__all__ = [
    "CancelOutSelector",
    "ContractiveAutoencoder",
    "DropConnectClassifier",
    "DropConnectRegressor",
    "FDRSelector",
    "PersistenceError",
    "StabilitySelector",
    "TabNetClassifier",
    "TabNetPretrainer",
    "TabNetRegressor",
    "TailDropoutRanker",
    "UntrustedClassError",
    "VersionMismatchError",
    "export",
    "load",
    "save",
]
__version__ = "0.1.0"
