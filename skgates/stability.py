"""Stability selection over any estimator with importances (complementary pairs).

:class:`StabilitySelector` refits a clone of an estimator on ``2 * n_resamples``
half-samples of the rows (complementary pairs, Shah & Samworth 2013), lets each
fit pick its most important columns, and keeps the columns that are picked
often. :func:`false_selections_bound` is the error bound it reports.
"""

from numbers import Integral, Real
from operator import attrgetter

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_method_params, check_is_fitted, validate_data

from ._selection import support_mask

__all__ = ["StabilitySelector", "complementary_halves", "false_selections_bound"]

_MIN_ROWS_PER_HALF = 2
_DEFAULT_PATH_POINTS = 100


def false_selections_bound(n_features_per_fit, n_features, threshold, n_resamples=None,
                           assumption="none"):
    """Bound on the expected number of false selections of stability selection.

    Parameters
    ----------
    n_features_per_fit : float
        ``q``, the (expected) number of columns each fit selects.
    n_features : int
        ``p``, the number of columns.
    threshold : float in (0.5, 1]
        ``pi``, the selection-probability threshold.
    n_resamples : int or None, default=None
        ``B``, the number of complementary pairs; needed for
        ``assumption="unimodal"``.
    assumption : {"none", "unimodal"}, default="none"
        ``"none"``: the Meinshausen-Buhlmann bound ``q^2 / ((2 pi - 1) p)``.
        ``"unimodal"``: the smaller of that bound and Shah & Samworth's
        (2013, eq. 8) bound under unimodality,
        ``q^2 / p / (2 (2 pi - 1 - 1/(2B)))`` for ``pi <= 3/4`` and
        ``q^2 / p * 4 (1 - pi + 1/(2B)) / (1 + 1/B)`` for ``pi > 3/4``
        (where it does not apply, see the Notes, the first bound is returned).

    Returns
    -------
    bound : float

    Notes
    -----
    With complementary pairs, Shah & Samworth (2013, Theorem 1) show without
    further assumptions that ``q^2 / ((2 pi - 1) p)`` bounds the expected
    number of selected columns whose selection probability by one fit on
    ``n/2`` rows is at most ``q / p`` (columns that a fit picks no more often
    than at random). It bounds the expected number of selected *noise*
    columns under Meinshausen & Buhlmann's (2010) assumptions: the noise
    columns are exchangeable in how they are selected and a fit does no
    worse than random guessing. The unimodal bound needs in addition that the
    distribution of the simultaneous selection probabilities of those columns
    is unimodal; it applies for ``pi <= 3/4`` only when
    ``pi >= 1/2 + min(theta^2, 1/(2B) + 3 theta^2 / 4)`` with ``theta = q / p``
    (the same conditions as the R package stabs).
    """
    q, p, pi = float(n_features_per_fit), float(n_features), float(threshold)
    if not 0.5 < pi <= 1:
        raise ValueError(f"threshold must be in (0.5, 1], got {threshold!r}.")
    bound = q * q / ((2 * pi - 1) * p)
    if assumption == "none":
        return bound
    if assumption != "unimodal":
        raise ValueError(f"assumption must be 'none' or 'unimodal', got {assumption!r}.")
    if n_resamples is None:
        raise ValueError("The unimodal bound needs n_resamples (the number of pairs B).")
    B, theta = float(n_resamples), q / p
    if pi <= 0.75:
        if pi < 0.5 + min(theta ** 2, 1 / (2 * B) + 0.75 * theta ** 2):
            return bound
        unimodal = q * q / p / (2 * (2 * pi - 1 - 1 / (2 * B)))
    else:
        unimodal = q * q / p * 4 * (1 - pi + 1 / (2 * B)) / (1 + 1 / B)
    return min(bound, unimodal)


