"""skgates.save / skgates.load (no pickle, no code from the file) and pickling of fitted nets."""

import io
import json
import pickle
import sys
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load as load_tensors
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import GradientNormClipping, LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from skgates import (
    CancelOutSelector,
    ContractiveAutoencoder,
    DropConnectClassifier,
    DropConnectRegressor,
    TabNetClassifier,
    TabNetPretrainer,
    TabNetRegressor,
    TailDropoutRanker,
)
from skgates._persistence import (
    ALLOWED_CLASSES,
    FORMAT_VERSION,
    PersistenceError,
    PicklableNetMixin,
    UntrustedClassError,
    VersionMismatchError,
    load,
    save,
)

TRAINING = dict(max_epochs=2, batch_size=32, random_state=0)
TABNET = dict(n_d=4, n_a=4, n_steps=2, virtual_batch_size=16, **TRAINING)
# Methods whose outputs must be bit-equal after a round trip, where an estimator has them.
OUTPUTS = ("predict", "predict_proba", "transform", "reconstruct", "explain")
FITTED_ARRAYS = ("feature_importances_", "classes_", "order_", "ranking_", "scree_",
                 "shapley_values_", "feature_names_in_")


def numeric_data(n=60, d=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    return X, (X[:, 0] > 0).astype(int), X[:, 0] * 2 - X[:, 1]


def mixed_frame(n=60, seed=0):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({
        "num": rng.randn(n),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
        "city": rng.choice(["Paris", "Oslo", "Rome"], n).astype(object),
        "flag": rng.rand(n) > 0.5,
        "other": rng.randn(n),
    })
    labels = np.where((frame["colour"] == "red") ^ frame["flag"], "yes", "no")
    return frame, labels


def _case(name):
    """``(estimator, X, y, partial_fit kwargs or None)`` for one public estimator."""
    X, y_class, y_reg = numeric_data()
    if name == "CancelOutSelector":
        return CancelOutSelector(hidden_layer_sizes=(8,), max_features=2, **TRAINING), X, y_class, {}
    if name == "TailDropoutRanker":
        ranker = TailDropoutRanker(cv=1, n_repeats=1, n_rounds=1, ordered_epochs=1,
                                   hidden_layer_sizes=(8,), **TRAINING)
        return ranker, X, y_class, None
    if name == "TabNetClassifier":
        frame, labels = mixed_frame()  # categorical columns, string labels
        return TabNetClassifier(**TABNET), frame, labels, {}
    if name == "TabNetRegressor":
        return TabNetRegressor(**TABNET), X, np.c_[y_reg, -y_reg], {}
    if name == "TabNetPretrainer":
        return TabNetPretrainer(**TABNET), X, None, {}
    if name == "DropConnectClassifier":
        return DropConnectClassifier(hidden_layer_sizes=(8,), **TRAINING), X, y_class, {}
    if name == "DropConnectRegressor":
        return DropConnectRegressor(hidden_layer_sizes=(8,), **TRAINING), X, y_reg, {}
    if name == "ContractiveAutoencoder":
        return ContractiveAutoencoder(n_components=2, **TRAINING), X, None, None
    raise AssertionError(name)


ESTIMATORS = ["CancelOutSelector", "TailDropoutRanker", "TabNetClassifier", "TabNetRegressor",
              "TabNetPretrainer", "DropConnectClassifier", "DropConnectRegressor",
              "ContractiveAutoencoder"]


def assert_same_outputs(a, b, X):
    """Every output ``a`` offers is bit-equal in ``b``; returns how many were compared."""
    compared = 0
    for method in OUTPUTS:
        if not hasattr(a, method):
            continue
        left, right = getattr(a, method)(X), getattr(b, method)(X)
        left = left if isinstance(left, tuple) else (left,)
        right = right if isinstance(right, tuple) else (right,)
        assert len(left) == len(right)
        for u, v in zip(left, right):
            assert type(u) is type(v)
            assert np.asarray(u).dtype == np.asarray(v).dtype, method
            np.testing.assert_array_equal(u, v, err_msg=method)
        compared += 1
    for name in FITTED_ARRAYS:
        if hasattr(a, name):
            assert np.asarray(getattr(a, name)).dtype == np.asarray(getattr(b, name)).dtype, name
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
            compared += 1
    return compared


def assert_same_params(a, b):
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert_same_value(pa[key], pb[key], key)


def assert_same_value(u, v, where):
    if isinstance(u, BaseEstimator) or hasattr(u, "get_params"):
        assert type(u) is type(v), where
        assert_same_params(u, v)
    elif isinstance(u, (list, tuple)):
        assert type(u) is type(v) and len(u) == len(v), where
        for i, (x, y) in enumerate(zip(u, v)):
            assert_same_value(x, y, f"{where}[{i}]")
    else:
        assert type(u) is type(v) and (u == v or (u != u and v != v)), where  # NaN == NaN


def plain_module_state(module):
    """Each submodule's mode and plain attributes (e.g. TailDropoutRankerNetwork.mode)."""
    module = getattr(module, "_orig_mod", module)
    return {name: {key: value for key, value in vars(sub).items()
                   if value is None or type(value) in (bool, int, float, str)}
            for name, sub in module.named_modules()}


def round_trip(estimator, tmp_path, name="model.skgates"):
    path = tmp_path / name
    save(estimator, path)
    return load(path)


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", ESTIMATORS)
def test_fitted_round_trip_is_bit_exact(name, tmp_path):
    estimator, X, y, partial = _case(name)
    estimator.fit(X, y)
    rng_before = torch.random.get_rng_state()
    loaded = round_trip(estimator, tmp_path)
    assert torch.equal(torch.random.get_rng_state(), rng_before), "load touched torch's RNG"

    assert type(loaded) is type(estimator)
    assert_same_params(estimator, loaded)
    assert set(vars(loaded)) == set(vars(estimator)) - {"_train_codes_"}
    assert assert_same_outputs(estimator, loaded, X) >= 2
    pd.testing.assert_frame_equal(loaded.history_, estimator.history_)
    assert list(loaded.net_.history) == list(estimator.net_.history)
    assert plain_module_state(loaded.net_.module_) == plain_module_state(estimator.net_.module_)
    if hasattr(estimator, "input_scaler_"):
        np.testing.assert_array_equal(loaded.input_scaler_.scale_, estimator.input_scaler_.scale_)
    if hasattr(estimator, "get_support"):
        np.testing.assert_array_equal(loaded.get_support(), estimator.get_support())

    fresh = clone(loaded)
    assert_same_params(fresh, estimator)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh, "net_")

    if partial is not None:
        # The optimizer state, the stream's seed generator and the net's settings were
        # restored: one more pass gives the same network in both.
        estimator.partial_fit(X, y, **partial)
        loaded.partial_fit(X, y, **partial)
        passes = getattr(estimator, "partial_fit_epochs", 1)
        assert len(loaded.history_) == len(estimator.history_) == TRAINING["max_epochs"] + passes
        assert_same_outputs(estimator, loaded, X)
        for (key, p), (_, q) in zip(estimator.net_.module_.state_dict().items(),
                                    loaded.net_.module_.state_dict().items()):
            assert torch.equal(p, q), key


