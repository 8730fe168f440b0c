"""Feature-selection methods compared by ``bench_selection.py``.

``METHODS`` maps a display name to ``rank(X_train, y_train, random_state)``,
which returns either

- one importance per column (higher = more important) as an ndarray of shape
  (n_features,): a ranking only, or
- a dict ``{"importances": ..., "selected": ..., **extra}``: ``selected`` (a
  boolean mask of shape (n_features,), optional) is the method's *decision*,
  the set it keeps at its own default rule; the other keys (for example
  ``"chosen_k"``) are reported as extra information. ``"also_selected"``
  (optional) maps a label to further masks (another documented rule of the
  same fit, e.g. knockoffs' offset 0), scored like the decision.

The task kind follows from ``y`` (``_is_regression``: float targets with
non-integer values are regression); a method that cannot handle the task
raises ``NotApplicable``, recorded as "n/a" rather than an error.

Add a method by adding one entry to ``METHODS``; keep the dict flat. Peers
that need standardised columns fit the scaler on the training rows only
(``_standardized``). Peer imports happen inside the rank functions, so a
missing peer fails only its own rows of the benchmark.

Peer settings (chosen once here, not tuned per task):

- RandomForest: 300 trees, ``n_jobs=1``, impurity importances (regressor for
  regression). Decision: ``SelectFromModel(forest, prefit=True)`` at its
  default threshold (importance >= mean importance).
- Boruta 0.4.3 (``BorutaPy``), as in its README:
  ``BorutaPy(RandomForestClassifier(n_jobs=1, max_depth=5),
  n_estimators="auto", max_iter=50, random_state=rs)`` (RandomForestRegressor
  for regression). Decision: ``support_`` (confirmed columns; the tentative
  ones, ``support_weak_``, are counted in the extra information). Ranking:
  ``-ranking_`` (1 = confirmed, 2 = tentative, then rejected columns by
  Boruta's own order), ties broken by a column's median importance over the
  iterations (``importance_history_``). ``max_iter=50`` is the README's example; the default 100 would
  double the slowest peer's time for columns that stay tentative.
- model-X knockoffs, knockpy 1.3.5: ``KnockoffFilter(ksampler="gaussian",
  fstat="randomforest")`` with ``fdr=0.1``, the Gaussian knockoff sampler
  with its default (MVR) construction and Ledoit-Wolf covariance estimate,
  and ``fstat_kwargs={"n_estimators": 100, "n_jobs": 1}`` (knockpy's default
  is 10 trees). The random-forest swap statistic is chosen because most tasks
  are non-linear (Syn1's ``x1 * x2``, Syn2's squares, Friedman's ``sin``):
  the linear ``lasso``/``lcd`` statistics gave all-zero W on Syn2 in a first
  try. Decision: knockpy's rejections (knockoff+ threshold, offset 1: FDR
  control); ``also_selected["offset0"]`` is the offset-0 threshold (controls a
  modified FDR; it can select fewer than ``1/q`` columns, knockoff+ cannot).
  Ranking: the W statistics. knockpy draws from NumPy's global RNG, which is
  seeded with ``random_state`` inside a saved-and-restored state.
- mutual information: ``mutual_info_classif`` (``mutual_info_regression``)
  with default 3 neighbours.
- L1 logistic regression: ``C`` picked by ``LogisticRegressionCV`` among
  ``logspace(-3, 1, 9)`` with 3-fold stratified CV on ROC AUC (one-vs-rest
  ROC AUC for multiclass) (liblinear), rank = ``|coef|`` averaged over
  classes. Classification only.
- pytorch-tabnet 4.1.0: default architecture, 30 epochs, no early stopping,
  ``batch_size = min(1024, max(64, n // 10))`` and
  ``virtual_batch_size = min(128, batch_size)``, so that small training sets
  still make several full batches per epoch (``drop_last=True`` drops a
  partial last batch and would drop the only batch if it were larger than
  the data). Regressor for regression.
- skgates TabNetClassifier: default architecture (n_d = n_a = 8, 3 steps, gamma
  1.3, lambda_sparse 1e-3), 25 epochs, ``batch_size = min(256, max(64, n // 10))``
  (more optimizer steps per epoch than batches of 1024), virtual batch
  ``min(128, batch_size)``, no gradient clipping (``clip_value=None``: with
  100 columns and 25 epochs, clipping at 1 learned slower and ranked worse);
  rank = ``feature_importances_`` (mean aggregate mask over the training rows).
  TabNetRegressor with the same settings for regression.
- skgates TabNet-defaults: ``TabNetClassifier(random_state=...)`` (or
  ``TabNetRegressor``) with every default (100 epochs, batch 1024 capped at the
  rows, the substitutes credit on); rank = ``feature_importances_``.
- skgates TabNet-permutation: TabNet-defaults with ``importance="permutation"``
  (the rise of the training loss when a column is permuted among at most
  2,000 training rows, credited); rank = ``feature_importances_``.
- skgates DropConnect: ``DropConnectClassifier(random_state=...)`` (or
  ``DropConnectRegressor``) with every default (one hidden layer of 64,
  p = 0.5, 100 epochs of batch 128, the substitutes credit on); rank =
  ``feature_importances_`` (input x gradient, credited).
- LassoNet 0.0.21: ``LassoNetClassifier`` (``LassoNetRegressor``) with its
  defaults (one hidden layer of 100, ``M=10``, dense-to-sparse lambda path);
  rank = ``feature_importances_`` (the lambda at which each column leaves the
  model).
- STG 0.1.2: MLP (64, 32) ReLU, ``sigma=0.5``, ``lam=0.1``, Adam lr 1e-3,
  batch 256, at least 20 epochs and at least 2,000 optimizer steps; rank =
  ``get_gates("prob")``. Its ``random_state`` argument is ignored by STG, so
  torch is seeded in a forked RNG. Classification only here.

skgates methods, all at their defaults (which change as skgates changes: the
report records the skgates version and commit of each run):

- CancelOutSelector: rank = ``-ranking_`` (the selected columns by gate value,
  then their substitutes, then the rest by gate value; ``credit_substitutes``);
  decision = ``get_support()`` (default threshold).
- CancelOut-all-relevant: the same fit as CancelOutSelector; decision =
  ``get_support() | substitutes_`` (the selection and its substitutes, the
  all-relevant set of the ``credit_substitutes`` docs).
- TailDropoutRanker: rank = ``-ranking_`` (its ``order_``, substitutes
  credited); decision = ``get_support()`` (its ``n_features_`` first columns).
- Stability-CancelOut: ``StabilitySelector(CancelOutSelector(),
  n_resamples=STABILITY_RESAMPLES)``, otherwise defaults (threshold 0.75,
  ``n_features_per_fit="auto"``: bound on expected false selections <= 1);
  decision = ``get_support()``; rank = ``probabilities_``, ties broken by
  ``feature_importances_``. ``STABILITY_RESAMPLES`` (10 pairs = 20 fits
  instead of the default 50 pairs) keeps three seeds of every task within
  the decision protocol's time budget; the bound does not depend on it.
- FDR-CancelOut: ``FDRSelector(CancelOutSelector(), fdr=0.1)``, otherwise
  defaults; decision = ``get_support()``; rank = p-values (smallest first),
  ties broken by ``scores_`` then by the inner estimator's importances.
"""

