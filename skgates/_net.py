"""The skorch side of the bridge: a net that adds penalties, and a fast batch loader.

Nothing here knows about scikit-learn; :mod:`skgates._base` builds these objects.
"""

from collections.abc import Mapping

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, GradientNormClipping
from skorch.utils import to_tensor
from torch.utils.data import Subset


class TensorBatchLoader:
    """Yield mini-batches by slicing whole tensors, with no per-row Python.

    skorch hands its iterator a :class:`skorch.dataset.Dataset` (or a
    :class:`torch.utils.data.Subset` of one after its validation split).
    ``torch.utils.data.DataLoader`` would index and collate that dataset row by
    row; this loader indexes the underlying tensors once per batch instead.
    ``X`` may be a tensor or a dict of tensors with one row per sample (the
    bridge passes ``{"X": ..., "sample_weight": ...}``).

    A trailing batch of a single row is merged into the previous batch, so
    layers that need batch statistics (BatchNorm) never see a batch of one
    unless the whole data set is one row.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset
        Holds ``X`` (tensor or dict of tensors) and ``y`` (tensor or None).
    batch_size : int
        Rows per batch.
    shuffle : bool, default=False
        Draw a new permutation (from torch's global RNG) on every pass.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.X, self.y = _tensors_of(dataset)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle

    def _n_rows(self):
        return len(next(iter(self.X.values()))) if isinstance(self.X, dict) else len(self.X)

    def _bounds(self):
        n = self._n_rows()
        starts = list(range(0, n, self.batch_size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n]))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        n = self._n_rows()
        device = _first_tensor(self.X).device
        order = torch.randperm(n, device=device) if self.shuffle else None
        for start, stop in self._bounds():
            rows = slice(start, stop) if order is None else order[start:stop]
            yield _take(self.X, rows), _take(self.y, rows)


def _first_tensor(X):
    return next(iter(X.values())) if isinstance(X, dict) else X


def _take(data, rows):
    """Rows of a tensor, of every tensor of a dict, or None."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {key: _take(value, rows) for key, value in data.items()}
    if isinstance(rows, torch.Tensor) and isinstance(data, torch.Tensor):
        return data.index_select(0, rows)  # (a few times faster than data[rows] on CPU)
    return data[rows]


def _tensors_of(dataset):
    """Return the ``(X, y)`` tensors behind a skorch Dataset or a Subset of one."""
    if isinstance(dataset, Subset):
        X, y = _tensors_of(dataset.dataset)
        rows = torch.as_tensor(dataset.indices, device=_first_tensor(X).device)
        return _take(X, rows), _take(y, rows)
    X, y = dataset.X, dataset.y
    if not isinstance(_first_tensor(X), torch.Tensor):
        raise TypeError(
            "TensorBatchLoader needs X as a torch.Tensor (or a dict of them), got "
            f"{type(X).__name__}; the skgates bridge converts data before fitting."
        )
    return X, y


class HeldOutRows:
    """A skorch ``train_split`` that holds out given rows (indices only, no data).

    Parameters
    ----------
    train_rows, valid_rows : array-like of int
        Row positions of the training and validation parts.
    """

    def __init__(self, train_rows, valid_rows):
        self.train_rows = [int(i) for i in train_rows]
        self.valid_rows = [int(i) for i in valid_rows]

    def __call__(self, dataset, y=None, groups=None):
        return Subset(dataset, self.train_rows), Subset(dataset, self.valid_rows)


class TrainingInterrupted(BaseException):
    """Raised through skorch (which swallows ``KeyboardInterrupt``) when training is interrupted."""


class NonFiniteLoss(FloatingPointError):
    """The loss of a batch was NaN or infinite.

    Attributes
    ----------
    epoch : int
        1-based epoch in which it happened.
    training : bool
        Whether it was the training loss (else the validation loss).
    value : float
    """

    def __init__(self, epoch, training, value):
        super().__init__(f"non-finite {'training' if training else 'validation'} loss {value} "
                         f"at epoch {epoch}")
        self.epoch, self.training, self.value = epoch, training, value


