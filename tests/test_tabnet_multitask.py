"""TabNetClassifier with a 2-D Y: one shared encoder, one head per task (multi-task)."""

import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils import get_tags
from sklearn.utils.class_weight import compute_class_weight

import skgates
from skgates import TabNetClassifier

TINY = dict(n_d=4, n_a=4, n_steps=2, max_epochs=3, batch_size=64, virtual_batch_size=32,
            random_state=0)


def tasks(n=300, seed=0):
    """X and a DataFrame Y of three tasks, each a function of its own columns of X.

    ``"sign"``: strings, x0 > 0; ``"band"``: ints 0/1/2, bands of x1;
    ``"pair"``: bools, x2 + x3 > 0. x4, x5 are noise.
    """
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 6)
    Y = pd.DataFrame({
        "sign": np.where(X[:, 0] > 0, "pos", "neg"),
        "band": np.digitize(X[:, 1], [-0.5, 0.5]),
        "pair": X[:, 2] + X[:, 3] > 0,
    })
    return X, Y


@pytest.fixture(scope="module")
def fitted():
    X, Y = tasks()
    return TabNetClassifier(**TINY).fit(X, Y), X, Y


# ------------------------------------------------------------------ the basic contract
def test_classes_predict_and_predict_proba_per_task(fitted):
    clf, X, Y = fitted
    assert clf.n_outputs_ == 3
    assert isinstance(clf.classes_, list)
    assert [c.tolist() for c in clf.classes_] == [["neg", "pos"], [0, 1, 2], [False, True]]
    pred = clf.predict(X)
    assert pred.shape == (300, 3) and pred.dtype == object  # each label keeps its type
    assert {type(v) for v in pred[:, 0]} <= {str, np.str_}
    assert set(pred[:, 1]) <= {0, 1, 2} and set(pred[:, 2]) <= {False, True}
    proba = clf.predict_proba(X)
    assert isinstance(proba, list) and [p.shape for p in proba] == [(300, 2), (300, 3), (300, 2)]
    for p in proba:
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert clf.net_.module_.head.out_features == 2 + 3 + 2  # one block of logits per task
    assert get_tags(clf).target_tags.multi_output


def test_predict_is_the_argmax_of_predict_proba_per_task(fitted):
    clf, X, _ = fitted
    pred = clf.predict(X)
    for t, (classes, proba) in enumerate(zip(clf.classes_, clf.predict_proba(X))):
        np.testing.assert_array_equal(pred[:, t], classes[proba.argmax(axis=1)])


def test_labels_of_one_type_give_an_array_of_that_type():
    X, Y = tasks()
    Y01 = np.c_[Y["sign"] == "pos", Y["pair"]].astype(int)  # multilabel-indicator
    clf = TabNetClassifier(**TINY).fit(X, Y01)
    pred = clf.predict(X)
    assert pred.dtype.kind == "i" and pred.shape == (300, 2)
    # score: the subset accuracy, what accuracy_score computes for 0/1 multi-output labels
    assert clf.score(X, Y01) == pytest.approx(accuracy_score(Y01, pred))
    words = np.c_[Y["sign"], np.where(Y["pair"], "yes", "no")]
    assert TabNetClassifier(**TINY).fit(X, words).predict(X).dtype.kind == "U"


def test_score_is_the_subset_accuracy(fitted):
    clf, X, Y = fitted
    pred = clf.predict(X)
    right = np.all(pred == Y.to_numpy(dtype=object), axis=1)
    assert clf.score(X, Y) == pytest.approx(right.mean())
    weights = np.random.RandomState(1).rand(len(X))
    expected = np.average(right, weights=weights)
    assert clf.score(X, Y, sample_weight=weights) == pytest.approx(expected)
    with pytest.raises(ValueError, match="2 columns .tasks., but TabNetClassifier was fitted on 3"):
        clf.score(X, Y.iloc[:, :2])


