"""Fast settings and toy data for the test suites: every public network estimator, a few epochs.

Shared by ``tests/test_bridge.py`` (the bridge's contract) and ``tests/test_gpu.py`` (the same
estimators on a CUDA device), in the manner of ``sklearn.utils._testing``.
"""

import numpy as np

from .cancelout import CancelOutSelector
from .contractive import ContractiveAutoencoder
from .dropconnect import DropConnectClassifier, DropConnectRegressor
from .tabnet import TabNetClassifier, TabNetPretrainer, TabNetRegressor
from .taildropout import TailDropoutRanker

#: Parameters that make each estimator fit in well under a second on toy data.
FAST = {
    CancelOutSelector: dict(max_epochs=4),
    TailDropoutRanker: dict(max_epochs=3, ordered_epochs=1, n_repeats=1, n_rounds=1, cv=1),
    TabNetClassifier: dict(max_epochs=3, batch_size=64, virtual_batch_size=32),
    TabNetRegressor: dict(max_epochs=3, batch_size=64, virtual_batch_size=32),
    TabNetPretrainer: dict(max_epochs=3, batch_size=64, virtual_batch_size=32),
    DropConnectClassifier: dict(max_epochs=4),
    DropConnectRegressor: dict(max_epochs=4),
    ContractiveAutoencoder: dict(max_epochs=4),
}
ESTIMATORS = list(FAST)
REGRESSORS = (TabNetRegressor, DropConnectRegressor)


def make(cls, **params):
    """``cls`` with its fast settings and ``random_state=0``; ``params`` override them."""
    return cls(**{**FAST[cls], "random_state": 0, **params})


def toy_data(cls, n=120, d=5, seed=0):
    """Gaussian ``X`` and a target ``cls`` learns: ``x0 - 2 x1`` + noise, or ``x0 + x1 > 0``."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    if cls in REGRESSORS:
        return X, X[:, 0] - 2 * X[:, 1] + 0.1 * rng.randn(n)
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def outputs(estimator, X):
    """Everything the fitted estimator computes from X (predictions, codes, importances)."""
    parts = [np.asarray(estimator.feature_importances_)]
    if hasattr(estimator, "get_support"):  # a selector's transform returns the raw columns
        return parts + [estimator.get_support().astype(float)]
    for method in ("predict_proba", "predict", "transform", "reconstruct"):
        if hasattr(estimator, method):
            parts.append(np.asarray(getattr(estimator, method)(X), dtype=np.float64))
    return parts
