"""TabNet's permutation importance against a brute-force computation through predict_proba."""

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skgates import TabNetClassifier, TabNetRegressor
from skgates._permutation import permutation_importances
from skgates._seeding import draw_seed
from skgates.datasets import make_syn

FAST = dict(max_epochs=8, batch_size=128, virtual_batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def syn2():
    X, y, relevant = make_syn("syn2", n_samples=600, n_noise=6, random_state=0)
    return X, y, relevant


def brute_force(model, X, y, weights, order, loss):
    """Loss of predict_proba (or predict) on the raw rows, each column permuted by ``order``."""
    def value(rows):
        if loss == "log_loss":
            return log_loss(y, model.predict_proba(rows), sample_weight=weights,
                            labels=model.classes_)
        return mean_squared_error(y, model.predict(rows), sample_weight=weights)

    base = value(X)
    rises = []
    for j in range(X.shape[1]):
        permuted = X.copy()
        permuted[:, j] = X[order, j]
        rises.append(value(permuted) - base)
    return np.array(rises)


def test_classifier_rises_equal_the_brute_force_log_loss(syn2):
    X, y, _ = syn2
    weights = np.random.RandomState(1).uniform(0.2, 2.0, len(y))
    model = TabNetClassifier(**FAST).fit(X, y, sample_weight=weights)
    data = model._prepare(X, y, weights, first_call=False, streaming=True, update=False)
    rises = permutation_importances(model, data, random_state=7)
    order = np.random.RandomState(7).permutation(len(y))  # the function's draw (no subsample)
    expected = brute_force(model, X, y, weights, order, "log_loss")
    np.testing.assert_allclose(rises, expected, rtol=1e-3, atol=1e-5)
    assert np.any(np.abs(expected) > 1e-2)  # the comparison is not between zeros


def test_regressor_rises_are_the_brute_force_ones_on_the_standardised_scale(syn2):
    X, _, _ = syn2
    y = X[:, 0] ** 2 + X[:, 1]
    model = TabNetRegressor(**FAST).fit(X, y)
    data = model._prepare(X, y, None, first_call=False, streaming=True, update=False)
    rises = permutation_importances(model, data, random_state=3)
    order = np.random.RandomState(3).permutation(len(y))
    # the network's loss is the squared error of the standardised target
    expected = brute_force(model, X, y, None, order, "squared_error") / y.var()
    np.testing.assert_allclose(rises, expected, rtol=1e-3, atol=1e-5)


def test_subsample_bounds_the_rows(syn2):
    X, y, _ = syn2
    model = TabNetClassifier(**FAST).fit(X, y)
    data = model._prepare(X, y, None, first_call=False, streaming=True, update=False)
    rng = np.random.RandomState(5)
    rows = np.sort(rng.choice(len(y), 100, replace=False))
    order = rng.permutation(100)
    rises = permutation_importances(model, data, random_state=5,
                                    max_rows=100)
    np.testing.assert_allclose(rises, brute_force(model, X[rows], y[rows], None, order,
                                                  "log_loss"), rtol=1e-3, atol=1e-5)


def test_estimator_reports_the_normalised_rises(syn2):
    X, y, _ = syn2
    model = TabNetClassifier(importance="permutation", credit_substitutes=False, **FAST)
    model.fit(X, y)
    data = model._prepare(X, y, None, first_call=False, streaming=True, update=False)
    rises = np.clip(permutation_importances(model, data,
                                            random_state=draw_seed(0)), 0, None)
    np.testing.assert_allclose(model.feature_importances_, rises / rises.sum(), rtol=1e-6)
    assert model.feature_importances_.sum() == pytest.approx(1.0)
    masks = TabNetClassifier(credit_substitutes=False, **FAST).fit(X, y).feature_importances_
    assert not np.allclose(masks, model.feature_importances_)


def test_multitask_and_partial_fit_give_importances(syn2):
    X, y, _ = syn2
    Y = np.c_[y, (X[:, 0] > 0).astype(int)]
    model = TabNetClassifier(importance="permutation", **FAST).fit(X, Y)
    assert model.feature_importances_.shape == (X.shape[1],)
    assert model.feature_importances_.sum() == pytest.approx(1.0)
    stream = TabNetRegressor(importance="permutation", **FAST)
    stream.partial_fit(X[:300], X[:300, 0]).partial_fit(X[300:], X[300:, 0])
    assert np.argmax(stream.feature_importances_) == 0


def test_no_rise_falls_back_to_the_masks(syn2, monkeypatch):
    # a network that no permutation hurts (all rises <= 0) reports its masks
    from skgates import tabnet

    X, y, _ = syn2
    masks = TabNetClassifier(credit_substitutes=False, **FAST).fit(X, y).feature_importances_
    monkeypatch.setattr(tabnet, "permutation_importances",
                        lambda *args, **kwargs: -np.ones(X.shape[1]))
    fallback = TabNetClassifier(importance="permutation", credit_substitutes=False, **FAST)
    np.testing.assert_allclose(fallback.fit(X, y).feature_importances_, masks)


def test_unknown_importance_is_rejected(syn2):
    X, y, _ = syn2
    with pytest.raises(InvalidParameterError, match="importance"):
        TabNetClassifier(importance="gain", **FAST).fit(X, y)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_ctrl_c_during_the_importances_leaves_no_fitted_estimator(syn2, monkeypatch, method):
    # The permutation runs after training (about 80 s at 500 columns): an interrupt there
    # must not leave an estimator that predicts but has no feature_importances_.
    from skgates import tabnet

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    X, y, _ = syn2
    monkeypatch.setattr(tabnet, "permutation_importances", interrupted)
    model = TabNetClassifier(importance="permutation", **FAST)
    with pytest.raises(KeyboardInterrupt):
        getattr(model, method)(X, y, **({"classes": [0, 1]} if method == "partial_fit" else {}))
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert not hasattr(model, "feature_importances_")


def _held_out_expectation(model, X, y, valid_rows):
    """The brute-force rises on ``valid_rows``, with the estimator's draw of the order."""
    n = len(valid_rows)
    order = np.random.RandomState(draw_seed(model.random_state)).permutation(n)
    rises = np.clip(brute_force(model, X[valid_rows], y[valid_rows], None, order, "log_loss"),
                    0, None)
    return rises / rises.sum()


def test_permutation_uses_the_users_validation_rows(syn2):
    X, y, _ = syn2
    model = TabNetClassifier(importance="permutation", credit_substitutes=False, **FAST)
    model.fit(X[:400], y[:400], X_val=X[400:], y_val=y[400:])
    expected = _held_out_expectation(model, X, y, np.arange(400, 600))
    np.testing.assert_allclose(model.feature_importances_, expected, rtol=1e-3, atol=1e-5)


def test_permutation_uses_early_stoppings_held_out_rows(syn2):
    X, y, _ = syn2
    model = TabNetClassifier(importance="permutation", credit_substitutes=False,
                             early_stopping=True, validation_fraction=0.25, **FAST)
    model.fit(X, y)
    data = model._prepare(X, y, None, first_call=False, streaming=True, update=False)
    _, valid = model.net_.get_split_datasets({"X": data.X, "sample_weight": data.weights}, data.y)
    rows = np.asarray(valid.indices)
    assert len(rows) == 150
    expected = _held_out_expectation(model, X, y, rows)
    np.testing.assert_allclose(model.feature_importances_, expected, rtol=1e-3, atol=1e-5)
    # not the training rows' rises
    on_training = _held_out_expectation(model, X, y, np.setdiff1d(np.arange(600), rows))
    assert not np.allclose(model.feature_importances_, on_training, rtol=1e-3, atol=1e-5)