def test_partial_fit_changes_the_network_so_the_continuation_check_can_fail(tmp_path):
    estimator, X, y, _ = _case("DropConnectClassifier")
    estimator.fit(X, y)
    before = estimator.predict_proba(X)
    loaded = round_trip(estimator, tmp_path)
    loaded.partial_fit(X, y)
    assert not np.array_equal(loaded.predict_proba(X), before)


def test_contractive_inverse_transform_round_trip(tmp_path):
    estimator, X, _, _ = _case("ContractiveAutoencoder")
    estimator.fit(X)
    loaded = round_trip(estimator, tmp_path)
    codes = estimator.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(codes), estimator.inverse_transform(codes))


@pytest.mark.parametrize("labels", [
    np.array(["b", "a", "c"]),
    np.array([3, 1, 2]),
    np.array([1.0, -2.0, 3.0]),
    np.array([True, False, True]),
    np.array(["x", "y", "z"], dtype=object),
], ids=["str", "int", "float", "bool", "object"])
def test_labels_of_any_type_survive(labels, tmp_path):
    X, _, _ = numeric_data(n=60)
    y = labels[np.arange(60) % len(np.unique(labels))]
    estimator = DropConnectClassifier(hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X, y)
    loaded = round_trip(estimator, tmp_path)
    assert loaded.classes_.dtype == estimator.classes_.dtype
    assert [type(c) for c in loaded.classes_] == [type(c) for c in estimator.classes_]
    np.testing.assert_array_equal(loaded.classes_, estimator.classes_)
    assert loaded.predict(X).dtype == estimator.predict(X).dtype
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_unfitted_estimator_round_trips_its_parameters_only(name, tmp_path):
    estimator = _case(name)[0].set_params(random_state=7, max_epochs=3)
    loaded = round_trip(estimator, tmp_path)
    assert type(loaded) is type(estimator)
    assert_same_params(estimator, loaded)
    assert set(vars(loaded)) == set(estimator.get_params(deep=False))
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded, "net_")