class PenalizedNet(NeuralNet):
    """A skorch ``NeuralNet`` with row weights, regularisers and no silent failure.

    ``X`` is a dict ``{"X": inputs, "sample_weight": weights}``; the module
    sees only the inputs. The criterion returns per-row losses
    (``reduction="none"``; a scalar criterion is used as it is) and the loss of
    a batch is their weighted mean ``sum(w * loss) / sum(w)``, so a weight of 0
    removes a row and an integer weight repeats it. Weights of shape
    ``(n, k)`` weigh the ``k`` columns of a criterion returning ``(n, k)``
    losses (the tasks of a multi-task classifier) separately: the loss is the
    mean over columns of each column's weighted mean. During training the loss
    adds::

        module.penalty() + sum(term(module, X) for term in penalties)

    ``module.penalty()`` is the network's own regulariser (CancelOut's gate
    sparsity, TabNet's mask entropy), computed from the forward pass that
    produced ``y_pred``. ``penalties`` are extra terms the estimator adds
    (for example the contractive penalty); each is a callable
    ``term(module, X) -> scalar tensor``. Validation losses are the weighted
    task loss only, so early stopping watches the task and not the regulariser.

    A non-finite loss raises :class:`NonFiniteLoss`; a ``KeyboardInterrupt``
    during training (other than the one skorch's ``EarlyStopping`` raises to
    stop) is re-raised as :class:`TrainingInterrupted`, because skorch's
    ``partial_fit`` would swallow it and return a half-trained net.
    With ``compile=True`` only the module is compiled, not the criterion, and
    the compiled module runs only training batches of the shape of the first
    one (see :meth:`_module_for`); other batches run the module uncompiled.

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

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping):
            x = x["X"]
        module = self._module_for(x)
        if module is self.module_:
            return super().infer(x, **fit_params)
        return module(to_tensor(x, device=self.device), **fit_params)

    def _module_for(self, x):
        """The compiled module for training batches of the first size it trained on, else eager.

        Every new batch shape (a shorter last batch, the validation batches in eval
        mode) would cost ``torch.compile`` a new graph, forward and backward, which
        takes as long to build as the main one; those few batches run the same
        module uncompiled instead.
        """
        module = self.module_
        original = getattr(module, "_orig_mod", None)
        if original is None or not torch.is_tensor(x):
            return module
        if not module.training:
            return original
        key = (id(original), tuple(x.shape))
        if getattr(self, "_compiled_shape", None) is None or self._compiled_shape[0] != key[0]:
            self._compiled_shape = key
        return module if self._compiled_shape == key else original

    def get_loss(self, y_pred, y_true, X=None, training=False):
        inputs, weights = (X["X"], X["sample_weight"]) if isinstance(X, Mapping) else (X, None)
        losses = self.criterion_(y_pred, y_true)
        if losses.ndim == 0 or weights is None:
            loss = losses.mean()
        elif weights.ndim == 2:
            # one weight per row and loss column (a task's class weights): the mean over
            # columns of each column's weighted mean over rows
            per_column = losses.reshape(len(losses), -1)
            totals = weights.sum(dim=0).clamp_min(torch.finfo(weights.dtype).tiny)
            loss = ((per_column * weights).sum(dim=0) / totals).mean()
        else:
            per_row = losses.reshape(len(losses), -1).mean(dim=1)
            loss = (per_row * weights).sum() / weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)
        if training:
            own_penalty = getattr(self.module_, "penalty", None)
            if callable(own_penalty):
                loss = loss + own_penalty()
            for term in self.penalties:
                loss = loss + term(self.module_, inputs)
        if not torch.isfinite(loss.detach()):
            raise NonFiniteLoss(len(self.history), training, float(loss.detach()))
        return loss

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as error:
            if self._stopped_early():
                raise  # skorch's EarlyStopping stops training by raising KeyboardInterrupt
            raise TrainingInterrupted() from error

    def _stopped_early(self):
        return any(isinstance(callback, EarlyStopping)
                   and getattr(callback, "misses_", 0) >= callback.patience
                   for _, callback in self.callbacks_)

    def torch_compile(self, module, name):
        return super().torch_compile(module, name) if name == "module" else module

    def _set_training(self, training=True):
        # skorch calls this before every batch, and ``Module.train`` walks every submodule
        # (TabNet has about 80: a sizeable share of a small network's step), so a module
        # already in the requested mode is left as it is.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != bool(training):
                module.train(training)


class ParameterListClipping(GradientNormClipping):
    """skorch's :class:`~skorch.callbacks.GradientNormClipping` with less work per batch.

    Clips the gradients of the net's learnable parameters
    (``net.get_all_learnable_params()``) to total norm ``gradient_clip_value``
    with the scaling of ``torch.nn.utils.clip_grad_norm_`` (every gradient times
    ``min(1, max_norm / (norm + 1e-6))``), but the parameter list is collected
    once per training run (``on_train_begin``) instead of walking the modules
    after every batch, and the 2-norm is taken of all gradients at once (equal
    to the norm of the per-parameter norms up to rounding).

    Parameters
    ----------
    gradient_clip_value : float or None, default=None
        Largest total gradient norm; None disables clipping.
    gradient_clip_norm_type : float, default=2
        Order of the norm.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.params_ = [param for _, param in net.get_all_learnable_params()]

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.params_ = None  # no references to the parameters outside a training run

    def __getstate__(self):
        # A run stopped by an exception skips on_train_end: a pickle must not carry a second
        # copy of the parameters (the net pickles its module apart), nor restore stale ones.
        return {**self.__dict__, "params_": None}

    def on_grad_computed(self, net, named_parameters, **kwargs):
        if self.gradient_clip_value is None:
            return
        params = getattr(self, "params_", None)
        if params is None:
            params = [param for _, param in named_parameters]
        if float(self.gradient_clip_norm_type) != 2.0:
            torch.nn.utils.clip_grad_norm_(params, self.gradient_clip_value,
                                           self.gradient_clip_norm_type)
            return
        grads = [param.grad for param in params if param.grad is not None]
        if not grads:
            return
        with torch.no_grad():
            total = torch.linalg.vector_norm(torch.cat([grad.reshape(-1) for grad in grads]))
            scale = torch.clamp(self.gradient_clip_value / (total + 1e-6), max=1.0)
            torch._foreach_mul_(grads, scale)
