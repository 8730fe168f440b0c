"""The substitutes credit: R^2 against scikit-learn, its error rate on noise, the order, the estimators."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from skgates import CancelOutSelector, DropConnectClassifier, TabNetClassifier, TailDropoutRanker
from skgates._substitutes import (FAMILY_WISE_LEVEL, credit_order, credited_importances,
                                  find_substitutes, standing_out, substitution_r2)


def _tensor(X):
    return torch.as_tensor(np.asarray(X), dtype=torch.float32)


def test_r2_matches_weighted_linear_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 7))
    X[:, 5] = X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.normal(size=300)
    w = rng.uniform(0.2, 3.0, size=300)
    sources = np.array([0, 1, 2])
    r2, rank, n_effective = substitution_r2(_tensor(X), torch.as_tensor(w), sources)
    X32 = X.astype(np.float32).astype(np.float64)  # the tensor's values
    for j in range(7):
        if j in sources:
            assert r2[j] == 1.0
            continue
        reference = LinearRegression().fit(X32[:, sources], X32[:, j], sample_weight=w)
        assert r2[j] == pytest.approx(reference.score(X32[:, sources], X32[:, j], sample_weight=w),
                                      abs=1e-6)
    assert rank == 3
    assert n_effective == pytest.approx(w.sum() ** 2 / (w ** 2).sum())


def test_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 5))
    X[:, 4] += X[:, 0]
    counts = rng.integers(1, 4, size=80)
    weighted, _, _ = substitution_r2(_tensor(X), torch.as_tensor(counts, dtype=torch.float64),
                                     np.array([0, 1]))
    repeated, _, _ = substitution_r2(_tensor(np.repeat(X, counts, axis=0)),
                                     torch.ones(counts.sum(), dtype=torch.float64), np.array([0, 1]))
    np.testing.assert_allclose(weighted, repeated, atol=1e-10)


def test_rank_deficient_sources_and_constant_column():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 6))
    X[:, 1] = 2 * X[:, 0]  # the sources are collinear: rank 2, not 3
    X[:, 3] = X[:, 0] + X[:, 2]  # an exact substitute
    X[:, 4] = 0.0  # constant
    r2, substitutes, _ = find_substitutes(_tensor(X), torch.ones(200), np.array([0, 1, 2]))
    assert substitution_r2(_tensor(X), torch.ones(200), np.array([0, 1, 2]))[1] == 2
    assert r2[3] == pytest.approx(1.0, abs=1e-6) and substitutes[3]
    assert r2[4] == 0.0 and not substitutes[4]
    assert not substitutes[5]
    assert not substitutes[[0, 1, 2]].any()


def test_noise_is_credited_at_most_at_the_family_wise_level():
    # Independent Gaussian columns: the probability that any of 40 is credited is <= alpha.
    rng = np.random.default_rng(3)
    trials, hits, hits_default = 300, 0, 0
    for _ in range(trials):
        X = _tensor(rng.normal(size=(120, 45)))
        hits += bool(find_substitutes(X, torch.ones(120), np.arange(5), alpha=0.05)[1].any())
        hits_default += bool(find_substitutes(X, torch.ones(120), np.arange(5))[1].any())
    # Binomial(300, 0.05): mean 15, sd 3.8; the level being met, more than 27 is very unlikely.
    assert hits <= 27
    # the default level, 0.1%: mean 0.3 of 300
    assert FAMILY_WISE_LEVEL == 0.001 and hits_default <= 3
    # ... and the test has power: a column with R^2 about 0.5 on 120 rows is found.
    X = rng.normal(size=(120, 45))
    X[:, 10] = X[:, 0] + rng.normal(size=120)
    assert find_substitutes(_tensor(X), torch.ones(120), np.arange(5))[1][10]


def test_later_rounds_credit_what_the_first_substitutes_unlock():
    # x1 = x0 + x2: the source x0 explains half of x1 (round 1); x0 and x1 together
    # give x2 = x1 - x0 exactly (round 2); x3 is noise.
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 4))
    X[:, 1] = X[:, 0] + X[:, 2]
    r2, substitutes, rounds = find_substitutes(_tensor(X), torch.ones(400), np.array([0]))
    assert rounds.tolist() == [0, 1, 2, 0] and substitutes.tolist() == [False, True, True, False]
    assert r2[1] == pytest.approx(0.5, abs=0.1) and r2[2] == pytest.approx(1.0, abs=1e-5)
    assert r2[3] < 0.05  # on the final set {x0, x1, x2}
    # the order follows the rounds, whatever the R^2
    order = credit_order(np.array([0.9, 0.0, 0.0, 0.5]), [0], r2, substitutes, rounds)
    assert order.tolist() == [0, 1, 2, 3]


def test_too_few_rows_credit_nothing():
    X = np.random.default_rng(4).normal(size=(4, 6))
    X[:, 5] = X[:, 0]
    r2, substitutes, _ = find_substitutes(_tensor(X), torch.ones(4), np.arange(3))
    assert not substitutes.any()  # 4 rows, rank 3: no degrees of freedom left
    assert r2[5] == pytest.approx(1.0, abs=1e-5)


def test_no_sources_credit_nothing():
    X = np.random.default_rng(5).normal(size=(50, 4))
    r2, substitutes, rounds = find_substitutes(_tensor(X), torch.ones(50), np.array([], dtype=int))
    assert not rounds.any()
    assert not substitutes.any() and (r2 == 0).all()


def test_credit_order_against_a_brute_force_sort():
    scores = np.array([0.9, 0.1, 0.8, 0.3, 0.3, 0.05])
    r2 = np.array([1.0, 0.4, 1.0, 0.1, 0.9, 0.7])
    substitutes = np.array([False, True, False, False, True, True])
    order = credit_order(scores, [0, 2], r2, substitutes)
    # sources by score (0, 2), substitutes by R^2 (4, 5, 1), the rest by score (3)
    assert order.tolist() == [0, 2, 4, 5, 1, 3]
    # without substitutes it is the plain order by score, ties keeping the earlier column
    plain = credit_order(scores, [], r2, np.zeros(6, dtype=bool))
    assert plain.tolist() == sorted(range(6), key=lambda j: (-scores[j], j))


@pytest.fixture(scope="module")
def copies_task():
    """y depends on x0; x1 and x2 are noisy copies of x0 (R^2 about 0.99); 17 noise columns."""
    rng = np.random.default_rng(0)
    n = 1200
    X = rng.normal(size=(n, 20))
    X[:, 1] = X[:, 0] + 0.1 * rng.normal(size=n)
    X[:, 2] = X[:, 0] + 0.1 * rng.normal(size=n)
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_cancelout_ranks_substitutes_after_the_selection(copies_task):
    X, y = copies_task
    # One column selected: the other two copies are its substitutes, whatever their gates.
    selector = CancelOutSelector(max_features=1, max_epochs=20, random_state=0).fit(X, y)
    source = selector.get_support(indices=True)
    assert len(source) == 1 and source[0] in (0, 1, 2)
    np.testing.assert_array_equal(np.flatnonzero(selector.substitutes_),
                                  sorted({0, 1, 2} - set(source)))
    assert set(np.argsort(selector.ranking_)[:3]) == {0, 1, 2}
    assert selector.substitution_r2_[source[0]] == 1.0
    assert (selector.substitution_r2_[3:] < 0.1).all()
    # the ranking is the credit order of the estimator's own attributes
    expected = credit_order(selector.feature_importances_, source, selector.substitution_r2_,
                            selector.substitutes_)
    np.testing.assert_array_equal(np.argsort(selector.ranking_), expected)
    # off: the selection is unchanged and the ranking follows the gates alone
    plain = CancelOutSelector(max_features=1, max_epochs=20, random_state=0,
                              credit_substitutes=False).fit(X, y)
    np.testing.assert_array_equal(plain.get_support(), selector.get_support())
    np.testing.assert_array_equal(np.argsort(plain.ranking_),
                                  np.argsort(-plain.feature_importances_, kind="stable"))
    assert np.isnan(plain.substitution_r2_).all() and not plain.substitutes_.any()


def test_cancelout_partial_fit_credits_from_the_chunk(copies_task):
    X, y = copies_task
    selector = CancelOutSelector(max_features=1, random_state=0)
    for chunk in np.array_split(np.arange(len(X)), 4):
        selector.partial_fit(X[chunk], y[chunk], classes=[0, 1])
        assert sorted(selector.ranking_.tolist()) == list(range(1, 21))
    assert set(np.argsort(selector.ranking_)[:3]) == {0, 1, 2}


def test_taildropout_credits_the_substitutes_of_the_strong_columns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 30))
    X[:, 7] = X[:, 3] + 0.2 * rng.normal(size=500)
    data = type("Data", (), {"X": _tensor(X), "weights": torch.ones(500)})()
    shapley = rng.normal(scale=1e-3, size=30)
    shapley[3], shapley[12] = 0.5, 0.3  # the sources (far above 2 * 2.5 robust SDs)
    shapley[7] = -2e-3  # its Shapley value says noise, its R^2 on x3 says copy
    ranker = TailDropoutRanker()
    order = ranker._credited_order(data, shapley)
    assert order[:3].tolist() == [3, 12, 7]
    assert np.flatnonzero(ranker.substitutes_).tolist() == [7]
    np.testing.assert_array_equal(order[3:], [j for j in np.lexsort((np.arange(30), -shapley))
                                              if j not in (3, 12, 7)])
    off = TailDropoutRanker(credit_substitutes=False)
    np.testing.assert_array_equal(off._credited_order(data, shapley),
                                  np.lexsort((np.arange(30), -shapley)))
    assert not off.substitutes_.any()


def test_taildropout_fit_keeps_order_and_ranking_consistent(copies_task):
    X, y = copies_task
    ranker = TailDropoutRanker(cv=1, max_epochs=10, n_repeats=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(ranker.order_[ranker.ranking_ - 1], np.arange(20))
    assert set(ranker.order_[:3]) == {0, 1, 2}
    assert not ranker.substitutes_[3:].any()
    assert ranker.n_features_ <= 3


def test_cancelout_without_a_selection_credits_the_top_gate(copies_task):
    X, y = copies_task
    selector = CancelOutSelector(threshold=1.0, max_epochs=20, random_state=0).fit(X, y)
    assert not selector.get_support().any()
    top = int(np.argmax(selector.feature_importances_))
    assert top in (0, 1, 2) and selector.substitution_r2_[top] == 1.0
    np.testing.assert_array_equal(np.flatnonzero(selector.substitutes_), sorted({0, 1, 2} - {top}))
    assert np.argsort(selector.ranking_)[0] == top


def test_standing_out_needs_a_crowd():
    assert standing_out(np.arange(9.0), 1.0) is None  # fewer than 10 scores
    assert standing_out(np.r_[np.zeros(20), 1.0], 1.0) is None  # MAD 0
    scores = np.r_[np.linspace(0.0, 1.0, 20), 10.0]
    np.testing.assert_array_equal(np.flatnonzero(standing_out(scores, 5.0)), [20])


def _lift_task():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 25))
    X[:, 9] = X[:, 4] + 0.5 * rng.normal(size=600)  # a substitute of the source x4
    importances = rng.uniform(0.001, 0.01, size=25)
    importances[4], importances[17] = 0.6, 0.2  # stand out far above the crowd
    importances[9] = 0.0005  # the network left the copy alone
    return X, importances / importances.sum()


def test_credited_importances_lift_the_substitute_by_its_r2():
    X, importances = _lift_task()
    credited, r2, substitutes = credited_importances(_tensor(X), torch.ones(600), importances)
    assert np.flatnonzero(substitutes).tolist() == [9]
    X32 = X.astype(np.float32).astype(np.float64)
    reference_r2 = LinearRegression().fit(X32[:, [4, 17]], X32[:, 9]).score(X32[:, [4, 17]],
                                                                          X32[:, 9])
    assert r2[9] == pytest.approx(reference_r2, abs=1e-6)
    # low = the strongest uncredited column, high = the strongest source
    low = np.delete(importances, [4, 17, 9]).max()
    lifted = importances.copy()
    lifted[9] = low + reference_r2 * (importances[4] - low)
    np.testing.assert_allclose(credited, lifted / lifted.sum(), rtol=1e-6)
    assert credited.sum() == pytest.approx(1.0)
    # the other columns keep their order
    others = np.delete(np.arange(25), 9)
    np.testing.assert_array_equal(np.argsort(-credited[others], kind="stable"),
                                  np.argsort(-importances[others], kind="stable"))


def test_credited_importances_fall_back_to_the_top_column_and_pass_zeros():
    X, importances = _lift_task()
    flat = np.full(25, 0.02)
    flat[4], flat[9] = 0.5, 0.0  # 24 equal values: MAD 0, the top column is the source
    credited, _, substitutes = credited_importances(_tensor(X), torch.ones(600), flat / flat.sum())
    assert np.flatnonzero(substitutes).tolist() == [9]
    assert credited[9] > np.delete(credited, [4, 9]).max()
    zeros, r2, none = credited_importances(_tensor(X), torch.ones(600), np.zeros(25))
    assert not zeros.any() and np.isnan(r2).all() and not none.any()


@pytest.fixture(scope="module")
def correlated_task():
    """y depends on x0; x1 shares 36% of its variance with x0 but adds nothing; 18 noise columns."""
    rng = np.random.default_rng(0)
    n = 1200
    X = rng.normal(size=(n, 20))
    X[:, 1] = 0.6 * X[:, 0] + 0.8 * rng.normal(size=n)
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y, np.random.default_rng(4).uniform(0.5, 2.0, size=n)


@pytest.mark.parametrize("estimator", [
    DropConnectClassifier(max_epochs=15, random_state=0),
    TabNetClassifier(max_epochs=15, batch_size=128, random_state=0),
], ids=["dropconnect", "tabnet"])
def test_network_importances_credit_the_correlated_column(correlated_task, estimator):
    X, y, weights = correlated_task
    model = clone(estimator).fit(X, y, sample_weight=weights)
    assert np.flatnonzero(model.substitutes_).tolist() == [1]
    # wired to the credit on the training rows and weights (R^2 ignores the standardisation)
    expected, _, _ = credited_importances(_tensor(X), torch.as_tensor(weights),
                                          model.uncredited_importances_)
    np.testing.assert_allclose(model.feature_importances_, expected, rtol=1e-5, atol=1e-9)
    assert model.feature_importances_[1] > model.uncredited_importances_[1]
    assert model.feature_importances_[1] > model.feature_importances_[2:].max()
    assert model.feature_importances_.sum() == pytest.approx(1.0)
    off = clone(estimator).set_params(credit_substitutes=False).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(off.feature_importances_, model.uncredited_importances_)
    assert not hasattr(off, "uncredited_importances_")