def test_explain_and_feature_importances(fitted):
    clf, X, _ = fitted
    importances = clf.feature_importances_
    assert importances.shape == (6,) and np.all(importances >= 0)
    assert importances.sum() == pytest.approx(1.0)
    aggregate, masks = clf.explain(X[:10])
    assert aggregate.shape == (10, 6) and masks.shape == (2, 10, 6)


# ----------------------------------------------------------- against independent references
def test_per_task_accuracy_is_close_to_separate_single_task_fits():
    """Each task depends on its own columns: one shared network learns them all about as well."""
    X, Y = tasks(1200, seed=0)
    X_test, Y_test = tasks(600, seed=1)
    options = dict(n_d=8, n_a=8, n_steps=2, max_epochs=20, batch_size=128,
                   virtual_batch_size=64, random_state=0)
    multi = TabNetClassifier(**options).fit(X, Y)
    pred = multi.predict(X_test)
    for t, column in enumerate(Y.columns):
        single = TabNetClassifier(**options).fit(X, Y[column]).predict(X_test)
        single_accuracy = accuracy_score(Y_test[column], single)
        # (labels of mixed types come back as objects: the task's own dtype for sklearn metrics)
        multi_accuracy = accuracy_score(Y_test[column], pred[:, t].astype(multi.classes_[t].dtype))
        assert single_accuracy > 0.8, (column, single_accuracy)
        assert multi_accuracy >= single_accuracy - 0.06, (column, multi_accuracy, single_accuracy)


def _hand_cross_entropies(logits, codes, sizes):
    """Per-row, per-task cross-entropy written out: -log softmax of the true class."""
    result, start = [], 0
    for t, size in enumerate(sizes):
        block = logits[:, start:start + size]
        block = block - block.max(axis=1, keepdims=True)
        log_proba = block - np.log(np.exp(block).sum(axis=1, keepdims=True))
        result.append(-log_proba[np.arange(len(codes)), codes[:, t]])
        start += size
    return np.stack(result, axis=1)


def test_loss_is_the_mean_over_tasks_of_each_tasks_cross_entropy(fitted):
    clf, _, _ = fitted
    rng = np.random.RandomState(0)
    sizes = [2, 3, 2]
    logits = rng.randn(20, 7)
    codes = np.stack([rng.randint(0, k, 20) for k in sizes], axis=1)
    hand = _hand_cross_entropies(logits, codes, sizes)
    inputs = torch.zeros(20, 6)

    def loss(weights):
        X = {"X": inputs, "sample_weight": torch.as_tensor(weights, dtype=torch.float32)}
        return float(clf.net_.get_loss(torch.as_tensor(logits, dtype=torch.float32),
                                       torch.as_tensor(codes), X=X, training=False))

    # equal weights: the mean over tasks of the per-task mean cross-entropy
    assert loss(np.ones(20)) == pytest.approx(hand.mean(axis=0).mean(), rel=1e-5)
    # sample weights weigh every task's rows
    w = rng.rand(20)
    assert loss(w) == pytest.approx((hand * w[:, None]).sum(0).mean() / w.sum(), rel=1e-5)
    # per-task weights (class weights): each task's weighted mean, then the mean over tasks
    W = rng.rand(20, 3)
    expected = ((hand * W).sum(axis=0) / W.sum(axis=0)).mean()
    assert loss(W) == pytest.approx(expected, rel=1e-5)


def test_training_loss_of_the_first_epoch_equals_the_hand_computed_loss():
    """One full batch, lr tiny: the recorded train loss is the hand loss at the initial weights.

    One ghost batch of the whole batch, so its statistics do not depend on the shuffled order.
    """
    X, Y = tasks(64)
    params = {**TINY, "max_epochs": 1, "lambda_sparse": 0.0, "lr": 1e-12, "clip_value": None,
              "virtual_batch_size": 64}
    clf = TabNetClassifier(**params).fit(X, Y)
    codes = np.stack([np.searchsorted(c, Y.iloc[:, t].to_numpy())
                      for t, c in enumerate(clf.classes_)], axis=1)
    module = clf.net_.module_
    module.train()  # the training pass: ghost batch norm on batch statistics
    with torch.no_grad():
        logits = module(clf._to_tensor(X.astype(np.float64))).double().numpy()
    module.eval()
    hand = _hand_cross_entropies(logits, codes, [2, 3, 2]).mean(axis=0).mean()
    assert clf.history_["train_loss"].iloc[0] == pytest.approx(hand, rel=1e-5)


