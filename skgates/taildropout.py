"""TailDropoutRanker: order the input columns so that every prefix is a good subset."""

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import KFold, StratifiedKFold, check_cv, train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseNetworkEstimator, history_frame, training_params
from ._net import HeldOutRows
from ._seeding import draw_seed, torch_seeded
from ._substitutes import credited_order, standing_out
from .nn.mlp import MLP
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
    of the variance). The knee is then capped at the number of columns whose
    Shapley value stands out from the crowd (more than ``min_credit_z``
    robust standard deviations above the median Shapley value), so a scree
    that keeps sinking slowly as noise columns join does not drag the knee
    into the noise.

    Columns that stand out may have redundant copies that the network did not
    need (their Shapley value is shared with, or lost to, the copy it used).
    With ``credit_substitutes`` the committed order puts, right after the
    columns that stand out by ``2 * min_credit_z``, the columns that those
    predict better than chance, then the others.

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
    min_credit_z : float or None, default=2.5
        The cap on the knee: a column counts when its Shapley value exceeds
        the median Shapley value of all columns by ``min_credit_z`` times
        their robust standard deviation (1.4826 times their median absolute
        deviation), and ``n_features_`` is at most the number of columns that
        count (at least 1). The median and MAD describe a column that earns
        nothing when at least half the columns earn nothing, the usual case
        when one looks for the columns that matter; with fewer than 10 columns
        there is no cap. None turns it off.
    credit_substitutes : bool, default=True
        Order the substitutes of the columns that stand out by twice
        ``min_credit_z`` (the sources) right after the sources: the columns
        that a linear regression on the sources predicts better than chance
        (F-test of its ``R^2``, Bonferroni over the columns tested,
        family-wise level 0.1%), in rounds that add the substitutes found so
        far to the sources, ordered by round and then ``R^2``. A network
        credits one of two redundant copies of a signal; RandomForest and
        Boruta credit both. Independent noise
        columns are credited with probability at most 0.1% per fit (exactly
        for Gaussian columns). The knee, still capped at the number of columns
        that stand out by ``min_credit_z``, may then take a substitute where
        it took a weak noise column. No effect when ``min_credit_z`` is None
        or with fewer than 10 columns; False orders by Shapley value alone.
    n_rounds : int, default=2
        Scouting rounds; rounds after the first draw orders biased towards
        the previous round's ranking.
    order_bias : float, default=3.0
        How strongly later rounds follow the previous ranking: the logit gap
        between the first and the last column (0 = uniform orders).
    cv : "auto", int, cross-validation generator or iterable, default="auto"
        Scouting splits: ``1`` holds out ``validation_fraction`` of the rows
        once; ``k >= 2`` cross-fits over ``k`` (stratified) folds, ``k``
        times the scouting cost; ``"auto"`` is 5 from 200 to 4,999 rows; 2
        from 5,000 to 49,999, after which the committed network goes on
        training on all rows but ``validation_fraction`` of them (held out by
        the last scout), where the scree is taken; else 1 (from 50,000 rows
        one hold-out is large; tiny data sets have too few rows). A
        scikit-learn splitter (e.g. ``GroupKFold`` folds made beforehand) or
        an iterable of ``(train, held_out)`` index arrays gives the folds
        itself. ``k`` folds need at least ``2 k`` rows.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the training and held-out losses
        (classification only), as in
        :class:`~sklearn.linear_model.LogisticRegression`; multiplies
        ``sample_weight``.
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
    scoring : str, callable or None, default=None
        What early stopping watches on the held-out rows of every scout (recorded as
        ``valid_score`` in ``history_``): a scikit-learn scorer name such as
        ``"roc_auc"`` or ``"neg_mean_absolute_error"``, or a callable
        ``scorer(estimator, X, y)``; higher is better. None watches the
        held-out loss (``valid_loss``).

    Attributes
    ----------
    ranking_ : ndarray of shape (n_features_in_,)
        ``ranking_[j]`` is the place of column ``j`` in the order, 1 = best
        (the convention of :class:`~sklearn.feature_selection.RFE`; here every
        column has its own place).
    order_ : ndarray of shape (n_features_in_,)
        Column indices, best first (``order_[ranking_ - 1] == arange``): the
        sources by Shapley value, their substitutes by round and ``R^2`` (with
        ``credit_substitutes``), the rest by Shapley value.
    substitutes_ : ndarray of bool, shape (n_features_in_,)
        The columns credited as substitutes (see ``credit_substitutes``).
    substitution_r2_ : ndarray of shape (n_features_in_,)
        1 for the sources; a substitute's ``R^2`` in the round that credited
        it; for the others, their ``R^2`` on the sources and all substitutes
        (NaN when nothing was credited).
    feature_importances_ : ndarray of shape (n_features_in_,)
        The Shapley estimate of each column: the mean drop of the held-out
        loss (cross-entropy, or squared error of the standardised targets)
        when the column joins a random subset of the others, clipped at 0.
        The order sorts by the unclipped value.
    shapley_values_ : ndarray of shape (n_features_in_,)
        The same values, unclipped (noise columns are about 0, may be < 0).
    shapley_std_errors_ : ndarray of shape (n_features_in_,)
        Standard errors of ``shapley_values_`` (over rows and orders).
    feature_importances_std_ : ndarray of shape (n_features_in_,)
        The same standard errors, under the name every skgates selector with
        an uncertainty uses (``StabilitySelector``, ``FDRSelector``).
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
    # p, hidden_layer_sizes and activation are checked by the layers they configure.
    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "task": [StrOptions({"auto", "classification", "regression"})],
        "n_features_to_select": [Interval(Integral, 1, None, closed="left"),
                                 Interval(Real, 0, 1, closed="right"), None],
        "class_weight": BaseNetworkEstimator._class_weight_constraint,
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "knee_tolerance": [Interval(Real, 0, 1, closed="both")],
        "min_credit_z": [Interval(Real, 0, None, closed="left"), None],
        "credit_substitutes": ["boolean"],
        "cv": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), "cv_object"],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "order_bias": [Interval(Real, 0, np.inf, closed="left")],
        "ordered_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        task="auto",
        n_features_to_select=None,
        class_weight=None,
        p=0.5,
        n_repeats=8,
        knee_tolerance=0.05,
        min_credit_z=2.5,
        credit_substitutes=True,
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
        scoring=None,
    ):
        super().__init__(**training_params(locals()))
        self.scoring = scoring
        self.task = task
        self.n_features_to_select = n_features_to_select
        self.class_weight = class_weight
        self.p = p
        self.n_repeats = n_repeats
        self.knee_tolerance = knee_tolerance
        self.min_credit_z = min_credit_z
        self.credit_substitutes = credit_substitutes
        self.cv = cv
        self.n_rounds = n_rounds
        self.order_bias = order_bias
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.ordered_epochs = ordered_epochs

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Learn the order of the columns, the scree curve and ``n_features_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data (a DataFrame keeps its column names).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or regression targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training losses and in the held-out
            losses that credit the columns.

        Returns
        -------
        self : TailDropoutRanker
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def _train_network(self, data):
        """Scout rounds on every fold, then commit the last fold's network to one order."""
        seed = draw_seed(self.random_state)
        d = data.X.shape[1]
        folds = self._splits(data, seed)
        nets = [None] * len(folds)
        logits = np.zeros(d)
        for round_ in range(self.n_rounds):
            total, total_sq, count = np.zeros(d), np.zeros(d), 0.0
            for fold, (train_rows, valid_rows) in enumerate(folds):
                with torch_seeded(seed + fold + round_ * len(folds), self.device):
                    nets[fold] = self._scout(nets[fold], logits, data, train_rows, valid_rows)
                    sums = self._shapley_sums(nets[fold].module_, data.rows(valid_rows))
                total, total_sq, count = total + sums[0], total_sq + sums[1], count + sums[2]
            shapley = total / count
            # The next round draws orders that follow this ranking, top columns first more often.
            ranks = np.empty(d)
            ranks[np.lexsort((np.arange(d), -shapley))] = np.arange(d)
            logits = -self.order_bias * ranks / max(d - 1, 1)
        self.net_ = nets[-1]
        variance = np.maximum(total_sq / count - shapley ** 2, 0.0)
        order = self._credited_order(data, shapley)
        # Commit: the last fold's network goes on training with TailDropout over this one order.
        module = self.net_.module_
        if self._commits_on_most_rows(len(data.X)):
            # The last scout trained on half the rows; committed so, its scree would stop
            # after the strong columns. It goes on over all rows but a validation_fraction
            # share of its held-out fold, and the scree is taken on that share.
            n_scree = self._n_held_out(len(data.X))
            if 2 <= n_scree < len(valid_rows):
                rng = np.random.RandomState(seed % (2**31))
                valid_rows = np.sort(rng.choice(valid_rows, n_scree, replace=False))
                train_rows = np.setdiff1d(np.arange(len(data.X)), valid_rows)
                if self.net_.train_split is not None:  # early stopping watches those rows
                    self.net_.train_split = HeldOutRows(train_rows, valid_rows)
        held_out = data.rows(valid_rows)
        with torch_seeded(seed + 1_000_003, self.device):
            module.set_order(order)
            if self.ordered_epochs > 0:
                trained_on = data if self.net_.train_split is not None else data.rows(train_rows)
                self._train_net(self.net_, trained_on, epochs=self.ordered_epochs)
            scree_rows = self._prefix_losses(module, held_out, torch.as_tensor(order))
        # The held-out rows were named by index only, and not even that is kept once trained.
        self.net_.train_split = None
        weights = held_out.weights.double().cpu().numpy()
        self.shapley_values_ = shapley
        self.shapley_std_errors_ = np.sqrt(variance / max(count / np.mean(weights) - 1, 1))
        self.order_ = order
        self.ranking_ = np.empty(len(order), dtype=np.int64)
        self.ranking_[order] = np.arange(1, len(order) + 1)
        self.scree_ = scree_rows @ weights / weights.sum()
        self.n_features_ = self._choose_k(self.scree_, shapley)
        self.history_ = history_frame(self.net_.history)

    def _n_splits(self, n_samples):
        if self.cv == "auto":
            if 200 <= n_samples < 5000:
                return 5
            return 2 if self._commits_on_most_rows(n_samples) else 1
        return int(self.cv)

    def _n_held_out(self, n_samples):
        """Rows that one hold-out split (and the committed network's scree) keeps aside."""
        return int(np.ceil(n_samples * self.validation_fraction))

    def _commits_on_most_rows(self, n_samples):
        """Whether ``cv="auto"`` cross-fits two scouts and commits on most rows (5,000-49,999)."""
        return self.cv == "auto" and 5000 <= n_samples < 50000

    def _splits(self, data, seed):
        """``(train_rows, held_out_rows)`` pairs: one hold-out split, or cross-fitting folds.

        With too few rows to hold any out, the single pair trains and scores on all rows.
        """
        name = type(self).__name__
        n_samples = len(data.X)
        rows = np.arange(n_samples)
        codes = data.codes
        if not (self.cv == "auto" or isinstance(self.cv, Integral)):
            # A scikit-learn splitter or an iterable of (train, held-out) index pairs.
            splitter = check_cv(self.cv, codes, classifier=codes is not None)
            return [(np.asarray(train), np.asarray(valid))
                    for train, valid in splitter.split(rows, codes)]
        n_splits = self._n_splits(n_samples)
        if n_splits > 1:
            if n_samples < 2 * n_splits:
                raise ValueError(
                    f"{name}: cv={self.cv} folds need at least {2 * n_splits} samples (two per "
                    f"fold), got {n_samples}; lower cv or pass cv=1."
                )
            counts = None if codes is None else np.bincount(codes)
            stratified = counts is not None and counts[counts > 0].min() >= n_splits
            if counts is not None and not stratified:
                warnings.warn(
                    f"{name}: the rarest class has {counts[counts > 0].min()} samples, fewer than "
                    f"cv={n_splits} folds; the folds are not stratified.", UserWarning,
                )
            splitter = (StratifiedKFold if stratified else KFold)(
                n_splits, shuffle=True, random_state=seed % (2**31))
            return list(splitter.split(rows, codes if stratified else None))
        n_valid = self._n_held_out(n_samples)
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

    def _scout(self, net, logits, data, train_rows, valid_rows):
        """Train a network on random orders drawn from ``logits`` (new, or continue ``net``)."""
        held_out = self.early_stopping and not np.array_equal(train_rows, valid_rows)
        if net is None:
            split = HeldOutRows(train_rows, valid_rows) if held_out else None
            net = self._new_training_net(data.rows(train_rows), streaming=not held_out,
                                         train_split=split)
        net.module_.set_order_logits(logits)
        return self._train_net(net, data if held_out else data.rows(train_rows),
                               epochs=self.max_epochs)

    # -------------------------------------------------------- scoring sweeps
    def _row_losses(self, output, y):
        if self.task_ == "classification":
            return torch.nn.functional.cross_entropy(output, y, reduction="none")
        return ((output - y) ** 2).mean(dim=1)

    @torch.no_grad()
    def _prefix_losses(self, module, data, order):
        """Per-row losses ``(d + 1, n)`` of every prefix of ``order`` (shared or per row)."""
        module.eval()
        outputs = module.prefix_outputs(data.X, order.to(data.X.device))
        losses = [self._row_losses(out, data.y) for out in outputs]
        return torch.stack(losses).double().cpu().numpy()

    def _shapley_sums(self, module, data):
        """Weighted sums, sums of squares and total weight of Shapley gains on held-out rows.

        Each row walks through ``n_repeats`` random orders of the columns; the
        drop of its loss when a column joins is that column's gain.
        """
        n, d = data.X.shape
        weights = data.weights.double().cpu().numpy()
        total, total_sq = np.zeros(d), np.zeros(d)
        for _ in range(self.n_repeats):
            orders = module.sample_orders(n)
            losses = self._prefix_losses(module, data, orders)  # (d + 1, n)
            gains = losses[:-1] - losses[1:]  # (d, n): gain of the column added at step m
            columns = orders.T.cpu().numpy()
            np.add.at(total, columns, gains * weights)
            np.add.at(total_sq, columns, gains ** 2 * weights)
        return total, total_sq, self.n_repeats * weights.sum()

    def _standing_out(self, shapley, scale=1.0):
        """Mask of the columns whose Shapley value stands out by ``scale * min_credit_z``
        robust standard deviations, or None (no cap)."""
        if self.min_credit_z is None:
            return None
        return standing_out(shapley, scale * self.min_credit_z)

    def _credited_order(self, data, shapley):
        """The columns that stand out, their substitutes, the rest (see ``credit_substitutes``).

        Only columns that stand out twice as far (``2 * min_credit_z``) earn
        credit for their substitutes: among hundreds of noise columns a few
        pass ``min_credit_z``, and a noise source would promote nothing but
        would sit above every substitute.
        """
        strong = self._standing_out(shapley, scale=2.0) if self.credit_substitutes else None
        sources = None if strong is None or not strong.any() else np.flatnonzero(strong)
        order, self.substitution_r2_, self.substitutes_ = credited_order(
            data.X, data.weights, shapley, sources)
        return order

    def _choose_k(self, scree, shapley):
        """``n_features_to_select``, or the knee of the scree curve ``(d + 1,)`` capped
        by the number of columns whose Shapley value stands out from the crowd."""
        d = len(scree) - 1
        k = self.n_features_to_select
        if k is not None:
            return int(k) if isinstance(k, Integral) else max(1, int(round(k * d)))
        best = scree.min()
        close = scree[1:] - best <= self.knee_tolerance * (scree[0] - best)
        knee = int(np.argmax(close)) + 1
        credited = self._standing_out(shapley)
        if credited is None:
            return knee
        return max(1, min(knee, int(np.count_nonzero(credited))))

    # ------------------------------------------------------------ the bridge
    def _check_params(self, n_features):
        k = self.n_features_to_select
        if isinstance(k, Integral) and k > n_features:
            raise ValueError(
                f"{type(self).__name__}: n_features_to_select={k} is out of range; it must be "
                f"between 1 and the number of features ({n_features})."
            )

    def _build_module(self, n_features, n_outputs):
        body = MLP(2 * n_features, self.hidden_layer_sizes, n_outputs, self.activation)
        return TailDropoutRankerNetwork(n_features, body, p=self.p)

    # -------------------------------------------------------------- selection
    @property
    def feature_importances_(self):
        check_is_fitted(self, "shapley_values_")
        return np.clip(self.shapley_values_, 0.0, None)

    @property
    def feature_importances_std_(self):
        check_is_fitted(self, "shapley_std_errors_")
        return self.shapley_std_errors_

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
