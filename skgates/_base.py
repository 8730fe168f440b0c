"""The bridge between scikit-learn and skorch, shared by every skgates estimator.

An estimator subclasses :class:`BaseNetworkEstimator`, declares its own
parameters in ``_parameter_constraints`` (merged with the base table), stores
them in a keyword-only ``__init__`` that passes the shared training vocabulary
to the base ``__init__``, and implements ``_build_module(n_features,
n_outputs)``. The bridge does everything else, for ``fit`` and
``partial_fit`` alike: parameter validation, input validation, robust
standardisation, target encoding, sample and class weights, seeding, building
and training the skorch net (kept in ``net_``), penalties, early stopping,
progress bar, ``history_``, batched inference, and the failures that must not
pass silently (a non-finite loss, Ctrl-C, a device that cannot run).

Hooks a subclass may override:

- ``_build_module(n_features, n_outputs)`` (required): the ``torch.nn.Module``
  to train. Its ``forward`` maps a float32 batch ``(n, n_features)`` to
  ``(n, n_outputs)`` (logits for classification). An optional ``penalty()``
  method returns a scalar added to the training loss. Layers check their own
  arguments; the bridge prefixes their errors with the estimator's name.
- ``_check_params(n_features)``: checks that involve the data or several
  parameters (single parameters are declared in ``_parameter_constraints``).
- ``_make_criterion()``: the loss, returning per-row losses
  (``reduction="none"``); by default cross-entropy for classification and
  squared error otherwise.
- ``_extra_penalties()``: further loss terms ``term(module, X) -> tensor``.
- ``_train_network(data)``: the training phases of ``fit``; by default one
  network trained for ``max_epochs`` (``TailDropoutRanker`` runs several
  phases through :meth:`_new_training_net` and :meth:`_train_net`).
- ``_after_training(data, first_call)``: work after ``fit`` or each
  ``partial_fit`` (importances computed on the training data, say).
- ``_network_outputs()``: the network's output width (default ``n_outputs_``;
  a multi-task classifier's is the sum of its tasks' classes).
- ``_default_callbacks()``, ``_optimizer_param_groups()``,
  ``_optimizer_options()``, ``_compiled()``: skorch settings.
- ``_validate_X(X, reset)``: turn input into a 2-D float array.
- ``_standardized_columns()``: indices of the columns to standardise (None:
  all; categorical codes must stay as they are).
- ``_default_contractive_layers`` (class attribute): fnmatch patterns naming
  the hidden layers the contractive penalty counts when ``contractive_layers``
  is None.
- ``_task = "reconstruction"`` (class attribute): unsupervised training, the
  target is the network's own standardised input.
"""

import copy
import fnmatch
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight, check_is_fitted, column_or_1d, validate_data,
)
from skorch.callbacks import Callback, EarlyStopping, ProgressBar
from skorch.dataset import ValidSplit

from ._devices import check_device
from ._persistence import PicklableNetMixin
from ._net import (
    HeldOutRows, NonFiniteLoss, PenalizedNet, TensorBatchLoader, TrainingInterrupted,
)
from ._scaling import ColumnStandardizer
from ._scoring import ValidationScore, resolve_scorer
from ._seeding import draw_seed, torch_seeded
from ._targets import check_enough_classes, encode_labels, resolve_task
from .nn.contractive import ContractivePenalty, check_layer_patterns, resolve_layers

#: Rows per batch when predicting; memory, not accuracy, sets it.
PREDICT_BATCH_SIZE = 8192

#: Largest magnitude a standardised input may take (beyond it float32 is inf).
_FLOAT32_LIMIT = float(np.finfo(np.float32).max) / 2

#: The training vocabulary every network estimator shares, in signature order.
TRAINING_PARAMETERS = (
    "contractive", "contractive_layers", "max_epochs", "batch_size", "lr", "weight_decay",
    "early_stopping", "validation_fraction", "n_iter_no_change", "device", "random_state",
    "verbose", "callbacks",
)


