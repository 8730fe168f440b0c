"""CancelOutSelector: feature selection by learned input gates."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseNetworkEstimator, TrainingData, training_params
from ._selection import check_max_features, resolve_threshold, support_mask
from ._substitutes import credited_order
from .nn.cancelout import CancelOut, CancelOutNetwork
from .nn.mlp import MLP


class CancelOutSelector(SelectorMixin, BaseNetworkEstimator, BaseEstimator):
    """Select features with a CancelOut gate in front of a neural network.

    The network is ``CancelOut -> MLP -> head``: every input column is
    multiplied by a learned gate ``g(w_j)`` before an MLP predicts ``y``. The
    training loss adds the gates' sparsity penalty
    ``lambda_1 * sum_j g(w_j) - lambda_2 * Var(w)`` (see
    :class:`skgates.nn.CancelOut`), so gates of columns that do not help close
    while the others stay open. The gate values are the feature importances.

    Columns are standardised inside the estimator before the gate, so the
    ranking does not depend on the scale of a column.

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y`` (binary and
        multiclass labels are classification, continuous values, single or
        multi-output, regression).
    threshold : float, str or None, default=None
        Features whose importance is at least ``threshold`` are selected:
        a number, ``"mean"``, ``"median"`` or a scaled reference such as
        ``"1.5*mean"``, as in :class:`~sklearn.feature_selection.SelectFromModel`.
        None means the shadow rule: a column is selected when its gate is
        more open than every shadow column's gate (see ``n_shadows``); with
        ``n_shadows=0`` it means 0.5 (a sigmoid gate more open than closed;
        for softmax gates, ``"mean"``). No threshold when ``max_features`` is set.
    n_shadows : "auto" or int, default="auto"
        Shadow columns appended in training: copies of real columns with their
        rows shuffled (one shuffle shared by all of them, so the shadows keep
        the columns' distributions and correlations but lose any link to
        ``y``), as in Boruta (Kursa and Rudnicki, 2010). Their gates show how
        far training opens the gate of a useless column, which a fixed
        threshold cannot know: how far gates close depends on the number of
        rows, epochs and columns. ``"auto"`` appends one shadow per column.
        When the useless columns are independent noise, exchangeable with
        the shadows, the default rule keeps on average at most
        ``n_noise / (n_shadows + 1)`` of them (``expected_false_selections_``).
        Shadows only exist in training; ``predict``-like use of the network
        feeds them zeros, their mean. 0 turns them off.
    partial_fit_epochs : int, default=10
        Passes over its chunk that each ``partial_fit`` call makes. One pass
        over small chunks (300 rows: three optimizer steps) barely moves the
        gates; ten passes over 10 chunks of 300 rows of Syn2 select what
        ``fit`` selects (``benchmarks/bench_stream.py``).
    credit_substitutes : bool, default=True
        Rank the *substitutes* of the selected columns right after them in
        ``ranking_``: the columns that a linear regression on the selected
        columns (the most open gate's column when none is selected)
        predicts better than chance (F-test of its ``R^2``, Bonferroni over
        the columns tested, family-wise level 0.1%), in rounds that add the
        substitutes found so far to the selected columns. The gates
        credit one of two redundant copies of a signal; RandomForest and
        Boruta credit both. Independent noise columns are credited with
        probability at most 0.1% per fit (exactly for Gaussian columns). The
        selection (``get_support``) is not changed; ``get_support() |
        substitutes_`` is the all-relevant set. False ranks by the gates alone.
    max_features : int or None, default=None
        Select at most this many features, the most important first.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss (classification only), as in
        :class:`~sklearn.linear_model.LogisticRegression`: a dict
        ``{label: weight}``, or ``"balanced"`` for ``n_samples / (n_classes *
        count(label))`` (``fit`` only; pass a dict to ``partial_fit``).
        Multiplies ``sample_weight``.
    lambda_1 : float, default=0.003
        Weight of the gate-sum sparsity term.
    lambda_2 : float, default=0.0
        Weight of the negative gate-weight variance term of the authors'
        notebook. Off by default: the term is unbounded below, and on Syn1
        with ``lambda_2=1e-3`` it drove some gate weights to -230 (closing
        relevant gates for good) within 60 epochs.
    gate_activation : {"sigmoid", "softmax"}, default="sigmoid"
        The gate function.
    gate_init : float, default=1.0
        Initial gate logit (``sigmoid(1) = 0.73``).
    gate_lr_scale : float, default=1.0
        The gates learn ``gate_lr_scale`` times as fast as the MLP. Faster
        gates (10x) close the gates of weak but relevant columns (Syn5's
        ``x1 * x2`` branch) before the MLP has learned to use them.
    hidden_layer_sizes : tuple of int, default=(64, 32)
        Widths of the MLP's hidden layers.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden-layer activation.
    contractive : float, default=0.0
        Weight of the contractive penalty (Rifai et al., 2011): the mean over
        rows and chosen hidden layers of the squared Frobenius norm of the
        layer's Jacobian with respect to the input, see
        :mod:`skgates.nn.contractive`. 0 turns it off.
    contractive_layers : str, sequence of str or None, default=None
        fnmatch patterns over the network's module names choosing the hidden
        layers that the contractive penalty counts; None means
        ``("body.hidden.*",)``, every hidden layer of the MLP.
    max_epochs : int, default=60
        Passes over the training data (upper bound with early stopping).
    batch_size : int, default=128
        Rows per mini-batch (capped at the number of rows).
    lr : float, default=0.003
        AdamW learning rate of the MLP.
    weight_decay : float, default=0.0
        Decoupled weight decay of weight matrices (not of biases or gates).
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
        Seeds weight initialisation, shuffling and the validation split.
        Equal ints give equal results on CPU; the caller's global torch RNG
        is left untouched.
    verbose : int, default=0
        ``> 0`` shows a progress bar and a per-epoch log.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the skorch net (e.g. ``LRScheduler``).
    scoring : str, callable or None, default=None
        What early stopping watches on the held-out rows (recorded as
        ``valid_score`` in ``history_``): a scikit-learn scorer name such as
        ``"roc_auc"`` or ``"neg_mean_absolute_error"``, or a callable
        ``scorer(estimator, X, y)``; higher is better. None watches the
        held-out loss (``valid_loss``).

    Attributes
    ----------
    feature_importances_ : ndarray of shape (n_features_in_,)
        The learned gate values ``g(w)`` in (0, 1): what the network uses.
    ranking_ : ndarray of shape (n_features_in_,)
        ``ranking_[j]`` is the place of column ``j``, 1 = best: the selected
        columns by gate (the most open one when none is selected), then
        their substitutes in the order they were found (by round, then
        ``R^2``; with ``credit_substitutes``), then the
        other columns by gate.
    substitutes_ : ndarray of bool, shape (n_features_in_,)
        Unselected columns that the selected ones predict (see
        ``credit_substitutes``; all False when it is off or when there are
        too few rows for the test). Computed when training ends, from the
        selection and the rows of that ``fit`` (or ``partial_fit`` chunk).
    substitution_r2_ : ndarray of shape (n_features_in_,)
        1 for the selected columns; a substitute's ``R^2`` in the round that
        credited it; for the others, their ``R^2`` on the selected columns and
        all substitutes (NaN when ``credit_substitutes`` is off).
    shadow_importances_ : ndarray of shape (n_shadows_,)
        The gate values of the shadow columns.
    shadow_columns_ : ndarray of shape (n_shadows_,)
        The real column each shadow column copies.
    n_shadows_ : int
        Number of shadow columns.
    threshold_ : float
        The gate value a column needs to be selected (``-inf`` when only
        ``max_features`` limits the selection).
    expected_false_selections_ : float
        ``n_features_in_ / (n_shadows_ + 1)``: with the default rule, an upper
        bound on the mean number of selected columns that are independent
        noise (inf without shadows).
    task_ : str
        The task that was fitted.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification only).
    n_outputs_ : int
        Network outputs: classes for classification, targets for regression.
    net_ : skgates._net.PenalizedNet
        The fitted skorch net; ``net_.module_.gate`` is the CancelOut layer.
    history_ : pandas.DataFrame
        Per-epoch ``train_loss`` (and ``valid_loss`` with early stopping).
    input_scaler_ : sklearn.preprocessing.StandardScaler
        The standardisation applied before the gate.
    n_features_in_ : int
        Number of columns seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.

    See Also
    --------
    skgates.nn.CancelOut : The gate layer.
    sklearn.feature_selection.SelectFromModel : Same ``threshold`` / ``max_features`` rules.

    References
    ----------
    V. Borisov, J. Haug, G. Kasneci. "CancelOut: A Layer for Feature Selection
    in Deep Neural Networks." ICANN 2019.

    Examples
    --------
    >>> from skgates import CancelOutSelector
    >>> from skgates.datasets import make_syn
    >>> X, y, relevant = make_syn("syn2", n_samples=800, n_noise=6, random_state=0)
    >>> selector = CancelOutSelector(max_features=4, max_epochs=30, random_state=0).fit(X, y)
    >>> sorted(selector.get_support(indices=True).tolist()) == sorted(relevant)
    True
    """

    _default_contractive_layers = ("body.hidden.*",)
    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "task": [StrOptions({"auto", "classification", "regression"})],
        "threshold": [Interval(Real, None, None, closed="neither"), str, None],
        "max_features": [Interval(Integral, 0, None, closed="left"), None],
        "class_weight": BaseNetworkEstimator._class_weight_constraint,
        "gate_lr_scale": [Interval(Real, 0, np.inf, closed="neither")],
        "n_shadows": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "partial_fit_epochs": [Interval(Integral, 1, None, closed="left")],
        "credit_substitutes": ["boolean"],
        # lambda_1, lambda_2, gate_activation, gate_init, hidden_layer_sizes and activation
        # are checked by the layers they configure (skgates.nn.CancelOut, skgates.nn.MLP).
    }

    def __init__(
        self,
        *,
        task="auto",
        threshold=None,
        max_features=None,
        n_shadows="auto",
        partial_fit_epochs=10,
        credit_substitutes=True,
        class_weight=None,
        lambda_1=0.003,
        lambda_2=0.0,
        gate_activation="sigmoid",
        gate_init=1.0,
        gate_lr_scale=1.0,
        hidden_layer_sizes=(64, 32),
        activation="relu",
        contractive=0.0,
        contractive_layers=None,
        max_epochs=60,
        batch_size=128,
        lr=0.003,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        scoring=None,
    ):
        super().__init__(**training_params(locals()))
        self.scoring = scoring
        self.task = task
        self.threshold = threshold
        self.max_features = max_features
        self.n_shadows = n_shadows
        self.partial_fit_epochs = partial_fit_epochs
        self.credit_substitutes = credit_substitutes
        self.class_weight = class_weight
        self.lambda_1 = lambda_1
        self.lambda_2 = lambda_2
        self.gate_activation = gate_activation
        self.gate_init = gate_init
        self.gate_lr_scale = gate_lr_scale
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Train the gated network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data (a DataFrame keeps its column names).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or regression targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training (and validation) loss; a
            weight of 0 removes the row, an integer weight repeats it.
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
        self : CancelOutSelector
        """
        return self._fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val,
                         sample_weight_val=sample_weight_val)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train ``partial_fit_epochs`` more passes over a chunk of a stream.

        The first call builds the network (its input standardisation is then
        updated with every chunk); later calls keep training it. The chunk's
        shadow columns are its own rows shuffled.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        classes : array-like of shape (n_classes,), default=None
            All labels the stream will contain. Required on the first call for
            classification unless the first chunk already holds every class;
            a later label outside ``classes`` raises a ``ValueError``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row of the chunk in the loss.

        Returns
        -------
        self : CancelOutSelector
        """
        return self._partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    # ------------------------------------------------------------- the bridge
    def _check_params(self, n_features):
        check_max_features(self.max_features, n_features, type(self).__name__)
        resolve_threshold(self.threshold, np.zeros(1), 0.5)  # a bad string fails before training
        self.n_shadows_ = n_features if self.n_shadows == "auto" else int(self.n_shadows)

    def _build_module(self, n_features, n_outputs):
        n_inputs = n_features + self.n_shadows_
        gate = self._checked(CancelOut, n_inputs, activation=self.gate_activation,
                             lambda_1=self.lambda_1, lambda_2=self.lambda_2, init=self.gate_init,
                             renames={"activation": "gate_activation", "init": "gate_init"})
        body = MLP(n_inputs, self.hidden_layer_sizes, n_outputs, self.activation)
        return CancelOutNetwork(gate, body, n_shadows=self.n_shadows_)

    def _optimizer_param_groups(self):
        return [("gate.weight", {"lr": self.lr * self.gate_lr_scale})]

    def _chunk_epochs(self):
        return self.partial_fit_epochs

    def _train_net(self, net, data, epochs):
        super()._train_net(net, self._with_shadows(data), epochs)

    def _after_training(self, data, first_call):
        sources = None
        if self.credit_substitutes:
            sources = np.flatnonzero(self._get_support_mask())
            if len(sources) == 0:
                # Nothing passed the rule (a hard task, or too little training): the column
                # the network trusts most lends its substitutes credit. Independent noise as
                # the source credits nothing (the test's family-wise level).
                sources = np.argsort(-self.feature_importances_, kind="stable")[:1]
        order, self.substitution_r2_, self.substitutes_ = credited_order(
            data.X, data.weights, self.feature_importances_, sources)
        self.ranking_ = np.argsort(order) + 1

    def _with_shadows(self, data):
        """``data`` with its shadow columns appended (drawn from torch's seeded RNG)."""
        if not self.n_shadows_:
            return data
        if not hasattr(self, "shadow_columns_"):
            n_features = self.n_features_in_
            repeats = -(-self.n_shadows_ // n_features)
            order = torch.cat([torch.randperm(n_features) for _ in range(repeats)])
            self.shadow_columns_ = order[: self.n_shadows_].numpy()
        columns = torch.as_tensor(self.shadow_columns_, device=data.X.device)
        rows = torch.randperm(len(data.X)).to(data.X.device)
        shadowed = TrainingData(torch.cat([data.X, data.X[rows[:, None], columns]], dim=1),
                                data.y, data.weights, data.codes)
        shadowed.held_out = data.held_out
        return shadowed

    # -------------------------------------------------------------- selection
    def _gates(self):
        check_is_fitted(self, "net_")
        return self.net_.module_.gate.gates().detach().cpu().numpy().astype(np.float64)

    @property
    def feature_importances_(self):
        return self._gates()[: self.n_features_in_]

    @property
    def shadow_importances_(self):
        return self._gates()[self.n_features_in_:]

    @property
    def expected_false_selections_(self):
        check_is_fitted(self, "net_")
        return self.n_features_in_ / (self.n_shadows_ + 1) if self.n_shadows_ else np.inf

    @property
    def threshold_(self):
        importances = self.feature_importances_
        if self.threshold is None and self.max_features is not None:
            return -np.inf
        return resolve_threshold(self.threshold, importances, self._default_threshold())

    def _default_threshold(self):
        if self.n_shadows_:
            # strictly above the most open shadow gate
            return float(np.nextafter(self.shadow_importances_.max(), np.inf))
        return 0.5 if self.gate_activation == "sigmoid" else "mean"

    def _get_support_mask(self):
        return support_mask(self.feature_importances_, self.threshold, self.max_features,
                            self._default_threshold())
