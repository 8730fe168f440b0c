"""The bridge between scikit-learn and skorch, shared by every skgates estimator.

An estimator subclasses :class:`BaseNetworkEstimator`, lists its parameters in
``__init__`` (storing them unchanged, as scikit-learn requires) and implements
``_build_module(n_features, n_outputs)``. The bridge does everything else:
validation, casting to float32, standardisation, target encoding, seeding,
building and fitting the skorch net (kept in ``net_``), penalties, early
stopping, progress bar and ``history_``.

Hooks a subclass may override:

- ``_build_module(n_features, n_outputs)`` (required): the ``torch.nn.Module``
  to train. Its ``forward`` maps a float32 batch ``(n, n_features)`` to
  ``(n, n_outputs)`` (logits for classification). An optional ``penalty()``
  method returns a scalar added to the training loss.
- ``_make_criterion()``: the loss; by default ``CrossEntropyLoss`` for
  classification and ``MSELoss`` otherwise.
- ``_extra_penalties()``: further loss terms ``term(module, X) -> tensor``.
- ``_default_contractive_layers`` (class attribute): fnmatch patterns over
  ``module.named_modules()`` naming the hidden layers that the contractive
  penalty counts when the estimator's ``contractive_layers`` is None. An
  estimator with parameters ``contractive`` (weight, default 0) and
  ``contractive_layers`` gets the penalty of :mod:`skgates.nn.contractive`
  added to its training loss by the bridge (in addition to
  ``_extra_penalties()``); the parameters are checked at fit.
- ``_check_params(n_features)``: validate estimator-specific parameters at fit.
- ``_validate_X(X, reset)``: turn input into a 2-D float array (default:
  :func:`sklearn.utils.validation.validate_data`).
- ``_standardize_inputs`` (class attribute): standardise columns before the
  network sees them (True by default, so results do not depend on column scale).
- ``_standardized_columns()``: indices of the columns to standardise (None, the
  default, means all of them); e.g. categorical codes must stay as they are.
- ``_task = "reconstruction"`` (class attribute): unsupervised training.
  ``fit(X)`` needs no ``y``: the target is the network's own (standardised)
  input ``X``, ``n_outputs_`` is the number of columns, and the criterion
  (``MSELoss`` unless ``_make_criterion`` says otherwise) is called as
  ``criterion(module_output, X)``; a module may return a tuple whose parts the
  estimator's criterion understands.
"""

import copy
import fnmatch
import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_scalar
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import ValidSplit

from ._net import PenalizedNet, TensorBatchLoader
from .nn.contractive import ContractivePenalty, check_layer_patterns, resolve_layers
from ._seeding import draw_seed, torch_seeded
from ._targets import check_enough_classes, encode_labels, resolve_task

#: Rows per batch when predicting; memory, not accuracy, sets it.
PREDICT_BATCH_SIZE = 8192