import collections
import collections.abc
import contextlib
import math
import warnings

import numpy as np
from sklearn.preprocessing import StandardScaler

from skgates import CancelOutSelector

# Complementary pairs of StabilitySelector in the benchmark (its default is 50).
STABILITY_RESAMPLES = 10
KNOCKOFF_FDR = 0.1
FDR_LEVEL = 0.1


class NotApplicable(Exception):
    """The method does not handle this kind of task (reported as n/a)."""


def _is_regression(y):
    y = np.asarray(y)
    return y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)


def _standardized(X):
    """Fit a StandardScaler on the training rows; return float32 array."""
    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64)).astype(np.float32)


def _order_importances(*keys):
    """Importances that order columns by ``keys`` (first key first, higher = earlier).

    Returns ``n_features - position``: a strict order with no ties, for
    methods whose natural ranking is lexicographic (probability, then importance).
    """
    keys = [np.asarray(k, dtype=np.float64) for k in keys]
    n = keys[0].shape[0]
    order = np.lexsort(tuple([np.arange(n)] + [-k for k in reversed(keys)]))
    importances = np.empty(n)
    importances[order] = n - np.arange(n)
    return importances


def _random_forest(X, y, rs):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel

    cls = RandomForestRegressor if _is_regression(y) else RandomForestClassifier
    forest = cls(n_estimators=300, n_jobs=1, random_state=rs).fit(X, y)
    selected = SelectFromModel(forest, prefit=True).get_support()
    return {"importances": forest.feature_importances_, "selected": selected}