def test_nested_estimators_round_trip(tmp_path):
    """A pipeline (like a meta-estimator) holding a fitted skgates net and a scikit-learn model."""
    X, y, _ = numeric_data()
    pipe = make_pipeline(CancelOutSelector(hidden_layer_sizes=(8,), max_features=2, **TRAINING),
                         LogisticRegression()).fit(X, y)
    loaded = round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded[0].feature_importances_, pipe[0].feature_importances_)
    np.testing.assert_array_equal(loaded[-1].coef_, pipe[-1].coef_)
    assert clone(loaded).get_params()["logisticregression__C"] == 1.0


def test_stability_selector_with_fitted_clones_round_trips(tmp_path):
    from skgates.stability import StabilitySelector

    X, y, _ = numeric_data(n=80)
    inner = CancelOutSelector(hidden_layer_sizes=(4,), max_epochs=1, batch_size=32, random_state=0)
    selector = StabilitySelector(inner, n_resamples=2, n_features_per_fit=2, keep_estimators=True,
                                 random_state=0).fit(X, y)
    loaded = round_trip(selector, tmp_path)
    assert_same_params(selector, loaded)
    np.testing.assert_array_equal(loaded.probabilities_, selector.probabilities_)
    np.testing.assert_array_equal(loaded.get_support(), selector.get_support())
    assert len(loaded.fitted_estimators_) == len(selector.fitted_estimators_) == 4
    for a, b in zip(selector.fitted_estimators_, loaded.fitted_estimators_):
        assert type(b) is CancelOutSelector
        np.testing.assert_array_equal(b.feature_importances_, a.feature_importances_)
        np.testing.assert_array_equal(b.transform(X), a.transform(X))


def _allowed_sklearn_cases():
    from sklearn.feature_selection import SelectFromModel, VarianceThreshold
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge, RidgeClassifier
    from sklearn.preprocessing import (LabelBinarizer, MaxAbsScaler, MinMaxScaler, OneHotEncoder,
                                       OrdinalEncoder, RobustScaler, StandardScaler)

    X, y, y_reg = numeric_data()
    X_missing = X.copy()
    X_missing[::7, 1] = np.nan
    words = np.array([["a", "x"], ["b", "y"], ["a", "z"], ["c", "x"]] * 5, dtype=object)
    return [
        (StandardScaler(), X, None, "transform"), (RobustScaler(), X, None, "transform"),
        (MinMaxScaler(), X, None, "transform"), (MaxAbsScaler(), X, None, "transform"),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), words, None, "transform"),
        (OrdinalEncoder(), words, None, "transform"),
        (SimpleImputer(), X_missing, None, "transform"),
        (VarianceThreshold(0.5), X, None, "transform"),
        (SelectFromModel(LogisticRegression(), max_features=2), X, y, "transform"),
        (LogisticRegression(), X, y, "predict_proba"), (RidgeClassifier(), X, y, "predict"),
        (LinearRegression(), X, y_reg, "predict"), (Ridge(), X, y_reg, "predict"),
        (Lasso(alpha=0.01), X, y_reg, "predict"), (ElasticNet(alpha=0.01), X, y_reg, "predict"),
        (LabelBinarizer(), np.array(["a", "b", "c"] * 4), None, "transform"),
    ]


def test_allowed_scikit_learn_classes_round_trip(tmp_path):
    for estimator, X, y, method in _allowed_sklearn_cases():
        if y is None:
            estimator.fit(X)
        else:
            estimator.fit(X, y)
        loaded = round_trip(estimator, tmp_path)
        assert type(loaded) is type(estimator)
        assert_same_params(estimator, loaded)
        np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(estimator, method)(X),
                                      err_msg=type(estimator).__name__)