# --------------------------------------------------------------------------- weights
def _prepared_weights(clf, X, Y, sample_weight=None):
    clf._validate_params()
    data = clf._prepare(X, Y, sample_weight, first_call=True, streaming=False)
    return data.weights.double().numpy()


def test_class_weight_balanced_per_task_and_as_a_list_of_dicts():
    X, Y = tasks(200)
    Y = Y.assign(sign=np.where(np.arange(200) < 40, "pos", "neg"))  # imbalanced
    weights = _prepared_weights(TabNetClassifier(**TINY, class_weight="balanced"), X, Y)
    assert weights.shape == (200, 3)
    for t, column in enumerate(Y.columns):
        labels = Y[column].to_numpy()
        classes = np.unique(labels)
        per_class = compute_class_weight("balanced", classes=classes, y=labels)
        np.testing.assert_allclose(weights[:, t], per_class[np.searchsorted(classes, labels)])
    listed = TabNetClassifier(**TINY, class_weight=[{"pos": 3.0}, None, {True: 2.0}])
    sample_weight = np.linspace(0.5, 1.5, 200)
    weights = _prepared_weights(listed, X, Y, sample_weight)
    np.testing.assert_allclose(weights[:, 0], sample_weight * np.where(Y["sign"] == "pos", 3, 1))
    np.testing.assert_allclose(weights[:, 1], sample_weight)
    np.testing.assert_allclose(weights[:, 2], sample_weight * np.where(Y["pair"], 2, 1))
    # no class weights: one weight per row, as for a single task
    assert _prepared_weights(TabNetClassifier(**TINY), X, Y, sample_weight).shape == (200,)
    listed.fit(X, Y)  # and it trains
    assert np.isfinite(listed.history_["train_loss"]).all()


def test_class_weight_errors():
    X, Y = tasks(100)
    with pytest.raises(ValueError, match="list of 3 dicts"):
        TabNetClassifier(**TINY, class_weight={"pos": 2.0}).fit(X, Y)
    with pytest.raises(ValueError, match="2 entries, but y has 3 tasks"):
        TabNetClassifier(**TINY, class_weight=[None, None]).fit(X, Y)
    with pytest.raises(ValueError, match="for a multi-task y"):
        TabNetClassifier(**TINY, class_weight=[{0: 1.0}]).fit(X, Y["band"])
    with pytest.raises(ValueError, match="balanced.*whole training set"):
        TabNetClassifier(**TINY, class_weight="balanced").partial_fit(
            X, Y, classes=[["neg", "pos"], [0, 1, 2], [False, True]])


# ------------------------------------------------------------- one column, streaming
def test_a_single_column_is_one_task_with_a_data_conversion_warning():
    X, Y = tasks(200)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        one = TabNetClassifier(**TINY).fit(X, Y[["band"]])
    assert isinstance(one.classes_, np.ndarray) and one.predict(X).shape == (200,)
    flat = TabNetClassifier(**TINY).fit(X, Y["band"])
    np.testing.assert_array_equal(one.predict_proba(X), flat.predict_proba(X))


