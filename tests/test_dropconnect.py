"""DropConnectClassifier / DropConnectRegressor on the shared bridge."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skgates import DropConnectClassifier, DropConnectRegressor
from skgates.nn import DropConnectNetwork, jacobian_sq_norms

FAST = dict(max_epochs=30, random_state=0)


@pytest.fixture(scope="module")
def classification():
    # the first 3 columns are informative, the other 5 noise
    return make_classification(300, 8, n_informative=3, n_redundant=0, shuffle=False,
                               random_state=0)


def test_classifier_learns_and_ranks_informative_columns(classification):
    X, y = classification
    clf = DropConnectClassifier(**FAST).fit(X, y)
    assert isinstance(clf.net_.module_, DropConnectNetwork)
    assert clf.score(X, y) > 0.85
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and np.allclose(proba.sum(1), 1)
    imp = clf.feature_importances_
    assert imp.shape == (8,) and np.all(imp >= 0) and np.isclose(imp.sum(), 1)
    assert set(np.argsort(imp)[-3:]) == {0, 1, 2}


def test_feature_importances_are_mean_input_times_gradient():
    X, y = make_regression(80, 4, noise=0.5, random_state=1)
    reg = DropConnectRegressor(**FAST).fit(X, y)
    module = reg.net_.module_.double().eval()
    X_t = torch.as_tensor(reg.input_scaler_.transform(X).astype(np.float32)).double()
    total = np.zeros(4)
    for row in X_t:
        jac = torch.autograd.functional.jacobian(lambda x: module(x[None])[0], row)  # (1, 4)
        total += (row[None] * jac).abs().sum(0).numpy()
    expected = total / total.sum()
    assert np.allclose(reg.feature_importances_, expected, atol=1e-5)


def test_select_from_model(classification):
    X, y = classification
    pipe = make_pipeline(SelectFromModel(DropConnectClassifier(**FAST), max_features=3,
                                         threshold=-np.inf), LogisticRegression())
    pipe.fit(X, y)
    assert sorted(pipe[0].get_support(indices=True)) == [0, 1, 2]


def test_regressor_multioutput_float64_and_inference_modes():
    X, Y = make_regression(120, 5, n_targets=2, noise=0.1, random_state=2)
    reg = DropConnectRegressor(**FAST).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == (120, 2) and pred.dtype == np.float64
    assert reg.score(X, Y) > 0.8
    gauss = DropConnectRegressor(inference="gaussian", n_samples=200, **FAST).fit(X, Y)
    assert np.array_equal(gauss.predict(X), gauss.predict(X))  # seeded by random_state
    # without an output nonlinearity, Gaussian inference is close to the mean
    mean_pred = DropConnectRegressor(**FAST).fit(X, Y).predict(X)
    assert np.abs(gauss.predict(X) - mean_pred).mean() < 0.1 * np.abs(mean_pred).mean()


def test_p_changes_training_and_partial_fit_runs(classification):
    X, y = classification
    a = DropConnectClassifier(p=0.0, **FAST).fit(X, y).history_.train_loss.iloc[-1]
    b = DropConnectClassifier(p=0.5, **FAST).fit(X, y).history_.train_loss.iloc[-1]
    assert a < b  # dropping weights makes the training loss noisier and higher
    clf = DropConnectClassifier(random_state=0)
    clf.partial_fit(X[:150], y[:150], classes=[0, 1]).partial_fit(X[150:], y[150:])
    assert clf.feature_importances_.shape == (8,)


def test_contractive_parameter_lowers_hidden_jacobian(classification):
    X, y = classification
    norms = []
    for weight in (0.0, 1.0):
        clf = DropConnectClassifier(contractive=weight, **FAST).fit(X, y)
        X_t = torch.as_tensor(clf.input_scaler_.transform(X), dtype=torch.float32)
        with torch.no_grad():
            norms.append(jacobian_sq_norms(clf.net_.module_, X_t, "hidden.*").mean().item())
    assert norms[1] < 0.5 * norms[0]


@pytest.mark.parametrize("params, match", [
    ({"p": 1.0}, "p"),
    ({"inference": "mode"}, "inference"),
    ({"n_samples": 0}, "n_samples"),
    ({"contractive": -0.1}, "contractive"),
    ({"contractive": 0.1, "contractive_layers": "encoder.*"}, "match no module.*hidden.0"),
])
def test_bad_parameters_fail_at_fit(classification, params, match):
    X, y = classification
    with pytest.raises(ValueError, match=match):
        DropConnectClassifier(max_epochs=1, **params).fit(X, y)
