"""Benchmark data sets whose relevant columns are known.

Each generator returns ``(X, y, relevant)``: the data, the targets and the
sorted indices of the columns that ``y`` depends on, so a ranking of the
columns can be scored (for example by precision at ``len(relevant)``).
"""

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_wine, make_classification, make_friedman1
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

_N_BASE = 11  # Syn1-Syn6 are defined on x1..x11.


def _f1(X):
    return X[:, 0] * X[:, 1]


def _f2(X):
    return np.sum(X[:, 2:6] ** 2, axis=1) - 4.0


def _f3(X):
    return -10.0 * np.sin(0.2 * X[:, 6]) + np.abs(X[:, 7]) + X[:, 8] + np.exp(-X[:, 9]) - 2.4


def _switch(first, second):
    return lambda X: np.where(X[:, 10] < 0, first(X), second(X))


# name -> (logit function f, 0-based relevant columns)
_SYN = {
    "syn1": (_f1, [0, 1]),
    "syn2": (_f2, [2, 3, 4, 5]),
    "syn3": (_f3, [6, 7, 8, 9]),
    "syn4": (_switch(_f1, _f2), [0, 1, 2, 3, 4, 5, 10]),
    "syn5": (_switch(_f1, _f3), [0, 1, 6, 7, 8, 9, 10]),
    "syn6": (_switch(_f2, _f3), [2, 3, 4, 5, 6, 7, 8, 9, 10]),
}

SYN_NAMES = tuple(_SYN)


def make_syn(name, n_samples=20000, n_noise=89, random_state=None):
    """Generate Syn1-Syn6 of the TabNet paper (Arik & Pfister, Table 1).

    As in the INVASE authors' generator: ``x ~ N(0, I_11)`` and
    ``P(y = 1 | x) = 1 / (1 + exp(f(x)))`` with

    - syn1: ``f = x1 * x2``
    - syn2: ``f = x3^2 + x4^2 + x5^2 + x6^2 - 4``
    - syn3: ``f = -10 sin(0.2 x7) + |x8| + x9 + exp(-x10) - 2.4``
    - syn4: syn1's ``f`` if ``x11 < 0`` else syn2's
    - syn5: syn1's ``f`` if ``x11 < 0`` else syn3's
    - syn6: syn2's ``f`` if ``x11 < 0`` else syn3's

    ``n_noise`` further ``N(0, 1)`` columns are appended after ``x11``.

    Parameters
    ----------
    name : {"syn1", "syn2", "syn3", "syn4", "syn5", "syn6"}
    n_samples : int, default=20000
    n_noise : int, default=89
        Extra noise columns (89 gives 100 columns in all).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 11 + n_noise)
    y : ndarray of shape (n_samples,) with values in {0, 1}
    relevant : ndarray of int
        0-based indices of the columns ``y`` depends on.
    """
    if name not in _SYN:
        raise ValueError(f"Unknown synthetic task {name!r}; expected one of {', '.join(SYN_NAMES)}.")
    if n_noise < 0:
        raise ValueError(f"n_noise must be >= 0, got {n_noise}.")
    rng = check_random_state(random_state)
    f, relevant = _SYN[name]
    X = rng.standard_normal((n_samples, _N_BASE + n_noise))
    p_positive = 1.0 / (1.0 + np.exp(f(X)))
    y = (rng.uniform(size=n_samples) < p_positive).astype(np.int64)
    return X, y, np.array(relevant)


def make_madelon_like(n_samples=2600, n_features=500, random_state=None):
    """A MADELON-like task: 20 relevant columns among ``n_features``.

    ``make_classification`` with 5 informative and 15 redundant columns
    (linear combinations of the informative ones), 16 clusters per class on
    the vertices of a hypercube and 1% flipped labels, not shuffled, so the
    relevant columns are the first 20.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    relevant : ndarray of int, ``arange(20)``
    """
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=5, n_redundant=15,
        n_clusters_per_class=16, flip_y=0.01, shuffle=False, random_state=random_state,
    )
    return X, y, np.arange(20)


def add_probes(X, n_probes, random_state=None):
    """Append ``n_probes`` columns of ``N(0, 1)`` noise to ``X``.

    Parameters
    ----------
    X : ndarray or pandas.DataFrame of shape (n_samples, n_features)
    n_probes : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_probed : same type as ``X``, shape (n_samples, n_features + n_probes)
        A DataFrame gets probe columns named ``probe_0``, ``probe_1``, ...
    relevant : ndarray of int
        ``arange(n_features)``: the original columns.
    """
    if n_probes < 0:
        raise ValueError(f"n_probes must be >= 0, got {n_probes}.")
    rng = check_random_state(random_state)
    n_samples, n_features = X.shape
    probes = rng.standard_normal((n_samples, n_probes))
    if isinstance(X, pd.DataFrame):
        names = [f"probe_{i}" for i in range(n_probes)]
        clash = set(names) & set(map(str, X.columns))
        if clash:
            raise ValueError(f"X already has columns named like probes: {sorted(clash)}.")
        X_probed = pd.concat([X, pd.DataFrame(probes, columns=names, index=X.index)], axis=1)
    else:
        X_probed = np.hstack([np.asarray(X, dtype=np.float64), probes])
    return X_probed, np.arange(n_features)