def complementary_halves(y, n_resamples, random_state=None):
    """The row halves that :class:`StabilitySelector` fits on, and one seed per fit.

    For each of the ``n_resamples`` pairs a random permutation of the rows is
    drawn (``RandomState.permutation``); when ``y`` holds class labels
    (binary or multiclass) the permutation is then stably sorted by class, so
    each half gets half of every class. Rows at even positions of the
    permutation form the first half, rows at odd positions the second. After
    all pairs, one seed per fit is drawn (``randint(2**31 - 1, size=2 *
    n_resamples)``), in the order first half, second half of pair 0, then pair
    1, and so on.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    n_resamples : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    halves : list of ndarray
        ``2 * n_resamples`` arrays of row indices; ``halves[2 b]`` and
        ``halves[2 b + 1]`` are disjoint and cover every row.
    seeds : ndarray of shape (2 * n_resamples,)
    """
    rng = check_random_state(random_state)
    y = np.asarray(y)
    n_samples = y.shape[0]
    codes = None
    if y.ndim == 1 and type_of_target(y) in ("binary", "multiclass"):
        codes = np.unique(y, return_inverse=True)[1]
    halves = []
    for _ in range(n_resamples):
        order = rng.permutation(n_samples)
        if codes is not None:
            order = order[np.argsort(codes[order], kind="stable")]
        halves.extend([np.sort(order[0::2]), np.sort(order[1::2])])
    seeds = rng.randint(np.iinfo(np.int32).max, size=2 * n_resamples)
    return halves, seeds


def _importances_of(estimator, getter, n_features, who="StabilitySelector"):
    """Non-negative importances of a fitted estimator, one per input column.

    ``getter``: ``"auto"`` reads ``feature_importances_``, else ``coef_``
    (absolute values, summed over classes or outputs); a string is an
    attribute path; a callable takes the estimator. Negative values count as 0.
    """
    name = type(estimator).__name__
    if callable(getter):
        values = getter(estimator)
    elif getter == "auto":
        if hasattr(estimator, "feature_importances_"):
            values = estimator.feature_importances_
        elif hasattr(estimator, "coef_"):
            values = estimator.coef_
        else:
            raise ValueError(
                f"{who} needs an estimator that exposes `feature_importances_` or "
                f"`coef_` after fit; a fitted {name} has neither. Use an estimator with "
                "importances (every skgates selector, RandomForest*, LogisticRegression, ...) "
                "or pass importance_getter (an attribute name or a callable)."
            )
    else:
        try:
            values = attrgetter(getter)(estimator)
        except AttributeError as exc:
            raise ValueError(
                f"importance_getter={getter!r}: a fitted {name} has no such attribute."
            ) from exc
    values = np.asarray(values, dtype=np.float64)
    signed = values.ndim == 2 or (isinstance(getter, str) and (
        getter.endswith("coef_") or (getter == "auto"
                                     and not hasattr(estimator, "feature_importances_"))))
    if signed:  # coefficients: magnitude, summed over classes or outputs
        values = np.abs(values) if values.ndim == 1 else np.abs(values).sum(axis=0)
    if values.shape != (n_features,):
        raise ValueError(
            f"The importances of {name} have shape {values.shape}, expected ({n_features},): "
            "one per column of X."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"The importances of {name} contain NaN or infinite values.")
    return np.clip(values, 0.0, None)


def _set_seed(estimator, seed):
    """Give every ``random_state`` parameter (nested ones too) the fit's own seed."""
    keys = [key for key in estimator.get_params(deep=True)
            if key == "random_state" or key.endswith("__random_state")]
    if keys:
        estimator.set_params(**{key: int(seed) for key in keys})
    return estimator


def _fit_one(estimator, X, y, rows, fit_params, seed, getter, n_features, want_support,
             keep):
    """Fit one clone on ``rows``; return its importances, support and (maybe) itself."""
    estimator = _set_seed(estimator, seed)
    params = _check_method_params(X, fit_params, indices=rows)
    estimator.fit(_safe_indexing(X, rows), _safe_indexing(y, rows), **params)
    importances = _importances_of(estimator, getter, n_features)
    support = None
    if want_support:
        if not hasattr(estimator, "get_support"):
            raise ValueError(
                f"per_fit_selection='support' needs an estimator with get_support(); "
                f"{type(estimator).__name__} has none. Use per_fit_selection='top'."
            )
        support = np.asarray(estimator.get_support(), dtype=bool)
        if support.shape != (n_features,):
            raise ValueError(
                f"get_support() of {type(estimator).__name__} has shape {support.shape}, "
                f"expected ({n_features},)."
            )
    return importances, support, (estimator if keep else None)


def _ranks(importances):
    """Rank of each column within each fit (0 = most important).

    Ties keep the earlier column first; columns of zero importance get rank
    ``n_features``, so no fit ever selects a column it gave no importance.
    """
    n_fits, n_features = importances.shape
    ranks = np.empty((n_fits, n_features), dtype=np.int64)
    columns = np.arange(n_features)
    for i, values in enumerate(importances):
        order = np.lexsort((columns, -values))
        ranks[i, order] = columns
        ranks[i, values <= 0] = n_features
    return ranks


