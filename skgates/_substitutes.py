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

Each round's statistics come from one pass over the rows (weighted
cross-products of the current sources with every column), on the device the
data live on, in float64 and in chunks of rows, so no ``n x d`` float64 copy is
made.
"""

import numpy as np
import torch
from scipy.special import fdtrc

_ROW_CHUNK = 16384
# At 5% one Syn fit in 12 credited a noise column (R^2 0.002 on 14,000 rows, p = 4e-4)
# and put it above weak relevant columns; true substitutes on MADELON-like and breast
# cancer had p-values below 1e-55, so a stricter level costs them nothing.
FAMILY_WISE_LEVEL = 0.001


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
    sources = np.asarray(sources, dtype=np.int64)
    w = weights.detach().to(torch.float64)
    total = float(w.sum())
    n_effective = total ** 2 / float((w ** 2).sum()) if total > 0 else 0.0
    d = X.shape[1]
    if len(sources) == 0 or total <= 0:
        return np.zeros(d), 0, n_effective
    index = torch.as_tensor(sources, device=X.device)
    sums = torch.zeros(d, dtype=torch.float64, device=X.device)
    squares = torch.zeros(d, dtype=torch.float64, device=X.device)
    cross = torch.zeros(len(sources), d, dtype=torch.float64, device=X.device)
    for start in range(0, len(X), _ROW_CHUNK):
        rows = X[start:start + _ROW_CHUNK].detach().to(torch.float64)
        w_rows = w[start:start + _ROW_CHUNK, None]
        weighted = rows * w_rows
        sums += weighted.sum(dim=0)
        squares += (weighted * rows).sum(dim=0)
        cross += weighted[:, index].T @ rows
    mean = sums / total
    # Covariances from the raw sums: the columns are standardised, so their means are
    # about 0 and nothing cancels catastrophically.
    cov = (cross / total - mean[index, None] * mean[None, :]).cpu().numpy()
    var = (squares / total - mean ** 2).cpu().numpy()
    cov_ss = cov[:, sources]
    values, vectors = np.linalg.eigh((cov_ss + cov_ss.T) / 2)
    keep = values > values.max() * len(sources) * np.finfo(np.float64).eps if values.max() > 0 \
        else np.zeros(len(values), dtype=bool)
    rank = int(keep.sum())
    if rank == 0:
        return np.zeros(d), 0, n_effective
    # explained variance of column j: c_j^T C_SS^+ c_j, with the pseudo-inverse's spectrum
    projected = (vectors[:, keep].T @ cov) / np.sqrt(values[keep])[:, None]
    explained = (projected ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(var > 1e-12 * max(var.max(), 1e-300), explained / var, 0.0)
    r2 = np.clip(r2, 0.0, 1.0)
    r2[sources] = 1.0
    return r2, rank, n_effective


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
    rounds = np.zeros(d, dtype=np.int64)
    r2_credited = np.zeros(d)
    current = sources
    for round_ in range(1, d + 1):
        r2, new = _significant(X, weights, current, alpha)
        if not new.any():
            break
        rounds[new] = round_
        r2_credited[new] = r2[new]
        current = np.union1d(sources, np.flatnonzero(rounds > 0))
    substitutes = rounds > 0
    r2 = np.where(substitutes, r2_credited, r2)
    r2[sources] = 1.0
    return r2, substitutes, rounds


def _significant(X, weights, sources, alpha):
    """``R^2`` on ``sources`` and the columns outside them whose ``R^2`` is significant."""
    r2, rank, n_effective = substitution_r2(X, weights, sources)
    significant = np.zeros(X.shape[1], dtype=bool)
    tested = np.setdiff1d(np.arange(X.shape[1]), sources)
    dof = n_effective - rank - 1
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
