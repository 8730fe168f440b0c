"""Every estimator on a CUDA device: it trains there, agrees with the CPU, and travels back.

Skipped where ``torch.cuda.is_available()`` is false (the CI machine); run on a GPU
machine with ``python -m pytest tests/test_gpu.py``.
"""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import log_loss

from skgates import (
    CancelOutSelector, DropConnectClassifier, DropConnectRegressor, FDRSelector,
    StabilitySelector, TabNetClassifier, TabNetPretrainer, TabNetRegressor, export, load, save,
)
from skgates._testing import ESTIMATORS, outputs, toy_data
from skgates._testing import make as fast
from skgates.nn.ghost_batch_norm import GhostBatchNorm1d
from skgates.nn.sparsemax import Entmax15, Sparsemax

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

PREDICTORS = (TabNetClassifier, TabNetRegressor, DropConnectClassifier, DropConnectRegressor)


def make(cls, device="cuda", **params):
    return fast(cls, device=device, **params)


def data(cls, n=160, d=6, seed=0):
    return toy_data(cls, n, d, seed)


def modules_device(estimator):
    return {p.device.type for p in estimator.net_.module_.parameters()}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_trains_on_the_gpu_and_returns_finite_numpy(cls):
    X, y = data(cls)
    est = make(cls).fit(X, y)
    assert modules_device(est) == {"cuda"}
    for part in outputs(est, X):
        assert isinstance(part, np.ndarray) and np.isfinite(part).all()
    assert est.feature_importances_.shape == (X.shape[1],)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_equal_random_state_gives_close_results_on_the_gpu(cls):
    X, y = data(cls)
    first = outputs(make(cls).fit(X, y), X)
    second = outputs(make(cls).fit(X, y), X)
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", PREDICTORS, ids=lambda c: c.__name__)
def test_gpu_predictions_equal_the_same_weights_on_the_cpu(cls):
    """The forward pass on the GPU is the CPU's forward pass (float32 tolerance)."""
    X, y = data(cls)
    gpu = make(cls).fit(X, y)
    cpu = pickle.loads(pickle.dumps(gpu))
    cpu.net_.module_.to("cpu")
    cpu.net_.set_params(device="cpu")
    cpu.device_ = torch.device("cpu")
    method = "predict_proba" if hasattr(gpu, "predict_proba") else "predict"
    np.testing.assert_allclose(getattr(cpu, method)(X), getattr(gpu, method)(X),
                               rtol=1e-4, atol=1e-5)


def test_sparsemax_entmax_and_ghost_batch_norm_match_the_cpu_with_gradients():
    torch.manual_seed(0)
    scores = torch.randn(257, 40, dtype=torch.float64) * 3
    for layer in (Sparsemax(), Entmax15()):
        cpu_in = scores.clone().requires_grad_(True)
        gpu_in = scores.cuda().requires_grad_(True)
        cpu_out, gpu_out = layer(cpu_in), layer(gpu_in)
        torch.testing.assert_close(gpu_out.cpu(), cpu_out)
        weights = torch.randn_like(scores)
        (cpu_out * weights).sum().backward()
        (gpu_out * weights.cuda()).sum().backward()
        torch.testing.assert_close(gpu_in.grad.cpu(), cpu_in.grad)
    bn = GhostBatchNorm1d(40, virtual_batch_size=64).double().train()
    bn_gpu = GhostBatchNorm1d(40, virtual_batch_size=64).double().cuda().train()
    torch.testing.assert_close(bn_gpu(scores.cuda()).cpu(), bn(scores))
    torch.testing.assert_close(bn_gpu.running_mean.cpu(), bn.running_mean)


