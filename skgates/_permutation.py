"""Permutation importance of a fitted skgates network, computed on its training tensors.

scikit-learn's :func:`~sklearn.inspection.permutation_importance` does the same through
``predict_proba`` on raw input; here the standardised tensors and the network's own
weighted training loss are used directly, and several permuted copies of the rows go
through the network in one batch, so that it costs one eval-mode forward pass per column
over at most :data:`PERMUTATION_ROWS` rows.
"""

import numpy as np
import torch

#: Training rows (at most) whose loss the permutation importance measures.
PERMUTATION_ROWS = 2000
#: Rows sent through the network in one forward pass (permuted copies stacked).
_STACKED_ROWS = 16384


def permutation_importances(net, module, data, random_state, max_rows=PERMUTATION_ROWS):
    """Mean rise of the network's training loss when each column is permuted among the rows.

    Parameters
    ----------
    net : skgates._net.PenalizedNet
        The fitted net; its ``get_loss`` gives the weighted loss (sample and
        class weights as in training, without penalties).
    module : torch.nn.Module
        The network (eval mode is set here and restored).
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
    X, y, weights = data.X, data.y, data.weights
    order = torch.as_tensor(rng.permutation(n_rows), device=X.device)
    per_pass = max(1, _STACKED_ROWS // n_rows)
    was_training = module.training
    module.eval()
    importances = np.empty(n_features)
    try:
        with torch.no_grad():
            base = _loss(net, module, X, y, weights, 1)[0]
            for start in range(0, n_features, per_pass):
                columns = torch.arange(start, min(start + per_pass, n_features),
                                       device=X.device)
                stacked = X.repeat(len(columns), 1).view(len(columns), n_rows, n_features)
                copies = torch.arange(len(columns), device=X.device)
                stacked[copies, :, columns] = X[order][:, columns].T
                losses = _loss(net, module, stacked.view(-1, n_features), y, weights,
                               len(columns))
                importances[start:start + len(columns)] = np.asarray(losses) - base
    finally:
        module.train(was_training)
    return importances


def _loss(net, module, X, y, weights, copies):
    """The weighted loss of each of ``copies`` consecutive blocks of rows of ``X``."""
    output = module(X)
    output = output[0] if isinstance(output, (tuple, list)) else output
    n_rows = len(y)
    return [float(net.get_loss(block, y, X={"X": None, "sample_weight": weights}))
            for block in output.split(n_rows)][:copies]
