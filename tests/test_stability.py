"""StabilitySelector: the counts, the bound and the guarantee, checked against known truth."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgates.datasets import make_syn
from skgates.stability import StabilitySelector, complementary_halves, false_selections_bound


def linear_task(n_samples=300, n_features=12, n_informative=3, random_state=0):
    """Binary task whose first ``n_informative`` columns carry the signal, the rest pure noise."""
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=n_informative,
        n_redundant=0, n_repeated=0, n_clusters_per_class=1, class_sep=1.5, shuffle=False,
        random_state=random_state,
    )
    return X, y, np.arange(n_informative)


@parametrize_with_checks([
    StabilitySelector(LogisticRegression(), n_resamples=3, random_state=0),
    StabilitySelector(DecisionTreeClassifier(max_depth=3), n_resamples=2,
                      per_fit_selection="top", n_features_per_fit=1, random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- the counts -------------------------------------------------------------------------------

def brute_force(X, y, n_resamples, q, seed, sizes):
    """Recompute the complementary halves, the fits and the top-q counts by hand."""
    rng = np.random.RandomState(seed)
    n_samples, n_features = X.shape
    halves = []
    for _ in range(n_resamples):
        order = rng.permutation(n_samples)
        order = order[np.argsort(y[order], kind="stable")]   # y is 0/1: group by class
        halves += [order[0::2], order[1::2]]
    seeds = rng.randint(2 ** 31 - 1, size=2 * n_resamples)
    counts = np.zeros(n_features)
    path = np.zeros((len(sizes), n_features))
    shares = []
    for rows, fit_seed in zip(halves, seeds):
        tree = DecisionTreeClassifier(max_depth=3, random_state=int(fit_seed))
        importances = tree.fit(X[np.sort(rows)], y[np.sort(rows)]).feature_importances_
        # most important first, ties by column index; a column of zero importance never counts
        ranked = sorted(range(n_features), key=lambda j: (-importances[j], j))
        used = [j for j in ranked if importances[j] > 0]
        counts[used[:q]] += 1
        for i, k in enumerate(sizes):
            path[i, used[:k]] += 1
        shares.append(importances / importances.sum())
    n_fits = 2 * n_resamples
    return counts / n_fits, path / n_fits, np.mean(shares, axis=0), np.std(shares, axis=0, ddof=1)


def test_probabilities_equal_a_brute_force_count():
    X, y, _ = make_syn("syn2", n_samples=120, n_noise=4, random_state=3)
    selector = StabilitySelector(DecisionTreeClassifier(max_depth=3), n_resamples=7,
                                 n_features_per_fit=3, random_state=11).fit(X, y)
    probabilities, path, mean, std = brute_force(X, y, 7, 3, 11, selector.path_sizes_)
    np.testing.assert_array_equal(selector.probabilities_, probabilities)
    np.testing.assert_array_equal(selector.stability_path_, path)
    np.testing.assert_allclose(selector.feature_importances_, mean)
    np.testing.assert_allclose(selector.feature_importances_std_, std)
    np.testing.assert_array_equal(selector.path_sizes_, np.arange(1, 16))
    np.testing.assert_array_equal(selector.get_support(), probabilities >= 0.75)
    assert selector.n_fits_ == 14
    assert not hasattr(selector, "fitted_estimators_")


def test_complementary_halves_are_disjoint_cover_the_rows_and_split_every_class():
    y = np.array([0] * 7 + [1] * 4 + [2] * 3)
    halves, seeds = complementary_halves(y, 5, random_state=0)
    assert len(halves) == 10 and seeds.shape == (10,)
    for first, second in zip(halves[0::2], halves[1::2]):
        assert not set(first) & set(second)
        assert sorted(np.concatenate([first, second])) == list(range(14))
        for label in (0, 1, 2):
            assert abs(np.sum(y[first] == label) - np.sum(y[second] == label)) <= 1
    assert len({tuple(half) for half in halves}) == 10  # the pairs differ


def test_path_is_monotone_and_contains_the_per_fit_selection():
    X, y, _ = linear_task()
    selector = StabilitySelector(LogisticRegression(), n_resamples=5, n_features_per_fit=4,
                                 random_state=0).fit(X, y)
    assert selector.stability_path_.shape == (len(selector.path_sizes_), X.shape[1])
    assert np.all(np.diff(selector.stability_path_, axis=0) >= 0)
    row = np.flatnonzero(selector.path_sizes_ == 4)[0]
    np.testing.assert_array_equal(selector.stability_path_[row], selector.probabilities_)
    np.testing.assert_allclose(selector.probabilities_.sum(), 4)  # every fit keeps 4 columns


def test_wide_data_get_a_geometric_grid_that_contains_q():
    X, y, _ = linear_task(n_samples=80, n_features=300)
    selector = StabilitySelector(LogisticRegression(), n_resamples=2, random_state=0).fit(X, y)
    sizes = selector.path_sizes_
    assert sizes[0] == 1 and sizes[-1] == 300 and len(sizes) <= 101
    assert selector.n_features_per_fit_ in sizes


# --- the bound --------------------------------------------------------------------------------

def test_bound_formulas_against_hand_computation():
    # Meinshausen-Buhlmann: q^2 / ((2 pi - 1) p)
    assert false_selections_bound(7, 100, 0.75) == pytest.approx(49 / 50)
    assert false_selections_bound(10, 1000, 0.6) == pytest.approx(100 / 200)
    # Shah-Samworth unimodal, pi <= 3/4: q^2 / p / (2 (2 pi - 1 - 1 / (2B)))
    assert false_selections_bound(7, 100, 0.75, 50, "unimodal") == pytest.approx(0.49 / (2 * 0.49))
    # pi > 3/4: q^2 / p * 4 (1 - pi + 1 / (2B)) / (1 + 1 / B)
    assert false_selections_bound(7, 100, 0.9, 50, "unimodal") == pytest.approx(
        0.49 * 4 * 0.11 / 1.02)
    # near pi = 1/2 the unimodal constant is worse than Meinshausen-Buhlmann's: keep the smaller
    assert false_selections_bound(7, 100, 0.51, 50, "unimodal") == pytest.approx(49 / 2)
    # outside its conditions (pi < 1/2 + theta^2) the unimodal bound does not apply
    assert false_selections_bound(80, 100, 0.6, 50, "unimodal") == pytest.approx(6400 / 20)


def test_auto_q_is_the_largest_q_within_the_requested_bound():
    X, y, _ = linear_task(n_samples=200, n_features=100)
    selector = StabilitySelector(LogisticRegression(), n_resamples=2, random_state=0).fit(X, y)
    assert selector.n_features_per_fit_ == 7  # 7^2 / 50 <= 1 < 8^2 / 50
    assert selector.expected_false_selections_bound_ == pytest.approx(0.98)
    selector.set_params(max_false_selections=2.5, threshold=0.9).fit(X, y)
    assert selector.n_features_per_fit_ == 14  # 14^2 / 80 <= 2.5 < 15^2 / 80
    selector.set_params(assumption="unimodal").fit(X, y)
    bound = selector.expected_false_selections_bound_
    assert bound <= 2.5
    assert false_selections_bound(selector.n_features_per_fit_ + 1, 100, 0.9, 2, "unimodal") > 2.5


def test_false_selections_stay_within_the_bound_over_seeds():
    """Mean number of noise columns selected <= the reported bound (noise columns are iid)."""
    false, bounds = [], []
    for seed in range(8):
        X, y, relevant = linear_task(n_samples=160, n_features=40, n_informative=4,
                                     random_state=seed)
        selector = StabilitySelector(LogisticRegression(C=0.1), n_resamples=8, threshold=0.6,
                                     max_false_selections=4.0, random_state=seed).fit(X, y)
        noise = np.setdiff1d(np.arange(40), relevant)
        false.append(selector.get_support()[noise].sum())
        bounds.append(selector.expected_false_selections_bound_)
    # q = 5 columns per fit: 25 / (0.2 * 40) = 3.125 <= 4 < 36 / 8
    assert selector.n_features_per_fit_ == 5
    assert bounds[0] == pytest.approx(false_selections_bound(5, 40, 0.6)) == pytest.approx(3.125)
    assert np.mean(false) <= bounds[0]


# --- power, reproducibility, parallelism ------------------------------------------------------

def test_finds_the_relevant_columns_of_an_easy_task():
    X, y, relevant = make_syn("syn2", n_samples=800, n_noise=16, random_state=0)
    forest = RandomForestClassifier(n_estimators=30, max_depth=6)
    selector = StabilitySelector(forest, n_resamples=5, n_features_per_fit=4,
                                 random_state=0).fit(X, y)
    assert set(selector.get_support(indices=True)) == set(relevant)
    assert np.all(selector.feature_importances_std_ >= 0)
    top = np.argsort(-selector.feature_importances_)[:4]
    assert set(top) == set(relevant)


def test_equal_random_state_gives_equal_results():
    X, y, _ = make_syn("syn2", n_samples=300, n_noise=6, random_state=0)
    make = lambda seed: StabilitySelector(RandomForestClassifier(n_estimators=5), n_resamples=4,
                                          n_features_per_fit=4, random_state=seed).fit(X, y)
    first, second, other = make(3), make(3), make(4)
    np.testing.assert_array_equal(first.probabilities_, second.probabilities_)
    np.testing.assert_array_equal(first.feature_importances_, second.feature_importances_)
    assert not np.array_equal(first.feature_importances_, other.feature_importances_)


def test_two_jobs_give_the_same_result_as_one_and_the_progress_bar_works(capsys):
    X, y, _ = make_syn("syn2", n_samples=300, n_noise=6, random_state=0)
    params = dict(n_resamples=3, n_features_per_fit=4, random_state=5)
    one = StabilitySelector(RandomForestClassifier(n_estimators=5), n_jobs=1, **params).fit(X, y)
    two = StabilitySelector(RandomForestClassifier(n_estimators=5), n_jobs=2, verbose=1,
                            **params).fit(X, y)
    np.testing.assert_array_equal(one.probabilities_, two.probabilities_)
    np.testing.assert_array_equal(one.stability_path_, two.stability_path_)
    np.testing.assert_allclose(one.feature_importances_, two.feature_importances_)
    err = capsys.readouterr().err
    assert "StabilitySelector fits" in err and "6/6" in err


def test_inner_estimators_without_random_state_and_nested_random_states():
    X, y, _ = linear_task()
    pipe = make_pipeline(RandomForestClassifier(n_estimators=3))
    selector = StabilitySelector(
        pipe, n_resamples=2, n_features_per_fit=3, keep_estimators=True,
        importance_getter="named_steps.randomforestclassifier.feature_importances_",
        random_state=0,
    ).fit(X, y)
    seeds = {fitted[-1].random_state for fitted in selector.fitted_estimators_}
    assert len(selector.fitted_estimators_) == 4 and len(seeds) == 4
    assert pipe[-1].random_state is None  # the caller's estimator is untouched


# --- in scikit-learn's machinery --------------------------------------------------------------

def test_pipeline_grid_search_clone_and_pickle():
    X, y, _ = linear_task(n_samples=200)
    pipe = make_pipeline(StabilitySelector(LogisticRegression(), n_resamples=3, random_state=0),
                         LogisticRegression())
    grid = GridSearchCV(pipe, {"stabilityselector__threshold": [0.6, 1.0],
                               "stabilityselector__estimator__C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert grid.best_params_["stabilityselector__threshold"] in (0.6, 1.0)
    fitted = grid.best_estimator_[0]
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert clone(fitted).get_params()["threshold"] == fitted.threshold


def test_dataframe_keeps_names_and_reaches_the_estimator():
    X, y, _ = linear_task(n_features=5)
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(5)])
    selector = StabilitySelector(LogisticRegression(), n_resamples=2, keep_estimators=True,
                                 n_features_per_fit=2, threshold=0.9, random_state=0)
    selector.set_output(transform="pandas").fit(frame, y)
    assert list(selector.fitted_estimators_[0].feature_names_in_) == list(frame.columns)
    assert list(selector.transform(frame).columns) == list(selector.get_feature_names_out())


def test_coef_of_a_multiclass_model_and_sample_weight():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=3, n_redundant=0,
                               n_classes=3, shuffle=False, random_state=0)
    weights = np.ones(len(y))
    selector = StabilitySelector(LogisticRegression(), n_resamples=3, n_features_per_fit=3,
                                 random_state=0).fit(X, y, sample_weight=weights)
    assert selector.feature_importances_.shape == (8,)
    assert set(selector.get_support(indices=True)) <= {0, 1, 2}


def test_support_of_each_fit_and_a_small_cancelout_selector():
    from skgates import CancelOutSelector

    X, y, relevant = make_syn("syn2", n_samples=600, n_noise=8, random_state=0)
    inner = CancelOutSelector(max_features=4, max_epochs=8, hidden_layer_sizes=(16,))
    selector = StabilitySelector(inner, n_resamples=2, per_fit_selection="support",
                                 random_state=0).fit(X, y)
    assert selector.n_features_per_fit_ == 4
    np.testing.assert_allclose(selector.probabilities_.sum(), 4)
    assert selector.feature_importances_.shape == (19,)


# --- bad input --------------------------------------------------------------------------------

class NotClonable:
    """Has fit and feature_importances_, but no get_params."""

    def fit(self, X, y):
        self.feature_importances_ = np.ones(X.shape[1])
        return self


def test_bad_input_gets_a_clear_error():
    X, y, _ = linear_task(n_samples=40, n_features=5)
    with pytest.raises(ValueError, match="feature_importances_.*coef_.*KNeighborsClassifier"):
        StabilitySelector(KNeighborsClassifier(), n_resamples=1).fit(X, y)
    for threshold in (0.5, 0.3, 1.2, 0.0):
        with pytest.raises(ValueError, match="threshold"):
            StabilitySelector(LogisticRegression(), threshold=threshold).fit(X, y)
    with pytest.raises(ValueError, match="at least 4 rows.*n_samples = 3"):
        StabilitySelector(LogisticRegression()).fit(X[:3], y[:3])
    with pytest.raises(TypeError, match="must be clonable"):
        StabilitySelector(NotClonable(), n_resamples=1).fit(X, y)
    with pytest.raises(ValueError, match="either n_features_per_fit"):
        StabilitySelector(LogisticRegression(), n_features_per_fit=2,
                          max_false_selections=1.0).fit(X, y)
    with pytest.raises(ValueError, match="exceeds the number of columns"):
        StabilitySelector(LogisticRegression(), n_features_per_fit=6).fit(X, y)
    with pytest.raises(ValueError, match="get_support"):
        StabilitySelector(LogisticRegression(), n_resamples=1,
                          per_fit_selection="support").fit(X, y)
    with pytest.raises(ValueError, match="path_sizes"):
        StabilitySelector(LogisticRegression(), n_resamples=1, path_sizes=[0, 3]).fit(X, y)
    with pytest.raises(ValueError, match="estimator"):
        StabilitySelector("not an estimator").fit(X, y)
