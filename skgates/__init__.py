"""skgates: scikit-learn feature selectors that train PyTorch networks through skorch."""

from .cancelout import CancelOutSelector

__all__ = ["CancelOutSelector"]
__version__ = "0.1.0"
