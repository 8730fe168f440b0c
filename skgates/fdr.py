"""Feature selection with false-discovery-rate control: a held-out swap test per column + BH.

:class:`FDRSelector` fits an estimator on part of the rows, then, on the other
rows, measures for every column how much the estimator's loss grows when the
column's values are swapped between the two rows of random pairs. Under the
null hypothesis that a column is independent of everything else (the other
columns and ``y``), each pair's loss change is symmetric about zero and the
pairs are independent, so a one-sided Wilcoxon signed-rank test gives a valid
p-value; Benjamini-Hochberg over the columns' p-values selects at the
requested false discovery rate. See ``docs/stability.md`` for the argument and
its assumptions.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import wilcoxon
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone, is_classifier
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ._selection import resolve_threshold
from .stability import _importances_of

__all__ = ["FDRSelector", "benjamini_hochberg", "min_pairs_needed"]

_PROBABILITY_FLOOR = 1e-15
_STACK_VALUES = 4_000_000  # values of X predicted per call when columns are stacked


def benjamini_hochberg(pvalues, fdr, dependence="positive"):
    """Columns selected by the Benjamini-Hochberg (or -Yekutieli) step-up rule.

    Parameters
    ----------
    pvalues : array-like of shape (n_features,)
    fdr : float in (0, 1)
        Target false discovery rate ``q``.
    dependence : {"positive", "arbitrary"}, default="positive"
        ``"positive"``: Benjamini & Hochberg (1995), valid for independent or
        positively dependent (PRDS) p-values: reject the ``k`` smallest
        p-values, ``k`` the largest with ``p_(k) <= q k / m``.
        ``"arbitrary"``: Benjamini & Yekutieli (2001), valid under any
        dependence: ``q`` is divided by ``sum_{i<=m} 1/i``.

    Returns
    -------
    selected : ndarray of bool, shape (n_features,)
    adjusted : ndarray of shape (n_features,)
        Adjusted p-values: column ``j`` is selected iff ``adjusted[j] <= q``.
    """
    pvalues = np.asarray(pvalues, dtype=np.float64)
    m = pvalues.size
    if m == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    scale = 1.0
    if dependence == "arbitrary":
        scale = float(np.sum(1.0 / np.arange(1, m + 1)))
    elif dependence != "positive":
        raise ValueError(f"dependence must be 'positive' or 'arbitrary', got {dependence!r}.")
    order = np.argsort(pvalues, kind="stable")
    ranked = pvalues[order] * scale * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    return adjusted <= fdr, adjusted


def min_pairs_needed(n_features, fdr, dependence="positive"):
    """Fewest held-out pairs with which :class:`FDRSelector` can select any column.

    The smallest one-sided signed-rank p-value with ``m`` pairs is ``2^-m``
    (every pair's loss grows); the Benjamini-Hochberg rule selects nothing
    unless some p-value is at most ``fdr / n_features`` (divided further by
    ``sum 1/i`` for ``dependence="arbitrary"``).
    """
    level = fdr / n_features
    if dependence == "arbitrary":
        level /= float(np.sum(1.0 / np.arange(1, n_features + 1)))
    return int(np.ceil(np.log2(1.0 / level) - 1e-12))


class _NetworkPredictions:
    """``predict_proba``/``predict`` of a fitted skgates network estimator that has none.

    skgates selectors (CancelOutSelector, TailDropoutRanker) train a network
    that predicts ``y`` but expose no prediction method; their predictions go
    through the same inference path as TabNet's (``_forward``, in eval mode).
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.classification = estimator.task_ == "classification"
        if self.classification:
            self.classes_ = estimator.classes_

    def predict_proba(self, X):
        return self.estimator._probabilities(self.estimator._forward(X))

    def predict(self, X):
        if self.classification:
            return self.estimator._labels(self.estimator._forward(X))
        return self.estimator._targets(self.estimator._forward(X, float64=True))


def _predictions_of(estimator):
    """The fitted estimator itself, or its network's predictions for a skgates selector."""
    if hasattr(estimator, "predict_proba") or hasattr(estimator, "predict"):
        return estimator
    if hasattr(estimator, "_forward") and hasattr(estimator, "task_"):
        return _NetworkPredictions(estimator)
    return estimator


def _loss_function(estimator, loss, y_train):
    """``(name, per-row loss of a fitted estimator on (X, y))``, chosen once from the fitted model."""
    name = type(estimator).__name__
    model = _predictions_of(estimator)
    if isinstance(model, _NetworkPredictions):
        classifier = model.classification
    else:
        try:
            classifier = is_classifier(estimator)
        except (AttributeError, TypeError):  # no scikit-learn tags: judge by its methods and y
            classifier = False
        classifier = classifier or (
            y_train.ndim == 1 and type_of_target(y_train) in ("binary", "multiclass")
            and hasattr(estimator, "predict_proba"))
    if loss == "auto":
        if classifier:
            loss = "log_loss" if hasattr(model, "predict_proba") else "zero_one"
        else:
            loss = "squared_error"
    needs = "predict_proba" if loss == "log_loss" else "predict"
    if not hasattr(model, needs):
        raise ValueError(
            f"FDRSelector tests each column through the estimator's {loss} on held-out rows, "
            f"which needs {needs}(); a fitted {name} has none. Use an estimator that predicts "
            "(scikit-learn classifiers and regressors, every skgates estimator), or "
            "loss='zero_one'/'squared_error' for one with predict() only."
        )
    if loss == "log_loss":
        classes = np.asarray(model.classes_)

        def row_loss(X, y):
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
            index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
            known = classes[index] == y
            picked = np.where(known, proba[np.arange(len(y)), index], 0.0)
            return -np.log(np.clip(picked, _PROBABILITY_FLOOR, None))
    elif loss == "zero_one":
        def row_loss(X, y):
            predicted = np.asarray(model.predict(X))
            if predicted.ndim == 1:
                return (predicted != y).astype(np.float64)
            return np.any(predicted != y, axis=1).astype(np.float64)
    else:
        def row_loss(X, y):
            predicted = np.asarray(model.predict(X), dtype=np.float64)
            residual = predicted.reshape(len(y), -1) - np.asarray(y, np.float64).reshape(len(y), -1)
            return np.sum(residual ** 2, axis=1)
    return loss, row_loss


def _swap_increases(row_loss, X_a, X_b, y_a, y_b, base, columns):
    """Per-pair loss increase when each column's values are swapped within the pairs.

    Returns an array of shape (n_pairs, len(columns)).
    """
    n_pairs = len(y_a)
    out = np.empty((n_pairs, len(columns)))
    if hasattr(X_a, "iloc"):  # a DataFrame keeps its dtypes: one column at a time
        for i, j in enumerate(columns):
            swapped_a, swapped_b = X_a.copy(), X_b.copy()
            swapped_a.iloc[:, j] = X_b.iloc[:, j].to_numpy()
            swapped_b.iloc[:, j] = X_a.iloc[:, j].to_numpy()
            out[:, i] = row_loss(swapped_a, y_a) + row_loss(swapped_b, y_b) - base
        return out
    n_features = X_a.shape[1]
    block = max(1, _STACK_VALUES // max(1, 2 * n_pairs * n_features))
    for start in range(0, len(columns), block):
        chunk = columns[start:start + block]
        stacked_a = np.repeat(X_a[np.newaxis], len(chunk), axis=0)
        stacked_b = np.repeat(X_b[np.newaxis], len(chunk), axis=0)
        for i, j in enumerate(chunk):
            stacked_a[i, :, j] = X_b[:, j]
            stacked_b[i, :, j] = X_a[:, j]
        y_a_rep = np.concatenate([y_a] * len(chunk))
        y_b_rep = np.concatenate([y_b] * len(chunk))
        loss_a = row_loss(stacked_a.reshape(-1, n_features), y_a_rep).reshape(len(chunk), n_pairs)
        loss_b = row_loss(stacked_b.reshape(-1, n_features), y_b_rep).reshape(len(chunk), n_pairs)
        out[:, start:start + len(chunk)] = (loss_a + loss_b - base).T
    return out


def _signed_rank_pvalue(increases):
    """One-sided Wilcoxon signed-rank p-value that the increases lean positive (1 if all zero)."""
    if not np.any(increases != 0):
        return 1.0
    return float(wilcoxon(increases, alternative="greater", zero_method="wilcox").pvalue)


class FDRSelector(MetaEstimatorMixin, SelectorMixin, BaseEstimator):
    """Select the columns an estimator needs, with the false discovery rate controlled at ``fdr``.

    A held-out randomization test per column, then Benjamini-Hochberg:

    1. The rows are split at random (stratified by class for classification)
       into a training part and a test part (``test_size``); a clone of
       ``estimator`` is fitted on the training part.
    2. Screen: the columns whose importance in that fit is at least
       ``screen`` (default: the median importance) are tested; the others are
       not (p-value 1). The screen sees the training rows only.
    3. The test rows are matched at random into pairs ``(a, b)``. For every
       tested column ``j`` and pair, ``d = L(a with b's x_j) + L(b with a's
       x_j) - L(a) - L(b)``: how much the fitted estimator's loss grows when
       the two rows swap their values of column ``j``.
    4. The p-value of column ``j`` is the one-sided Wilcoxon signed-rank test
       of its ``d`` over the pairs (zero changes dropped).
    5. The Benjamini-Hochberg step-up rule at level ``fdr`` over the tested
       columns selects.

    **Guarantee.** Suppose the rows are independent and identically
    distributed. Call column ``j`` null when it is independent of the other
    columns and of ``y`` together. For a null column, swapping its values
    between two test rows leaves the distribution of the pair unchanged, so
    given the fitted estimator each ``d`` is symmetric about 0 and the pairs
    are independent: its p-value is valid, exactly for up to 50 pairs without
    ties or zero changes and up to the normal approximation of the
    signed-rank statistic otherwise. The screen depends on the training rows only, so it does not
    change this (independent filtering). Benjamini-Hochberg then keeps the
    expected proportion of null columns among the selected ones (the FDR) at
    most ``fdr`` times the fraction of nulls among the tested columns, when
    the p-values are independent or positively dependent;
    ``correction="by"`` (Benjamini-Yekutieli) removes that condition at a loss
    of power. A column that is independent of ``y`` but correlated with
    another column is not a null in this sense: it is selected only if the
    estimator uses it, and the guarantee does not count it.

    The estimator's quality sets the power, not the guarantee: a column is
    found when the fitted model relies on it on rows it has not seen.

    Parameters
    ----------
    estimator : estimator object
        Fitted once (a clone) on the training rows. It must predict
        (``predict_proba`` for ``loss="log_loss"``, ``predict`` otherwise);
        skgates selectors without a prediction method (CancelOutSelector,
        TailDropoutRanker) are tested through their network's predictions.
        With a ``screen`` it must also expose importances
        (``feature_importances_`` or ``coef_``, see ``importance_getter``).
    fdr : float in (0, 1), default=0.1
        Target false discovery rate ``q``.
    test_size : float in (0, 1), default=0.5
        Fraction of the rows held out for the test. More test rows give
        more pairs (smaller p-values for a given effect), fewer training
        rows a weaker estimator.
    loss : {"auto", "log_loss", "zero_one", "squared_error"}, default="auto"
        Per-row loss of the fitted estimator. ``"auto"``: log loss for a
        classifier with ``predict_proba`` (probabilities floored at 1e-15),
        0/1 loss for one without, squared error (summed over outputs) for
        anything else.
    correction : {"bh", "by"}, default="bh"
        ``"bh"``: Benjamini-Hochberg (p-values independent or positively
        dependent); ``"by"``: Benjamini-Yekutieli (any dependence).
    screen : str, float or None, default="median"
        Test only the columns whose importance in the training fit is at
        least this (and positive): a number, ``"mean"``, ``"median"`` or a
        scaled reference such as ``"0.5*mean"``, as in ``SelectFromModel``.
        Fewer tested columns make Benjamini-Hochberg less strict; a relevant
        column that the screen drops cannot be selected. ``"mean"`` suits wide
        data with few relevant columns. None tests every column.
    importance_getter : "auto", str or callable, default="auto"
        Importances for the screen: ``"auto"`` reads
        ``feature_importances_``, else ``coef_`` (absolute values, summed over
        classes); a string is an attribute path; a callable takes the fitted
        estimator.
    max_features : int or None, default=None
        Keep at most this many of the selected columns, smallest p-value
        first. The guarantee is stated for None.
    n_jobs : int or None, default=None
        Blocks of columns are tested in parallel through joblib (any backend).
    random_state : int, RandomState instance or None, default=None
        Draws the split, the clone's ``random_state`` parameters (nested ones
        too) and the pairs. Equal ints give equal results.
    verbose : int, default=0
        ``> 0`` shows a progress bar over blocks of columns.

    Attributes
    ----------
    pvalues_ : ndarray of shape (n_features_in_,)
        One-sided signed-rank p-value of each column (1 for untested columns).
    adjusted_pvalues_ : ndarray of shape (n_features_in_,)
        Benjamini-Hochberg (or -Yekutieli) adjusted p-values: a column is
        selected iff its adjusted p-value is at most ``fdr``.
    scores_ : ndarray of shape (n_features_in_,)
        Mean increase of the per-row held-out loss when the column is
        swapped (half the mean of ``d``): a loss-based importance measured on
        rows the estimator did not see; it can be negative.
    feature_importances_ : ndarray of shape (n_features_in_,)
        ``scores_`` clipped at 0.
    feature_importances_std_ : ndarray of shape (n_features_in_,)
        Standard error of ``scores_`` (standard deviation of ``d / 2`` over
        the pairs divided by the square root of the number of pairs). Scores
        and their errors are 0 for untested columns.
    tested_ : ndarray of bool, shape (n_features_in_,)
        The columns that passed the screen and were tested.
    estimator_ : estimator
        The clone fitted on the training rows.
    loss_ : str
        The loss that was used.
    n_pairs_ : int
        Number of held-out pairs.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    See Also
    --------
    skgates.stability.StabilitySelector : Selection with a bound on the expected number of false selections.
    sklearn.feature_selection.SelectFdr : BH over univariate test p-values.

    References
    ----------
    Y. Benjamini, Y. Hochberg. "Controlling the false discovery rate." JRSS-B 57, 1995.

    R. Bourgon, R. Gentleman, W. Huber. "Independent filtering increases
    detection power for high-throughput experiments." PNAS 107(21), 2010.

    Y. Benjamini, D. Yekutieli. "The control of the false discovery rate in
    multiple testing under dependency." Annals of Statistics 29(4), 2001.

    W. Tansey, V. Veitch, H. Zhang, R. Rabadan, D. M. Blei. "The holdout
    randomization test for feature selection in black box models." JCGS 31(1), 2022.

    A. Fisher, C. Rudin, F. Dominici. "All models are wrong, but many are
    useful." JMLR 20(177), 2019 (the pair-swap estimate of model reliance).

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skgates.fdr import FDRSelector
    >>> from skgates.datasets import make_syn
    >>> X, y, relevant = make_syn("syn2", n_samples=2000, n_noise=10, random_state=0)
    >>> selector = FDRSelector(RandomForestClassifier(n_estimators=50), fdr=0.1,
    ...                        random_state=0).fit(X, y)
    >>> selector.get_support(indices=True)
    array([2, 3, 4, 5])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "fdr": [Interval(Real, 0, 1, closed="neither")],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "loss": [StrOptions({"auto", "log_loss", "zero_one", "squared_error"})],
        "correction": [StrOptions({"bh", "by"})],
        "screen": [str, Interval(Real, None, None, closed="neither"), None],
        "importance_getter": [str, callable],
        "max_features": [Interval(Integral, 0, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, *, fdr=0.1, test_size=0.5, loss="auto", correction="bh",
                 screen="median", importance_getter="auto", max_features=None, n_jobs=None,
                 random_state=None, verbose=0):
        self.estimator = estimator
        self.fdr = fdr
        self.test_size = test_size
        self.loss = loss
        self.correction = correction
        self.screen = screen
        self.importance_getter = importance_getter
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)  # the inner estimator validates itself
    def fit(self, X, y, **fit_params):
        """Fit the estimator on the training rows and test every column on the held-out pairs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A DataFrame reaches the estimator as a DataFrame.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        **fit_params : dict
            Passed to the estimator's ``fit``; arrays of length ``n_samples``
            (``sample_weight``) are cut to the training rows. The held-out loss
            is unweighted.

        Returns
        -------
        self : FDRSelector
        """
        X_checked, y = validate_data(
            self, X, y, dtype=None, multi_output=True,
            ensure_all_finite=not get_tags(self).input_tags.allow_nan,
        )
        n_samples, n_features = X_checked.shape
        n_test = int(np.floor(self.test_size * n_samples))
        if n_test < 2 or n_samples - n_test < 2:
            raise ValueError(
                f"FDRSelector needs at least 2 training rows and one held-out pair (2 rows); "
                f"with test_size={self.test_size} that takes at least "
                f"{int(np.ceil(max(2 / self.test_size, 2 / (1 - self.test_size))))} rows, "
                f"got n_samples = {n_samples}."
            )
        dependence = "arbitrary" if self.correction == "by" else "positive"
        needed = min_pairs_needed(n_features, self.fdr, dependence)
        if n_test // 2 < needed:
            warnings.warn(
                f"FDRSelector can select nothing here: {n_test // 2} held-out pairs give "
                f"p-values of at least 2^-{n_test // 2}, and selecting one of {n_features} "
                f"columns at fdr={self.fdr} needs {needed} pairs, that is about "
                f"{int(np.ceil(2 * needed / self.test_size))} rows at test_size="
                f"{self.test_size}.", UserWarning,
            )
        try:
            estimator = clone(self.estimator)
        except Exception as exc:
            raise TypeError(
                f"FDRSelector fits a fresh copy of the estimator, so it must be clonable with "
                f"sklearn.base.clone; {type(self.estimator).__name__} is not: {exc}"
            ) from exc

        rng = check_random_state(self.random_state)
        stratify = y if y.ndim == 1 and type_of_target(y) in ("binary", "multiclass") else None
        if stratify is not None:
            counts = np.unique(y, return_counts=True)[1]
            if counts.min() < 2 or min(n_test, n_samples - n_test) < len(counts):
                stratify = None  # too few rows per class to split every class
        rows = np.arange(n_samples)
        train, test = train_test_split(rows, test_size=n_test, stratify=stratify,
                                       random_state=rng.randint(np.iinfo(np.int32).max))
        seed = int(rng.randint(np.iinfo(np.int32).max))
        keys = [key for key in estimator.get_params(deep=True)
                if key == "random_state" or key.endswith("__random_state")]
        if keys:
            estimator.set_params(**{key: seed for key in keys})
        X_source = X if hasattr(X, "iloc") else X_checked
        params = {key: (_safe_indexing(value, train)
                        if hasattr(value, "__len__") and len(value) == n_samples else value)
                  for key, value in fit_params.items()}
        estimator.fit(_safe_indexing(X_source, train), _safe_indexing(y, train), **params)
        self.loss_, row_loss = _loss_function(estimator, self.loss, _safe_indexing(y, train))

        test = rng.permutation(test)
        n_pairs = len(test) // 2
        first, second = test[:n_pairs], test[n_pairs:2 * n_pairs]
        X_a, X_b = _safe_indexing(X_source, first), _safe_indexing(X_source, second)
        y_a, y_b = _safe_indexing(y, first), _safe_indexing(y, second)
        base = row_loss(X_a, y_a) + row_loss(X_b, y_b)

        tested = self._screened(estimator, n_features)
        columns = np.flatnonzero(tested)
        n_blocks = max(1, min(len(columns), 4 * (1 if self.n_jobs in (None, 1) else abs(self.n_jobs))))
        if self.verbose > 0:
            n_blocks = max(n_blocks, min(len(columns), 20))
        blocks = [block for block in np.array_split(columns, n_blocks) if len(block)]
        jobs = (delayed(_swap_increases)(row_loss, X_a, X_b, y_a, y_b, base, block)
                for block in blocks)
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(jobs)
        if self.verbose > 0:
            from tqdm import tqdm

            results = tqdm(results, total=len(blocks), desc="FDRSelector column blocks")
        increases = np.hstack(list(results)) if blocks else np.zeros((n_pairs, 0))

        self.pvalues_ = np.ones(n_features)
        self.pvalues_[columns] = [_signed_rank_pvalue(increases[:, i])
                                  for i in range(len(columns))]
        self.adjusted_pvalues_ = np.ones(n_features)
        _, self.adjusted_pvalues_[columns] = benjamini_hochberg(self.pvalues_[columns], self.fdr,
                                                                dependence)
        self.scores_ = np.zeros(n_features)
        self.scores_[columns] = increases.mean(axis=0) / 2
        self.feature_importances_ = np.clip(self.scores_, 0.0, None)
        self.feature_importances_std_ = np.zeros(n_features)
        if n_pairs > 1:
            self.feature_importances_std_[columns] = (
                increases.std(axis=0, ddof=1) / 2 / np.sqrt(n_pairs))
        self.tested_ = tested
        self.estimator_ = estimator
        self.n_pairs_ = n_pairs
        return self

    def _screened(self, estimator, n_features):
        """Columns to test: those the fitted estimator's importances pass ``screen`` (all if None)."""
        if self.screen is None:
            return np.ones(n_features, dtype=bool)
        try:
            importances = _importances_of(estimator, self.importance_getter, n_features,
                                          who=f"FDRSelector(screen={self.screen!r})")
        except ValueError as exc:
            raise ValueError(
                f"{exc} FDRSelector reads the importances of the estimator fitted on the "
                "training rows to choose which columns to test; pass screen=None to test "
                "every column."
            ) from exc
        cutoff = resolve_threshold(self.screen, importances, default="mean")
        if not np.any(importances > 0):
            return np.ones(n_features, dtype=bool)
        return (importances >= cutoff) & (importances > 0)

    def _get_support_mask(self):
        check_is_fitted(self, "adjusted_pvalues_")
        mask = self.adjusted_pvalues_ <= self.fdr
        if self.max_features is not None and mask.sum() > self.max_features:
            order = np.lexsort((np.arange(mask.size), self.pvalues_))
            keep = np.zeros_like(mask)
            keep[order[:self.max_features]] = True
            mask &= keep
        return mask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.sparse = False
        try:
            inner = get_tags(self.estimator)
        except (AttributeError, TypeError):  # not a scikit-learn estimator: fit says why
            return tags
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
