"""Feature-ranking methods compared by ``bench_selection.py``.

``METHODS`` maps a display name to ``rank(X_train, y_train, random_state)``,
which returns one importance per column (higher = more important) as an
ndarray of shape (n_features,), or a dict ``{"importances": ..., **extra}``
whose extra keys (for example ``"chosen_k"`` or ``"C"``) are reported too.

Add a method by adding one entry to ``METHODS``; keep the dict flat. Peers
that need standardised columns fit the scaler on the training rows only
(``_standardized``). Peer imports happen inside the rank functions, so a
missing peer fails only its own rows of the benchmark.

Peer settings (chosen once here, not tuned per task):

- RandomForest: 300 trees, ``n_jobs=1``, impurity importances.
- mutual information: ``mutual_info_classif`` with default 3 neighbours.
- L1 logistic regression: ``C`` picked by ``LogisticRegressionCV`` among
  ``logspace(-3, 1, 9)`` with 3-fold stratified CV on ROC AUC (liblinear),
  rank = ``|coef|`` averaged over classes.
- pytorch-tabnet 4.1.0: default architecture, 30 epochs, no early stopping,
  ``batch_size = min(1024, max(64, n // 10))`` and
  ``virtual_batch_size = min(128, batch_size)``, so that small training sets
  still make several full batches per epoch (``drop_last=True`` drops a
  partial last batch and would drop the only batch if it were larger than
  the data).
- skgates TabNetClassifier: default architecture (n_d = n_a = 8, 3 steps, gamma
  1.3, lambda_sparse 1e-3), 25 epochs, ``batch_size = min(256, max(64, n // 10))``
  (more optimizer steps per epoch than batches of 1024), virtual batch
  ``min(128, batch_size)``, no gradient clipping (``clip_value=None``: with
  100 columns and 25 epochs, clipping at 1 learned slower and ranked worse);
  rank = ``feature_importances_`` (mean aggregate mask over the training rows).
- LassoNet 0.0.21: ``LassoNetClassifier`` with its defaults (one hidden layer
  of 100, ``M=10``, dense-to-sparse lambda path); rank =
  ``feature_importances_`` (the lambda at which each column leaves the model).
- STG 0.1.2: MLP (64, 32) ReLU, ``sigma=0.5``, ``lam=0.1``, Adam lr 1e-3,
  batch 256, at least 20 epochs and at least 2,000 optimizer steps; rank =
  ``get_gates("prob")``. Its ``random_state`` argument is ignored by STG, so
  torch is seeded in a forked RNG.
"""

import collections
import collections.abc
import math

import numpy as np
from sklearn.preprocessing import StandardScaler

from skgates import CancelOutSelector


def _standardized(X):
    """Fit a StandardScaler on the training rows; return float32 array."""
    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64)).astype(np.float32)


def _random_forest(X, y, rs):
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=300, n_jobs=1, random_state=rs)
    return forest.fit(X, y).feature_importances_


def _mutual_info(X, y, rs):
    from sklearn.feature_selection import mutual_info_classif

    return mutual_info_classif(np.asarray(X, dtype=np.float64), y, random_state=rs)


def _l1_logreg(X, y, rs):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    model = LogisticRegressionCV(
        Cs=np.logspace(-3, 1, 9), l1_ratios=[1.0], solver="liblinear", scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=rs), max_iter=1000,
        random_state=rs, use_legacy_attributes=False,
    )
    model.fit(_standardized(X).astype(np.float64), y)
    importances = np.abs(model.coef_).mean(axis=0)
    return {"importances": importances, "C": float(np.ravel(model.C_)[0]),
            "chosen_k": int(np.count_nonzero(importances))}


def _tabnet(X, y, rs):
    import torch
    from pytorch_tabnet.tab_model import TabNetClassifier

    X = _standardized(X)
    n = X.shape[0]
    batch_size = min(1024, max(64, n // 10))
    model = TabNetClassifier(seed=rs, verbose=0, device_name="cpu")
    with torch.random.fork_rng():
        model.fit(X, np.asarray(y), max_epochs=30, patience=0, batch_size=batch_size,
                  virtual_batch_size=min(128, batch_size), drop_last=True)
    return model.feature_importances_


def _skgates_tabnet(X, y, rs):
    from skgates import TabNetClassifier

    n = X.shape[0]
    batch_size = min(256, max(64, n // 10))
    model = TabNetClassifier(n_d=8, n_a=8, n_steps=3, max_epochs=25, batch_size=batch_size,
                             virtual_batch_size=min(128, batch_size), clip_value=None,
                             random_state=rs)
    return model.fit(X, y).feature_importances_


def _lassonet(X, y, rs):
    import torch
    from lassonet import LassoNetClassifier

    model = LassoNetClassifier(verbose=0, random_state=rs, torch_seed=rs, device="cpu")
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


def _taildropout_ranker(X, y, rs):
    from skgates import TailDropoutRanker

    ranker = TailDropoutRanker(random_state=rs).fit(X, y)
    # The order sorts the Shapley values; -ranking_ is the same order with no ties among zeros.
    return {"importances": -ranker.ranking_.astype(np.float64), "chosen_k": int(ranker.n_features_)}


METHODS = {
    "CancelOutSelector": lambda X, y, rs: CancelOutSelector(random_state=rs).fit(X, y).feature_importances_,
    "RandomForest": _random_forest,
    "mutual-info": _mutual_info,
    "L1-logreg": _l1_logreg,
    "pytorch-tabnet": _tabnet,
    "TabNetClassifier": _skgates_tabnet,
    "LassoNet": _lassonet,
    "STG": _stg,
    "TailDropoutRanker": _taildropout_ranker,
}
