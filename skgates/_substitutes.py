"""Credit for redundant columns: the columns that a selection predicts are its substitutes.

A network that sees two copies of a signal needs only one of them, so its
gates (or Shapley values) credit one copy and leave the other with noise.
RandomForest and Boruta credit both, because their splits are forced to use
whichever copy is drawn. Here the copies are found after training: column
``j`` is a *substitute* of the selected columns ``S`` when a linear regression
of ``x_j`` on ``x_S`` explains significantly more than chance would, by the
F-test of its ``R^2`` with a Bonferroni correction over the columns tested,
family-wise level ``alpha`` (``FAMILY_WISE_LEVEL``, 0.1%). Independent noise
columns are credited with probability at most ``alpha`` (exactly so for
Gaussian columns), so the credit does not let noise in. Later rounds repeat the
test with the substitutes found so far added to the sources, until a round
finds none. A column that is a (linear) function of the selected ones is
credited, which is the all-relevant view of Boruta.

The statistics come from passes over the rows in chunks of bounded size, on
the device the data live on, in float64: one for the means and variances, then
one per round for the cross-products of that round's new sources with every
column (cached), so no ``n x d`` float64 copy is made.
"""

import numpy as np
import torch
from scipy.special import fdtrc

# Rows per pass chunk: about 2**22 float64 values (32 MiB) per temporary, whatever the width.
_CHUNK_VALUES = 2 ** 22
# At 5% TailDropout on Syn4 (seed 2 of the ranking protocol) credited a noise column
# (R^2 0.0016 on 14,000 rows, p = 4e-4) above a weak relevant column, while the true
# substitutes on MADELON-like and breast cancer had p-values below 1e-55, so a stricter
# level costs them nothing (benchmarks/study_substitutes_level.py).
FAMILY_WISE_LEVEL = 0.001


