"""Loaders of benchmark tasks whose relevant columns are known."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from skgates.datasets import (
    add_probes,
    load_cancer_with_probes,
    load_wine_with_probes,
    make_friedman1_with_noise,
    make_madelon_like,
    make_syn,
    precision_at_k,
)


def test_wine_with_probes_real_columns_first_and_standardised():
    X, y, relevant = load_wine_with_probes(n_probes=26, random_state=3)
    assert isinstance(X, pd.DataFrame)
    assert X.shape == (178, 39)
    np.testing.assert_array_equal(relevant, np.arange(13))
    np.testing.assert_array_equal(y, load_wine().target)
    assert list(X.columns[:13]) == list(load_wine().feature_names)
    assert list(X.columns[13:]) == [f"probe_{i}" for i in range(26)]
    real = X.iloc[:, :13].to_numpy()
    np.testing.assert_allclose(real.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(real.std(axis=0), 1, atol=1e-12)


def test_wine_with_probes_seeded():
    a, _, _ = load_wine_with_probes(10, random_state=0)
    b, _, _ = load_wine_with_probes(10, random_state=0)
    c, _, _ = load_wine_with_probes(10, random_state=1)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.iloc[:, 13:], c.iloc[:, 13:])
    np.testing.assert_array_equal(a.iloc[:, :13], c.iloc[:, :13])


def test_wine_probes_are_irrelevant_and_real_columns_are_not():
    # A forest ranks the real columns above the probes: the task is solvable.
    from sklearn.ensemble import RandomForestClassifier

    X, y, relevant = load_wine_with_probes(52, random_state=0)
    forest = RandomForestClassifier(n_estimators=200, random_state=0).fit(X, y)
    assert precision_at_k(forest.feature_importances_, relevant) >= 0.75


def test_friedman1_with_noise_shapes_relevance_and_seed():
    X, y, relevant = make_friedman1_with_noise(300, n_noise=7, noise=0.0, random_state=0)
    assert X.shape == (300, 12) and y.shape == (300,)
    np.testing.assert_array_equal(relevant, np.arange(5))
    assert X.min() >= 0 and X.max() <= 1
    expected = (10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2
                + 10 * X[:, 3] + 5 * X[:, 4])
    np.testing.assert_allclose(y, expected)  # noise=0: y depends on the first 5 columns only
    X2, y2, _ = make_friedman1_with_noise(300, n_noise=7, noise=0.0, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_friedman1_with_noise_rejects_negative_noise_columns():
    with pytest.raises(ValueError, match="n_noise"):
        make_friedman1_with_noise(100, n_noise=-1)


def test_existing_loaders_still_agree():
    X, y, relevant = make_syn("syn4", 50, 5, random_state=0)
    assert X.shape == (50, 16) and relevant.tolist() == [0, 1, 2, 3, 4, 5, 10]
    X, y, relevant = make_madelon_like(100, 40, random_state=0)
    assert X.shape == (100, 40) and relevant.tolist() == list(range(20))
    X, y, relevant = load_cancer_with_probes(5, random_state=0)
    assert X.shape == (569, 35) and relevant.tolist() == list(range(30))
    Xp, rel = add_probes(np.zeros((4, 2)), 3, random_state=0)
    assert Xp.shape == (4, 5) and rel.tolist() == [0, 1]
    with pytest.raises(ValueError, match="n_probes"):
        add_probes(np.zeros((4, 2)), -1)
    assert precision_at_k([3, 2, 1, 0], [0, 2]) == 0.5
