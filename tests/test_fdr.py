"""FDRSelector: the held-out swap test, Benjamini-Hochberg, and the FDR over repeated seeds."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.stats import wilcoxon
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgates.datasets import make_syn
from skgates.fdr import FDRSelector, benjamini_hochberg, min_pairs_needed


def linear_task(n_samples=400, n_features=40, n_informative=4, random_state=0):
    """Binary task: the first ``n_informative`` columns carry the signal, the others are
    independent N(0, 1) noise (nulls in the test's sense)."""
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=n_informative,
        n_redundant=0, n_repeated=0, n_clusters_per_class=1, class_sep=1.5, flip_y=0.05,
        shuffle=False, random_state=random_state,
    )
    return X, y, np.arange(n_informative)


@parametrize_with_checks([FDRSelector(LogisticRegression(max_iter=200), random_state=0)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "can select nothing" on tiny data
        check(estimator)


# --- the rule's arithmetic --------------------------------------------------------------------

def test_benjamini_hochberg_and_yekutieli_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    selected, adjusted = benjamini_hochberg(p, 0.1)
    # sorted 0.01, 0.03, 0.04, 0.5 against 0.025, 0.05, 0.075, 0.1: the third passes
    np.testing.assert_array_equal(selected, [True, True, True, False])
    # adjusted: running minimum from the right of p_(i) m / i = 0.04, 0.06, 0.0533, 0.5
    np.testing.assert_allclose(adjusted, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    selected, adjusted = benjamini_hochberg(p, 0.1, dependence="arbitrary")
    harmonic = 1 + 1 / 2 + 1 / 3 + 1 / 4
    np.testing.assert_array_equal(selected, [True, False, False, False])
    expected = np.minimum(1, np.array([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]) * harmonic)
    np.testing.assert_allclose(adjusted, expected)  # 0.083, 0.111, 0.111, 1
    # the step-up rule: a p-value above its own line is kept when a later one passes
    np.testing.assert_array_equal(benjamini_hochberg([0.03, 0.04], 0.08)[0], [True, True])


def test_min_pairs_needed_by_hand():
    assert min_pairs_needed(100, 0.1) == 10  # 2^-10 <= 0.1 / 100 < 2^-9
    assert min_pairs_needed(3, 0.1) == 5  # 2^-5 = 0.031 <= 0.033
    assert min_pairs_needed(100, 0.1, "arbitrary") == 13  # 0.001 / 5.19 = 1.9e-4 >= 2^-13


def test_scores_and_pvalues_against_a_hand_computed_swap_test():
    X, y, _ = linear_task(n_samples=120, n_features=6, random_state=1)
    seed = 7
    selector = FDRSelector(LogisticRegression(), screen=None, random_state=seed).fit(X, y)

    # the same split, fit and pairs, by hand
    rng = np.random.RandomState(seed)
    train, test = train_test_split(np.arange(120), test_size=60, stratify=y,
                                   random_state=rng.randint(2 ** 31 - 1))
    rng.randint(2 ** 31 - 1)  # the clone's seed (LogisticRegression ignores it)
    test = rng.permutation(test)
    a, b = test[:30], test[30:60]
    model = LogisticRegression().fit(X[train], y[train])

    def loss(rows_X, rows_y):
        return -np.log(model.predict_proba(rows_X)[np.arange(len(rows_y)), rows_y])

    base = loss(X[a], y[a]) + loss(X[b], y[b])
    for j in range(6):
        Xa, Xb = X[a].copy(), X[b].copy()
        Xa[:, j], Xb[:, j] = X[b, j], X[a, j]
        d = loss(Xa, y[a]) + loss(Xb, y[b]) - base
        assert selector.scores_[j] == pytest.approx(d.mean() / 2)
        assert selector.feature_importances_std_[j] == pytest.approx(
            d.std(ddof=1) / 2 / np.sqrt(30))
        assert selector.pvalues_[j] == pytest.approx(wilcoxon(d, alternative="greater").pvalue)
    assert selector.n_pairs_ == 30 and selector.loss_ == "log_loss"
    np.testing.assert_array_equal(selector.get_support(),
                                  benjamini_hochberg(selector.pvalues_, 0.1)[0])


# --- the guarantee ----------------------------------------------------------------------------

def test_null_pvalues_are_uniform():
    """Under the null (a column independent of everything) the p-value is valid."""
    nulls = []
    for seed in range(6):
        X, y, relevant = linear_task(n_samples=300, n_features=30, random_state=seed)
        forest = RandomForestClassifier(n_estimators=20, min_samples_leaf=3)
        selector = FDRSelector(forest, screen=None, random_state=seed).fit(X, y)
        nulls.append(np.delete(selector.pvalues_, relevant))
    nulls = np.concatenate(nulls)  # 156 null p-values
    assert np.mean(nulls <= 0.1) <= 0.1 + 0.06
    assert np.mean(nulls <= 0.5) == pytest.approx(0.5, abs=0.12)
    assert np.mean(nulls) == pytest.approx(0.5, abs=0.08)


def test_false_discovery_rate_over_seeds_is_at_most_q():
    """Mean false discovery proportion over 40 data sets <= BH's bound, within 2 standard errors.

    36 of the 40 columns are nulls (independent noise), so with independent p-values BH
    keeps the FDR at q * 36 / 40 = 0.18 for q = 0.2. Over 300 seeds this setting measured
    0.189 +- 0.012. Testing in-sample or at 2q would exceed the bound by far.
    """
    q, proportions, powers = 0.2, [], []
    for seed in range(40):
        X, y, relevant = linear_task(n_samples=300, n_features=40, random_state=seed)
        selector = FDRSelector(LogisticRegression(), fdr=q, screen=None,
                               random_state=seed).fit(X, y)
        chosen = selector.get_support(indices=True)
        false = np.setdiff1d(chosen, relevant).size
        proportions.append(false / max(len(chosen), 1))
        powers.append(np.intersect1d(chosen, relevant).size / len(relevant))
    standard_error = np.std(proportions, ddof=1) / np.sqrt(len(proportions))
    assert np.mean(proportions) <= q * 36 / 40 + 2 * standard_error
    assert np.mean(proportions) > 0.05  # not vacuous: nulls do get selected at this q
    assert np.mean(powers) >= 0.5


def test_finds_every_relevant_column_of_an_easy_task():
    X, y, relevant = make_syn("syn2", n_samples=2000, n_noise=16, random_state=0)
    selector = FDRSelector(RandomForestClassifier(n_estimators=30, max_depth=8),
                           random_state=0).fit(X, y)
    assert set(selector.get_support(indices=True)) == set(relevant)
    assert selector.tested_.sum() == 14  # importance >= the median of 27 columns
    assert np.all(selector.feature_importances_[relevant] > 0)


def test_regression_uses_the_squared_error():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((400, 10))
    y = 2 * X[:, 0] - X[:, 3] + 0.5 * rng.standard_normal(400)
    selector = FDRSelector(Ridge(), random_state=0).fit(X, y)
    assert selector.loss_ == "squared_error"
    assert set(selector.get_support(indices=True)) == {0, 3}
    forest = FDRSelector(RandomForestRegressor(n_estimators=20), random_state=0).fit(X, y)
    assert {0, 3} <= set(forest.get_support(indices=True))


def test_a_skgates_selector_is_tested_through_its_network():
    from skgates import CancelOutSelector

    X, y, relevant = make_syn("syn2", n_samples=1500, n_noise=6, random_state=0)
    inner = CancelOutSelector(max_epochs=15, hidden_layer_sizes=(16,))
    selector = FDRSelector(inner, random_state=0).fit(X, y)
    assert selector.loss_ == "log_loss"
    assert set(selector.get_support(indices=True)) <= set(relevant)
    assert len(selector.get_support(indices=True)) >= 2


# --- reproducibility, parallelism, scikit-learn machinery -------------------------------------

def test_equal_random_state_equal_result_and_two_jobs_equal_one(capsys):
    X, y, _ = linear_task(n_samples=200, n_features=12)
    make = lambda **kw: FDRSelector(RandomForestClassifier(n_estimators=5), **kw).fit(X, y)
    first, second = make(random_state=3), make(random_state=3)
    np.testing.assert_array_equal(first.pvalues_, second.pvalues_)
    other = make(random_state=4)
    assert not np.array_equal(first.pvalues_, other.pvalues_)
    parallel = make(random_state=3, n_jobs=2, verbose=1)
    np.testing.assert_array_equal(first.pvalues_, parallel.pvalues_)
    np.testing.assert_array_equal(first.scores_, parallel.scores_)
    assert "FDRSelector column blocks" in capsys.readouterr().err


def test_pipeline_grid_search_and_pickle():
    X, y, _ = linear_task(n_samples=300, n_features=15)
    pipe = make_pipeline(FDRSelector(LogisticRegression(), random_state=0), LogisticRegression())
    grid = GridSearchCV(pipe, {"fdrselector__fdr": [0.05, 0.2],
                               "fdrselector__estimator__C": [0.1, 1.0]}, cv=2).fit(X, y)
    fitted = grid.best_estimator_[0]
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert clone(fitted).get_params()["fdr"] == fitted.fdr


# --- bad input --------------------------------------------------------------------------------

class ImportancesOnly:
    """fit + feature_importances_, nothing to predict with."""

    def __init__(self):
        pass

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y):
        self.feature_importances_ = np.ones(X.shape[1])
        return self


class NotClonable:
    def fit(self, X, y):
        return self


def test_bad_input_gets_a_clear_error():
    X, y, _ = linear_task(n_samples=60, n_features=5)
    for fdr in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="fdr"):
            FDRSelector(LogisticRegression(), fdr=fdr).fit(X, y)
    with pytest.raises(ValueError, match="needs predict"):
        FDRSelector(ImportancesOnly()).fit(X, y)
    with pytest.raises(ValueError, match="feature_importances_.*screen=None"):
        FDRSelector(KNeighborsClassifier()).fit(X, y)
    FDRSelector(KNeighborsClassifier(), screen=None).fit(X, y)  # no importances needed then
    with pytest.raises(ValueError, match="at least 4 rows.*n_samples = 3"):
        FDRSelector(LogisticRegression()).fit(X[:3], y[:3])
    with pytest.raises(TypeError, match="must be clonable"):
        FDRSelector(NotClonable()).fit(X, y)
    with pytest.warns(UserWarning, match="can select nothing.*needs 6 pairs"):
        FDRSelector(LogisticRegression()).fit(X[::3][:16], y[::3][:16])  # 4 pairs
    with pytest.raises(ValueError, match="threshold"):
        FDRSelector(LogisticRegression(), screen="top").fit(X, y)