def _boruta(X, y, rs):
    np.int = int  # BorutaPy 0.4.3 uses the aliases numpy 2 removed
    np.float = float
    from boruta import BorutaPy
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if _is_regression(y) else RandomForestClassifier
    boruta = BorutaPy(cls(n_jobs=1, max_depth=5), n_estimators="auto", max_iter=50,
                      random_state=rs)
    boruta.fit(np.asarray(X, dtype=np.float64), np.asarray(y))
    with np.errstate(all="ignore"), warnings_ignored():
        median_importance = np.nanmedian(boruta.importance_history_[1:], axis=0)
    importances = _order_importances(-boruta.ranking_, np.nan_to_num(median_importance, nan=0.0))
    return {"importances": importances, "selected": np.asarray(boruta.support_, dtype=bool),
            "tentative": int(np.sum(boruta.support_weak_))}


@contextlib.contextmanager
def warnings_ignored():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _numpy_global_seed(seed):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _knockoffs(X, y, rs):
    from knockpy import KnockoffFilter
    from knockpy.knockoff_stats import data_dependent_threshhold

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    with _numpy_global_seed(rs):
        kfilter = KnockoffFilter(ksampler="gaussian", fstat="randomforest")
        rejections = kfilter.forward(X=X, y=y, fdr=KNOCKOFF_FDR,
                                     fstat_kwargs={"n_estimators": 100, "n_jobs": 1})
    W = np.asarray(kfilter.W, dtype=np.float64)
    threshold0 = data_dependent_threshhold(W, fdr=KNOCKOFF_FDR, offset=0)
    return {"importances": W, "selected": np.asarray(rejections, dtype=bool),
            "also_selected": {"offset0": W >= threshold0}}


def _mutual_info(X, y, rs):
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    score = mutual_info_regression if _is_regression(y) else mutual_info_classif
    return score(np.asarray(X, dtype=np.float64), y, random_state=rs)


def _l1_logreg(X, y, rs):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    if _is_regression(y):
        raise NotApplicable("classification only")
    scoring = "roc_auc" if len(np.unique(y)) == 2 else "roc_auc_ovr"
    model = LogisticRegressionCV(
        Cs=np.logspace(-3, 1, 9), l1_ratios=[1.0], solver="liblinear", scoring=scoring,
        cv=StratifiedKFold(3, shuffle=True, random_state=rs), max_iter=1000,
        random_state=rs, use_legacy_attributes=False,
    )
    model.fit(_standardized(X).astype(np.float64), y)
    importances = np.abs(model.coef_).mean(axis=0)
    return {"importances": importances, "C": float(np.ravel(model.C_)[0]),
            "chosen_k": int(np.count_nonzero(importances))}


