"""Early stopping on a metric (``scoring``) and on validation data the user supplies."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error, roc_auc_score

import skgates
from skgates import (
    CancelOutSelector, DropConnectClassifier, DropConnectRegressor, TabNetClassifier,
    TabNetRegressor, TailDropoutRanker,
)


def data(n=300, seed=0, regression=False):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    signal = X[:, 0] - X[:, 1] + 0.5 * rng.randn(n)
    return X, (signal if regression else (signal > 0).astype(int))


@pytest.mark.parametrize("cls", [DropConnectClassifier, TabNetClassifier])
def test_the_best_validation_score_is_the_metric_of_the_kept_network(cls):
    X, y = data()
    X_val, y_val = data(120, seed=1)
    extra = dict(batch_size=64, virtual_batch_size=32) if cls is TabNetClassifier else {}
    clf = cls(scoring="roc_auc", early_stopping=True, n_iter_no_change=3, max_epochs=12,
              random_state=0, **extra).fit(X, y, X_val=X_val, y_val=y_val)
    scores = clf.history_["valid_score"].to_numpy()
    assert np.all(np.isfinite(scores)) and len(scores) == len(clf.history_)
    expected = roc_auc_score(y_val, clf.predict_proba(X_val)[:, 1])
    assert scores.max() == pytest.approx(expected, abs=1e-4)
    best = int(np.argmax(scores))
    assert len(scores) == 12 or len(scores) == best + 1 + 3  # stopped by the score's patience


@pytest.mark.parametrize("cls", [DropConnectRegressor, TabNetRegressor])
def test_a_regression_scorer_sees_targets_on_their_own_scale(cls):
    X, y = data(regression=True)
    X_val, y_val = data(120, seed=1, regression=True)
    y, y_val = 1000 + 50 * y, 1000 + 50 * y_val
    extra = dict(batch_size=64, virtual_batch_size=32) if cls is TabNetRegressor else {}
    reg = cls(scoring="neg_mean_absolute_error", early_stopping=True, max_epochs=6,
              random_state=0, **extra).fit(X, y, X_val=X_val, y_val=y_val)
    expected = -mean_absolute_error(y_val, reg.predict(X_val))
    assert reg.history_["valid_score"].max() == pytest.approx(expected, rel=1e-4)


def test_a_callable_scorer_and_the_internal_split():
    X, y = data()
    calls = []

    def accuracy(estimator, X, y):
        calls.append(len(y))
        return float(np.mean(estimator.predict(X) == y))

    selector = CancelOutSelector(scoring=accuracy, early_stopping=True, max_epochs=4,
                                 validation_fraction=0.2, random_state=0).fit(X, y)
    assert calls == [60] * 4
    assert selector.history_["valid_score"].between(0, 1).all()


def test_validation_rows_are_neither_trained_on_nor_scaled_with():
    X, y = data()
    X_val, y_val = data(100, seed=1)
    X_val = X_val * 100 + 50  # would move the scaling if it were used
    with_val = DropConnectClassifier(max_epochs=3, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val)
    without = DropConnectClassifier(max_epochs=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(with_val.input_scaler_.mean_, without.input_scaler_.mean_)
    np.testing.assert_allclose(with_val.history_["train_loss"], without.history_["train_loss"],
                               rtol=1e-5)
    assert "valid_loss" in with_val.history_ and "valid_loss" not in without.history_


def test_a_fit_with_validation_data_pickles_without_rows_and_streams_on():
    X, y = data()
    X_val, y_val = data(2000, seed=1)
    clf = DropConnectClassifier(scoring="accuracy", early_stopping=True, max_epochs=3,
                                random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(pickle.dumps(clf)) < len(pickle.dumps(X_val.astype(np.float32)))
    restored = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[:100], y[:100])
    restored.partial_fit(X[:100], y[:100])  # its scoring callback is linked again
    assert "valid_score" in restored.history_ and len(restored.history_) == 4
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_a_fit_with_scoring_saves_and_loads(tmp_path):
    X, y = data()
    clf = DropConnectClassifier(scoring="roc_auc", early_stopping=True, max_epochs=3,
                                random_state=0).fit(X, y)
    skgates.save(clf, tmp_path / "clf.skgates")
    loaded = skgates.load(tmp_path / "clf.skgates")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_taildropout_scouts_can_stop_on_a_score():
    X, y = data()
    ranker = TailDropoutRanker(scoring="roc_auc", cv=1, n_rounds=1, n_repeats=1, max_epochs=4,
                               ordered_epochs=1, random_state=0).fit(X, y)
    assert ranker.history_["valid_score"].notna().all()


@pytest.mark.parametrize("scoring, error", [("accuracy_typo", "scoring='accuracy_typo' is not a"),
                                             (3, "'scoring' parameter of DropConnectClassifier")])
def test_a_bad_scoring_is_refused_at_fit(scoring, error):
    X, y = data()
    with pytest.raises(ValueError, match=error):
        DropConnectClassifier(scoring=scoring, early_stopping=True, max_epochs=2).fit(X, y)


def test_bad_validation_data_are_refused_at_fit():
    X, y = data()
    X_val, y_val = data(50, seed=1)
    clf = DropConnectClassifier(max_epochs=2, random_state=0)
    with pytest.raises(ValueError, match="validation data do not match.*4 features"):
        clf.fit(X, y, X_val=X_val[:, :4], y_val=y_val)
    with pytest.raises(ValueError, match="pass X_val and y_val together"):
        clf.fit(X, y, X_val=X_val)
    with pytest.raises(ValueError, match="validation data do not match.*labels not in classes"):
        clf.fit(X, y, X_val=X_val, y_val=y_val + 5)
    with pytest.raises(ValueError, match="validation data do not match.*samples"):
        clf.fit(X, y, X_val=X_val, y_val=y_val[:10])


@pytest.mark.parametrize("early_stopping", [False, True])
def test_scoring_without_held_out_rows_is_announced(early_stopping):
    X, y = data()
    clf = DropConnectClassifier(scoring="accuracy", early_stopping=early_stopping, max_epochs=2,
                                random_state=0)
    if early_stopping:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clf.fit(X, y)
        with pytest.warns(UserWarning, match="partial_fit holds out no rows"):
            clone(clf).partial_fit(X, y)
    else:
        with pytest.warns(UserWarning, match="scoring='accuracy' has no effect"):
            clf.fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clone(clf).fit(X, y, X_val=X[:50], y_val=y[:50])