class BaseNetworkEstimator(BaseEstimator):
    """Base class of skgates estimators that train a PyTorch network through skorch.

    Not for direct use. Subclasses define the shared training parameters in
    their ``__init__``: ``max_epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``early_stopping``, ``validation_fraction``,
    ``n_iter_no_change``, ``device``, ``random_state``, ``verbose`` and
    ``callbacks``, with the meanings documented on each estimator.
    """

    _standardize_inputs = True
    _task = "auto"
    _default_contractive_layers = None

    # ------------------------------------------------------------------ hooks
    def _build_module(self, n_features, n_outputs):
        raise NotImplementedError

    def _make_criterion(self):
        if self.task_ == "classification":
            return torch.nn.CrossEntropyLoss()
        return torch.nn.MSELoss()

    def _extra_penalties(self):
        return []

    def _optimizer_param_groups(self):
        """``[(pattern, options)]`` for parameters whose optimizer options differ (e.g. lr)."""
        return []

    def _default_callbacks(self):
        """``[(name, skorch callback)]`` the estimator always uses (e.g. gradient clipping)."""
        return []

    def _optimizer_options(self):
        """Extra keyword arguments of the optimizer (e.g. ``{"foreach": True}``)."""
        return {}

    def _check_params(self, n_features):
        """Check estimator-specific parameters; called by ``fit`` before training."""

    def _standardized_columns(self):
        """Indices of the columns to standardise; None means every column."""
        return None

    def _validate_X(self, X, reset):
        return validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )

    # ------------------------------------------------------------- validation
    def _check_training_params(self):
        name = type(self).__name__
        check_scalar(self.max_epochs, "max_epochs", numbers.Integral, min_val=1)
        check_scalar(self.batch_size, "batch_size", numbers.Integral, min_val=1)
        check_scalar(self.lr, "lr", numbers.Real, min_val=0, include_boundaries="neither")
        check_scalar(self.weight_decay, "weight_decay", numbers.Real, min_val=0)
        check_scalar(
            self.validation_fraction, "validation_fraction", numbers.Real,
            min_val=0, max_val=1, include_boundaries="neither",
        )
        check_scalar(self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
        check_scalar(self.verbose, "verbose", numbers.Integral, min_val=0)
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise TypeError(f"{name}: early_stopping must be a bool, got {self.early_stopping!r}.")
        if self.callbacks is not None and not isinstance(self.callbacks, (list, tuple)):
            raise TypeError(
                f"{name}: callbacks must be a list of skorch callbacks (or None), "
                f"got {type(self.callbacks).__name__}."
            )
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"{name}: device {self.device!r} is not a torch device.") from error
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{name}: device {self.device!r} was asked for but CUDA is not available.")
        self._check_contractive_params()

    def _check_contractive_params(self):
        """Check ``contractive`` (a weight >= 0) and ``contractive_layers``, when present."""
        name = type(self).__name__
        weight = getattr(self, "contractive", 0.0)
        check_scalar(weight, "contractive", numbers.Real, min_val=0)
        if not np.isfinite(weight):
            raise ValueError(f"{name}: contractive must be a finite weight >= 0, got {weight!r}.")
        layers = getattr(self, "contractive_layers", None)
        if layers is not None:
            try:
                check_layer_patterns(layers)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{name}: {error}") from None

    def _contractive_penalties(self, module):
        """The contractive loss term for ``module`` (empty when ``contractive`` is 0)."""
        weight = getattr(self, "contractive", 0.0)
        if not weight > 0:
            return []
        name = type(self).__name__
        layers = getattr(self, "contractive_layers", None)
        if layers is None:
            layers = self._default_contractive_layers
        if layers is None:
            available = ", ".join(n for n, _ in module.named_modules() if n)
            raise ValueError(
                f"{name}: contractive > 0 needs contractive_layers (fnmatch patterns over the "
                f"network's module names); available module names: {available}."
            )
        try:
            resolve_layers(module, layers)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        return [ContractivePenalty(layers, weight=float(weight))]

    def _check_enough_rows(self, n_samples):
        name = type(self).__name__
        if n_samples < 2:
            raise ValueError(
                f"{name} needs at least 2 samples to train; got {n_samples} sample."
            )
        if self.early_stopping:
            n_valid = int(np.ceil(n_samples * self.validation_fraction))
            if n_valid < 1 or n_samples - n_valid < 2:
                raise ValueError(
                    f"{name}: {n_samples} samples are too few for early_stopping with "
                    f"validation_fraction={self.validation_fraction}; pass more data "
                    "or early_stopping=False."
                )

    # ------------------------------------------------------------------ data
    def _prepare_y(self, y, first_call, classes=None):
        """Validate and encode ``y``; on the first call also set ``classes_``/``n_outputs_``."""
        name = type(self).__name__
        if self.task_ == "classification":
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            if first_call:
                self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
                check_enough_classes(self.classes_, name)
                self.n_outputs_ = len(self.classes_)
            codes = encode_labels(y, self.classes_, name)
            return torch.as_tensor(codes, dtype=torch.long, device=self.device)
        y = np.asarray(y, dtype=np.float64)
        self._y_was_1d_ = y.ndim == 1 if first_call else self._y_was_1d_
        y2d = y.reshape(len(y), -1)
        if first_call:
            self.n_outputs_ = y2d.shape[1]
            self.target_scaler_ = StandardScaler().fit(y2d)
        elif y2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{name}: y has {y2d.shape[1]} outputs, but the network was fitted with "
                f"{self.n_outputs_}."
            )
        else:
            self.target_scaler_.partial_fit(y2d)
        return torch.as_tensor(self.target_scaler_.transform(y2d), dtype=torch.float32, device=self.device)

    # --------------------------------------------------------------- training
    def _make_net(self, module, n_samples, partial):
        callbacks = []
        if self.verbose > 0:
            callbacks.append(("progress_bar", ProgressBar()))
        train_split = None
        if self.early_stopping and not partial:
            callbacks.append((
                "early_stopping",
                EarlyStopping(monitor="valid_loss", patience=self.n_iter_no_change, load_best=True),
            ))
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=self.task_ == "classification" and self._can_stratify(n_samples),
                random_state=draw_seed(self.random_state),
            )
        callbacks.extend(self._default_callbacks())
        callbacks.extend(self.callbacks or [])
        return PenalizedNet(
            module=module,
            criterion=self._make_criterion(),
            penalties=[*self._extra_penalties(), *self._contractive_penalties(module)],
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            optimizer__param_groups=self._param_groups(module),
            **{f"optimizer__{key}": value for key, value in self._optimizer_options().items()},
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=min(self.batch_size, n_samples),
            iterator_train=TensorBatchLoader,
            iterator_train__shuffle=True,
            iterator_valid=TensorBatchLoader,
            iterator_valid__batch_size=PREDICT_BATCH_SIZE,
            train_split=train_split,
            callbacks=callbacks,
            predict_nonlinearity=None,
            verbose=int(self.verbose),
            device=self.device,
        )

    def _new_net(self):
        """An initialised, untrained net of the fitted architecture (for loading saved weights).

        Needs the fitted attributes that ``_build_module`` reads (``n_features_in_``,
        ``n_outputs_`` and any estimator-specific ones); the caller loads the weights.
        """
        module = self._build_module(self.n_features_in_, self.n_outputs_)
        net = self._make_net(module, n_samples=max(int(self.batch_size), 1), partial=True)
        return net.initialize()

    def _param_groups(self, module):
        """One skorch param group per parameter that differs from the defaults.

        Vectors (biases, norms, gates) get no weight decay; a subclass's
        ``_optimizer_param_groups()`` patterns add their own options.
        """
        special = self._optimizer_param_groups()
        groups = []
        for name, param in module.named_parameters():
            options = {}
            for pattern, pattern_options in special:
                if fnmatch.fnmatch(name, pattern):
                    options.update(pattern_options)
            if param.ndim < 2 and self.weight_decay != 0:
                # (with no weight decay at all, such a group would change nothing but speed)
                options["weight_decay"] = 0.0
            if options:
                groups.append((name, options))
        return groups

    def _can_stratify(self, n_samples):
        n_valid = int(np.ceil(n_samples * self.validation_fraction))
        counts = np.bincount(self._train_codes_)
        return n_valid >= len(self.classes_) and counts.min() >= 2

    def _fit_network(self, X, y):
        """Validate, build and train from scratch; the body of ``fit``."""
        self._check_training_params()
        X_checked = self._validate_X(X, reset=True)
        y_t = self._start_targets(X_checked, y, classes=None)
        self._check_params(self.n_features_in_)
        X_t = self._to_tensor(X_checked, reset=True)
        if self.task_ == "reconstruction":
            y_t = X_t
        self._train(X_t, y_t, partial=False)
        return self

    def _partial_fit_network(self, X, y, classes=None):
        """Train one more pass on a chunk, building the network on the first call."""
        first_call = not hasattr(self, "net_")
        if first_call:
            self._check_training_params()
            X_checked = self._validate_X(X, reset=True)
            if classes is not None:
                if getattr(self, "task", self._task) == "regression":
                    raise ValueError(
                        f"{type(self).__name__}: classes is only meaningful for classification, "
                        "but task='regression'."
                    )
                self.task_ = "classification"
            y_t = self._start_targets(X_checked, y, classes=classes, task_known=classes is not None)
            self._check_params(self.n_features_in_)
            X_t = self._to_tensor(X_checked, reset=True)
            if self.task_ == "reconstruction":
                y_t = X_t
            self._train(X_t, y_t, partial=True)
            return self
        X_checked = self._validate_X(X, reset=False)
        if self.task_ == "reconstruction":
            X_t = self._to_tensor(X_checked, reset=False, update_scaler=True)
            y_t = X_t
        else:
            y = _check_y(y, self.task_ == "regression", type(self).__name__, len(X_checked))
            y_t = self._prepare_y(y, first_call=False)
            X_t = self._to_tensor(X_checked, reset=False, update_scaler=True)
        with torch_seeded(draw_seed(self._partial_rng_), self.device):
            self.net_.partial_fit(X_t, y_t, epochs=1)
        self.history_ = _history_frame(self.net_.history)
        return self

    def _start_targets(self, X_checked, y, classes, task_known=False):
        name = type(self).__name__
        if self._task == "reconstruction":
            # Unsupervised: y is ignored, the target is X (set once X is a tensor).
            self.task_ = "reconstruction"
            self._check_enough_rows(len(X_checked))
            self.n_outputs_ = X_checked.shape[1]
            return None
        if not task_known:
            requested = getattr(self, "task", self._task)
            if y is None:
                raise ValueError(f"{name} requires y to be passed, but the target y is None.")
            self.task_ = resolve_task(requested, y, name)
        y = _check_y(y, self.task_ == "regression", name, len(X_checked))
        self._check_enough_rows(len(X_checked))
        y_t = self._prepare_y(y, first_call=True, classes=classes)
        if self.task_ == "classification":
            self._train_codes_ = y_t.cpu().numpy()
        return y_t

    def _to_tensor(self, X_checked, reset, update_scaler=False):
        columns = self._standardized_columns() if self._standardize_inputs else None
        if self._standardize_inputs and columns is not None and len(columns) == 0:
            if reset:
                self.input_scaler_ = None  # nothing to standardise
        elif self._standardize_inputs:
            part = X_checked if columns is None else X_checked[:, columns]
            if reset:
                self.input_scaler_ = StandardScaler().fit(part)
            elif update_scaler:
                self.input_scaler_.partial_fit(part)
            part = self.input_scaler_.transform(part)
            if columns is None:
                X_checked = part
            else:
                X_checked = np.array(X_checked, dtype=np.float64)
                X_checked[:, columns] = part
        return torch.as_tensor(np.ascontiguousarray(X_checked, dtype=np.float32), device=self.device)

    def _train(self, X_t, y_t, partial):
        seed = draw_seed(self.random_state)
        # Later partial_fit calls draw their seeds from here, so a stream is reproducible.
        self._partial_rng_ = np.random.RandomState(seed)
        with torch_seeded(seed, self.device):
            module = self._build_module(X_t.shape[1], self.n_outputs_)
            self.net_ = self._make_net(module, len(X_t), partial)
            if partial:
                self.net_.initialize()
                self.net_.partial_fit(X_t, y_t, epochs=1)
            else:
                self.net_.fit(X_t, y_t)
        self.history_ = _history_frame(self.net_.history)
        if hasattr(self, "_train_codes_"):
            del self._train_codes_

    # -------------------------------------------------------------- inference
    def _inference_module(self):
        """The fitted network, unwrapped from ``torch.compile``.

        Inference runs eager: with ``compile=True`` only training is compiled,
        since eval-mode graphs for other batch sizes cost more to compile than
        they save.
        """
        check_is_fitted(self, "net_")
        module = self.net_.module_
        return getattr(module, "_orig_mod", module)

    def _forward(self, X, float64=False):
        """Network outputs for ``X`` in eval mode, as a float64 array ``(n_samples, n_outputs)``.

        With ``float64=True`` a float64 copy of the network computes them, so a
        row's output does not depend on the rows batched with it (float32
        matrix products differ in the last bits between batch sizes). Sampling
        inside the network (DropConnect's Gaussian inference) is seeded by
        ``random_state``. A module returning a tuple contributes its first part.
        """
        module = self._inference_module()
        X_t = self._to_tensor(self._validate_X(X, reset=False), reset=False)
        if float64:
            X_t = X_t.double()
            module = copy.deepcopy(module).double()
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), torch_seeded(draw_seed(self.random_state), self.device):
                parts = [_prediction_part(module(X_t[start:start + PREDICT_BATCH_SIZE]))
                         for start in range(0, len(X_t), PREDICT_BATCH_SIZE)]
        finally:
            module.train(was_training)
        return torch.cat(parts).cpu().numpy().astype(np.float64)

    def _probabilities(self, logits):
        """Class probabilities (softmax over the last axis) of network logits."""
        logits = logits - logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def _labels(self, logits):
        """Original class labels of the largest logits."""
        return self.classes_[np.argmax(logits, axis=1)]

    def _targets(self, outputs):
        """Regression outputs mapped back to the targets' scale and shape."""
        targets = self.target_scaler_.inverse_transform(outputs).astype(np.float64)
        return targets.ravel() if self._y_was_1d_ else targets

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._task != "reconstruction"
        tags.input_tags.allow_nan = False
        return tags


