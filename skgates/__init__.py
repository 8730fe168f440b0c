"""skgates: scikit-learn feature selectors that train PyTorch networks through skorch."""

from .cancelout import CancelOutSelector
from .contractive import ContractiveAutoencoder
from .dropconnect import DropConnectClassifier, DropConnectRegressor
from .tabnet import TabNetClassifier, TabNetPretrainer, TabNetRegressor
from .taildropout import TailDropoutRanker

__all__ = ["CancelOutSelector", "TabNetClassifier", "TabNetRegressor", "TabNetPretrainer"]
__all__ += ["DropConnectClassifier", "DropConnectRegressor", "ContractiveAutoencoder"]
__all__ += ["TailDropoutRanker"]
__version__ = "0.1.0"