def test_callbacks_are_saved_without_their_training_state(tmp_path):
    X, y, _ = numeric_data()
    callbacks = [LRScheduler(policy="StepLR", step_size=1, gamma=0.5),
                 GradientNormClipping(gradient_clip_value=0.5)]
    estimator = CancelOutSelector(hidden_layer_sizes=(8,), callbacks=callbacks, **TRAINING).fit(X, y)
    loaded = round_trip(estimator, tmp_path)
    assert_same_params(estimator, loaded)
    assert [type(cb) for cb in loaded.callbacks] == [LRScheduler, GradientNormClipping]
    assert loaded.callbacks[0].step_size == 1 and loaded.callbacks[0].gamma == 0.5
    np.testing.assert_array_equal(loaded.feature_importances_, estimator.feature_importances_)
    loaded.partial_fit(X, y)
    assert len(loaded.history_) == 2 + loaded.partial_fit_epochs


def test_values_of_every_supported_kind_round_trip(tmp_path):
    """The encoder behind every attribute, on an allow-listed holder with odd attributes."""
    holder = LabelEncoder()
    generator = np.random.default_rng(3)
    generator.random(5)
    stream = np.random.RandomState(5)
    stream.randn(3)
    values = {
        "none": None, "flag": True, "integer": 2**70, "real": 0.1, "nan": float("nan"),
        "inf": float("-inf"), "text": "héllo", "items": [1, "a", None],
        "pair": (1, (2.5, "b")), "mapping": {1: "one", "two": 2.0, (3, 4): [5]},
        "a_set": {1, 2}, "np_float32": np.float32(1.1), "np_int": np.int64(-3),
        "np_bool": np.bool_(True), "np_str": np.str_("s"), "np_nan": np.float64("nan"),
        "np_datetime": np.datetime64("2024-01-02T03:04:05", "s"),
        "float32_array": np.linspace(0, 1, 7, dtype=np.float32).reshape(7, 1),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "big_endian": np.arange(3, dtype=">i4"), "empty": np.zeros((0, 3)),
        "uint": np.array([2**63 + 5], dtype=np.uint64), "bools": np.array([[True, False]]),
        "complex": np.array([1 + 2j, -0.5j]), "dates": np.array(["2020-01-01", "NaT"], dtype="M8[D]"),
        "unicode": np.array([["ab", "c"]]), "bytes": np.array([b"\x00\xff", b"z"]),
        "objects": np.array([1, "a", None, 2.5, (1, 2)], dtype=object),
        "dtype": np.dtype("<U3"), "scalar_type": np.float32, "builtin_type": float,
        "random_state": stream, "generator": generator, "device": torch.device("cpu"),
        "tensor": torch.arange(4.0).requires_grad_(),
        "frame": pd.DataFrame({
            "f": [0.5, np.nan, 1.0], "i": [1, 2, 3], "s": pd.array(["a", None, "c"], dtype="string"),
            "c": pd.Categorical(["x", "y", "x"], categories=["y", "x"], ordered=True),
            "o": np.array([1, "b", None], dtype=object), "n": pd.array([1, None, 3], dtype="Int64"),
        }, index=pd.Index([10, 20, 30], name="row")),
        "series": pd.Series([1.5, 2.5], index=["a", "b"], name="s"),
        "range_frame": pd.DataFrame({"epoch": [1, 2], "train_loss": [0.5, 0.25]}),
    }
    for key, value in values.items():
        setattr(holder, key, value)
    loaded = round_trip(holder, tmp_path)
    assert type(loaded) is LabelEncoder
    for key, value in values.items():
        got = getattr(loaded, key)
        assert type(got) is type(value), key
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got, value)
        elif isinstance(value, pd.Series):
            pd.testing.assert_series_equal(got, value)
        elif isinstance(value, np.ndarray):
            assert got.dtype == value.dtype and got.shape == value.shape, key
            assert got.flags.f_contiguous == value.flags.f_contiguous, key
            if value.dtype == object:
                assert [type(v) for v in got] == [type(v) for v in value]
            np.testing.assert_array_equal(got, value)
        elif isinstance(value, np.random.RandomState):
            np.testing.assert_array_equal(got.randn(4), value.randn(4))
        elif isinstance(value, np.random.Generator):
            np.testing.assert_array_equal(got.random(4), value.random(4))
        elif isinstance(value, torch.Tensor):
            assert torch.equal(got, value) and got.requires_grad
        elif isinstance(value, float) and np.isnan(value):
            assert np.isnan(got)
        elif isinstance(value, np.floating) and np.isnan(value):
            assert np.isnan(got) and got.dtype == value.dtype
        else:
            assert got == value, key
            if isinstance(value, np.generic):
                assert got.dtype == value.dtype, key
    assert loaded.pair[1].__class__ is tuple and list(loaded.mapping) == [1, "two", (3, 4)]


