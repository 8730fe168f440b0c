"""ContractiveAutoencoder and the bridge's ``contractive`` parameter."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris, make_classification

from skgates import CancelOutSelector, ContractiveAutoencoder
from skgates._base import BaseNetworkEstimator, training_params
from skgates.nn import MLP, jacobian_sq_norms
from skgates.nn.contractive import resolve_layers


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)[0]


def code_jacobian_norm(cae, X):
    """Mean over rows of ||d code / d x||_F^2, brute force, in standardised units."""
    module = cae.net_.module_.double().eval()
    X_t = torch.as_tensor(cae.input_scaler_.transform(X), dtype=torch.float64)
    return np.mean([
        torch.autograd.functional.jacobian(lambda x: module.encode(x[None])[0], row)
        .pow(2).sum().item() for row in X_t
    ])


def test_autoencoder_transform_inverse_and_names(iris):
    cae = ContractiveAutoencoder(n_components=2, random_state=0).fit(iris)
    codes = cae.transform(iris)
    assert codes.shape == (150, 2) and codes.dtype == np.float64
    rebuilt = cae.inverse_transform(codes)
    assert rebuilt.shape == iris.shape
    # a 2-unit code of iris reconstructs far better than the column means
    assert ((rebuilt - iris) ** 2).mean() < 0.25 * iris.var(0).mean()
    names = ["contractiveautoencoder0", "contractiveautoencoder1"]
    assert list(cae.get_feature_names_out()) == names
    imp = cae.feature_importances_
    assert imp.shape == (4,) and np.all(imp >= 0) and np.isclose(imp.sum(), 1)
    with pytest.raises(ValueError, match="n_components"):
        cae.inverse_transform(codes[:, :1])


def test_penalty_lowers_the_measured_jacobian_of_a_trained_autoencoder(iris):
    fitted = [ContractiveAutoencoder(contractive=w, random_state=0).fit(iris) for w in (0, 1, 10)]
    norms = [code_jacobian_norm(cae, iris) for cae in fitted]
    assert norms[0] > norms[1] > norms[2] and norms[2] < 0.5 * norms[0]


def test_fit_ignores_y_and_checks_params(iris):
    a = ContractiveAutoencoder(max_epochs=5, random_state=0).fit(iris).transform(iris)
    b = ContractiveAutoencoder(max_epochs=5, random_state=0).fit(iris, np.arange(150))
    b = b.transform(iris)
    assert np.allclose(a, b)
    with pytest.raises(ValueError, match="n_components"):
        ContractiveAutoencoder(n_components=0).fit(iris)
    with pytest.raises(ValueError, match="contractive"):
        ContractiveAutoencoder(contractive=-1.0).fit(iris)


def test_overcomplete_code_and_deeper_encoder(iris):
    cae = ContractiveAutoencoder(n_components=6, hidden_layer_sizes=(8,),
                                 contractive_layers="encoder.*", random_state=0)
    codes = cae.fit_transform(iris)
    assert codes.shape == (150, 6)
    assert cae.net_.penalties[0].layers == ("encoder.*",)
    assert resolve_layers(cae.net_.module_, "encoder.*") == ["encoder.layer0", "encoder.code"]
    # with more code units than columns, reconstruction is close to PCA with all 4 components
    error = ((cae.inverse_transform(codes) - iris) ** 2).mean()
    assert error < 0.1 * iris.var(0).mean()


# ---------------------------------------------------------------- the bridge
@pytest.fixture(scope="module")
def classification():
    return make_classification(200, 6, n_informative=3, random_state=0)


def test_cancelout_selector_gets_the_penalty_through_the_bridge(classification):
    X, y = classification
    norms = []
    for weight in (0.0, 1.0):
        sel = CancelOutSelector(contractive=weight, max_epochs=20, random_state=0).fit(X, y)
        X_t = torch.as_tensor(sel.input_scaler_.transform(X), dtype=torch.float32)
        with torch.no_grad():
            norms.append(jacobian_sq_norms(sel.net_.module_, X_t, "body.hidden.*").mean().item())
    assert norms[1] < 0.5 * norms[0]
    terms = sel.net_.penalties
    assert len(terms) == 1 and terms[0].layers == ("body.hidden.*",)
    assert pickle.loads(pickle.dumps(sel)).transform(X).shape[0] == len(X)


class NoDefaultLayers(BaseNetworkEstimator):
    """A minimal estimator without ``_default_contractive_layers``."""

    def __init__(self, *, contractive=0.0, contractive_layers=None, max_epochs=2, batch_size=32,
                 lr=0.01, weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=3, device="cpu", random_state=0, verbose=0, callbacks=None):
        super().__init__(**training_params(locals()))

    def _build_module(self, n_features, n_outputs):
        return MLP(n_features, (5,), n_outputs, "tanh")

    def fit(self, X, y):
        return self._fit(X, y)


def test_bridge_errors_and_explicit_layers(classification):
    X, y = classification
    with pytest.raises(ValueError, match="needs contractive_layers.*hidden.0"):
        NoDefaultLayers(contractive=0.1).fit(X, y)
    with pytest.raises(ValueError, match="match no module"):
        NoDefaultLayers(contractive=0.1, contractive_layers=["body.*"]).fit(X, y)
    with pytest.raises(TypeError, match="contractive_layers"):
        NoDefaultLayers(contractive=0.1, contractive_layers=5).fit(X, y)
    with pytest.raises(ValueError, match="contractive"):
        NoDefaultLayers(contractive=float("inf"), contractive_layers="hidden.*").fit(X, y)
    est = NoDefaultLayers(contractive=0.1, contractive_layers="hidden.*").fit(X, y)
    assert est.net_.penalties[0].weight == 0.1
    assert NoDefaultLayers().fit(X, y).net_.penalties == []  # off by default
