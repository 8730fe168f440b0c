"""DropConnectClassifier and DropConnectRegressor: MLPs whose hidden layers drop weights."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin

from ._base import BaseNetworkEstimator, training_params
from ._seeding import draw_seed, torch_seeded
from ._substitutes import CREDIT_ATTRIBUTES_DOC, CREDIT_PARAMETER_DOC, credited_importances
from .nn.dropconnect import DropConnectNetwork
from .nn.mlp import check_activation

#: Rows of the training data used for ``feature_importances_``.
IMPORTANCE_ROWS = 2000


def input_x_gradient(function, X_t, max_rows=IMPORTANCE_ROWS, random_state=0):
    """Mean over rows and outputs of ``|x_j * d f_k(x) / d x_j|``, one value per column.

    Parameters
    ----------
    function : callable
        Maps a float tensor ``(n, n_features)`` to ``(n, n_outputs)``, row by row.
    X_t : torch.Tensor of shape (n_samples, n_features)
        Standardised training data; at most ``max_rows`` rows (drawn with
        ``random_state``) are used.

    Returns
    -------
    importances : ndarray of shape (n_features,)
        Non-negative, summing to 1 (all zeros if every gradient is 0).
    """
    if len(X_t) > max_rows:
        rows = np.random.RandomState(random_state).choice(len(X_t), max_rows, replace=False)
        X_t = X_t[torch.as_tensor(np.sort(rows), device=X_t.device)]
    X_t = X_t.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = function(X_t)
        total = torch.zeros_like(X_t)
        for k in range(out.shape[1]):
            (grad,) = torch.autograd.grad(out[:, k].sum(), X_t, retain_graph=k + 1 < out.shape[1])
            total += (X_t * grad).abs()
    importances = total.mean(0).detach().cpu().numpy().astype(np.float64)
    norm = importances.sum()
    return importances / norm if norm > 0 else importances


class _BaseDropConnect(BaseNetworkEstimator):
    """Shared parameters, network and importances of the DropConnect estimators."""

    _default_contractive_layers = ("hidden.*",)
    # hidden_layer_sizes, activation, p, inference and n_samples are checked by
    # skgates.nn.DropConnectNetwork, the layer they configure.
    _parameter_constraints = {**BaseNetworkEstimator._parameter_constraints,
                              "credit_substitutes": ["boolean"]}

    def _init(self, values):
        super().__init__(**training_params(values))
        self.hidden_layer_sizes = values["hidden_layer_sizes"]
        self.activation = values["activation"]
        self.p = values["p"]
        self.inference = values["inference"]
        self.n_samples = values["n_samples"]
        self.scoring = values["scoring"]
        self.credit_substitutes = values["credit_substitutes"]

    # ------------------------------------------------------------- the bridge
    def _build_module(self, n_features, n_outputs):
        return DropConnectNetwork(
            n_features, self.hidden_layer_sizes, n_outputs,
            activation=check_activation(self.activation),
            p=self.p, inference=self.inference, n_samples=self.n_samples,
            # Gaussian inference draws its common random numbers from random_state.
            seed=draw_seed(self.random_state),
        )

    def _importance_function(self):
        module = self._inference_module()

        def expected_network(x):
            for layer in module.hidden:
                x = layer.activation(torch.nn.functional.linear(x, layer.weight, layer.bias))
            out = module.output(x)
            return torch.softmax(out, dim=1) if self.task_ == "classification" else out

        return expected_network

    def _after_training(self, data, first_call):
        with torch_seeded(draw_seed(self.random_state), self.device):
            values = input_x_gradient(self._importance_function(), data.X)
        n = min(len(data.X), IMPORTANCE_ROWS)
        if first_call:
            self._importance_sum_, self._importance_rows_ = values * n, n
        else:
            self._importance_sum_ = self._importance_sum_ + values * n
            self._importance_rows_ += n
        total = self._importance_sum_ / self._importance_rows_
        importances = total / total.sum() if total.sum() > 0 else total
        if self.credit_substitutes:
            # partial_fit: the credit of the running importances, tested on this chunk
            self.uncredited_importances_ = importances
            importances, self.substitution_r2_, self.substitutes_ = credited_importances(
                data.X, data.weights, importances)
        self.feature_importances_ = importances

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier) or targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training (and validation) loss.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation rows for early stopping and ``scoring``, instead of
            holding out ``validation_fraction`` of ``X`` (same columns as ``X``;
            they are not trained on and do not change the scaling).
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows in the validation loss and score.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val,
                         sample_weight_val=sample_weight_val)


_DOC_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden DropConnect layers.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden-layer activation.
    p : float, default=0.5
        Probability of dropping each hidden-layer weight, for every example
        anew, in [0, 1); 0 gives a plain MLP. The output layer is a plain
        linear layer.
    inference : {"mean", "gaussian"}, default="mean"
        Prediction with the expected weights (deterministic), or the paper's
        Gaussian moment matching averaged over ``n_samples`` draws (seeded by
        ``random_state``), see :class:`skgates.nn.DropConnectLinear`.
    n_samples : int, default=100
        Draws per row for ``inference="gaussian"``.{class_weight}
    {credit}    contractive : float, default=0.0
        Weight of the contractive penalty on the chosen hidden layers (the
        mean over rows and layers of the squared Frobenius norm of the
        Jacobian with respect to the input, computed in closed form for the
        expected weights), see :mod:`skgates.nn.contractive`. 0 turns it off.
    contractive_layers : str, sequence of str or None, default=None
        fnmatch patterns over the network's module names for the contractive
        penalty; None means ``("hidden.*",)``, every hidden layer.
    max_epochs : int, default=100
        Passes over the training data (upper bound with early stopping).
    batch_size : int, default=128
        Rows per mini-batch (capped at the number of rows).
    lr : float, default=0.003
        AdamW learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay of weight matrices (not of biases).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their loss
        has not improved for ``n_iter_no_change`` epochs, restoring the best
        weights.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : str, default="cpu"
        Torch device to train on, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, masks, shuffling, the validation split and
        Gaussian inference. Equal ints give equal results on CPU; the
        caller's global torch RNG is left untouched.
    verbose : int, default=0
        ``> 0`` shows a progress bar and a per-epoch log.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the skorch net.
    scoring : str, callable or None, default=None
        What early stopping watches on the held-out rows (recorded as
        ``valid_score`` in ``history_``): a scikit-learn scorer name such as
        ``"roc_auc"`` or ``"neg_mean_absolute_error"``, or a callable
        ``scorer(estimator, X, y)``; higher is better. None watches the
        held-out loss (``valid_loss``).
"""