def training_params(values):
    """The shared training parameters among ``values`` (a subclass ``__init__``'s ``locals()``)."""
    return {name: values[name] for name in TRAINING_PARAMETERS}


def _refuse_device_tensor(value, what, estimator_name):
    """Raise ``TypeError`` for a torch tensor outside the CPU memory (the estimator moves
    its data to ``device`` itself; numpy cannot read such a tensor)."""
    if isinstance(value, torch.Tensor) and value.device.type != "cpu":
        raise TypeError(
            f"{estimator_name}: {what} is a torch tensor on {value.device}; pass it on the CPU "
            f"({what}.cpu()), or as a NumPy array or a DataFrame: the estimator moves its data "
            "to its `device` itself."
        )


class BaseNetworkEstimator(PicklableNetMixin, BaseEstimator):
    """Base class of skgates estimators that train a PyTorch network through skorch.

    Not for direct use. Its ``__init__`` stores the shared training
    parameters (``TRAINING_PARAMETERS``), whose meanings are documented on
    each estimator.
    """

    _parameter_constraints = {
        "contractive": [Interval(Real, 0, np.inf, closed="left")],
        "contractive_layers": [str, list, tuple, None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, np.inf, closed="neither")],
        "weight_decay": [Interval(Real, 0, np.inf, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
        "scoring": [str, callable, None],
    }
    #: Constraints of ``class_weight``, for the estimators that train classifiers.
    _class_weight_constraint = [StrOptions({"balanced"}), dict, None]

    _standardize_inputs = True
    _task = "auto"
    _default_contractive_layers = None
    #: Every training call needs this many rows (2 for networks with batch statistics).
    _min_rows_per_call = 1

    def __init__(self, *, contractive, contractive_layers, max_epochs, batch_size, lr,
                 weight_decay, early_stopping, validation_fraction, n_iter_no_change, device,
                 random_state, verbose, callbacks):
        self.contractive = contractive
        self.contractive_layers = contractive_layers
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ hooks
    def _build_module(self, n_features, n_outputs):
        raise NotImplementedError

    def _check_params(self, n_features):
        """Checks involving the data or several parameters; called at the first fit call."""

    def _make_criterion(self):
        if self.task_ == "classification":
            return torch.nn.CrossEntropyLoss(reduction="none")
        return torch.nn.MSELoss(reduction="none")

    def _extra_penalties(self):
        return []

    def _optimizer_param_groups(self):
        """``[(pattern, options)]`` for parameters whose optimizer options differ (e.g. lr)."""
        return []

    def _default_callbacks(self):
        """``[(name, skorch callback)]`` the estimator always uses (e.g. gradient clipping)."""
        return []

    def _optimizer_options(self):
        """Extra keyword arguments of the optimizer (e.g. ``{"fused": True}``)."""
        return {}

    def _compiled(self):
        """Whether skorch should ``torch.compile`` the module (``compile`` parameter)."""
        return bool(getattr(self, "compile", False))

    def _standardized_columns(self):
        """Indices of the columns to standardise; None means every column."""
        return None

    def _validate_X(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                             ensure_min_samples=1)

    def _train_network(self, data):
        """Train ``net_`` on ``data`` for ``fit`` (one network, ``max_epochs``)."""
        self.net_ = self._new_training_net(data)
        self._train_net(self.net_, data, epochs=self.max_epochs)

    def _after_training(self, data, first_call):
        """Called after ``fit`` and after each ``partial_fit`` with the chunk's data."""

    def _chunk_epochs(self):
        """Passes over the chunk that one ``partial_fit`` call makes (one, as in scikit-learn)."""
        return 1

    def _network_outputs(self):
        """Width of the network's output (``n_outputs_``; a multi-task classifier differs)."""
        return self.n_outputs_

    # ----------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight=None, X_val=None, y_val=None, sample_weight_val=None):
        """The body of every ``fit``: validate, encode, train from scratch.

        ``X_val``/``y_val`` (and ``sample_weight_val``), when given, are the
        held-out rows of early stopping and scoring instead of a split of ``X``.
        """
        self._validate_params()
        self._reset()
        data = self._prepare(X, y, sample_weight, first_call=True, streaming=False)
        if X_val is not None or y_val is not None or sample_weight_val is not None:
            data = self._with_validation_data(data, X_val, y_val, sample_weight_val)
        self._warn_unused_scoring(has_held_out=self.early_stopping or data.held_out is not None)
        seed = draw_seed(self.random_state)
        # Later partial_fit calls draw their seeds from here, so a stream is reproducible.
        self._stream_rng_ = np.random.RandomState(seed)
        try:
            with torch_seeded(seed, self.device):
                self._train_network(data)
            if isinstance(self.net_.train_split, HeldOutRows):
                # Its row indices belong to this fit's data; later partial_fit calls split
                # their own.
                self.net_.train_split = None if not self.early_stopping else ValidSplit(
                    self.validation_fraction, random_state=draw_seed(self.random_state))
            # (inside the try: a Ctrl-C during the importances must not leave a fitted-looking
            # estimator without them)
            self._after_training(data, first_call=True)
        except BaseException:
            self._reset()
            raise
        return self

    def _partial_fit(self, X, y, classes=None, sample_weight=None):
        """The body of every ``partial_fit``: one pass over a chunk, building the net first."""
        self._validate_params()
        first_call = not hasattr(self, "net_")
        data = self._prepare(X, y, sample_weight, first_call=first_call, streaming=True,
                             classes=classes)
        if first_call:
            self._warn_unused_scoring(has_held_out=False)
            seed = draw_seed(self.random_state)
            self._stream_rng_ = np.random.RandomState(seed)
        else:
            seed = draw_seed(self._stream_rng_)
        try:
            with torch_seeded(seed, self.device):
                if first_call:
                    self.net_ = self._new_training_net(data, streaming=True)
                self._train_net(self.net_, data, epochs=self._chunk_epochs())
            self._after_training(data, first_call=first_call)
        except BaseException:
            if first_call:
                self._reset()
            raise
        return self

    def _warn_unused_scoring(self, has_held_out):
        if getattr(self, "scoring", None) is not None and not has_held_out:
            warnings.warn(
                f"{type(self).__name__}: scoring={self.scoring!r} has no effect without held-out "
                "rows; pass early_stopping=True or validation data (X_val, y_val) to fit "
                "(partial_fit holds out no rows).", UserWarning, stacklevel=3,
            )

    def _reset(self):
        """Forget a previous fit (fitted attributes end in ``_``)."""
        for name in [key for key in vars(self) if key.endswith("_") and not key.startswith("__")]:
            delattr(self, name)

    def _prepare(self, X, y, sample_weight, first_call, streaming, classes=None, update=True):
        """Validate and encode one call's data; on the first call also fit the encoders.

        Later calls update the scalers with their rows, unless ``update`` is False.
        """
        name = type(self).__name__
        if first_call:
            self.device_ = check_device(self.device, name)
        _refuse_device_tensor(X, "X", name)
        _refuse_device_tensor(y, "y", name)
        X_checked = self._validate_X(X, reset=first_call)
        n_rows = len(X_checked)
        if first_call:
            self._check_params(self.n_features_in_)
            self._check_enough_rows(n_rows, streaming)
        elif n_rows < self._min_rows_per_call:
            raise ValueError(
                f"{name} needs at least {self._min_rows_per_call} rows per training call "
                f"(batch statistics); got {n_rows}."
            )
        weights = _check_sample_weight(sample_weight, X_checked, dtype=np.float64,
                                       ensure_non_negative=True)
        y_t, codes = self._encode_targets(X_checked, y, first_call, classes, weights, update)
        weights = self._with_class_weights(weights, codes, streaming)
        # (per-task class weights (n, n_tasks) weigh the scaler's rows by their product,
        # scikit-learn's compute_sample_weight rule for multi-output targets)
        X_t = self._to_tensor(X_checked, fit=first_call, update=update and not first_call,
                              sample_weight=weights if weights.ndim == 1 else weights.prod(axis=1))
        weights = torch.as_tensor(weights, dtype=torch.float32, device=self.device_)
        return TrainingData(X_t, X_t if self.task_ == "reconstruction" else y_t, weights, codes)

    def _check_enough_rows(self, n_samples, streaming):
        name = type(self).__name__
        if n_samples < max(2, self._min_rows_per_call):
            raise ValueError(
                f"{name} needs at least 2 samples to train; got {n_samples} sample."
            )
        if self.early_stopping and not streaming:
            n_valid = int(np.ceil(n_samples * self.validation_fraction))
            if n_samples - n_valid < 2:
                raise ValueError(
                    f"{name}: {n_samples} samples are too few for early_stopping with "
                    f"validation_fraction={self.validation_fraction}; pass more data "
                    "or early_stopping=False."
                )

    def _with_validation_data(self, data, X_val, y_val, sample_weight_val):
        """``data`` followed by the user's validation rows, which become the held-out part."""
        name = type(self).__name__
        if X_val is None or (y_val is None and self._task != "reconstruction"):
            raise ValueError(f"{name}: pass X_val and y_val together (validation data).")
        try:
            valid = self._prepare(X_val, y_val, sample_weight_val, first_call=False,
                                  streaming=False, update=False)
        except ValueError as error:
            message = str(error)
            prefix = f"{name}: "
            raise ValueError(
                f"{prefix}the validation data do not match the training data: "
                f"{message[len(prefix):] if message.startswith(prefix) else message}"
            ) from error
        n, m = len(data.X), len(valid.X)
        combined = TrainingData(
            torch.cat([data.X, valid.X]),
            None if data.y is None else torch.cat([data.y, valid.y]),
            torch.cat([data.weights, valid.weights]),
            None if data.codes is None else np.concatenate([data.codes, valid.codes]),
        )
        if self.task_ == "reconstruction":
            combined.y = combined.X
        combined.held_out = HeldOutRows(np.arange(n), np.arange(n, n + m))
        return combined

    def _encode_targets(self, X_checked, y, first_call, classes, sample_weight, update=True):
        """``(targets tensor, class codes or None)``; sets ``task_``, ``classes_``, ``n_outputs_``."""
        name = type(self).__name__
        if self._task == "reconstruction":
            if first_call:
                self.task_ = "reconstruction"
                self.n_outputs_ = X_checked.shape[1]
            return None, None
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        if first_call:
            requested = getattr(self, "task", self._task)
            if classes is not None:
                if requested == "regression":
                    raise ValueError(f"{name}: classes is only meaningful for classification, "
                                     "but task='regression'.")
                requested = "classification"
            self.task_ = resolve_task(requested, y, name)
        y = _check_y(y, self.task_ == "regression", name, len(X_checked))
        if self.task_ == "classification":
            codes = self._class_codes(y, first_call, classes)
            return torch.as_tensor(codes, dtype=torch.long, device=self.device_), codes
        if classes is not None:
            raise ValueError(f"{name}: classes is only meaningful for classification.")
        y2d = y.reshape(len(y), -1)
        if first_call:
            self._y_was_1d_ = y.ndim == 1
            self.n_outputs_ = y2d.shape[1]
            self.target_scaler_ = ColumnStandardizer().fit(y2d, sample_weight)
        elif y2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{name}: y has {y2d.shape[1]} outputs, but the network was fitted with "
                f"{self.n_outputs_}."
            )
        elif update:
            self.target_scaler_.partial_fit(y2d, sample_weight)
        scaled = np.clip(self.target_scaler_.transform(y2d), -_FLOAT32_LIMIT, _FLOAT32_LIMIT)
        return torch.as_tensor(scaled, dtype=torch.float32, device=self.device_), None

    def _class_codes(self, y, first_call, classes):
        name = type(self).__name__
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(np.asarray(classes))
        if first_call:
            self.classes_ = np.unique(y) if classes is None else classes
            check_enough_classes(self.classes_, name)
            self.n_outputs_ = len(self.classes_)
        elif classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"{name}: classes={classes.tolist()} differs from the classes of the first "
                f"partial_fit call, {self.classes_.tolist()}."
            )
        return encode_labels(y, self.classes_, name)

    def _with_class_weights(self, weights, codes, streaming):
        """Per-row training weights: the sample weights times the class weights."""
        name = type(self).__name__
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            if codes is None:
                raise ValueError(f"{name}: class_weight applies to classification only; "
                                 f"the task is {self.task_!r}.")
            if isinstance(class_weight, str) and streaming:
                raise ValueError(
                    f"{name}: class_weight='balanced' needs the whole training set; with "
                    "partial_fit pass a dict (e.g. from sklearn.utils.class_weight."
                    "compute_class_weight('balanced', classes=classes, y=y_all))."
                )
            labels = self.classes_[codes]
            per_class = compute_class_weight(class_weight, classes=self.classes_, y=labels)
            weights = weights * per_class[codes]
        return weights

    def _to_tensor(self, X_checked, fit=False, update=False, sample_weight=None):
        """Standardised float32 tensor of validated rows (fitting the scaler if asked)."""
        if self._standardize_inputs:
            columns = self._standardized_columns()
            part = X_checked if columns is None else X_checked[:, columns]
            if fit:
                self.input_scaler_ = ColumnStandardizer().fit(part, sample_weight)
            elif update:
                self.input_scaler_.partial_fit(part, sample_weight)
            scaled = self.input_scaler_.transform(part)
            if columns is None:
                X_checked = scaled
            else:
                X_checked = np.array(X_checked, dtype=np.float64)
                X_checked[:, columns] = scaled
        X_checked = np.clip(X_checked, -_FLOAT32_LIMIT, _FLOAT32_LIMIT)
        return torch.as_tensor(np.ascontiguousarray(X_checked, dtype=np.float32),
                               device=self._inference_device())

    def _inference_device(self):
        return getattr(self, "device_", None) or check_device(self.device, type(self).__name__)

    # ---------------------------------------------------------- training nets
    def _new_training_net(self, data=None, streaming=False, train_split=None):
        """A new skorch net around a new module, ready to train on ``data``.

        ``streaming`` nets have no early stopping (every ``partial_fit`` call is
        one pass); ``train_split`` (e.g. :class:`skgates._net.HeldOutRows`)
        fixes the held-out rows of early stopping.
        """
        n_samples = max(int(self.batch_size), 1) if data is None else len(data.X)
        module = self._checked(self._build_module, self.n_features_in_, self._network_outputs())
        callbacks = []
        if self.verbose > 0:
            callbacks.append(("progress_bar", ProgressBar()))
        if train_split is None and not streaming and getattr(data, "held_out", None) is not None:
            train_split = data.held_out
        elif train_split is None and self.early_stopping and not streaming:
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=_can_stratify(data.codes, self.validation_fraction),
                random_state=draw_seed(self.random_state),
            )
        scoring = getattr(self, "scoring", None)
        if train_split is not None and scoring is not None:
            scorer = resolve_scorer(scoring, type(self).__name__)
            callbacks.append(("validation_score", ValidationScore(scorer, self)))
        if train_split is not None and self.early_stopping:
            monitor = "valid_loss" if scoring is None else "valid_score"
            callbacks.append((
                "early_stopping",
                EarlyStopping(monitor=monitor, lower_is_better=scoring is None,
                              patience=self.n_iter_no_change, load_best=True),
            ))
        callbacks.extend(self._default_callbacks())
        callbacks.extend(self._user_callbacks())
        net = PenalizedNet(
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
            compile=self._compiled(),
            compile__dynamic=False,
            verbose=int(self.verbose),
            device=self.device_,
        )
        return net.initialize()

    def _train_net(self, net, data, epochs):
        """Train ``net`` for ``epochs`` passes over ``data``; nothing fails silently."""
        name = type(self).__name__
        for _, callback in net.callbacks_:
            if isinstance(callback, ValidationScore):
                callback.estimator = self  # (a pickle does not keep this link)
        try:
            net.partial_fit({"X": data.X, "sample_weight": data.weights}, data.y, epochs=epochs)
        except TrainingInterrupted as interrupt:
            raise KeyboardInterrupt(f"{name}: training was interrupted.") from interrupt
        except NonFiniteLoss as error:
            which = "training" if error.training else "validation"
            raise FloatingPointError(
                f"{name}: the {which} loss became {error.value} at epoch {error.epoch}; the "
                f"network diverged. Try a smaller lr (now {self.lr}), gradient clipping, or "
                "check X and y for extreme values."
            ) from None
        self.history_ = history_frame(net.history)
        return net

    def _new_net(self):
        """An initialised, untrained net of the fitted architecture (for loading saved weights)."""
        return self._new_training_net(streaming=True)

    def _checked(self, build, *args, renames=None, **kwargs):
        """Call ``build``, naming the estimator in the errors its layers raise about arguments.

        ``renames`` maps a layer's argument names to the estimator's parameter
        names where they differ (CancelOut's ``activation`` is ``gate_activation``).
        """
        try:
            return build(*args, **kwargs)
        except (ValueError, TypeError) as error:
            prefix = f"{type(self).__name__}: "
            message = str(error)
            if message.startswith(prefix):
                raise
            for layer_name, name in (renames or {}).items():
                message = re.sub(rf"\b{layer_name}\b", name, message)
            raise type(error)(prefix + message) from error

    def _user_callbacks(self):
        # Fresh copies, so a fitted net never shares callback state with the parameter.
        return [copy.deepcopy(callback) for callback in (self.callbacks or [])
                if _check_callback(callback, type(self).__name__)]

    def _contractive_penalties(self, module):
        """The contractive loss term for ``module`` (empty when ``contractive`` is 0)."""
        if not self.contractive > 0:
            return []
        name = type(self).__name__
        layers = self.contractive_layers
        if layers is None:
            layers = self._default_contractive_layers
        if layers is None:
            available = ", ".join(n for n, _ in module.named_modules() if n)
            raise ValueError(
                f"{name}: contractive > 0 needs contractive_layers (fnmatch patterns over the "
                f"network's module names); available module names: {available}."
            )
        layers = self._checked(check_layer_patterns, layers)
        self._checked(resolve_layers, getattr(module, "_orig_mod", module), layers)
        return [ContractivePenalty(layers, weight=float(self.contractive))]

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

    # -------------------------------------------------------------- inference
    def _inference_module(self):
        """The fitted network, unwrapped from ``torch.compile`` (inference runs eager)."""
        check_is_fitted(self, "net_")
        module = self.net_.module_
        return getattr(module, "_orig_mod", module)

    def _batched(self, X, compute, float64=False, module=None, prepared=False):
        """Run ``compute(module, batch)`` over the rows of ``X`` in eval mode, batch by batch.

        ``X`` is raw input, a user's tensor included (validated and standardised
        here, one batch at a time, so memory stays at one batch above the
        input), or, with ``prepared=True``, a tensor that the estimator
        already standardised on its device. ``compute`` returns a tensor or a tuple of
        tensors whose first axis is the row; the result is a float64 array
        or a tuple of them. With ``float64=True`` a float64 copy of the network
        computes, so a row's output does not depend on the rows batched with
        it (float32 products differ in the last bits between batch sizes).
        Sampling inside the network is seeded by ``random_state``.
        """
        module = self._inference_module() if module is None else module
        if prepared:
            rows, batch_of = len(X), lambda start, stop: X[start:stop]
        else:
            _refuse_device_tensor(X, "X", type(self).__name__)
            X_checked = self._validate_X(X, reset=False)
            rows = len(X_checked)
            batch_of = lambda start, stop: self._to_tensor(X_checked[start:stop])  # noqa: E731
        if float64:
            module = copy.deepcopy(module).double()
        was_training = module.training
        module.eval()
        parts = []
        try:
            with torch.no_grad(), torch_seeded(draw_seed(self.random_state),
                                               self._inference_device()):
                for start in range(0, rows, PREDICT_BATCH_SIZE):
                    batch = batch_of(start, start + PREDICT_BATCH_SIZE)
                    out = compute(module, batch.double() if float64 else batch)
                    parts.append(out if isinstance(out, tuple) else (out,))
        finally:
            module.train(was_training)
        if not parts:
            raise ValueError(f"{type(self).__name__}: X has no rows.")
        arrays = tuple(torch.cat([part[k] for part in parts]).cpu().numpy().astype(np.float64)
                       for k in range(len(parts[0])))
        return arrays if len(arrays) > 1 else arrays[0]

    def _forward(self, X, float64=False, prepared=False):
        """Network outputs for ``X`` in eval mode, float64 ``(n_samples, n_outputs)``.

        A module returning a tuple contributes its first part; ``prepared`` as
        in :meth:`_batched`.
        """
        return self._batched(X, lambda module, batch: _prediction_part(module(batch)), float64,
                             prepared=prepared)

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
        tags.non_deterministic = str(self.device) != "cpu"
        return tags