def _default_path_sizes(n_features, extra):
    if n_features <= _DEFAULT_PATH_POINTS:
        sizes = np.arange(1, n_features + 1)
    else:
        sizes = np.unique(np.round(np.geomspace(1, n_features, _DEFAULT_PATH_POINTS)))
    return np.unique(np.concatenate([sizes, [extra]]).astype(np.int64))


class StabilitySelector(MetaEstimatorMixin, SelectorMixin, BaseEstimator):
    """Keep the columns an estimator picks again and again on half-samples of the rows.

    Stability selection with complementary pairs (Shah & Samworth, 2013):
    for each of ``n_resamples`` pairs, the rows are split at random into two
    disjoint halves and a clone of ``estimator`` is fitted on each half
    (``2 * n_resamples`` fits in all). Each fit selects its
    ``n_features_per_fit`` most important columns (``per_fit_selection="top"``)
    or the columns of its own ``get_support()`` (``"support"``). The
    selection probability of a column is the fraction of fits that selected
    it; the columns whose probability is at least ``threshold`` are selected.

    Under Meinshausen & Buhlmann's assumptions the expected number of noise
    columns selected is at most ``q^2 / ((2 threshold - 1) p)``, with ``q``
    the number of columns each fit selects and ``p`` the number of columns
    (see :func:`false_selections_bound`); the bound is reported as
    ``expected_false_selections_bound_``. By default ``q`` is the largest
    number of columns per fit for which that bound is at most
    ``max_false_selections``.

    Parameters
    ----------
    estimator : estimator object
        Fitted once per half-sample (a clone). After ``fit`` it must expose
        ``feature_importances_`` or ``coef_`` (or whatever
        ``importance_getter`` names): every skgates selector and most
        scikit-learn models do.
    n_resamples : int, default=50
        Number of complementary pairs ``B``; ``2 * B`` fits are made (50 pairs
        as in Shah & Samworth). Lower it for slow estimators.
    threshold : float in (0.5, 1], default=0.75
        Selection-probability threshold ``pi``. The bound grows without
        limit as ``pi`` approaches 0.5; 0.75 halves the false selections
        allowed at 1.0 by the bound's ``2 pi - 1`` factor. Probabilities are
        multiples of ``1 / (2 B)``.
    n_features_per_fit : int or "auto", default="auto"
        ``q``, the number of most important columns each fit selects
        (``per_fit_selection="top"``). ``"auto"`` takes the largest ``q`` whose
        bound is at most ``max_false_selections`` (at least 1).
    max_false_selections : float or None, default=None
        Target for the bound on the expected number of false selections,
        used to choose ``q`` when ``n_features_per_fit="auto"`` (None means
        1.0). Give either this or an int ``n_features_per_fit``, not both.
    assumption : {"none", "unimodal"}, default="none"
        Which bound to report and to choose ``q`` with: ``"none"`` is the
        Meinshausen-Buhlmann bound (no assumption beyond theirs);
        ``"unimodal"`` is Shah & Samworth's tighter bound, which assumes in
        addition that the simultaneous selection probabilities of the noise
        columns have a unimodal distribution.
    per_fit_selection : {"top", "support"}, default="top"
        How one fit selects: its ``n_features_per_fit`` most important columns
        (columns of zero importance are never selected; equal importances
        keep the earlier column), or the estimator's own ``get_support()``.
        With ``"support"``, ``q`` is estimated by the mean number of columns a
        fit selected.
    importance_getter : "auto", str or callable, default="auto"
        ``"auto"`` reads ``feature_importances_``, else ``coef_`` (absolute
        values, summed over classes or outputs). A string is an attribute
        path (``"named_steps.clf.feature_importances_"``); a callable takes the
        fitted estimator. Negative importances count as 0.
    max_features : int or None, default=None
        Keep at most this many of the selected columns, the most probable
        first.
    path_sizes : array-like of int or None, default=None
        Values of ``k`` for the stability path. None means every ``k`` from 1
        to ``p`` when ``p <= 100``, else about 100 values spaced geometrically,
        plus ``n_features_per_fit_``.
    keep_estimators : bool, default=False
        Keep the ``2 * n_resamples`` fitted clones in ``fitted_estimators_``
        (fitted networks are heavy).
    n_jobs : int or None, default=None
        Fits run in parallel through joblib (``joblib.parallel_backend``
        chooses the backend, dask included). None means 1 unless in a joblib
        context.
    random_state : int, RandomState instance or None, default=None
        Draws the halves and one seed per fit; each clone's ``random_state``
        parameters (nested ones too) are set to its fit's seed. Equal ints give
        equal results. See :func:`complementary_halves`.
    verbose : int, default=0
        ``> 0`` shows a progress bar over the fits.

    Attributes
    ----------
    probabilities_ : ndarray of shape (n_features_in_,)
        Selection probability of each column: the fraction of the
        ``2 * n_resamples`` fits that selected it.
    stability_path_ : ndarray of shape (len(path_sizes_), n_features_in_)
        ``stability_path_[i, j]``: fraction of fits whose ``path_sizes_[i]``
        most important columns include column ``j``.
    path_sizes_ : ndarray of int
        The ``k`` of each row of ``stability_path_``.
    n_features_per_fit_ : float
        ``q``: the number of columns each fit selected (the mean count with
        ``per_fit_selection="support"``).
    expected_false_selections_bound_ : float
        Bound on the expected number of false selections at ``threshold``,
        computed by :func:`false_selections_bound` with ``assumption``. It
        ignores ``max_features``, which can only lower the count.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Mean over fits of each fit's importances, normalised to sum to 1 (a
        fit whose importances are all zero counts as zeros).
    feature_importances_std_ : ndarray of shape (n_features_in_,)
        Standard deviation (``ddof=1``) over fits of those normalised
        importances: the spread from one half-sample to another.
    n_fits_ : int
        ``2 * n_resamples``.
    fitted_estimators_ : list of estimators
        The fitted clones, with ``keep_estimators=True`` only.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    See Also
    --------
    skgates.fdr.FDRSelector : Selection with false-discovery-rate control.
    sklearn.feature_selection.SelectFromModel : One fit, one threshold.

    References
    ----------
    N. Meinshausen, P. Buhlmann. "Stability selection." JRSS-B 72(4), 2010.

    R. D. Shah, R. J. Samworth. "Variable selection with error control:
    another look at stability selection." JRSS-B 75(1), 2013.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skgates.stability import StabilitySelector
    >>> from skgates.datasets import make_syn
    >>> X, y, relevant = make_syn("syn3", n_samples=1000, n_noise=20, random_state=0)
    >>> selector = StabilitySelector(LogisticRegression(), n_resamples=10,
    ...                              random_state=0).fit(X, y)
    >>> selector.get_support(indices=True)
    array([6, 8, 9])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0.5, 1, closed="right")],
        "n_features_per_fit": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_false_selections": [Interval(Real, 0, None, closed="neither"), None],
        "assumption": [StrOptions({"none", "unimodal"})],
        "per_fit_selection": [StrOptions({"top", "support"})],
        "importance_getter": [str, callable],
        "max_features": [Interval(Integral, 0, None, closed="left"), None],
        "path_sizes": ["array-like", None],
        "keep_estimators": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator,
        *,
        n_resamples=50,
        threshold=0.75,
        n_features_per_fit="auto",
        max_false_selections=None,
        assumption="none",
        per_fit_selection="top",
        importance_getter="auto",
        max_features=None,
        path_sizes=None,
        keep_estimators=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_resamples = n_resamples
        self.threshold = threshold
        self.n_features_per_fit = n_features_per_fit
        self.max_false_selections = max_false_selections
        self.assumption = assumption
        self.per_fit_selection = per_fit_selection
        self.importance_getter = importance_getter
        self.max_features = max_features
        self.path_sizes = path_sizes
        self.keep_estimators = keep_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)  # the inner estimator is validated by its own fit
    def fit(self, X, y, **fit_params):
        """Fit ``2 * n_resamples`` clones on complementary halves and count their selections.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A DataFrame reaches the estimator as a DataFrame (its column names
            and dtypes kept).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        **fit_params : dict
            Passed to every clone's ``fit``; arrays of length ``n_samples``
            (``sample_weight``) are cut to the half.

        Returns
        -------
        self : StabilitySelector
        """
        estimator_name = type(self.estimator).__name__
        X_checked, y = validate_data(
            self, X, y, accept_sparse=("csr", "csc"), dtype=None,
            ensure_all_finite=not get_tags(self).input_tags.allow_nan, multi_output=True,
        )
        n_samples, n_features = X_checked.shape
        min_rows = 2 * _MIN_ROWS_PER_HALF
        if n_samples < min_rows:
            raise ValueError(
                f"StabilitySelector needs at least {min_rows} rows (two complementary halves "
                f"of at least {_MIN_ROWS_PER_HALF} rows each), got n_samples = {n_samples}."
            )
        q = self._resolve_n_features_per_fit(n_features)
        try:
            template = clone(self.estimator)
        except Exception as exc:
            raise TypeError(
                f"StabilitySelector fits a fresh copy of the estimator on each of the "
                f"{2 * self.n_resamples} halves, so the estimator must be clonable with "
                f"sklearn.base.clone; {estimator_name} is not: {exc}"
            ) from exc
        sizes = self._resolve_path_sizes(n_features, q)
        X_fit = X if hasattr(X, "iloc") else X_checked

        halves, seeds = complementary_halves(y, self.n_resamples, self.random_state)
        want_support = self.per_fit_selection == "support"
        jobs = (
            delayed(_fit_one)(clone(template), X_fit, y, rows, fit_params, seed,
                              self.importance_getter, n_features, want_support,
                              self.keep_estimators)
            for rows, seed in zip(halves, seeds)
        )
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(jobs)
        if self.verbose > 0:
            from tqdm import tqdm

            results = tqdm(results, total=len(halves), desc="StabilitySelector fits")
        results = list(results)

        importances = np.vstack([result[0] for result in results])
        ranks = _ranks(importances)
        if want_support:
            selected = np.vstack([result[1] for result in results])
            self.n_features_per_fit_ = float(selected.sum(axis=1).mean())
        else:
            selected = ranks < q
            self.n_features_per_fit_ = float(q)
        self.probabilities_ = selected.mean(axis=0)
        self.path_sizes_ = sizes
        self.stability_path_ = np.vstack([(ranks < k).mean(axis=0) for k in sizes])
        self.expected_false_selections_bound_ = false_selections_bound(
            self.n_features_per_fit_, n_features, self.threshold, self.n_resamples,
            self.assumption,
        )
        totals = importances.sum(axis=1, keepdims=True)
        normalised = np.divide(importances, totals, out=np.zeros_like(importances),
                               where=totals > 0)
        self.feature_importances_ = normalised.mean(axis=0)
        self.feature_importances_std_ = normalised.std(axis=0, ddof=1)
        self.n_fits_ = len(halves)
        if self.keep_estimators:
            self.fitted_estimators_ = [result[2] for result in results]
        return self

    def _resolve_n_features_per_fit(self, n_features):
        if self.n_features_per_fit != "auto":
            if self.max_false_selections is not None:
                raise ValueError(
                    "Give either n_features_per_fit (an int) or max_false_selections, not "
                    "both: with n_features_per_fit='auto', q is derived from "
                    "max_false_selections."
                )
            if self.per_fit_selection == "top" and self.n_features_per_fit > n_features:
                raise ValueError(
                    f"n_features_per_fit={self.n_features_per_fit} exceeds the number of "
                    f"columns ({n_features})."
                )
            return int(self.n_features_per_fit)
        target = 1.0 if self.max_false_selections is None else float(self.max_false_selections)
        candidates = np.arange(1, n_features + 1)
        bounds = np.array([
            false_selections_bound(q, n_features, self.threshold, self.n_resamples,
                                   self.assumption)
            for q in candidates
        ])
        within = candidates[bounds <= target]
        return int(within.max()) if within.size else 1

    def _resolve_path_sizes(self, n_features, q):
        if self.path_sizes is None:
            return _default_path_sizes(n_features, min(q, n_features))
        sizes = np.unique(np.asarray(self.path_sizes))
        if (sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer)
                or sizes[0] < 1 or sizes[-1] > n_features):
            raise ValueError(
                f"path_sizes must be integers between 1 and the number of columns "
                f"({n_features}), got {self.path_sizes!r}."
            )
        return sizes.astype(np.int64)

    def _get_support_mask(self):
        check_is_fitted(self, "probabilities_")
        return support_mask(self.probabilities_, float(self.threshold), self.max_features,
                            default_threshold=float(self.threshold))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        try:
            inner = get_tags(self.estimator)
        except (AttributeError, TypeError):  # not a scikit-learn estimator: fit says why
            return tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
