"""Fitted estimators and fakes for the Display tests; matplotlib draws off screen (Agg)."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skgates import CancelOutSelector, TabNetClassifier, TailDropoutRanker  # noqa: E402
from skgates.datasets import add_probes, make_syn  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def syn2_frame():
    """Syn2 (relevant x2..x5) with 4 noise columns and 3 probes, as a named DataFrame."""
    import pandas as pd

    X, y, _ = make_syn("syn2", n_samples=300, n_noise=4, random_state=0)
    X = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    X, _ = add_probes(X, 3, random_state=0)
    return X, y


@pytest.fixture(scope="session")
def cancelout(syn2_frame):
    X, y = syn2_frame
    return CancelOutSelector(max_epochs=4, early_stopping=True, validation_fraction=0.2,
                             n_iter_no_change=50, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def ranker():
    X, y, _ = make_syn("syn2", n_samples=300, n_noise=4, random_state=0)
    return TailDropoutRanker(cv=1, max_epochs=3, ordered_epochs=2, n_repeats=2,
                             hidden_layer_sizes=(16,), random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def tabnet(syn2_frame):
    X, y = syn2_frame
    return TabNetClassifier(n_d=4, n_a=4, n_steps=2, max_epochs=2, batch_size=128,
                            virtual_batch_size=64, random_state=0).fit(X, y)


class FittedStabilitySelection:
    """Duck-typed fitted stability selection: the attributes StabilityPathDisplay draws."""

    def __init__(self, n_features=6, threshold=0.7, feature_names_in=None):
        rng = np.random.RandomState(0)
        self.path_sizes_ = np.array([1, 2, 3, 4])
        self.stability_path_ = np.sort(rng.rand(4, n_features), axis=0)
        self.probabilities_ = self.stability_path_.max(axis=0)
        self.threshold = threshold
        self.n_features_in_ = n_features
        if feature_names_in is not None:
            self.feature_names_in_ = np.asarray(feature_names_in, dtype=object)

    def fit(self, X, y=None):
        return self

    def get_support(self, indices=False):
        mask = self.probabilities_ >= self.threshold
        return np.flatnonzero(mask) if indices else mask


@pytest.fixture
def stability_fake():
    return FittedStabilitySelection(feature_names_in=[f"f{j}" for j in range(6)])