def _tabnet(X, y, rs):
    import torch
    from pytorch_tabnet.tab_model import TabNetClassifier, TabNetRegressor

    X = _standardized(X)
    n = X.shape[0]
    batch_size = min(1024, max(64, n // 10))
    regression = _is_regression(y)
    model = (TabNetRegressor if regression else TabNetClassifier)(
        seed=rs, verbose=0, device_name="cpu")
    y = np.asarray(y).reshape(-1, 1).astype(np.float32) if regression else np.asarray(y)
    with torch.random.fork_rng():
        model.fit(X, y, max_epochs=30, patience=0, batch_size=batch_size,
                  virtual_batch_size=min(128, batch_size), drop_last=True)
    return model.feature_importances_


def _skgates_tabnet(X, y, rs):
    from skgates import TabNetClassifier, TabNetRegressor

    n = X.shape[0]
    batch_size = min(256, max(64, n // 10))
    cls = TabNetRegressor if _is_regression(y) else TabNetClassifier
    model = cls(n_d=8, n_a=8, n_steps=3, max_epochs=25, batch_size=batch_size,
                virtual_batch_size=min(128, batch_size), clip_value=None, random_state=rs)
    return model.fit(X, y).feature_importances_


def _skgates_tabnet_defaults(X, y, rs):
    from skgates import TabNetClassifier, TabNetRegressor

    cls = TabNetRegressor if _is_regression(y) else TabNetClassifier
    return cls(random_state=rs).fit(X, y).feature_importances_


def _skgates_tabnet_permutation(X, y, rs):
    from skgates import TabNetClassifier, TabNetRegressor

    cls = TabNetRegressor if _is_regression(y) else TabNetClassifier
    return cls(importance="permutation", random_state=rs).fit(X, y).feature_importances_


def _skgates_dropconnect(X, y, rs):
    from skgates import DropConnectClassifier, DropConnectRegressor

    cls = DropConnectRegressor if _is_regression(y) else DropConnectClassifier
    return cls(random_state=rs).fit(X, y).feature_importances_


def _lassonet(X, y, rs):
    import torch
    from lassonet import LassoNetClassifier, LassoNetRegressor

    cls = LassoNetRegressor if _is_regression(y) else LassoNetClassifier
    model = cls(verbose=0, random_state=rs, torch_seed=rs, device="cpu")
    with torch.random.fork_rng():
        model.path(_standardized(X), np.asarray(y), return_state_dicts=False)
    importances = model.feature_importances_
    if isinstance(importances, torch.Tensor):
        importances = importances.detach().cpu().numpy()
    return np.asarray(importances, dtype=np.float64)


def _restore_collections_aliases():
    """STG 0.1.2 uses ``collections.Sequence`` etc., removed in Python 3.10."""
    for name in ("Sequence", "Mapping", "MutableMapping", "Iterable", "Callable", "Set"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def _stg(X, y, rs):
    if _is_regression(y):
        raise NotApplicable("classification only in this benchmark")
    _restore_collections_aliases()
    import torch
    from stg import STG

    X = _standardized(X)
    y = np.asarray(y).astype(np.int64)
    n, d = X.shape
    batch_size = min(256, n)
    n_epochs = max(20, math.ceil(2000 / math.ceil(n / batch_size)))
    with torch.random.fork_rng():
        torch.manual_seed(rs)
        model = STG(device="cpu", input_dim=d, output_dim=len(np.unique(y)), hidden_dims=[64, 32],
                    activation="relu", sigma=0.5, lam=0.1, optimizer="Adam", learning_rate=1e-3,
                    batch_size=batch_size, feature_selection=True, task_type="classification",
                    random_state=rs)
        model.fit(X, y, nr_epochs=n_epochs, verbose=False, shuffle=True)
    return np.asarray(model.get_gates("prob"), dtype=np.float64)


def _cancelout(X, y, rs):
    selector = CancelOutSelector(random_state=rs).fit(X, y)
    # ranking_ orders the gates with the selected columns' substitutes credited.
    return {"importances": -selector.ranking_.astype(np.float64),
            "selected": selector.get_support(),
            "substitutes": int(selector.substitutes_.sum())}


def _cancelout_all_relevant(X, y, rs):
    selector = CancelOutSelector(random_state=rs).fit(X, y)
    return {"importances": -selector.ranking_.astype(np.float64),
            "selected": selector.get_support() | selector.substitutes_,
            "substitutes": int(selector.substitutes_.sum())}


def _taildropout_ranker(X, y, rs):
    from skgates import TailDropoutRanker

    ranker = TailDropoutRanker(random_state=rs).fit(X, y)
    # The order sorts the Shapley values; -ranking_ is the same order with no ties among zeros.
    return {"importances": -ranker.ranking_.astype(np.float64), "chosen_k": int(ranker.n_features_),
            "selected": ranker.get_support(), "substitutes": int(ranker.substitutes_.sum())}


def _stability_cancelout(X, y, rs):
    from skgates import StabilitySelector

    selector = StabilitySelector(CancelOutSelector(), n_resamples=STABILITY_RESAMPLES,
                                 random_state=rs).fit(X, y)
    return {"importances": _order_importances(selector.probabilities_,
                                              selector.feature_importances_),
            "selected": selector.get_support(),
            "q": selector.n_features_per_fit_,
            "bound": float(selector.expected_false_selections_bound_)}


def _fdr_cancelout(X, y, rs):
    from skgates import FDRSelector

    selector = FDRSelector(CancelOutSelector(), fdr=FDR_LEVEL, random_state=rs).fit(X, y)
    inner = np.asarray(selector.estimator_.feature_importances_, dtype=np.float64)
    return {"importances": _order_importances(-selector.pvalues_, selector.scores_, inner),
            "selected": selector.get_support(), "tested": int(selector.tested_.sum())}


METHODS = {
    "CancelOutSelector": _cancelout,
    "CancelOut-all-relevant": _cancelout_all_relevant,
    "RandomForest": _random_forest,
    "mutual-info": _mutual_info,
    "L1-logreg": _l1_logreg,
    "pytorch-tabnet": _tabnet,
    "TabNetClassifier": _skgates_tabnet,
    "TabNet-defaults": _skgates_tabnet_defaults,
    "TabNet-permutation": _skgates_tabnet_permutation,
    "DropConnect": _skgates_dropconnect,
    "LassoNet": _lassonet,
    "STG": _stg,
    "TailDropoutRanker": _taildropout_ranker,
    "Stability-CancelOut": _stability_cancelout,
    "FDR-CancelOut": _fdr_cancelout,
    "Boruta": _boruta,
    "knockoffs": _knockoffs,
}

# The methods that return a decision (a selected set); --protocol decision runs these.
DECISION_METHODS = ("CancelOutSelector", "CancelOut-all-relevant", "TailDropoutRanker",
                    "Stability-CancelOut",
                    "FDR-CancelOut", "RandomForest", "Boruta", "knockoffs")