def test_float64_and_float32_frames_with_categories_train_on_the_gpu():
    rng = np.random.RandomState(1)
    frame = pd.DataFrame({
        "x": rng.randn(200).astype(np.float32),
        "z": rng.randn(200),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], 200)),
    })
    y = ((frame["x"] > 0) ^ (frame["colour"] == "red")).astype(int)
    clf = make(TabNetClassifier, max_epochs=20, cat_emb_dim=2).fit(frame, y)
    assert modules_device(clf) == {"cuda"}
    unseen = frame.head(5).assign(colour=pd.Categorical(["violet"] * 5))
    proba = clf.predict_proba(unseen)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(1), 1)
    assert clf.score(frame, y) > 0.7


def test_compiled_tabnet_on_the_gpu_computes_what_eager_computes():
    X, y = data(TabNetClassifier, n=256)
    compiled = make(TabNetClassifier, compile=True, max_epochs=20).fit(X, y)
    eager = make(TabNetClassifier, max_epochs=20).fit(X, y)
    # Fused kernels round differently, and Adam's first steps amplify that: the two fits
    # are not equal, but both learn the task...
    assert compiled.score(X, y) > 0.9 and eager.score(X, y) > 0.9
    # ...and on equal weights the compiled training step's forward pass is the eager one.
    module = compiled.net_.module_
    assert isinstance(getattr(module, "_orig_mod", None), torch.nn.Module)
    batch = torch.as_tensor(X[:64], dtype=torch.float32, device="cuda")
    module.train()
    with torch.no_grad():
        fused, plain = module(batch), module._orig_mod(batch)
    fused, plain = (fused, plain) if isinstance(fused, tuple) else ((fused,), (plain,))
    for a, b in zip(fused, plain):
        if isinstance(a, torch.Tensor):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    clone(compiled).fit(X, y)  # a clone compiles again


def test_permutation_importance_on_the_gpu_ranks_like_the_brute_force():
    X, y = data(TabNetClassifier, n=300)
    clf = make(TabNetClassifier, max_epochs=10, importance="permutation").fit(X, y)
    base = log_loss(y, clf.predict_proba(X), labels=clf.classes_)
    rng = np.random.RandomState(0)
    rises = []
    for column in range(X.shape[1]):
        permuted = X.copy()
        permuted[:, column] = X[rng.permutation(len(X)), column]
        rises.append(log_loss(y, clf.predict_proba(permuted), labels=clf.classes_) - base)
    # one permutation each: the ranking of the clearly relevant columns must agree
    assert set(np.argsort(clf.feature_importances_)[-2:]) == {0, 1}
    assert set(np.argsort(rises)[-2:]) == {0, 1}


def test_streaming_partial_fit_on_the_gpu():
    X, y = data(CancelOutSelector, n=600)
    selector = make(CancelOutSelector)
    for chunk in np.array_split(np.arange(len(X)), 6):
        selector.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    assert modules_device(selector) == {"cuda"}
    assert np.isfinite(selector.feature_importances_).all()


def test_meta_selectors_over_gpu_estimators():
    X, y = data(CancelOutSelector, n=400, d=8)
    stability = StabilitySelector(make(CancelOutSelector, max_epochs=20), n_resamples=4,
                                  random_state=0).fit(X, y)
    assert stability.probabilities_.shape == (8,)
    assert np.isfinite(stability.probabilities_).all()
    fdr = FDRSelector(make(CancelOutSelector, max_epochs=20), random_state=0).fit(X, y)
    assert fdr.get_support().shape == (8,)


@pytest.mark.parametrize("cls", [TabNetClassifier, DropConnectRegressor, TabNetPretrainer],
                         ids=lambda c: c.__name__)
def test_export_of_a_gpu_fit_runs_on_the_cpu(cls, tmp_path):
    X, y = data(cls)
    est = make(cls).fit(X, y)
    path = export(est, tmp_path / "model.pt2")
    program = torch.export.load(path).module()
    out = program(torch.from_numpy(X)).numpy()
    method = {TabNetClassifier: "predict_proba", DropConnectRegressor: "predict",
              TabNetPretrainer: "transform"}[cls]
    np.testing.assert_allclose(out, getattr(est, method)(X), rtol=1e-4, atol=1e-5)
    assert modules_device(est) == {"cuda"}  # the estimator itself stays on the GPU


