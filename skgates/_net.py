"""The skorch side of the bridge: a net that adds penalties, and a fast batch loader.

Nothing here knows about scikit-learn; :mod:`skgates._base` builds these objects.
"""

import torch
from skorch import NeuralNet
from torch.utils.data import Subset


class TensorBatchLoader:
    """Yield mini-batches by slicing whole tensors, with no per-row Python.

    skorch hands its iterator a :class:`skorch.dataset.Dataset` (or a
    :class:`torch.utils.data.Subset` of one after its validation split).
    ``torch.utils.data.DataLoader`` would index and collate that dataset row by
    row; this loader indexes the underlying tensors once per batch instead.

    A trailing batch of a single row is merged into the previous batch, so
    layers that need batch statistics (BatchNorm) never see a batch of one
    unless the whole data set is one row.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset
        Holds tensors ``X`` and ``y`` (``y`` may be None).
    batch_size : int
        Rows per batch.
    shuffle : bool, default=False
        Draw a new permutation (from torch's global RNG) on every pass.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.X, self.y = _tensors_of(dataset)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle

    def _bounds(self):
        n = len(self.X)
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n]))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, device=self.X.device) if self.shuffle else None
        for start, stop in self._bounds():
            if order is None:
                rows = slice(start, stop)
            else:
                rows = order[start:stop]
            yield self.X[rows], (None if self.y is None else self.y[rows])


def _tensors_of(dataset):
    """Return the ``(X, y)`` tensors behind a skorch Dataset or a Subset of one."""
    if isinstance(dataset, Subset):
        X, y = _tensors_of(dataset.dataset)
        rows = torch.as_tensor(dataset.indices, device=X.device)
        return X[rows], (None if y is None else y[rows])
    X, y = dataset.X, dataset.y
    if not isinstance(X, torch.Tensor):
        raise TypeError(
            "TensorBatchLoader needs X as a torch.Tensor, got "
            f"{type(X).__name__}; the skgates bridge converts data before fitting."
        )
    return X, y


class PenalizedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training loss includes regularisers.

    During training the loss is::

        criterion(y_pred, y) + module.penalty() + sum(term(module, X) for term in penalties)

    ``module.penalty()`` is the network's own regulariser (CancelOut's gate
    sparsity, TabNet's mask entropy), computed from the forward pass that
    produced ``y_pred``. ``penalties`` are extra terms the estimator adds
    (for example the contractive penalty); each is a callable
    ``term(module, X) -> scalar tensor``. Validation losses are the plain
    criterion, so early stopping watches the task and not the regulariser.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    penalties : sequence of callables, default=()
        Extra loss terms, see above.
    """

    def __init__(self, *args, penalties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.penalties = penalties

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if not training:
            return loss
        own_penalty = getattr(self.module_, "penalty", None)
        if callable(own_penalty):
            loss = loss + own_penalty()
        for term in self.penalties:
            loss = loss + term(self.module_, X)
        return loss