def test_partial_fit_with_classes_per_task():
    X, Y = tasks(300)
    classes = [["neg", "pos"], [0, 1, 2], [False, True]]
    clf = TabNetClassifier(**TINY)
    # the first chunk misses band 2 and pair True: classes names them
    first = (Y["band"] < 2) & ~Y["pair"]
    clf.partial_fit(X[first.to_numpy()], Y[first], classes=classes)
    assert [c.tolist() for c in clf.classes_] == classes
    clf.partial_fit(X, Y)
    assert [p.shape[1] for p in clf.predict_proba(X)] == [2, 3, 2]
    with pytest.raises(ValueError, match="list of 3 arrays, one per task"):
        TabNetClassifier(**TINY).partial_fit(X, Y, classes=["neg", "pos"])
    with pytest.raises(ValueError, match=r"classes\[1\]=\[0, 1\] differs"):
        clf.partial_fit(X, Y, classes=[["neg", "pos"], [0, 1], [False, True]])
    with pytest.raises(ValueError, match="fitted on 3 tasks; y must be 2-D"):
        clf.partial_fit(X, Y["band"])
    with pytest.raises(ValueError, match="fitted on one task"):
        TabNetClassifier(**TINY).partial_fit(X, Y["band"]).partial_fit(X, Y)


# ------------------------------------------------- early stopping, validation data, scoring
def test_early_stopping_with_a_scorer_name_averages_it_over_the_tasks():
    X, Y = tasks(300)
    X_val, Y_val = tasks(100, seed=3)
    clf = TabNetClassifier(**TINY, scoring="accuracy").fit(X, Y, X_val=X_val, y_val=Y_val)
    pred = clf.predict(X_val)  # no early stopping: the net of the last epoch
    expected = np.mean([accuracy_score(Y_val.iloc[:, t], pred[:, t].astype(clf.classes_[t].dtype))
                        for t in range(3)])
    assert clf.history_["valid_score"].iloc[-1] == pytest.approx(expected)
    stopped = TabNetClassifier(**{**TINY, "max_epochs": 30}, early_stopping=True,
                               n_iter_no_change=2, scoring="accuracy").fit(X, Y)
    assert len(stopped.history_) < 30 and stopped.history_["valid_score"].notna().all()
    assert np.isfinite(stopped.history_["valid_loss"]).all()


def _subset_accuracy_scorer(estimator, X, Y):
    return estimator.score(X, Y)


def test_a_callable_scorer_gets_the_whole_Y():
    X, Y = tasks(300)
    X_val, Y_val = tasks(100, seed=3)
    clf = TabNetClassifier(**TINY, scoring=_subset_accuracy_scorer).fit(
        X, Y, X_val=X_val, y_val=Y_val)
    assert clf.history_["valid_score"].iloc[-1] == pytest.approx(clf.score(X_val, Y_val))

    def sklearn_metric_on_multioutput(estimator, X, Y):
        return accuracy_score(Y, estimator.predict(X))  # multiclass-multioutput: refused

    with pytest.raises(ValueError, match="scoring callable failed on multi-task"):
        TabNetClassifier(**TINY, scoring=sklearn_metric_on_multioutput).fit(
            X, Y, X_val=X_val, y_val=Y_val)


def test_validation_data_must_have_the_same_tasks():
    X, Y = tasks(200)
    with pytest.raises(ValueError, match="validation data do not match.*2 columns"):
        TabNetClassifier(**TINY).fit(X, Y, X_val=X[:50], y_val=Y.iloc[:50, :2])
    with pytest.raises(ValueError, match="validation data do not match.*not in classes"):
        TabNetClassifier(**TINY).fit(X, Y, X_val=X[:50], y_val=Y.iloc[:50].assign(band=7))


# ------------------------------------------------------------------------- bad input
def test_a_task_with_a_single_class_is_named():
    X, Y = tasks(100)
    with pytest.raises(ValueError, match=r"task 2 of Y \(column 'pair'\) has a single class "
                                         r"\(True\)"):
        TabNetClassifier(**TINY).fit(X, Y.assign(pair=True))
    with pytest.raises(ValueError, match=r"task 1 of Y \(column 1\) has a single class"):
        TabNetClassifier(**TINY).fit(X, np.c_[np.arange(100) % 2, np.zeros(100)])


