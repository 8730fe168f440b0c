"""Permutation importance of a fitted skgates network, computed on its training tensors.

scikit-learn's :func:`~sklearn.inspection.permutation_importance` does the same through
``predict_proba`` on raw input; here the standardised tensors and the network's own
weighted training loss are used directly, and several permuted copies of the rows go
through the estimator's inference path together, so that it costs one eval-mode forward pass
per column over at most :data:`PERMUTATION_ROWS` rows.
"""

import numpy as np
import torch

#: Training rows (at most) whose loss the permutation importance measures.
PERMUTATION_ROWS = 2000
#: Permuted copies of the rows stacked into one call of the network's inference, at most this
#: many rows and this many input values (so a wide X does not make a huge stack).
_STACKED_ROWS = 16384
_STACKED_VALUES = 2 ** 24


def permutation_importances(estimator, data, random_state, max_rows=PERMUTATION_ROWS):
    """Rise of the network's training loss when each column is permuted among the rows.

    Parameters
    ----------
    estimator : skgates estimator
        A fitted skgates network estimator: its inference path (``_forward``:
        eval mode, batched) gives the outputs and its net's ``get_loss`` the
        weighted loss (sample and class weights as in training, no penalties).
    data : skgates._base.TrainingData
        Standardised training tensors; at most ``max_rows`` rows (drawn with
        ``random_state``) are used.
    random_state : int
        Seeds the rows and the permutation (one permutation shared by all columns).

    Returns
    -------
    importances : ndarray of shape (n_features,)
        Loss with column ``j`` permuted minus the loss of the intact rows;
        negative where permuting happened to lower the loss.
    """
    rng = np.random.RandomState(random_state)
    n_rows, n_features = data.X.shape
    if n_rows > max_rows:
        data = data.rows(np.sort(rng.choice(n_rows, max_rows, replace=False)))
        n_rows = max_rows
    X = data.X
    permuted = X[torch.as_tensor(rng.permutation(n_rows), device=X.device)]
    per_call = max(1, min(_STACKED_ROWS // n_rows, _STACKED_VALUES // (n_rows * n_features)))
    base = _losses(estimator, X, data)[0]
    importances = np.empty(n_features)
    for start in range(0, n_features, per_call):
        columns = torch.arange(start, min(start + per_call, n_features), device=X.device)
        stacked = X.repeat(len(columns), 1).view(len(columns), n_rows, n_features)
        stacked[torch.arange(len(columns), device=X.device), :, columns] = permuted[:, columns].T
        losses = _losses(estimator, stacked.view(-1, n_features), data)
        importances[start:start + len(columns)] = losses - base
    return importances


def _losses(estimator, X, data):
    """The weighted training loss of each block of ``len(data.X)`` consecutive rows of ``X``."""
    outputs = torch.as_tensor(estimator._forward(X, prepared=True), dtype=torch.float32, device=data.y.device)
    sample_weight = {"X": None, "sample_weight": data.weights}
    return np.array([float(estimator.net_.get_loss(block, data.y, X=sample_weight))
                     for block in outputs.split(len(data.X))])