_DOC_CLASS_WEIGHT = """
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in
        :class:`~sklearn.linear_model.LogisticRegression`: a dict
        ``{label: weight}``, or ``"balanced"`` (``fit`` only; pass a dict to
        ``partial_fit``). Multiplies ``sample_weight``."""

_DOC_ATTRIBUTES = """
    feature_importances_ : ndarray of shape (n_features_in_,)
        Mean absolute input x gradient on (up to 2,000 rows of) the training
        data: ``mean_rows sum_k |x_j * d f_k / d x_j|`` with ``x`` the
        standardised input and ``f_k`` the {outputs}, for the expected-weight
        network; normalised to sum to 1. With ``credit_substitutes``, the
        substitutes of the columns that stand out are credited.""" + CREDIT_ATTRIBUTES_DOC + """
    n_outputs_ : int
        Network outputs.
    net_ : skgates._net.PenalizedNet
        The fitted skorch net; ``net_.module_`` is a
        :class:`skgates.nn.DropConnectNetwork`.
    history_ : pandas.DataFrame
        Per-epoch ``train_loss`` (and ``valid_loss`` with early stopping).
    input_scaler_ : sklearn.preprocessing.StandardScaler
        Standardisation applied before the network.
    n_features_in_ : int
        Number of columns seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names."""

_DOC_REFERENCES = """
    References
    ----------
    L. Wan, M. Zeiler, S. Zhang, Y. LeCun, R. Fergus. "Regularization of
    Neural Networks using DropConnect." ICML 2013.
"""