# ------------------------------------------------------------ shared weights
def test_shared_glu_layers_are_stored_once_and_stay_shared(tmp_path):
    X, y, _ = numeric_data()
    estimator = TabNetClassifier(n_shared=2, n_independent=1, **TABNET).fit(X, y)

    def shared_groups(module):
        groups = {}
        for name, tensor in module.state_dict(keep_vars=True).items():
            groups.setdefault(id(tensor), []).append(name)
        return sorted(names for names in groups.values() if len(names) > 1)

    original = shared_groups(estimator.net_.module_)
    assert original, "TabNet should share GLU layers between steps"
    path = tmp_path / "tabnet.skgates"
    save(estimator, path)
    loaded = load(path)
    assert shared_groups(loaded.net_.module_) == original
    params = dict(loaded.net_.module_.named_parameters(remove_duplicate=False))
    for names in original:
        assert all(params[n] is params[names[0]] for n in names)
    # ... and trained together: one step moves every alias of a shared layer alike.
    loaded.partial_fit(X, y)
    params = dict(loaded.net_.module_.named_parameters(remove_duplicate=False))
    assert all(params[n] is params[names[0]] for names in original for n in names)
    # The file holds each shared tensor once.
    with zipfile.ZipFile(path) as archive:
        stored = load_tensors(archive.read("tensors.safetensors"))
        state = json.loads(archive.read("state.json"))
    module_keys = [k for k in stored if k.startswith("net0/module/") and "/nonpersistent/" not in k]
    n_unique = len({id(t) for t in estimator.net_.module_.state_dict(keep_vars=True).values()})
    assert len(module_keys) == n_unique
    aliases = state["estimator"]["nets"]["net_"]["modules"]["module"]["aliases"]
    assert len(aliases) == sum(len(names) - 1 for names in original)


# --------------------------------------------------------------- the file
def _saved_bytes(estimator):
    buffer = io.BytesIO()
    save(estimator, buffer)
    return buffer.getvalue()


