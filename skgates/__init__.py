"""skgates: scikit-learn feature selectors that train PyTorch networks through skorch."""

from .cancelout import CancelOutSelector
from .tabnet import TabNetClassifier, TabNetPretrainer, TabNetRegressor

__all__ = ["CancelOutSelector", "TabNetClassifier", "TabNetRegressor", "TabNetPretrainer"]
__version__ = "0.1.0"