class DropConnectClassifier(ClassifierMixin, _BaseDropConnect):
    __doc__ = """Classify with an MLP whose hidden layers drop weights per example (DropConnect).

    The network is ``(DropConnectLinear -> activation) * len(hidden_layer_sizes)
    -> Linear``, trained with the cross-entropy; in training every example
    gets its own mask over every hidden weight matrix. Columns are
    standardised inside the estimator.
""" + _DOC_PARAMETERS.replace("{class_weight}", _DOC_CLASS_WEIGHT).replace(
    "{credit}", CREDIT_PARAMETER_DOC) + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.""" + _DOC_ATTRIBUTES.format(outputs="predicted class probabilities") + """

    See Also
    --------
    DropConnectRegressor : The same network for regression.
    skgates.nn.DropConnectLinear : The layer.
    sklearn.neural_network.MLPClassifier : Without DropConnect.
""" + _DOC_REFERENCES + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skgates import DropConnectClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DropConnectClassifier(random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _task = "classification"
    _parameter_constraints = {
        **_BaseDropConnect._parameter_constraints,
        "class_weight": BaseNetworkEstimator._class_weight_constraint,
    }

    def __init__(self, *, hidden_layer_sizes=(64,), activation="relu", p=0.5, inference="mean",
                 n_samples=100, class_weight=None, credit_substitutes=True, contractive=0.0,
                 contractive_layers=None, max_epochs=100, batch_size=128, lr=0.003,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 device="cpu", random_state=None, verbose=0, callbacks=None, scoring=None):
        self._init(locals())
        self.class_weight = class_weight

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more pass over a chunk of a stream (the first call builds the network).

        ``feature_importances_`` become the row-weighted mean over the chunks seen.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All labels the stream will contain; needed on the first call
            unless the first chunk holds every class.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row of the chunk in the loss.

        Returns
        -------
        self : DropConnectClassifier
        """
        return self._partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)``."""
        return self._probabilities(self._forward(X, float64=True))

    def predict(self, X):
        """Most probable class of each row."""
        return self._labels(self._forward(X, float64=True))


class DropConnectRegressor(RegressorMixin, _BaseDropConnect):
    __doc__ = """Regress with an MLP whose hidden layers drop weights per example (DropConnect).

    The network is ``(DropConnectLinear -> activation) * len(hidden_layer_sizes)
    -> Linear``, trained with the squared error on standardised targets
    (single or multi-output); in training every example gets its own mask
    over every hidden weight matrix. Columns are standardised inside the
    estimator.
""" + _DOC_PARAMETERS.replace("{class_weight}", "").replace(
    "{credit}", CREDIT_PARAMETER_DOC) + """
    Attributes
    ----------""" + _DOC_ATTRIBUTES.format(outputs="standardised predicted targets") + """
    target_scaler_ : sklearn.preprocessing.StandardScaler
        Standardisation of the targets.

    See Also
    --------
    DropConnectClassifier : The same network for classification.
    skgates.nn.DropConnectLinear : The layer.
    sklearn.neural_network.MLPRegressor : Without DropConnect.
""" + _DOC_REFERENCES + """
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skgates import DropConnectRegressor
    >>> X, y = make_regression(200, 5, noise=1.0, random_state=0)
    >>> reg = DropConnectRegressor(random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _task = "regression"

    def __init__(self, *, hidden_layer_sizes=(64,), activation="relu", p=0.5, inference="mean",
                 n_samples=100, credit_substitutes=True, contractive=0.0,
                 contractive_layers=None, max_epochs=100, batch_size=128, lr=0.003,
                 weight_decay=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, device="cpu", random_state=None,
                 verbose=0, callbacks=None, scoring=None):
        self._init(locals())

    def partial_fit(self, X, y, sample_weight=None):
        """Train one more pass over a chunk of a stream (the first call builds the network).

        ``feature_importances_`` become the row-weighted mean over the chunks seen.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row of the chunk in the loss.

        Returns
        -------
        self : DropConnectRegressor
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``, float64."""
        return self._targets(self._forward(X, float64=True))