def load_cancer_with_probes(n_probes=120, random_state=None):
    """Breast cancer (standardised) with ``n_probes`` noise columns appended.

    Returns
    -------
    X : pandas.DataFrame of shape (569, 30 + n_probes)
        The 30 real columns keep their names; probes are ``probe_0``, ...
    y : ndarray of shape (569,)
    relevant : ndarray of int, ``arange(30)``
    """
    data = load_breast_cancer(as_frame=True)
    X = data.data
    X = pd.DataFrame(StandardScaler().fit_transform(X), columns=X.columns)
    X_probed, relevant = add_probes(X, n_probes, random_state=random_state)
    return X_probed, data.target.to_numpy(), relevant


def load_wine_with_probes(n_probes=52, random_state=None):
    """Wine (standardised, 3 classes) with ``n_probes`` noise columns appended.

    The multiclass counterpart of :func:`load_cancer_with_probes`: the 13
    real columns of scikit-learn's wine data (178 rows, 3 cultivars) are
    standardised over all rows and ``n_probes`` columns of ``N(0, 1)`` noise
    are appended (the default 52 keeps cancer + probes' four probes per real
    column). A ranking should put every real column above every probe; some
    real columns carry little information about the class, so this is a
    demanding target.

    Parameters
    ----------
    n_probes : int, default=52
    random_state : int, RandomState instance or None, default=None
        Draws the probes.

    Returns
    -------
    X : pandas.DataFrame of shape (178, 13 + n_probes)
        The 13 real columns keep their names; probes are ``probe_0``, ...
    y : ndarray of shape (178,) with values in {0, 1, 2}
    relevant : ndarray of int, ``arange(13)``

    See Also
    --------
    load_cancer_with_probes : The binary task built the same way.

    Examples
    --------
    >>> from skgates.datasets import load_wine_with_probes
    >>> X, y, relevant = load_wine_with_probes(n_probes=52, random_state=0)
    >>> X.shape, sorted(set(y.tolist())), relevant.tolist()[-1]
    ((178, 65), [0, 1, 2], 12)
    >>> list(X.columns[12:14])
    ['proline', 'probe_0']
    """
    data = load_wine(as_frame=True)
    X = data.data
    X = pd.DataFrame(StandardScaler().fit_transform(X), columns=X.columns)
    X_probed, relevant = add_probes(X, n_probes, random_state=random_state)
    return X_probed, data.target.to_numpy(), relevant


def make_friedman1_with_noise(n_samples=2000, n_noise=95, noise=1.0, random_state=None):
    """Friedman #1 regression with ``n_noise`` irrelevant columns.

    ``sklearn.datasets.make_friedman1`` with ``5 + n_noise`` columns drawn
    uniformly on ``[0, 1]``:
    ``y = 10 sin(pi x1 x2) + 20 (x3 - 0.5)^2 + 10 x4 + 5 x5 + noise * N(0, 1)``.
    Only the first five columns enter ``y``; they mix an interaction, a
    quadratic and two linear effects of different strength (``x5`` is the
    weakest), so a ranking must find non-linear and weak effects.

    Parameters
    ----------
    n_samples : int, default=2000
    n_noise : int, default=95
        Irrelevant columns (95 gives 100 columns in all, as the Syn tasks).
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to ``y``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 5 + n_noise)
    y : ndarray of shape (n_samples,)
    relevant : ndarray of int, ``arange(5)``

    Examples
    --------
    >>> from skgates.datasets import make_friedman1_with_noise
    >>> X, y, relevant = make_friedman1_with_noise(500, n_noise=15, random_state=0)
    >>> X.shape, y.shape, relevant.tolist()
    ((500, 20), (500,), [0, 1, 2, 3, 4])
    """
    if n_noise < 0:
        raise ValueError(f"n_noise must be >= 0, got {n_noise}.")
    X, y = make_friedman1(n_samples=n_samples, n_features=5 + n_noise, noise=noise,
                          random_state=random_state)
    return X, y, np.arange(5)


def fdr_and_power(support, relevant):
    """Number kept, false discovery rate and power of a selected set.

    Parameters
    ----------
    support : array-like of bool, shape (n_features,)
        The selected columns (for example ``selector.get_support()``).
    relevant : array-like of int
        Indices of the columns that matter.

    Returns
    -------
    n_selected : int
    fdr : float
        Selected irrelevant columns / selected columns; 0 when nothing is selected.
    power : float
        Selected relevant columns / relevant columns.

    Examples
    --------
    >>> from skgates.datasets import fdr_and_power
    >>> fdr_and_power([True, True, False, True], relevant=[0, 2])
    (3, 0.6666666666666666, 0.5)
    """
    support = np.asarray(support, dtype=bool).ravel()
    relevant = np.asarray(relevant, dtype=int)
    n_selected = int(support.sum())
    true = int(support[relevant].sum())
    fdr = (n_selected - true) / n_selected if n_selected else 0.0
    return n_selected, fdr, true / len(relevant)


def precision_at_k(importances, relevant):
    """Fraction of the ``k = len(relevant)`` most important columns that are relevant."""
    k = len(relevant)
    top = np.argsort(-np.asarray(importances, dtype=np.float64), kind="stable")[:k]
    return len(set(top.tolist()) & set(np.asarray(relevant).tolist())) / k