class TrainingData:
    """One call's validated training data as tensors on the training device.

    Attributes
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
        Standardised float32 inputs.
    y : torch.Tensor
        Encoded targets (class codes, standardised targets, or ``X``).
    weights : torch.Tensor of shape (n_samples,) or (n_samples, n_tasks)
        Row weights (sample weights times class weights; ones by default); one
        column per task when a multi-task classifier has class weights.
    codes : ndarray of int or None
        Class codes (classification only; ``(n_samples, n_tasks)`` for multi-task),
        for stratified splits.
    """

    def __init__(self, X, y, weights, codes):
        self.X, self.y, self.weights, self.codes = X, y, weights, codes
        self.held_out = None  # a HeldOutRows split when the user gave validation data

    def rows(self, index):
        """The data of the rows ``index`` (an array of positions)."""
        index_t = torch.as_tensor(index, device=self.X.device)
        return TrainingData(self.X[index_t], self.y[index_t], self.weights[index_t],
                            None if self.codes is None else self.codes[index])


def _can_stratify(codes, validation_fraction):
    """Whether a stratified hold-out of ``validation_fraction`` is possible for class ``codes``."""
    if codes is None or codes.ndim != 1:
        return False  # (multi-task codes: a random split)
    counts = np.bincount(codes)
    counts = counts[counts > 0]
    n_valid = int(np.ceil(len(codes) * validation_fraction))
    return n_valid >= len(counts) and counts.min() >= 2


def _check_callback(callback, estimator_name):
    if isinstance(callback, tuple) and len(callback) == 2 and isinstance(callback[0], str):
        callback = callback[1]
    if not isinstance(callback, Callback) and not (isinstance(callback, type)
                                                   and issubclass(callback, Callback)):
        raise TypeError(
            f"{estimator_name}: callbacks must hold skorch callbacks (or (name, callback) "
            f"pairs), got {callback!r}."
        )
    return True


def _check_y(y, regression, estimator_name, n_samples=None):
    """Check targets: no NaN/inf for regression, 1-D labels for classification."""
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
        if y.ndim > 2 or y.ndim == 0:
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


def history_frame(history):
    """One row per epoch: ``epoch``, ``train_loss`` and, if any, ``valid_loss``, ``valid_score``."""
    columns = ["epoch", "train_loss", "valid_loss", "valid_score"]
    rows = [{key: row[key] for key in columns if key in row} for row in history]
    return pd.DataFrame(rows, columns=[c for c in columns if any(c in r for r in rows)])


