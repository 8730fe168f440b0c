"""skgates._export.export: a fitted estimator as a tensor program served by plain torch."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skgates import (
    CancelOutSelector, ContractiveAutoencoder, DropConnectClassifier, DropConnectRegressor,
    TabNetClassifier, TabNetPretrainer, TabNetRegressor,
)
from skgates._export import export

TABNET = dict(n_d=4, n_a=4, n_steps=2, max_epochs=2, batch_size=64, virtual_batch_size=32,
              random_state=0)
SMALL = dict(max_epochs=2, random_state=0)


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4) * [1.0, 10.0, 1.0, 1e6]
    X[:, 2] = 5.0  # a constant column: the graph must map it to 0, as the estimator does
    y = (X[:, 0] + X[:, 1] / 10 > 0).astype(int)
    y3 = np.array(["a", "b", "c"])[np.arange(120) % 3]
    target = 3 * X[:, 0] + 100.0
    return X, y, y3, target


# (name, fitted estimator, the method whose output the exported program must equal)
def _cases():
    X, y, y3, target = _data()
    two_targets = np.c_[target, -target]
    return [
        ("tabnet_classifier", TabNetClassifier(**TABNET).fit(X, y3), "predict_proba"),
        ("tabnet_regressor", TabNetRegressor(**TABNET).fit(X, target), "predict"),
        ("tabnet_pretrainer", TabNetPretrainer(**TABNET).fit(X), "transform"),
        ("dropconnect_classifier", DropConnectClassifier(**SMALL).fit(X, y), "predict_proba"),
        ("dropconnect_regressor", DropConnectRegressor(**SMALL).fit(X, two_targets), "predict"),
        ("contractive_autoencoder", ContractiveAutoencoder(**SMALL).fit(X), "transform"),
    ]


SERVER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import torch
    paths = json.loads(sys.argv[1])
    X = torch.from_numpy(np.load(sys.argv[2]))
    with torch.no_grad():
        for name, path in paths.items():
            program = torch.export.load(path).module()
            np.save(path + ".out.npy", program(X).numpy())
            np.save(path + ".one.npy", program(X[:1]).numpy())
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "skgates")))
""")


def test_exported_programs_equal_the_estimators_in_plain_torch(tmp_path):
    X, *_ = _data()
    cases = _cases()
    paths = {name: export(est, tmp_path / f"{name}.pt2") for name, est, _ in cases}
    np.save(tmp_path / "X.npy", X)
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", SERVER, json.dumps(paths),
                           str(tmp_path / "X.npy")], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []  # skgates never imported
    for name, est, method in cases:
        expected = getattr(est, method)(X)
        out = np.load(paths[name] + ".out.npy")
        assert out.shape == expected.shape, name
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(np.load(paths[name] + ".one.npy"), expected[:1],
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def test_export_leaves_the_estimator_unchanged(tmp_path):
    X, y, *_ = _data()
    clf = TabNetClassifier(**TABNET).fit(X, y)
    before = clf.predict_proba(X)
    clf.net_.module_.train()
    export(clf, tmp_path / "clf.pt2")
    assert clf.net_.module_.training  # export works on a copy
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        export(TabNetClassifier(), tmp_path / "x.pt2")


def test_unwritable_path_gets_a_clear_error(tmp_path):
    X, y, *_ = _data()
    clf = DropConnectClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="does not exist"):
        export(clf, tmp_path / "missing" / "clf.pt2")
    with pytest.raises(ValueError, match="is a directory"):
        export(clf, tmp_path)
    with pytest.raises(ValueError, match="format"):
        export(clf, tmp_path / "clf.bin", format="pickle")


def test_unsupported_estimators_are_refused(tmp_path):
    X, y, *_ = _data()
    selector = CancelOutSelector(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="exportable are .*TabNetClassifier"):
        export(selector, tmp_path / "s.pt2")
    with pytest.raises(TypeError, match="cannot export a LogisticRegression"):
        from sklearn.linear_model import LogisticRegression
        export(LogisticRegression().fit(X, y), tmp_path / "l.pt2")
    gaussian = DropConnectClassifier(inference="gaussian", n_samples=4, **SMALL).fit(X, y)
    with pytest.raises(TypeError, match="inference='mean'"):
        export(gaussian, tmp_path / "g.pt2")


def test_categorical_tabnet_is_refused(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"num": rng.randn(80), "colour": rng.choice(["r", "g"], 80)})
    clf = TabNetClassifier(**TABNET).fit(frame, np.arange(80) % 2)
    with pytest.raises(TypeError, match="categorical columns"):
        export(clf, tmp_path / "c.pt2")


def test_onnx_export(tmp_path):
    pytest.importorskip("onnx")
    X, y, *_ = _data()
    clf = DropConnectClassifier(**SMALL).fit(X, y)
    path = export(clf, tmp_path / "clf.onnx", format="onnx")
    assert os.path.getsize(path) > 0
    runtime = pytest.importorskip("onnxruntime")
    session = runtime.InferenceSession(path)
    out = session.run(None, {"X": X})[0]
    np.testing.assert_allclose(out, clf.predict_proba(X), rtol=1e-5, atol=1e-6)
