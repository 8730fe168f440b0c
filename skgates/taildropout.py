"""TailDropoutRanker: order the input columns so that every prefix is a good subset."""

import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils import check_scalar
from sklearn.utils.validation import check_is_fitted
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from ._base import BaseNetworkEstimator, check_hidden_layer_sizes
from ._seeding import draw_seed, torch_seeded
from .nn.mlp import MLP, check_activation
from .nn.taildropout import TailDropoutRankerNetwork


class TailDropoutRanker(SelectorMixin, BaseNetworkEstimator, BaseEstimator):
    r"""Rank input columns with TailDropout so that every prefix of the ranking is a good subset.

    One network reads the (standardised) columns through
    :class:`skgates.nn.TailDropout`: each training row keeps only the first
    ``k`` columns of an order, ``k`` random and small more often than large.
    The network also reads the keep/drop mask, so a dropped column is not
    mistaken for a column whose value is the mean. Trained that way, the
    *same* network predicts from any prefix of the order, so the held-out
    loss of every prefix, the scree curve, costs one sweep. The order itself
    is learned in two phases:

    1. **Scout** (``n_rounds`` rounds of at most ``max_epochs`` epochs):
       every row draws its own random order, so the network learns to
       predict from random column subsets. On held-out rows, each row walks
       through its own random order, adding one column at a time; the drop
       of that row's loss when column ``j`` joins is credited to ``j``.
       Averaged over rows and ``n_repeats`` orders, this is a
       permutation-sampling estimate of the **Shapley value** of column ``j``
       for the held-out loss: a column earns credit alone (main effects),
       with its partners (interactions such as ``x1 * x2``) and in place of
       missing correlated columns (redundant copies), while noise columns
       earn about nothing (or less, when the network overfits them). In the
       first round the orders are uniform; every later round continues
       training on orders drawn from the previous round's ranking
       (Plackett-Luce, logit ``-order_bias * rank / (d - 1)``), so the
       columns that matter are present together more often and the network
       learns their interactions, and scores again with such orders (a
       weighted *random-order value*). With ``cv`` folds (cross-fitting)
       every fold trains its own scout on the other folds and scores its own
       rows, so every row scores columns.
    2. **Commit** (``ordered_epochs`` epochs, warm start from the last
       scout): the order is fixed to the columns sorted by Shapley value,
       and training goes on with TailDropout over this one order, so the
       network becomes good at every prefix. ``scree_[k]`` is the held-out
       loss with the first ``k`` columns, ``k = 0..n_features``.

    Without ``n_features_to_select``, ``n_features_`` is the knee of the
    scree curve: the smallest ``k >= 1`` whose held-out loss is within
    ``knee_tolerance`` (5 %) of the total drop from no column to the best
    prefix, i.e. the shortest prefix that earns 95 % of the loss reduction
    the best prefix earns (as PCA users keep the components that explain 95 %
    of the variance).

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    n_features_to_select : int, float or None, default=None
        Columns to select: an int in ``[1, n_features]``, a fraction in
        ``(0, 1]`` of the columns, or None for the knee (see above).
    p : float in (0, 1], default=0.5
        Expected fraction of columns TailDropout drops per training row.
    n_repeats : int, default=8
        Random orders per held-out row in the Shapley estimate (3 left the
        weak ``|x8|`` column of Syn5/Syn6 among the noise).
    knee_tolerance : float in [0, 1], default=0.05
        Fraction of the total loss drop ``scree_[0] - min(scree_)`` that the
        knee may leave unearned (0 picks the best prefix itself).
    n_rounds : int, default=2
        Scouting rounds; rounds after the first draw orders biased towards
        the previous round's ranking.
    order_bias : float, default=3.0
        How strongly later rounds follow the previous ranking: the logit gap
        between the first and the last column (0 = uniform orders).
    cv : "auto" or int, default="auto"
        Scouting splits: ``1`` holds out ``validation_fraction`` of the rows
        once; ``k >= 2`` cross-fits over ``k`` (stratified) folds, ``k``
        times the scouting cost; ``"auto"`` is 5 from 200 to 4,999 rows,
        else 1 (large data sets hold out enough rows; tiny ones too few).
    hidden_layer_sizes : tuple of int, default=(64, 32)
        Widths of the MLP's hidden layers.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden-layer activation.
    contractive : float, default=0.0
        Weight of the contractive penalty, see skgates.nn.contractive; 0
        disables it.
    contractive_layers : sequence of str or None, default=None
        fnmatch patterns of submodule names whose outputs count; None = the
        estimator's default (``_default_contractive_layers``, the MLP's
        hidden layers).
    max_epochs : int, default=60
        Most epochs of the scouting phase (early stopping usually ends it sooner).
    ordered_epochs : int, default=10
        Most epochs of the committed (ordered) phase.
    batch_size : int, default=256
        Rows per mini-batch (capped at the number of rows).
    lr : float, default=0.003
        AdamW learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay of weight matrices (not of biases).
    early_stopping : bool, default=True
        Stop each phase when the held-out loss (all columns) has not improved
        for ``n_iter_no_change`` epochs, restoring the best weights. The
        scouts overfit noise columns otherwise, which blurs their values.
    validation_fraction : float, default=0.2
        Fraction of rows held out when ``cv`` is 1; they score the columns,
        draw the scree curve and serve early stopping, and are never
        trained on. With cross-fitting each fold plays that part in turn.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : str, default="cpu"
        Torch device to train on.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the weights, the orders and the masks; equal ints
        give equal results on CPU.
    verbose : int, default=0
        ``> 0`` shows a progress bar and a per-epoch log.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the skorch net.

    Attributes
    ----------
    ranking_ : ndarray of shape (n_features_in_,)
        ``ranking_[j]`` is the place of column ``j`` in the order, 1 = best
        (the convention of :class:`~sklearn.feature_selection.RFE`; here every
        column has its own place).
    order_ : ndarray of shape (n_features_in_,)
        Column indices, best first (``order_[ranking_ - 1] == arange``).
    feature_importances_ : ndarray of shape (n_features_in_,)
        The Shapley estimate of each column: the mean drop of the held-out
        loss (cross-entropy, or squared error of the standardised targets)
        when the column joins a random subset of the others, clipped at 0.
        The order sorts by the unclipped value.
    shapley_values_ : ndarray of shape (n_features_in_,)
        The same values, unclipped (noise columns are about 0, may be < 0).
    shapley_std_errors_ : ndarray of shape (n_features_in_,)
        Standard errors of ``shapley_values_`` (over rows and orders).
    scree_ : ndarray of shape (n_features_in_ + 1,)
        ``scree_[k]``: held-out loss of the committed network with only the
        first ``k`` ranked columns (its ``dropout.set_k(k)``), on the last
        fold's held-out rows.
    scree_curve_ : pandas.DataFrame
        ``k``, ``validation_loss`` and ``feature`` (the column added at
        ``k``): ``ranker.scree_curve_.plot(x="k", y="validation_loss")``.
    n_features_ : int
        Number of selected columns (the first ``n_features_`` of the order).
    task_, classes_, n_outputs_, net_, history_, input_scaler_, n_features_in_, feature_names_in_
        As for every skgates estimator; ``net_`` and ``history_`` are those of
        the committed network (the last scout, trained on).

    See Also
    --------
    skgates.nn.TailDropout : The layer.
    skgates.CancelOutSelector : Gate-based selection.
    sklearn.feature_selection.RFE : Recursive elimination, also a ranking.

    References
    ----------
    E. Martinsson. "TailDropout." GitHub repository ragulpr/taildropout, 2018.
    L. S. Shapley. "A value for n-person games." 1953 (the credit of a column).

    Examples
    --------
    >>> from skgates import TailDropoutRanker
    >>> from skgates.datasets import make_syn
    >>> X, y, relevant = make_syn("syn2", n_samples=2000, n_noise=6, random_state=0)
    >>> ranker = TailDropoutRanker(cv=1, max_epochs=20, n_repeats=3, random_state=0).fit(X, y)
    >>> sorted(ranker.order_[:4].tolist()) == sorted(relevant)
    True
    """

    _default_contractive_layers = ("body.hidden.*",)

    def __init__(
        self,
        task="auto",
        n_features_to_select=None,
        p=0.5,
        n_repeats=8,
        knee_tolerance=0.05,
        cv="auto",
        n_rounds=2,
        order_bias=3.0,
        hidden_layer_sizes=(64, 32),
        activation="relu",
        contractive=0.0,
        contractive_layers=None,
        max_epochs=60,
        ordered_epochs=10,
        batch_size=256,
        lr=0.003,
        weight_decay=0.0,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.task = task
        self.n_features_to_select = n_features_to_select
        self.p = p
        self.n_repeats = n_repeats
        self.knee_tolerance = knee_tolerance
        self.cv = cv
        self.n_rounds = n_rounds
        self.order_bias = order_bias
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.contractive = contractive
        self.contractive_layers = contractive_layers
        self.max_epochs = max_epochs
        self.ordered_epochs = ordered_epochs
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

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Learn the order of the columns, the scree curve and ``n_features_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data (a DataFrame keeps its column names).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or regression targets.

        Returns
        -------
        self : TailDropoutRanker
        """
        self._check_training_params()
        X_checked = self._validate_X(X, reset=True)
        y_t = self._start_targets(X_checked, y, classes=None)
        self._check_params(self.n_features_in_)
        X_t = self._to_tensor(X_checked, reset=True)
        seed = draw_seed(self.random_state)
        d = X_t.shape[1]
        folds = self._splits(len(X_t), y_t, seed)
        nets = [None] * len(folds)
        logits = np.zeros(d)
        for round_ in range(self.n_rounds):
            total, total_sq, count = np.zeros(d), np.zeros(d), 0
            for fold, (train_rows, valid_rows) in enumerate(folds):
                X_train, y_train = X_t[train_rows], y_t[train_rows]
                X_valid, y_valid = X_t[valid_rows], y_t[valid_rows]
                with torch_seeded(seed + fold + round_ * len(folds), self.device):
                    nets[fold] = self._scout(nets[fold], logits, X_train, y_train, X_valid, y_valid)
                    sums = self._shapley_sums(nets[fold].module_, X_valid, y_valid)
                total, total_sq, count = total + sums[0], total_sq + sums[1], count + sums[2]
            shapley = total / count
            # The next round draws orders that follow this ranking, top columns first more often.
            ranks = np.empty(d)
            ranks[np.lexsort((np.arange(d), -shapley))] = np.arange(d)
            logits = -self.order_bias * ranks / max(d - 1, 1)
        self.net_ = nets[-1]
        variance = np.maximum(total_sq / count - shapley ** 2, 0.0) * count / max(count - 1, 1)
        shapley_se = np.sqrt(variance / count)
        order = np.lexsort((np.arange(d), -shapley))
        # Commit: the last fold's network goes on training with TailDropout over this one order.
        module = self.net_.module_
        with torch_seeded(seed + 1_000_003, self.device):
            module.set_order(order)
            if self.ordered_epochs > 0:
                self.net_.partial_fit(X_train, y_train, epochs=self.ordered_epochs)
            scree_rows = self._prefix_losses(module, X_valid, y_valid, torch.as_tensor(order))
        self.shapley_values_ = shapley
        self.shapley_std_errors_ = shapley_se
        self.order_ = order
        self.ranking_ = np.empty(len(order), dtype=np.int64)
        self.ranking_[order] = np.arange(1, len(order) + 1)
        self.scree_ = scree_rows.mean(axis=1)
        self.n_features_ = self._choose_k(scree_rows)
        self.history_ = pd.DataFrame(
            [{key: row[key] for key in ("epoch", "train_loss", "valid_loss") if key in row}
             for row in self.net_.history]
        )
        return self

    def _n_splits(self, n_samples):
        if self.cv == "auto":
            return 5 if 200 <= n_samples < 5000 else 1
        return int(self.cv)

    def _splits(self, n_samples, y_t, seed):
        """``(train_rows, held_out_rows)`` pairs: one hold-out split, or cross-fitting folds.

        With too few rows to hold any out, the single pair trains and scores on all rows.
        """
        rows = np.arange(n_samples)
        n_splits = self._n_splits(n_samples)
        codes = y_t.cpu().numpy() if self.task_ == "classification" else None
        stratified = codes is not None and np.bincount(codes)[np.bincount(codes) > 0].min() >= n_splits
        if n_splits > 1 and n_samples >= 2 * n_splits:
            splitter = (StratifiedKFold if stratified else KFold)(
                n_splits, shuffle=True, random_state=seed % (2**31))
            return list(splitter.split(rows, codes if stratified else None))
        n_valid = int(np.ceil(n_samples * self.validation_fraction))
        if n_valid < 2 or n_samples - n_valid < 2:
            return [(rows, rows)]
        stratify = None
        if codes is not None:
            counts = np.bincount(codes)
            if counts[counts > 0].min() >= 2 and n_valid >= len(np.unique(codes)):
                stratify = codes
        train, valid = train_test_split(rows, test_size=n_valid, stratify=stratify,
                                        random_state=seed % (2**31))
        return [(np.sort(train), np.sort(valid))]

    def _scout(self, net, logits, X_train, y_train, X_valid, y_valid):
        """Train a network on random orders drawn from ``logits`` (new, or continue ``net``)."""
        if net is None:
            module = self._build_module(X_train.shape[1], self.n_outputs_)
            net = self._make_net(module, len(X_train), partial=not self.early_stopping)
            if self.early_stopping:
                net.train_split = predefined_split(Dataset(X_valid, y_valid))
            net.initialize()
            net.module_.set_order_logits(logits)
            return net.partial_fit(X_train, y_train, epochs=self.max_epochs)
        net.module_.set_order_logits(logits)
        return net.partial_fit(X_train, y_train, epochs=self.max_epochs)

    # -------------------------------------------------------- scoring sweeps
    def _row_losses(self, output, y):
        if self.task_ == "classification":
            return torch.nn.functional.cross_entropy(output, y, reduction="none")
        return ((output - y) ** 2).mean(dim=1)

    @torch.no_grad()
    def _prefix_losses(self, module, X, y, order):
        """Per-row losses ``(d + 1, n)`` of every prefix of ``order`` (shared or per row)."""
        module.eval()
        losses = [self._row_losses(out, y) for out in module.prefix_outputs(X, order.to(X.device))]
        return torch.stack(losses).double().cpu().numpy()

    def _shapley_sums(self, module, X, y):
        """Sums, sums of squares and count of per-row Shapley gains on held-out rows.

        Each row walks through ``n_repeats`` random orders of the columns; the
        drop of its loss when a column joins is that column's gain.
        """
        n, d = X.shape
        total, total_sq = np.zeros(d), np.zeros(d)
        for _ in range(self.n_repeats):
            orders = module.sample_orders(n)
            losses = self._prefix_losses(module, X, y, orders)  # (d + 1, n)
            gains = losses[:-1] - losses[1:]  # (d, n): gain of the column added at step m
            columns = orders.T.cpu().numpy()
            np.add.at(total, columns, gains)
            np.add.at(total_sq, columns, gains ** 2)
        return total, total_sq, self.n_repeats * n

    def _choose_k(self, scree_rows):
        """``n_features_to_select``, or the knee of the scree curve (per-row losses ``(d + 1, n)``)."""
        d = scree_rows.shape[0] - 1
        k = self.n_features_to_select
        if k is not None:
            return int(k) if isinstance(k, numbers.Integral) else max(1, int(round(k * d)))
        scree = scree_rows.mean(axis=1)
        best = scree.min()
        close = scree[1:] - best <= self.knee_tolerance * (scree[0] - best)
        return int(np.argmax(close)) + 1

    # ------------------------------------------------------------ the bridge
    def _check_params(self, n_features):
        name = type(self).__name__
        check_activation(self.activation)
        check_hidden_layer_sizes(self.hidden_layer_sizes, name)
        check_scalar(self.p, "p", numbers.Real, min_val=0, max_val=1, include_boundaries="right")
        check_scalar(self.n_repeats, "n_repeats", numbers.Integral, min_val=1)
        check_scalar(self.knee_tolerance, "knee_tolerance", numbers.Real, min_val=0, max_val=1)
        if not (self.cv == "auto" or (isinstance(self.cv, numbers.Integral)
                                      and not isinstance(self.cv, bool) and self.cv >= 1)):
            raise ValueError(f"{name}: cv must be 'auto' or an int >= 1, got {self.cv!r}.")
        check_scalar(self.n_rounds, "n_rounds", numbers.Integral, min_val=1)
        check_scalar(self.order_bias, "order_bias", numbers.Real, min_val=0)
        check_scalar(self.ordered_epochs, "ordered_epochs", numbers.Integral, min_val=0)
        check_scalar(self.contractive, "contractive", numbers.Real, min_val=0)
        if self.contractive_layers is not None and (
            isinstance(self.contractive_layers, str)
            or not all(isinstance(s, str) for s in self.contractive_layers)
        ):
            raise TypeError(
                f"{name}: contractive_layers must be a sequence of fnmatch patterns or None, "
                f"got {self.contractive_layers!r}."
            )
        k = self.n_features_to_select
        if k is None:
            return
        if isinstance(k, bool) or not isinstance(k, numbers.Real):
            raise TypeError(
                f"{name}: n_features_to_select must be an int, a float in (0, 1] or None, got {k!r}."
            )
        if isinstance(k, numbers.Integral):
            if not 1 <= k <= n_features:
                raise ValueError(
                    f"{name}: n_features_to_select={k} is out of range; it must be between 1 and "
                    f"the number of features ({n_features})."
                )
        elif not 0.0 < k <= 1.0:
            raise ValueError(
                f"{name}: n_features_to_select={k} is out of range; a fraction must be in (0, 1]."
            )

    def _build_module(self, n_features, n_outputs):
        body = MLP(2 * n_features, tuple(self.hidden_layer_sizes), n_outputs, self.activation)
        return TailDropoutRankerNetwork(n_features, body, p=self.p)

    # -------------------------------------------------------------- selection
    @property
    def feature_importances_(self):
        check_is_fitted(self, "shapley_values_")
        return np.clip(self.shapley_values_, 0.0, None)

    @property
    def scree_curve_(self):
        check_is_fitted(self, "scree_")
        names = (self.feature_names_in_ if hasattr(self, "feature_names_in_")
                 else np.array([f"x{j}" for j in range(self.n_features_in_)], dtype=object))
        added = [None] + [names[j] for j in self.order_]
        return pd.DataFrame({"k": np.arange(len(self.scree_)), "validation_loss": self.scree_,
                             "feature": added})

    def _get_support_mask(self):
        check_is_fitted(self, "order_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.order_[: self.n_features_]] = True
        return mask
