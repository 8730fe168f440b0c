"""The bridge's contract, probed on every public network estimator: nothing fails silently."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

import skgates._base
from skgates import (
    CancelOutSelector, ContractiveAutoencoder, DropConnectClassifier, DropConnectRegressor,
    TabNetClassifier, TabNetPretrainer, TabNetRegressor, TailDropoutRanker,
)

from skgates._testing import ESTIMATORS, make, outputs
from skgates._testing import toy_data as data


class AtEpoch(Callback):
    """Calls ``action(net)`` at the end of epoch ``epoch``."""

    def __init__(self, epoch, action):
        self.epoch, self.action = epoch, action

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.action(net)


def poison_weights(net):
    with torch.no_grad():
        for param in net.module_.parameters():
            param.fill_(float("nan"))


def press_ctrl_c(net):
    raise KeyboardInterrupt


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_parameters_are_keyword_only(cls):
    with pytest.raises(TypeError):
        cls(0.1)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("param, value", [("lr", -1.0), ("max_epochs", 0), ("batch_size", 1.5),
                                          ("early_stopping", "yes"), ("device", 3)])
def test_a_bad_training_parameter_names_the_estimator_and_the_parameter(cls, param, value):
    X, y = data(cls)
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {cls.__name__}"):
        make(cls, **{param: value}).fit(X, y)


@pytest.mark.parametrize("cls, param, value", [
    (CancelOutSelector, "hidden_layer_sizes", (4, 0)),
    (CancelOutSelector, "lambda_1", -1.0),
    (TailDropoutRanker, "p", 0.0),
    (DropConnectClassifier, "p", 1.0),
    (DropConnectRegressor, "inference", "sampling"),
    (ContractiveAutoencoder, "n_components", 0),
    (TabNetClassifier, "n_steps", 0),
    (TabNetRegressor, "gamma", 0.5),
    (TabNetPretrainer, "pretraining_ratio", 1.0),
])
def test_a_bad_layer_argument_is_reported_by_the_layer_with_the_estimator_name(cls, param, value):
    X, y = data(cls)
    with pytest.raises((ValueError, TypeError), match=f"^{cls.__name__}: .*{param}"):
        make(cls, **{param: value}).fit(X, y)


@pytest.mark.parametrize("cls", [TabNetClassifier, TabNetRegressor, TabNetPretrainer])
def test_tabnet_virtual_batch_of_one_row_is_refused_at_fit(cls):
    X, y = data(cls)
    with pytest.raises(ValueError, match=f"{cls.__name__}: .*virtual_batch_size"):
        make(cls, virtual_batch_size=1).fit(X, y)


@pytest.mark.parametrize("cls, patterns", [
    (CancelOutSelector, "body.hidden.0"),
    (TailDropoutRanker, "body.hidden.0"),
    (DropConnectClassifier, "hidden.0"),
    (ContractiveAutoencoder, "encoder.code"),
    (TabNetClassifier, "encoder.feature_transformers.0"),
])
def test_contractive_layers_takes_one_pattern_or_a_list_everywhere(cls, patterns):
    X, y = data(cls, n=64)
    as_string = make(cls, contractive=0.1, contractive_layers=patterns, max_epochs=2).fit(X, y)
    as_list = make(cls, contractive=0.1, contractive_layers=[patterns], max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(as_string.history_["train_loss"], as_list.history_["train_loss"])
    without = make(cls, max_epochs=2, contractive=0.0).fit(X, y)
    assert not np.array_equal(as_string.history_["train_loss"], without.history_["train_loss"])


# ------------------------------------------------------------ nothing silent
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_diverging_fit_stops_with_a_clear_error_and_leaves_no_fitted_state(cls):
    X, y = data(cls)
    estimator = make(cls, max_epochs=5, callbacks=[AtEpoch(2, poison_weights)])
    with pytest.raises(FloatingPointError, match=rf"{cls.__name__}: .*epoch 3.*lr"):
        estimator.fit(X, y)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(estimator, "net_")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_ctrl_c_during_fit_reaches_the_caller(cls):
    X, y = data(cls)
    estimator = make(cls, max_epochs=5, callbacks=[AtEpoch(2, press_ctrl_c)])
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X, y)
    assert not hasattr(estimator, "net_")


def test_ctrl_c_is_not_scored_by_a_grid_search():
    X, y = data(DropConnectClassifier)
    estimator = make(DropConnectClassifier, callbacks=[AtEpoch(1, press_ctrl_c)])
    with pytest.raises(KeyboardInterrupt):
        GridSearchCV(estimator, {"p": [0.2, 0.5]}, cv=2, error_score=np.nan).fit(X, y)


def test_early_stopping_still_stops_early():
    X, y = data(CancelOutSelector, n=300)
    estimator = make(CancelOutSelector, early_stopping=True, n_iter_no_change=1, max_epochs=200,
                     lr=0.05).fit(X, y)
    assert len(estimator.history_) < 200


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_pickles_hold_no_training_rows(cls):
    sizes = []
    for n in (100, 2000):
        X, y = data(cls, n=n)
        estimator = make(cls, early_stopping=True, max_epochs=3, n_iter_no_change=5).fit(X, y)
        sizes.append(len(pickle.dumps(estimator)))
    # 1,900 more rows of 5 float32 columns would add 38 kB
    assert abs(sizes[1] - sizes[0]) < 4_000, sizes


@pytest.mark.parametrize("device", ["mps", "xpu", "meta", "cuda:99", "hpu", "not-a-device"])
@pytest.mark.parametrize("cls", [CancelOutSelector, TabNetClassifier, ContractiveAutoencoder])
def test_a_device_that_cannot_train_here_is_refused_at_fit(cls, device):
    if device.startswith("cuda") and torch.cuda.device_count() > 99:
        pytest.skip("this machine has 100 GPUs")
    X, y = data(cls)
    with pytest.raises(ValueError, match=f"{cls.__name__}: device '{device}'"):
        make(cls, device=device).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_cuda_without_cuda_is_refused_at_fit():
    X, y = data(CancelOutSelector)
    with pytest.raises(ValueError, match="no cuda device"):
        make(CancelOutSelector, device="cuda").fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("scale", [1e30, 1e300])
def test_extreme_column_scales_change_nothing(cls, scale):
    X, y = data(cls)
    ordinary = np.column_stack([X, np.ones(len(X))])
    extreme = np.column_stack([X[:, :-1], X[:, -1] * scale, np.full(len(X), scale)])
    ordinary[:, -2] = X[:, -1]
    reference = outputs(make(cls).fit(ordinary, y), ordinary)
    result = outputs(make(cls).fit(extreme, y), extreme)
    for got, expected in zip(result, reference):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [DropConnectClassifier, DropConnectRegressor])
def test_gaussian_inference_of_a_row_does_not_depend_on_its_batch(cls):
    X, y = data(cls, n=300)
    estimator = make(cls, inference="gaussian", n_samples=20).fit(X, y)
    method = estimator.predict_proba if hasattr(estimator, "predict_proba") else estimator.predict
    together = method(X)
    alone = np.concatenate([method(X[i:i + 1]) for i in range(0, 300, 37)])
    order = np.random.RandomState(1).permutation(300)
    np.testing.assert_allclose(alone, together[::37], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(method(X[order]), together[order], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_inference_runs_in_batches_with_the_same_result(cls, monkeypatch):
    X, y = data(cls, n=250)
    estimator = make(cls).fit(X, y)
    whole = outputs(estimator, X)
    module = estimator._inference_module()
    calls = []
    handle = module.register_forward_pre_hook(lambda mod, args: calls.append(len(args[0])))
    monkeypatch.setattr(skgates._base, "PREDICT_BATCH_SIZE", 100)
    try:
        batched = outputs(estimator, X)
    finally:
        handle.remove()
    assert max(calls, default=0) <= 100
    for got, expected in zip(batched, whole):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_explain_runs_in_batches(monkeypatch):
    X, y = data(TabNetClassifier, n=250)
    clf = make(TabNetClassifier).fit(X, y)
    aggregate, masks = clf.explain(X)
    monkeypatch.setattr(skgates._base, "PREDICT_BATCH_SIZE", 64)
    aggregate_b, masks_b = clf.explain(X)
    assert masks.shape == (clf.n_steps, 250, 5)
    np.testing.assert_allclose(aggregate_b, aggregate, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(masks_b, masks, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [CancelOutSelector, TabNetClassifier, DropConnectClassifier])
def test_partial_fit_refuses_other_classes_than_the_first_call(cls):
    X, y = data(cls)
    estimator = make(cls).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs"):
        estimator.partial_fit(X, y, classes=[0, 1, 2])
    estimator.partial_fit(X, y, classes=[1, 0])  # the same set, in another order


def test_a_cv_larger_than_the_data_allows_is_refused():
    X, y = data(TailDropoutRanker, n=12)
    with pytest.raises(ValueError, match="cv=10 folds need at least 20 samples"):
        make(TailDropoutRanker, cv=10).fit(X, y)


def test_unstratifiable_folds_are_announced():
    X, y = data(TailDropoutRanker, n=60)
    y[:] = 0
    y[:3] = 1
    with pytest.warns(UserWarning, match="not stratified"):
        make(TailDropoutRanker, cv=5).fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_fit_that_fails_on_bad_data_after_a_good_fit_leaves_no_stale_model(cls):
    X, y = data(cls)
    estimator = make(cls).fit(X, y)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimator.fit(bad, y)
    assert not hasattr(estimator, "net_")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_clone_refits_to_the_same_result(cls):
    X, y = data(cls)
    first = make(cls).fit(X, y)
    second = clone(first).fit(X, y)
    for a, b in zip(outputs(first, X), outputs(second, X)):
        np.testing.assert_array_equal(a, b)


def test_fits_in_threads_give_the_serial_results():
    from joblib import Parallel, delayed

    X, y = data(CancelOutSelector)

    def fit(seed):
        return make(CancelOutSelector, random_state=seed).fit(X, y).feature_importances_

    serial = [fit(seed) for seed in range(4)]
    threaded = Parallel(n_jobs=4, backend="threading")(delayed(fit)(seed) for seed in range(4))
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_users_torch_tensor_is_raw_input_like_an_array(cls):
    """A CPU tensor of raw values is validated and standardised like the array it holds (it
    used to be taken for the estimator's own standardised tensor: wrong predictions)."""
    X, y = data(cls)
    X = X * 50 + 100  # far from standardised
    estimator = make(cls).fit(X, y)
    from_tensor = make(cls).fit(torch.as_tensor(X), torch.as_tensor(y))
    for expected, got, again in zip(outputs(estimator, X), outputs(estimator, torch.as_tensor(X)),
                                    outputs(from_tensor, torch.as_tensor(X, dtype=torch.float32))):
        np.testing.assert_allclose(got, expected)
        np.testing.assert_allclose(again, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_tensor_outside_cpu_memory_is_refused_naming_its_device(cls):
    X, y = data(cls)
    elsewhere = torch.empty(X.shape, device="meta")  # as a CUDA tensor is on a CPU machine
    with pytest.raises(TypeError, match=f"{cls.__name__}: X is a torch tensor on meta"):
        make(cls).fit(elsewhere, y)
    if cls._task != "reconstruction":  # (an unsupervised estimator ignores y)
        with pytest.raises(TypeError, match="y is a torch tensor on meta"):
            make(cls).fit(X, torch.empty(len(y), device="meta"))
    fitted = make(cls).fit(X, y)
    method = next(m for m in ("predict_proba", "predict", "transform") if hasattr(fitted, m))
    # a selector's transform is scikit-learn's: torch's own TypeError names the device there
    message = "meta" if hasattr(fitted, "get_support") else "X is a torch tensor on meta"
    with pytest.raises(TypeError, match=message):
        getattr(fitted, method)(elsewhere)