def _check_y(y, regression, estimator_name, n_samples=None):
    """Check targets: no NaN/inf for regression, 1-D labels for classification."""
    if y is None:
        raise ValueError(f"{estimator_name} requires y to be passed, but the target y is None.")
    if regression:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"{estimator_name}: regression targets must be numeric; got dtype {y.dtype}."
                ) from error
        y = y.astype(np.float64)
        if y.ndim > 2:
            raise ValueError(f"{estimator_name}: y must be 1-D or 2-D, got {y.ndim} dimensions.")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{estimator_name}: Input y contains NaN or infinity.")
    else:
        y = column_or_1d(y, warn=True)
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError(f"{estimator_name}: Input y contains NaN or infinity.")
        if y.dtype.kind == "O" and pd.isna(y).any():
            raise ValueError(f"{estimator_name}: Input y contains NaN or None labels.")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(
            f"{estimator_name}: X has {n_samples} samples but y has {len(y)}; they must match."
        )
    return y


def _prediction_part(output):
    """The prediction part of a network output (a pretraining network returns a tuple)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def _history_frame(history):
    """One row per epoch: ``epoch``, ``train_loss`` and, if any, ``valid_loss``."""
    columns = ["epoch", "train_loss", "valid_loss"]
    rows = [{key: row[key] for key in columns if key in row} for row in history]
    return pd.DataFrame(rows, columns=[c for c in columns if any(c in r for r in rows)])


def check_hidden_layer_sizes(sizes, estimator_name):
    """Check ``hidden_layer_sizes`` is a sequence of positive ints."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(
            f"{estimator_name}: hidden_layer_sizes must be a sequence of ints, got {sizes!r}."
        ) from None
    if not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
        raise ValueError(
            f"{estimator_name}: hidden_layer_sizes must hold positive ints, got {sizes!r}."
        )