@pytest.mark.parametrize("bad, message", [
    (lambda Y: Y.assign(band=Y["band"].where(Y.index != 3)),
     "task 1 of Y .column 'band'. contains NaN"),
    (lambda Y: Y.assign(sign=Y["sign"].where(Y.index != 3, None)), "task 0 of Y .* NaN or None"),
    (lambda Y: Y.assign(band=Y["band"] + 0.5), "task 1 of Y .*continuous"),
])
def test_bad_labels_are_named_by_task(bad, message):
    X, Y = tasks(100)
    with pytest.raises(ValueError, match=message):
        TabNetClassifier(**TINY).fit(X, bad(Y))


def test_shape_errors():
    X, Y = tasks(100)
    with pytest.raises(ValueError, match="X has 100 samples but y has 90 rows"):
        TabNetClassifier(**TINY).fit(X, Y.iloc[:90])
    clf = TabNetClassifier(**TINY).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(X[:, :5])
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse as sp
        Y_sparse = sp.csr_matrix(np.c_[np.arange(100) % 2, np.arange(100) % 3])
        TabNetClassifier(**TINY).fit(X, Y_sparse)


# -------------------------------------------------------------- persistence, clone, search
def test_pickle_and_save_load_round_trip(fitted, tmp_path):
    clf, X, Y = fitted
    skgates.save(clf, tmp_path / "multi.skgates")
    for restored in (pickle.loads(pickle.dumps(clf)), skgates.load(tmp_path / "multi.skgates")):
        assert isinstance(restored.classes_, list) and restored.n_outputs_ == 3
        for got, expected in zip(restored.classes_, clf.classes_):
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == expected.dtype
        np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
        for got, expected in zip(restored.predict_proba(X), clf.predict_proba(X)):
            np.testing.assert_array_equal(got, expected)
        restored.partial_fit(X, Y)  # the stream goes on with the loaded heads and criterion
        assert [p.shape[1] for p in restored.predict_proba(X)] == [2, 3, 2]


def test_clone_and_grid_search_score_by_subset_accuracy():
    X, Y = tasks(200)
    clf = TabNetClassifier(**TINY, class_weight="balanced")
    assert clone(clf).get_params() == clf.get_params()
    Y_int = np.c_[Y["sign"] == "pos", Y["band"], Y["pair"]].astype(int)
    search = GridSearchCV(clf, {"n_d": [2, 4]}, cv=2).fit(X, Y_int)
    assert search.best_estimator_.n_outputs_ == 3
    assert 0.0 <= search.best_score_ <= 1.0
    assert search.score(X, Y_int) == pytest.approx(search.best_estimator_.score(X, Y_int))
    # labels of mixed types: scikit-learn's check_cv cannot sort them, a KFold splitter
    # (no stratification) works
    search = GridSearchCV(clf, {"n_d": [4]}, cv=KFold(2)).fit(X, Y)
    assert search.best_estimator_.predict(X).shape == (200, 3)


# ---------------------------------------------------------------------------- export
def test_export_returns_one_probability_tensor_per_task(fitted, tmp_path):
    clf, X, _ = fitted
    path = skgates.export(clf, os.fspath(tmp_path / "multi.pt2"))
    served = torch.export.load(path).module()
    with torch.no_grad():
        outputs = served(torch.from_numpy(X))
    assert isinstance(outputs, tuple) and len(outputs) == 3
    for got, expected in zip(outputs, clf.predict_proba(X)):
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_export_to_onnx_names_one_output_per_task(fitted, tmp_path):
    pytest.importorskip("onnx")
    clf, _, _ = fitted
    import onnx

    path = skgates.export(clf, os.fspath(tmp_path / "multi.onnx"), format="onnx")
    names = [output.name for output in onnx.load(path).graph.output]
    assert names == ["output_0", "output_1", "output_2"]


def test_no_warning_for_a_plain_multi_task_fit():
    X, Y = tasks(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TabNetClassifier(**TINY).fit(X, Y)