def _rewrite_state(data, change):
    """The same save with ``state.json`` passed through ``change(dict) -> dict``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member in source.namelist():
            content = source.read(member)
            if member == "state.json":
                content = json.dumps(change(json.loads(content))).encode()
            archive.writestr(member, content)
    return out.getvalue()


@pytest.fixture(scope="module")
def fitted_tabnet():
    X, y, _ = numeric_data()
    return TabNetClassifier(**TABNET).fit(X, y)


def test_the_file_is_a_zip_of_documented_members(fitted_tabnet):
    data = _saved_bytes(fitted_tabnet)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["arrays.safetensors", "state.json",
                                              "tensors.safetensors"]
        state = json.loads(archive.read("state.json"))
    assert state["format"] == "skgates" and state["format_version"] == FORMAT_VERSION
    import skgates
    assert state["skgates_version"] == skgates.__version__
    assert state["estimator"]["class"] == "skgates.TabNetClassifier"
    assert state["estimator"]["attributes"]["n_d"] == TABNET["n_d"]
    scaler = state["estimator"]["attributes"]["input_scaler_"]
    assert scaler["__type__"] == "object" and scaler["class"] in ALLOWED_CLASSES
    assert ALLOWED_CLASSES[scaler["class"]][1] == type(fitted_tabnet.input_scaler_).__name__
    assert state["estimator"]["nets"]["net_"]["history"][0]["epoch"] == 1
    assert all(not member.endswith((".pkl", ".pt", ".pth")) for member in
               zipfile.ZipFile(io.BytesIO(data)).namelist())


def _probe_module(tmp_path, monkeypatch):
    """An importable module that leaves a file behind if anything imports it."""
    marker = tmp_path / "probe_was_imported"
    (tmp_path / "skgates_tamper_probe.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
        "class Evil:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return marker


@pytest.mark.parametrize("where", ["top", "nested"])
def test_a_file_naming_a_class_outside_the_allow_list_is_refused_without_running_it(
        where, fitted_tabnet, tmp_path, monkeypatch):
    marker = _probe_module(tmp_path, monkeypatch)

    def tamper(state):
        target = state["estimator"]
        if where == "nested":
            target = target["attributes"]["input_scaler_"]
        target["class"] = "skgates_tamper_probe.Evil"
        return state

    data = _rewrite_state(_saved_bytes(fitted_tabnet), tamper)
    with pytest.raises(UntrustedClassError, match="skgates_tamper_probe.Evil.*allow-list"):
        load(io.BytesIO(data))
    assert not marker.exists()
    assert "skgates_tamper_probe" not in sys.modules


@pytest.mark.parametrize("name", ["builtins.eval", "os.system", "subprocess.Popen",
                                  "sklearn.preprocessing._data.StandardScaler", "skgates.Evil"])
def test_dotted_paths_are_never_imported_from_a_file(name, fitted_tabnet):
    def tamper(state):
        state["estimator"]["class"] = name
        return state

    with pytest.raises(UntrustedClassError, match="allow-list"):
        load(io.BytesIO(_rewrite_state(_saved_bytes(fitted_tabnet), tamper)))


def test_an_unknown_value_tag_is_refused(fitted_tabnet):
    def tamper(state):
        state["estimator"]["attributes"]["n_d"] = {"__type__": "pickle", "data": "gASVAAAA"}
        return state

    with pytest.raises(UntrustedClassError, match="unknown type 'pickle'"):
        load(io.BytesIO(_rewrite_state(_saved_bytes(fitted_tabnet), tamper)))


def test_a_file_that_is_not_a_skgates_save_is_refused(tmp_path, fitted_tabnet):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(PersistenceError, match="not a skgates save"):
        load(text)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    with pytest.raises(PersistenceError, match="not a skgates save.*state.json"):
        load(other_zip)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(PersistenceError, match="not a skgates save"):
        load(pickled)
    no_header = _rewrite_state(_saved_bytes(fitted_tabnet), lambda state: {"estimator": 1})
    with pytest.raises(PersistenceError, match="no skgates header"):
        load(io.BytesIO(no_header))
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skgates")


def test_damaged_tensors_give_a_clear_error(fitted_tabnet):
    source = zipfile.ZipFile(io.BytesIO(_saved_bytes(fitted_tabnet)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member in source.namelist():
            content = source.read(member)
            archive.writestr(member, content[:40] if member == "tensors.safetensors" else content)
    with pytest.raises(PersistenceError, match="unreadable tensors"):
        load(io.BytesIO(out.getvalue()))


def test_weights_that_do_not_fit_the_architecture_give_a_clear_error(fitted_tabnet):
    def tamper(state):
        state["estimator"]["attributes"]["n_d"] = 5
        return state

    with pytest.raises(PersistenceError, match="do not fit the rebuilt network"):
        load(io.BytesIO(_rewrite_state(_saved_bytes(fitted_tabnet), tamper)))


def test_version_mismatch(fitted_tabnet):
    data = _saved_bytes(fitted_tabnet)

    def other_skgates(state):
        state["skgates_version"] = "0.0.1"
        return state

    older = _rewrite_state(data, other_skgates)
    with pytest.raises(VersionMismatchError, match="0.0.1.*allow_version_mismatch"):
        load(io.BytesIO(older))
    with pytest.warns(UserWarning, match="0.0.1"):
        loaded = load(io.BytesIO(older), allow_version_mismatch=True)
    assert type(loaded) is TabNetClassifier

    def other_format(state):
        state["format_version"] = FORMAT_VERSION + 1
        return state

    with pytest.raises(VersionMismatchError, match="format version"):
        load(io.BytesIO(_rewrite_state(data, other_format)), allow_version_mismatch=True)


def test_a_path_that_cannot_be_written(tmp_path, fitted_tabnet):
    with pytest.raises(FileNotFoundError, match="skgates.save: cannot write"):
        save(fitted_tabnet, tmp_path / "no" / "such" / "dir" / "model.skgates")
    with pytest.raises(OSError, match="skgates.save: cannot write"):
        save(fitted_tabnet, tmp_path)  # a directory
    assert [p.name for p in tmp_path.iterdir()] == []  # no partial file left behind


def test_an_existing_file_survives_a_failed_save(tmp_path, fitted_tabnet):
    path = tmp_path / "model.skgates"
    save(fitted_tabnet, path)
    before = path.read_bytes()
    with pytest.raises(PersistenceError, match=r"callbacks\[0\]"):
        save(CancelOutSelector(callbacks=[lambda net: None]), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skgates"]


def test_objects_outside_the_allow_list_are_not_saved():
    class Custom(BaseEstimator):
        pass

    with pytest.raises(PersistenceError, match="allow-list"):
        _saved_bytes(CancelOutSelector(random_state=Custom()))
    with pytest.raises(PersistenceError, match="allow-list"):
        _saved_bytes(Custom())


def _ranker_for_row_counts():
    # One batch per epoch whatever the rows, so the history (one entry per batch) is alike.
    return _case("TailDropoutRanker")[0].set_params(batch_size=4096)


def test_a_file_holds_no_training_rows():
    small = _ranker_for_row_counts()
    X_small, y_small, _ = numeric_data(n=100)
    X_large, y_large, _ = numeric_data(n=1000, seed=1)
    size_small = len(_saved_bytes(clone(small).fit(X_small, y_small)))
    size_large = len(_saved_bytes(clone(small).fit(X_large, y_large)))
    assert abs(size_large - size_small) < 2000


# -------------------------------------------------------------------- pickle
if issubclass(TabNetClassifier, PicklableNetMixin):  # once the bridge inherits the mixin
    PicklableTabNetClassifier = TabNetClassifier
    PicklableTailDropoutRanker = TailDropoutRanker
else:
    class PicklableTabNetClassifier(PicklableNetMixin, TabNetClassifier):
        """TabNetClassifier with the mixin, until the bridge class inherits it."""

    class PicklableTailDropoutRanker(PicklableNetMixin, TailDropoutRanker):
        """TailDropoutRanker with the mixin, until the bridge class inherits it."""


def _as(cls, estimator):
    """``estimator``'s state in an instance of ``cls`` (a subclass adding the mixin)."""
    if type(estimator) is cls:
        return estimator
    copy = cls.__new__(cls)
    copy.__dict__.update(estimator.__dict__)
    return copy


