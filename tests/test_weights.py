"""sample_weight and class_weight: in the loss, in the scaling, through metadata routing."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils.class_weight import compute_sample_weight

from skgates import (
    CancelOutSelector, DropConnectClassifier, DropConnectRegressor, TabNetClassifier,
    TabNetRegressor, TailDropoutRanker,
)

SUPERVISED = [CancelOutSelector, TailDropoutRanker, TabNetClassifier, TabNetRegressor,
              DropConnectClassifier, DropConnectRegressor]
CLASSIFIERS = [CancelOutSelector, TailDropoutRanker, TabNetClassifier, DropConnectClassifier]
FAST = dict(max_epochs=3, random_state=0)


def make(cls, **params):
    extra = {}
    if cls in (TabNetClassifier, TabNetRegressor):
        extra = dict(batch_size=64, virtual_batch_size=32)
    if cls is TailDropoutRanker:
        extra = dict(cv=1, n_repeats=1, n_rounds=1, ordered_epochs=1)
    return cls(**{**FAST, **extra, **params})


def data(cls, n=90, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    if cls in (TabNetRegressor, DropConnectRegressor):
        return X, X[:, 0] - X[:, 1]
    return X, (X[:, 0] > 0).astype(int)


def loss_on_batch(estimator, X, y, weights):
    """The fitted net's validation loss (weighted task loss) on one fixed batch, in eval mode."""
    net = estimator.net_
    data = estimator._prepare(X, y, weights, first_call=False, streaming=False)
    batch = {"X": data.X, "sample_weight": data.weights}
    module = estimator._inference_module().eval()
    with torch.no_grad():
        return float(net.get_loss(net.infer(batch), data.y, X=batch, training=False))


@pytest.mark.parametrize("cls", SUPERVISED)
def test_integer_weights_give_the_loss_of_repeated_rows_and_zero_removes(cls):
    X, y = data(cls)
    estimator = make(cls).fit(X, y)
    estimator.input_scaler_.partial_fit = lambda *a, **k: None  # keep the scaling fixed
    if hasattr(estimator, "target_scaler_"):
        estimator.target_scaler_.partial_fit = lambda *a, **k: None
    weights = np.random.RandomState(1).randint(0, 4, len(X))
    weighted = loss_on_batch(estimator, X, y, weights)
    repeated = loss_on_batch(estimator, X.repeat(weights, axis=0), y.repeat(weights), None)
    assert weighted == pytest.approx(repeated, rel=1e-5)
    kept = weights > 0
    assert weighted != pytest.approx(loss_on_batch(estimator, X, y, None), rel=1e-6)
    assert loss_on_batch(estimator, X, y, kept.astype(float)) == pytest.approx(
        loss_on_batch(estimator, X[kept], y[kept], None), rel=1e-5)


@pytest.mark.parametrize("cls", [CancelOutSelector])
def test_full_batch_training_with_weights_equals_training_on_repeated_rows(cls):
    X, y = data(cls, n=40)
    weights = np.random.RandomState(2).randint(0, 3, len(X))
    # (no shadow columns: their shuffled rows differ between the two data sets)
    weighted = make(cls, batch_size=1000, max_epochs=10, n_shadows=0).fit(X, y, sample_weight=weights)
    repeated = make(cls, batch_size=1000, max_epochs=10, n_shadows=0).fit(
        X.repeat(weights, axis=0), y.repeat(weights))
    np.testing.assert_allclose(weighted.feature_importances_, repeated.feature_importances_,
                               rtol=1e-5)
    np.testing.assert_allclose(weighted.history_["train_loss"], repeated.history_["train_loss"],
                               rtol=1e-5)


@pytest.mark.parametrize("cls", SUPERVISED)
def test_partial_fit_takes_sample_weight(cls):
    X, y = data(cls)
    weights = np.ones(len(X))
    weights[::2] = 0
    plain = make(cls)
    if not hasattr(plain, "partial_fit"):
        pytest.skip("no partial_fit")
    kwargs = {"classes": [0, 1]} if cls in CLASSIFIERS else {}
    with_weights = make(cls).partial_fit(X, y, sample_weight=weights, **kwargs)
    without = make(cls).partial_fit(X, y, **kwargs)
    assert not np.allclose(with_weights.history_["train_loss"], without.history_["train_loss"])


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_class_weight_equals_the_matching_sample_weight(cls):
    X, y = data(cls)
    for class_weight in ("balanced", {0: 1.0, 1: 3.0}):
        by_class = make(cls, class_weight=class_weight).fit(X, y)
        by_row = make(cls).fit(X, y, sample_weight=compute_sample_weight(class_weight, y))
        np.testing.assert_allclose(by_class.history_["train_loss"], by_row.history_["train_loss"],
                                   rtol=1e-6)


def test_class_weight_errors_are_clear():
    X, y = data(CancelOutSelector)
    with pytest.raises(ValueError, match="class_weight applies to classification only"):
        make(CancelOutSelector, class_weight="balanced").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="'balanced' needs the whole training set"):
        make(CancelOutSelector, class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not in class_weight|not in classes"):
        make(CancelOutSelector, class_weight={0: 1.0, 7: 2.0}).fit(X, y)


@pytest.mark.parametrize("weights, match", [
    (-np.ones(90), "Negative values in data passed to `sample_weight`"),
    (np.zeros(90), "at least one non-zero"),
    (np.ones(10), "sample_weight.shape == \\(10,\\), expected \\(90,\\)"),
])
def test_bad_sample_weight_is_refused(weights, match):
    X, y = data(CancelOutSelector)
    with pytest.raises(ValueError, match=match):
        make(CancelOutSelector).fit(X, y, sample_weight=weights)


def test_sample_weight_is_routed_by_grid_search_and_cross_validate():
    X, y = data(CancelOutSelector, n=120)
    weights = np.random.RandomState(3).randint(0, 3, len(X)).astype(float)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            make(CancelOutSelector, max_features=2).set_fit_request(sample_weight=True),
            LogisticRegression().set_fit_request(sample_weight=False)
            .set_score_request(sample_weight=True))
        search = GridSearchCV(pipe, {"canceloutselector__lambda_1": [1e-3]}, cv=2,
                              error_score="raise").fit(X, y, sample_weight=weights)
        assert np.isfinite(search.best_score_)
        direct = make(CancelOutSelector, max_features=2, lambda_1=1e-3).fit(
            X, y, sample_weight=weights)
        np.testing.assert_array_equal(search.best_estimator_[0].feature_importances_,
                                      direct.feature_importances_)
        clf = make(DropConnectClassifier).set_fit_request(sample_weight=True)
        clf.set_score_request(sample_weight=False)
        routed = cross_validate(clf, X, y, cv=2, params={"sample_weight": weights},
                                return_estimator=True)
    with sklearn.config_context(enable_metadata_routing=False):
        unweighted = cross_validate(make(DropConnectClassifier), X, y, cv=2,
                                    return_estimator=True)
    assert not np.array_equal(routed["estimator"][0].feature_importances_,
                              unweighted["estimator"][0].feature_importances_)