class _WeightedMoments:
    """Weighted means, variances and (on demand, cached) covariance rows of the columns of ``X``.

    One pass over the rows gives the means and variances; each later call of
    :meth:`covariances` makes one pass for the columns it has not seen yet, so
    the rounds of :func:`find_substitutes` never compute a cross-product twice.
    Everything runs in float64 on ``X``'s device, in chunks of rows.
    """

    def __init__(self, X, weights):
        self.X = X
        self.w = weights.detach().to(torch.float64)
        self.total = float(self.w.sum())
        # Kish's effective number of rows: n for equal weights, unchanged by scaling them
        self.n_effective = self.total ** 2 / float((self.w ** 2).sum()) if self.total > 0 else 0.0
        self.chunk = max(1, _CHUNK_VALUES // max(X.shape[1], 1))
        self._rows = {}
        if self.total <= 0:
            return
        d = X.shape[1]
        sums = torch.zeros(d, dtype=torch.float64, device=X.device)
        squares = torch.zeros(d, dtype=torch.float64, device=X.device)
        for rows, w_rows in self._chunks():
            weighted = rows * w_rows
            sums += weighted.sum(dim=0)
            squares += (weighted * rows).sum(dim=0)
        self.mean = sums / self.total
        # From the raw sums: the columns are standardised, so their means are about 0
        # and nothing cancels catastrophically.
        self.var = (squares / self.total - self.mean ** 2).cpu().numpy()

    def _chunks(self):
        for start in range(0, len(self.X), self.chunk):
            rows = self.X[start:start + self.chunk].detach().to(torch.float64)
            yield rows, self.w[start:start + self.chunk, None]

    def covariances(self, columns):
        """``(len(columns), n_features)``: the weighted covariances of ``columns`` with every column."""
        missing = [j for j in columns if j not in self._rows]
        if missing:
            index = torch.as_tensor(missing, device=self.X.device)
            cross = torch.zeros(len(missing), self.X.shape[1], dtype=torch.float64,
                                device=self.X.device)
            for rows, w_rows in self._chunks():
                cross += (rows[:, index] * w_rows).T @ rows
            cov = (cross / self.total - self.mean[index, None] * self.mean[None, :]).cpu().numpy()
            self._rows.update(zip(missing, cov))
        return np.stack([self._rows[j] for j in columns])


def substitution_r2(X, weights, sources):
    """Weighted ``R^2`` of every column regressed on the ``sources`` columns.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
    weights : torch.Tensor of shape (n_samples,)
        Non-negative row weights.
    sources : ndarray of int
        The regressors (an intercept is always included).

    Returns
    -------
    r2 : ndarray of shape (n_features,)
        In [0, 1]; 1 for the sources themselves, 0 for constant columns.
    rank : int
        Rank of the sources' covariance (the regression's degrees of freedom).
    n_effective : float
        Kish's effective number of rows, ``(sum w)^2 / sum w^2``: the number
        of rows for equal weights, unchanged when all weights are scaled.
    """
    moments = _WeightedMoments(X, weights)
    r2, rank = _r2_on(moments, np.asarray(sources, dtype=np.int64), X.shape[1])
    return r2, rank, moments.n_effective


def _r2_on(moments, sources, d):
    """``(r2, rank)`` of every column on ``sources`` from ``moments``."""
    if len(sources) == 0 or moments.total <= 0:
        return np.zeros(d), 0
    cov = moments.covariances(sources.tolist())
    cov_ss = cov[:, sources]
    values, vectors = np.linalg.eigh((cov_ss + cov_ss.T) / 2)
    keep = values > max(values.max(), 0.0) * len(sources) * np.finfo(np.float64).eps
    rank = int(keep.sum())
    if rank == 0:
        return np.zeros(d), 0
    # explained variance of column j: c_j^T C_SS^+ c_j, with the pseudo-inverse's spectrum
    projected = (vectors[:, keep].T @ cov) / np.sqrt(values[keep])[:, None]
    explained = (projected ** 2).sum(axis=0)
    var = moments.var
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(var > 1e-12 * max(var.max(), 1e-300), explained / var, 0.0)
    r2 = np.clip(r2, 0.0, 1.0)
    r2[sources] = 1.0
    return r2, rank


def find_substitutes(X, weights, sources, alpha=FAMILY_WISE_LEVEL):
    """Columns outside ``sources`` that the sources (and the substitutes found so far) predict.

    Round 1 tests every column outside ``sources`` on the sources; round ``k``
    tests the remaining columns on the sources and the substitutes of rounds
    ``1..k-1``, until a round finds none. A relevant column that no single
    source predicts well is found once its partners are in (on MADELON-like a
    lone source predicts 15 of the 19 other relevant columns, which together
    predict the last 4). When every column outside the sources is independent
    noise, round 1 credits nothing with probability at least ``1 - alpha`` and
    the rounds stop there, so the family-wise level holds.

    Returns
    -------
    r2 : ndarray of shape (n_features,)
        1 for the sources; for a substitute its ``R^2`` in the round that
        credited it; for the others their ``R^2`` on the final set.
    substitutes : ndarray of bool, shape (n_features,)
        In each round ``R^2`` significant by the F-test at level
        ``alpha / n_tested`` (Bonferroni over the columns tested). All False
        when there are too few rows for the test (``n_effective`` must exceed
        the rank + 1).
    rounds : ndarray of int, shape (n_features,)
        The round that credited each substitute (1, 2, ...); 0 elsewhere.
    """
    d = X.shape[1]
    sources = np.asarray(sources, dtype=np.int64)
    moments = _WeightedMoments(X, weights)
    rounds = np.zeros(d, dtype=np.int64)
    r2_credited = np.zeros(d)
    current = sources
    for round_ in range(1, d + 1):
        r2, new = _significant(moments, current, d, alpha)
        if not new.any():
            break
        rounds[new] = round_
        r2_credited[new] = r2[new]
        current = np.union1d(sources, np.flatnonzero(rounds > 0))
    substitutes = rounds > 0
    r2 = np.where(substitutes, r2_credited, r2)
    r2[sources] = 1.0
    return r2, substitutes, rounds


def _significant(moments, sources, d, alpha):
    """``R^2`` on ``sources`` and the columns outside them whose ``R^2`` is significant."""
    r2, rank = _r2_on(moments, sources, d)
    significant = np.zeros(d, dtype=bool)
    tested = np.setdiff1d(np.arange(d), sources)
    dof = moments.n_effective - rank - 1
    if rank == 0 or dof <= 0 or len(tested) == 0:
        return r2, significant
    r2_tested = r2[tested]
    with np.errstate(divide="ignore"):
        f_statistic = (r2_tested / rank) / (1.0 - r2_tested) * dof
    p_values = fdtrc(rank, dof, f_statistic)  # the F distribution's survival function
    significant[tested] = p_values < alpha / len(tested)
    return r2, significant


def credit_order(scores, sources, r2, substitutes, rounds=None):
    """The sources by score, then their substitutes (by round, then ``R^2``), then the rest by score.

    Ties keep the earlier column.
    """
    scores = np.asarray(scores, dtype=np.float64)
    d = len(scores)
    source_mask = np.zeros(d, dtype=bool)
    source_mask[np.asarray(sources, dtype=np.int64)] = True
    substitute_mask = substitutes & ~source_mask
    tier = np.where(source_mask, 0, np.where(substitute_mask, 1, 2))
    found = np.zeros(d, dtype=np.int64) if rounds is None else np.where(substitute_mask, rounds, 0)
    within = np.where(substitute_mask, -r2, -scores)
    return np.lexsort((np.arange(d), within, found, tier))


def credited_order(X, weights, scores, sources):
    """The estimators' entry point: ``(order, r2, substitutes)``.

    ``sources`` None means no credit: the order is by ``scores`` alone (ties
    keep the earlier column), ``r2`` is NaN and no column is a substitute.
    """
    scores = np.asarray(scores, dtype=np.float64)
    d = len(scores)
    if sources is None:
        return np.lexsort((np.arange(d), -scores)), np.full(d, np.nan), np.zeros(d, dtype=bool)
    r2, substitutes, rounds = find_substitutes(X, weights, sources)
    return credit_order(scores, sources, r2, substitutes, rounds), r2, substitutes


#: How far above the crowd a column's importance must stand to lend credit to its
#: substitutes (robust standard deviations above the median importance). Among
#: hundreds of noise columns many pass a low bar: DropConnect's MADELON-like
#: importances had 34-55 such sources at 3 (precision@20 after the credit 0.80-0.90),
#: 14-20 at 5 (0.90-0.95) and 4-9 at 8 (1.00); breast cancer + probes was 1.00 at 5
#: and 8 (benchmarks/study_importance_credit.py, seeds 0-2).
SOURCE_Z = 8.0

#: The parameter's documentation, shared by the estimators whose importances take the credit.
CREDIT_PARAMETER_DOC = f"""credit_substitutes : bool, default=True
        Credit the *substitutes* of the most important columns in
        ``feature_importances_``: a network that sees two copies of a signal
        uses one, and the other's importance sinks among the noise
        (RandomForest and Boruta credit both). The *sources* are the columns
        whose importance stands out (more than {SOURCE_Z:g} robust standard deviations
        above the median importance; the most important column when none
        does); a column that a linear regression on the sources (and the
        substitutes found so far) predicts, by an F-test at family-wise level
        {FAMILY_WISE_LEVEL:.1%}, is a substitute. A substitute's importance is raised to lie
        between the largest importance of the uncredited columns and the
        largest of the sources, by its ``R^2``, and the importances are
        normalised to sum to 1 again; the network's own importances stay in
        ``uncredited_importances_``. False leaves them as the network gives them.
"""

#: The attributes the credit adds, documented once for those estimators.
CREDIT_ATTRIBUTES_DOC = """
    uncredited_importances_ : ndarray of shape (n_features_in_,)
        The network's own importances, before the credit
        (``credit_substitutes`` only).
    substitutes_ : ndarray of bool, shape (n_features_in_,)
        The columns credited as substitutes (``credit_substitutes`` only).
    substitution_r2_ : ndarray of shape (n_features_in_,)
        Each column's ``R^2`` on the sources (1 for them) and the substitutes
        found before it (``credit_substitutes`` only; NaN when the
        importances are all 0)."""


def standing_out(scores, z):
    """Mask of the scores more than ``z`` robust standard deviations above their median.

    The median and the MAD of all scores describe a column without signal
    (most columns earn nothing). None when there are fewer than 10 scores or
    their MAD is 0: the crowd cannot be described.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 10:
        return None
    center = np.median(scores)
    spread = 1.4826 * np.median(np.abs(scores - center))
    if not spread > 0:
        return None
    return scores > center + z * spread


def credited_importances(X, weights, importances, z=SOURCE_Z):
    """Importances with the substitutes of the standing-out columns credited.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        The (standardised) training rows.
    weights : torch.Tensor of shape (n_samples,) or (n_samples, n_tasks)
        Row weights; per-task weights (multi-task TabNet) count as their mean.
    importances : array-like of shape (n_features,)
        Non-negative importances of the network.
    z : float
        Sources are the columns that stand out by ``z`` (:func:`standing_out`);
        the most important column when none does.

    Returns
    -------
    credited : ndarray of shape (n_features,)
        Sums to 1 (all zeros when ``importances`` are). Sources and the other
        columns keep their importance; a substitute ``j`` gets
        ``max(importances[j], low + R^2_j (high - low))``, ``high`` the
        largest importance of a source and ``low`` the largest of a column
        that is neither source nor substitute: every substitute ranks above
        every uncredited column, and among the sources by its ``R^2``.
    r2, substitutes : ndarray of shape (n_features,)
        As :func:`find_substitutes` returns them.
    """
    importances = np.asarray(importances, dtype=np.float64)
    d = len(importances)
    if d == 0 or not importances.max() > 0:
        return importances.copy(), np.full(d, np.nan), np.zeros(d, dtype=bool)
    standing = standing_out(importances, z)
    if standing is None or not standing.any():
        sources = np.array([int(np.argmax(importances))])
    else:
        sources = np.flatnonzero(standing)
    if weights.ndim > 1:
        weights = weights.mean(dim=1)
    r2, substitutes, _ = find_substitutes(X, weights, sources)  # never marks a source
    credited = importances.copy()
    if substitutes.any():
        # Above every uncredited column, below the strongest source: a noise column that
        # stands out as a source does not push the substitutes below it.
        high = importances[sources].max()
        rest = np.ones(d, dtype=bool)
        rest[sources] = False
        rest &= ~substitutes
        low = importances[rest].max() if rest.any() else 0.0
        credited[substitutes] = np.maximum(
            importances[substitutes], low + r2[substitutes] * (high - low))
    return credited / credited.sum(), r2, substitutes