@pytest.fixture(scope="module")
def compiled_tabnet():
    """A TabNet fitted with ``compile=True`` (the one compilation of this module, ~1 min cold)."""
    rng = np.random.RandomState(0)
    X = rng.randn(64, 3)
    y = (X[:, 0] > 0).astype(int)
    estimator = TabNetClassifier(n_d=2, n_a=2, n_steps=1, n_independent=1, n_shared=1,
                                 virtual_batch_size=32, batch_size=32, max_epochs=1,
                                 compile=True, random_state=0).fit(X, y)
    assert hasattr(estimator.net_.module_, "_orig_mod")
    return estimator, X, y


def test_pickle_of_a_compiled_fit(compiled_tabnet):
    fitted, X, y = compiled_tabnet
    estimator = _as(PicklableTabNetClassifier, fitted)
    compiled_module = estimator.net_.module_
    data = pickle.dumps(estimator)
    assert estimator.net_.module_ is compiled_module  # the live estimator is not changed
    # (parameters keep dynamo's marker string "_dynamo_static_input_type"; no dynamo object)
    assert b"torch._dynamo" not in data and b"OptimizedModule" not in data
    restored = pickle.loads(data)
    assert hasattr(restored.net_.module_, "_orig_mod")  # compiled again
    assert "_skgates_compiled_" not in vars(restored.net_)
    parameters = {id(p) for p in restored.net_.module_.parameters()}
    assert {id(p) for g in restored.net_.optimizer_.param_groups for p in g["params"]} <= parameters
    np.testing.assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))
    np.testing.assert_array_equal(restored.explain(X)[1], estimator.explain(X)[1])
    copy = pickle.loads(pickle.dumps(clone(estimator).set_params(max_epochs=1)))
    assert copy.get_params()["compile"] is True


def test_save_and_load_a_compiled_fit(compiled_tabnet, tmp_path):
    estimator, X, y = compiled_tabnet
    loaded = round_trip(estimator, tmp_path)
    assert hasattr(loaded.net_.module_, "_orig_mod")
    with zipfile.ZipFile(tmp_path / "model.skgates") as archive:
        keys = load_tensors(archive.read("tensors.safetensors"))
    assert not any("_orig_mod" in key for key in keys)
    assert_same_outputs(estimator, loaded, X)
    # Training goes on through the compiled module (the compiled graphs are reused).
    twin = pickle.loads(pickle.dumps(_as(PicklableTabNetClassifier, estimator)))
    twin.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), twin.predict_proba(X))