CPU_ONLY_SERVER = textwrap.dedent("""
    import pickle, sys, warnings
    import numpy as np
    import torch
    assert not torch.cuda.is_available()
    import skgates
    X = np.load(sys.argv[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open(sys.argv[2], "rb") as handle:
            from_pickle = pickle.load(handle)
        from_save = skgates.load(sys.argv[3])
    assert any("CPU" in str(w.message) for w in caught), [str(w.message) for w in caught]
    for est in (from_pickle, from_save):
        np.save(sys.argv[4] if est is from_pickle else sys.argv[5], est.predict_proba(X))
        assert str(est.device_) == "cpu"
""")


def test_a_gpu_fit_loads_and_predicts_on_a_machine_without_a_gpu(tmp_path):
    X, y = data(TabNetClassifier)
    clf = make(TabNetClassifier).fit(X, y)
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "clf.pkl", "wb") as handle:
        pickle.dump(clf, handle)
    save(clf, tmp_path / "clf.skgates")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    paths = [tmp_path / name for name in ("X.npy", "clf.pkl", "clf.skgates", "p.npy", "s.npy")]
    done = subprocess.run([sys.executable, "-c", CPU_ONLY_SERVER, *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(np.load(paths[3]), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.load(paths[4]), expected, rtol=1e-4, atol=1e-5)


def test_save_and_load_on_the_gpu_keep_the_device(tmp_path):
    X, y = data(DropConnectClassifier)
    clf = make(DropConnectClassifier).fit(X, y)
    path = tmp_path / "clf.skgates"
    save(clf, path)
    again = load(path)
    assert modules_device(again) == {"cuda"}
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_a_tensor_on_the_gpu_is_refused_with_a_message_naming_its_device():
    X, y = data(CancelOutSelector)
    with pytest.raises(TypeError, match="X is a torch tensor on cuda"):
        make(CancelOutSelector).fit(torch.as_tensor(X, device="cuda"), y)


@pytest.mark.parametrize("device", ["cuda:0", torch.device("cuda", 0)], ids=str)
def test_device_with_an_index_or_as_a_torch_device(device):
    X, y = data(DropConnectClassifier)
    clf = make(DropConnectClassifier, device=device).fit(X, y)
    assert {p.device for p in clf.net_.module_.parameters()} == {torch.device("cuda", 0)}
    assert clf.score(X, y) > 0.7
    assert pickle.loads(pickle.dumps(clf)).score(X, y) == clf.score(X, y)


def test_parallel_workers_train_on_the_gpu():
    """joblib's process workers (loky) each start CUDA themselves; results match n_jobs=1."""
    from sklearn.model_selection import GridSearchCV

    X, y = data(CancelOutSelector, n=300, d=8)
    estimator = make(CancelOutSelector, max_epochs=10)
    serial = StabilitySelector(estimator, n_resamples=2, random_state=0, n_jobs=1).fit(X, y)
    parallel = StabilitySelector(estimator, n_resamples=2, random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(parallel.probabilities_, serial.probabilities_)
    search = GridSearchCV(make(DropConnectClassifier), {"lr": [0.01, 0.02]}, cv=2, n_jobs=2)
    search.fit(*data(DropConnectClassifier))
    assert modules_device(search.best_estimator_) == {"cuda"}


def test_multitask_and_regression_with_permutation_on_the_gpu():
    X, y = data(TabNetClassifier, n=300)
    Y = np.column_stack([y, (X[:, 2] > 0).astype(int)])
    multi = make(TabNetClassifier, max_epochs=5).fit(X, Y)
    assert [p.shape for p in multi.predict_proba(X)] == [(300, 2), (300, 2)]
    reg = make(TabNetRegressor, max_epochs=5, importance="permutation",
               early_stopping=True).fit(*data(TabNetRegressor, n=300))
    assert np.isfinite(reg.feature_importances_).all()