def test_pickle_holds_no_training_rows():
    template = _ranker_for_row_counts()
    X_small, y_small, _ = numeric_data(n=100)
    X_large, y_large, _ = numeric_data(n=1000, seed=1)
    small = _as(PicklableTailDropoutRanker, clone(template).fit(X_small, y_small))
    large = _as(PicklableTailDropoutRanker, clone(template).fit(X_large, y_large))
    split = large.net_.train_split
    data = pickle.dumps(large)
    assert large.net_.train_split is split  # the live estimator keeps what it had
    assert abs(len(data) - len(pickle.dumps(small))) < 2000
    standardised = large.input_scaler_.transform(X_large).astype(np.float32)
    assert not any(row.tobytes() in data for row in standardised)
    assert not any(row.tobytes() in data for row in X_large)
    restored = pickle.loads(data)
    assert restored.net_.train_split is None
    np.testing.assert_array_equal(restored.transform(X_large), large.transform(X_large))
    np.testing.assert_array_equal(restored.feature_importances_, large.feature_importances_)


def test_pickle_drops_a_validation_dataset_kept_by_the_net():
    """skorch's predefined_split keeps its Dataset in ``net_.train_split``: not in the pickle."""
    X, y, _ = numeric_data(n=300)
    estimator = _as(PicklableTailDropoutRanker, _ranker_for_row_counts().fit(X, y))
    rows = torch.as_tensor(estimator.input_scaler_.transform(X[:200]).astype(np.float32))
    estimator.net_.train_split = predefined_split(Dataset(rows, torch.as_tensor(y[:200])))
    data = pickle.dumps(estimator)
    assert callable(estimator.net_.train_split)  # the live estimator keeps its split
    assert not any(row.numpy().tobytes() in data for row in rows)
    restored = pickle.loads(data)
    assert restored.net_.train_split is None
    np.testing.assert_array_equal(restored.transform(X), estimator.transform(X))


class _TensorSpy(pickle.Pickler):
    """A pickler that records every tensor it pickles itself (not through torch.save)."""

    def __init__(self, file):
        super().__init__(file)
        self.tensors = []

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            self.tensors.append(tuple(obj.shape))
        return NotImplemented


def test_pickle_leaves_every_tensor_to_skorchs_device_mapping():
    """skorch's net keeps its ``module`` parameter, the very module it trains: pickled
    plainly, it travelled twice and outside skorch's device mapping, so a GPU fit did not
    unpickle on a machine without a GPU (tests/test_gpu.py checks that machine)."""
    for name in ESTIMATORS:
        estimator, X, y, _ = _case(name)
        estimator.fit(X, y)
        spy = _TensorSpy(io.BytesIO())
        spy.dump(estimator)
        assert spy.tensors == [], name
        restored = pickle.loads(pickle.dumps(estimator))
        for net in [v for v in vars(restored).values() if hasattr(v, "module_")]:
            assert net.module is net.module_ and net.criterion is net.criterion_, name
        assert_same_outputs(estimator, restored, X)


def test_pickle_round_trip_of_every_estimator_with_the_mixin():
    for name in ESTIMATORS:
        estimator, X, y, _ = _case(name)
        estimator.fit(X, y)
        cls = type(estimator)
        if not issubclass(cls, PicklableNetMixin):
            cls = type(f"Picklable{name}", (PicklableNetMixin, cls), {"__module__": __name__})
            globals()[cls.__name__] = cls  # importable by name, so it pickles
        restored = pickle.loads(pickle.dumps(_as(cls, estimator)))
        assert_same_outputs(estimator, restored, X)


def test_no_warnings_on_load(fitted_tabnet):
    data = _saved_bytes(fitted_tabnet)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(io.BytesIO(data))


def test_an_estimator_fitted_on_a_device_this_machine_lacks_loads_on_the_cpu(tmp_path):
    """A GPU fit served on a CPU machine (simulated here: the fitted device is one this machine
    cannot use; tests/test_gpu.py runs the real case in a process that sees no GPU)."""
    X, y, _ = numeric_data(n=80)
    clf = DropConnectClassifier(max_epochs=2, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    clf.device_ = torch.device("meta")  # no machine trains on it: check_device refuses it
    data = pickle.dumps(clf)
    save(clf, tmp_path / "clf.skgates")
    for restore in (lambda: pickle.loads(data), lambda: load(tmp_path / "clf.skgates")):
        with pytest.warns(UserWarning, match="fitted on meta.*loaded on the CPU"):
            restored = restore()
        assert restored.device_ == torch.device("cpu")
        np.testing.assert_allclose(restored.predict_proba(X), expected, rtol=1e-6)
