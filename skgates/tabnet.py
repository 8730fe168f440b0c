"""TabNetClassifier, TabNetRegressor and TabNetPretrainer: TabNet as scikit-learn estimators."""

import copy
import numbers
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.dataset import ValidSplit

from ._base import BaseNetworkEstimator, training_params
from ._categorical import CategoricalEncoder
from ._net import ParameterListClipping
from ._permutation import PERMUTATION_ROWS, permutation_importances
from ._seeding import draw_seed
from ._substitutes import CREDIT_ATTRIBUTES_DOC, CREDIT_PARAMETER_DOC, credited_importances
from ._targets import (
    MultiTaskCrossEntropy, check_task_labels, encode_task_labels, label_columns,
    stack_labels, subset_accuracy, task_classes,
)
from .nn.tabnet import TabNet, TabNetPretraining, TabNetPretrainingLoss

_ARCHITECTURE_DOC = """
    n_d : int, default=8
        Width of the decision features of each step (the paper's ``N_d``).
    n_a : int, default=8
        Width of the attention features (``N_a``).
    n_steps : int, default=3
        Number of decision steps (``N_steps``), at least 1.
    gamma : float, default=1.3
        Prior relaxation, at least 1: ``P[i] = P[i-1] * (gamma - M[i])``; 1
        lets each column be used by one step only, larger values allow reuse.
    n_independent : int, default=2
        GLU layers of each step's own block of the feature transformer.
    n_shared : int, default=2
        GLU layers shared by all steps.
    virtual_batch_size : int, default=128
        Rows per ghost batch norm chunk; at most ``batch_size``.
    momentum : float, default=0.02
        Momentum of the ghost batch norms' running statistics.
    mask_type : {"sparsemax", "entmax"}, default="sparsemax"
        The mask function: sparsemax or entmax-1.5.
    cat_idxs : "auto" or list of int or str, default="auto"
        Categorical columns, each embedded by a learned embedding. ``"auto"``
        embeds every non-numeric column of a DataFrame (``category``,
        ``object``, ``bool``, string); a list gives positions or names.
    cat_dims : list of int or None, default=None
        Number of categories of each categorical column when the column
        already holds integer codes ``0..cat_dims[k]-1``; None learns the
        categories during ``fit``, and a category unseen in training (or a
        missing value) maps to a reserved embedding.
    cat_emb_dim : int or list of int, default=1
        Embedding width, for all categorical columns or one per column.
    grouped_features : list of list of int or None, default=None
        Groups of column positions that share one attention value (e.g. the
        one-hot columns of one variable). Groups must not overlap.
    compile : bool, default=False
        ``torch.compile`` the network's training (skorch's ``compile``
        support). The first ``fit`` pays a compilation of about a minute on
        CPU; worth it for long trainings only. Inference runs the eager
        network. A fitted estimator with ``compile=True`` pickles and saves
        like any other (it is compiled again when loaded).
    clip_value : float or None, default=1.0
        Clip the global gradient norm of each step to this value (as
        pytorch-tabnet does by default); None disables clipping.
    contractive : float, default=0.0
        Weight of the contractive penalty, see :mod:`skgates.nn.contractive`;
        0 disables it.
    contractive_layers : list of str or None, default=None
        fnmatch patterns of submodule names whose outputs count; None = the
        estimator's default (the feature transformers of the decision steps).
"""

_IMPORTANCE_DOC = f"""importance : {{"mask", "permutation"}}, default="mask"
        What ``feature_importances_`` measures (before the credit).
        ``"mask"``: the paper's aggregate attention mask, averaged over (at
        most 20,000 of) the training rows; nearly free. ``"permutation"``: the
        rise of the training loss (weighted, as in training) when a column's
        values are permuted among (at most {PERMUTATION_ROWS:,}) rows, in
        eval mode, negative rises counted as 0 (the masks are used if no
        column raises the loss). The rows are the held-out ones when ``fit``
        holds some out (``early_stopping=True``, or ``X_val``), so a column the
        network memorised gains nothing; else the training rows. With few
        held-out rows the rises are noisy. It ranks better where the network has not
        learned enough for its masks to be sharp (100 columns, 100 epochs:
        see ``docs/benchmarks/tabnet_selection.md``), at the cost of one
        forward pass per column over those rows, which grows with the
        square of the number of columns (one CPU thread: 1-2 s next to a
        28 s fit at 100 columns and 14,000 rows, 1-1.5 min next to a 15 s fit
        at 500 columns and 1,820 rows, several minutes at thousands of
        columns). ``partial_fit`` measures it on each chunk.
"""

_TRAINING_DOC = """
    max_epochs : int, default=100
        Passes over the training data (upper bound with early stopping).
    batch_size : int, default=1024
        Rows per mini-batch (capped at the number of rows, so small data trains).
    lr : float, default=0.02
        AdamW learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay of weight matrices.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their loss
        has not improved for ``n_iter_no_change`` epochs, restoring the best weights.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    device : str, default="cpu"
        Torch device to train on.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, masking and the validation split.
    verbose : int, default=0
        ``> 0`` shows a progress bar and a per-epoch log.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (e.g. ``LRScheduler`` for the paper's decay).
"""


class _TabNetEstimator(BaseNetworkEstimator):
    """What TabNetClassifier, TabNetRegressor and TabNetPretrainer share."""

    _default_contractive_layers = ("encoder.feature_transformers.[0-9]",
                                   "encoder.feature_transformers.[0-9][0-9]")

    # n_d, n_a, n_steps, gamma, n_independent, n_shared, virtual_batch_size, momentum,
    # mask_type (and lambda_sparse, pretraining_ratio, n_shared_decoder, n_indep_decoder)
    # are checked by the skgates.nn TabNet modules they configure.
    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "cat_idxs": [StrOptions({"auto"}), list, tuple, np.ndarray],
        "cat_dims": [list, tuple, np.ndarray, None],
        "cat_emb_dim": [Interval(Integral, 1, None, closed="left"), list, tuple],
        "grouped_features": [list, tuple, None],
        "compile": ["boolean"],
        "clip_value": [Interval(Real, 0, np.inf, closed="neither"), None],
    }
    _min_rows_per_call = 2  # ghost batch norm needs two rows

    def _init(self, values):
        super().__init__(**training_params(values))
        for name in _ARCHITECTURE_PARAMETERS:
            setattr(self, name, values[name])

    # ----------------------------------------------------------- validation
    def _check_params(self, n_features):
        name = type(self).__name__
        if (isinstance(self.virtual_batch_size, Integral)
                and self.virtual_batch_size > self.batch_size):
            raise ValueError(
                f"{name}: virtual_batch_size={self.virtual_batch_size} is larger than "
                f"batch_size={self.batch_size}; ghost batches must fit in a batch."
            )
        self._groups_ = _check_groups(self.grouped_features, n_features, name)
        self._emb_dims_ = _check_emb_dims(self.cat_emb_dim, len(self.categorical_.columns_), name)

    def _validate_X(self, X, reset):
        name = type(self).__name__
        if reset:
            pretrained = getattr(self, "_pretrained", None)
            if pretrained is not None:
                self.categorical_ = copy.deepcopy(pretrained.categorical_)
            elif _is_frame(X) or not (isinstance(self.cat_idxs, str) and self.cat_idxs == "auto"):
                self.categorical_ = CategoricalEncoder(self.cat_idxs, self.cat_dims, name).fit(
                    X if _is_frame(X) else _numeric(self, X, reset=True))
            else:
                self.categorical_ = CategoricalEncoder([], None, name).fit(X)
        check_is_fitted(self, "categorical_")
        if not self.categorical_.columns_:
            return _numeric(self, X, reset)
        if _is_frame(X):
            return _numeric(self, self.categorical_.transform(X), reset)
        return self.categorical_.transform(_numeric(self, X, reset))

    def _standardized_columns(self):
        columns = self.categorical_.columns_
        if not columns:
            return None
        return [j for j in range(self.n_features_in_) if j not in set(columns)]

    # --------------------------------------------------------------- network
    def _architecture(self, n_features):
        encoder = self.categorical_
        return dict(
            n_d=self.n_d, n_a=self.n_a, n_steps=self.n_steps, gamma=self.gamma,
            n_independent=self.n_independent, n_shared=self.n_shared,
            virtual_batch_size=self.virtual_batch_size, momentum=self.momentum,
            mask_type=self.mask_type, cat_idxs=encoder.columns_, cat_dims=encoder.n_codes_,
            cat_emb_dims=self._emb_dims_, grouped_features=self._groups_,
        )

    def _default_callbacks(self):
        if self.clip_value is None:
            return []
        return [("gradient_clipping", ParameterListClipping(gradient_clip_value=self.clip_value))]

    def _optimizer_options(self):
        # TabNet has ~50 small parameter tensors: the fused AdamW step is ~5x faster
        # than a Python loop over them (same update rule).
        return {"fused": True}

    # -------------------------------------------------------- interpretation
    def explain(self, X):
        """Attention masks per row, in input-column space.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        aggregate : ndarray of shape (n_samples, n_features_in_)
            The paper's aggregate feature importance of each row,
            ``sum_i eta[i] M[i]_j / sum_j sum_i eta[i] M[i]_j`` with step weight
            ``eta[i] = sum_c ReLU(d[i]_c)``; rows sum to 1 (a row whose step
            weights are all 0 weighs its steps equally).
        masks : ndarray of shape (n_steps, n_samples, n_features_in_)
            The mask of every step; each row sums to 1. The mask of an embedded
            column or of a group is split evenly over its input columns.
        """
        aggregate, masks = self._batched(X, _explain_rows)
        return aggregate, masks.transpose(1, 0, 2)

    def _credits_substitutes(self):
        return False  # the pretrainer's importances are its encoder's, uncredited

    def _importance_type(self):
        return "mask"  # (the pretrainer has no loss of y to permute against)

    def _permutation_importances(self, data, fallback):
        """Permutation importances summing to 1 (``fallback`` if no column raises the loss)."""
        rises = permutation_importances(self, self._held_out_rows(data),
                                        random_state=draw_seed(self.random_state))
        rises = np.clip(rises, 0.0, None)
        total = rises.sum()
        return rises / total if total > 0 else fallback

    def _held_out_rows(self, data):
        """The rows that ``fit`` held out (early stopping's split, or ``X_val``), else ``data``.

        A column the network memorised on its training rows raises their loss when
        permuted, not the loss of rows it never trained on.
        """
        if data.held_out is not None:
            return data.rows(np.asarray(data.held_out.valid_rows))
        if isinstance(self.net_.train_split, ValidSplit):
            # skorch's own split of this fit's rows (its random_state makes it the same split)
            _, valid = self.net_.get_split_datasets(
                {"X": data.X, "sample_weight": data.weights}, data.y)
            return data.rows(np.asarray(valid.indices))
        return data

    def _after_training(self, data, first_call):
        """Importances: mean aggregate mask over (at most 20,000 of) the training rows, sum 1.

        The substitutes credit tests the same rows (its cost stays bounded on large data).
        """
        X_t, weights = data.X, data.weights
        if len(X_t) > 20000:
            rows = np.sort(np.random.RandomState(0).choice(len(X_t), 20000, replace=False))
            rows = torch.as_tensor(rows, device=X_t.device)
            X_t, weights = X_t[rows], weights[rows.to(weights.device)]
        aggregate, _ = self._batched(X_t, _explain_rows, prepared=True)
        importances = aggregate.mean(axis=0)
        total = importances.sum()
        n = len(importances)
        importances = importances / total if total > 0 else np.full(n, 1.0 / n)
        if self._importance_type() == "permutation":
            importances = self._permutation_importances(data, fallback=importances)
        if self._credits_substitutes():
            self.uncredited_importances_ = importances
            importances, self.substitution_r2_, self.substitutes_ = credited_importances(
                X_t, weights, importances)
        self.feature_importances_ = importances

    def _fit_tabnet(self, X, y, from_pretrained, sample_weight=None, **validation):
        if from_pretrained is not None:
            _check_pretrained(self, from_pretrained)
        self._pretrained = from_pretrained
        try:
            return self._fit(X, y, sample_weight=sample_weight, **validation)
        finally:
            del self._pretrained

    def _load_pretrained(self, module):
        pretrained = getattr(self, "_pretrained", None)
        if pretrained is None:
            return module
        source = pretrained._inference_module()
        try:
            module.embedding.load_state_dict(source.embedding.state_dict())
            module.encoder.load_state_dict(source.encoder.state_dict())
        except RuntimeError as error:
            raise ValueError(
                f"{type(self).__name__}: the pretrained encoder does not match this network "
                "(n_d, n_a, n_steps, n_independent, n_shared, categorical columns and "
                "grouped_features must be equal)."
            ) from error
        return module


class _SupervisedTabNet(_TabNetEstimator):
    _parameter_constraints = {
        **_TabNetEstimator._parameter_constraints,
        "credit_substitutes": ["boolean"],
        "importance": [StrOptions({"mask", "permutation"})],
    }

    def _credits_substitutes(self):
        return self.credit_substitutes

    def _importance_type(self):
        return self.importance

    def _build_module(self, n_features, n_outputs):
        module = TabNet(n_features, n_outputs, lambda_sparse=self.lambda_sparse,
                        **self._architecture(n_features))
        return self._load_pretrained(module)

    def fit(self, X, y, from_pretrained=None, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Train TabNet on ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data; categorical columns are embedded (see ``cat_idxs``).
        y : array-like
            Targets.
        from_pretrained : TabNetPretrainer or None, default=None
            A fitted pretrainer with the same architecture: its embeddings and
            encoder start the training, and its categorical encoding is reused.
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
        self
        """
        return self._fit_tabnet(X, y, from_pretrained, sample_weight=sample_weight,
                                X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)


class TabNetClassifier(ClassifierMixin, _SupervisedTabNet, BaseEstimator):
    __doc__ = f"""TabNet classifier (Arik & Pfister, 2021): attentive, interpretable, sparse.

    A sequence of ``n_steps`` decision steps, each reading the columns chosen
    by a sparse attention mask (sparsemax or entmax), predicts the class
    logits; the training loss adds ``lambda_sparse`` times the masks' mean
    entropy, pushing masks to select few columns. See :mod:`skgates.nn.tabnet`.

    Multi-task: ``fit(X, Y)`` with a 2-D ``Y`` of two or more columns, each
    a task with its own labels, trains one network whose encoder is shared
    and whose linear head has a block of logits per task; the loss is the
    mean over tasks of each task's cross-entropy. ``predict`` then returns
    ``(n_samples, n_tasks)`` labels, ``predict_proba`` a list of one array
    per task and ``classes_`` a list of arrays, as
    :class:`~sklearn.ensemble.RandomForestClassifier` does. A ``Y`` of one
    column is one task (raveled with a ``DataConversionWarning``, as
    scikit-learn's single-output classifiers do).

    Numeric columns are standardised before the network's input batch norm
    (so eval-mode statistics are right from the first epoch and results do
    not depend on column scale); categorical columns are not, they are embedded.

    Parameters
    ----------{_ARCHITECTURE_DOC}
    lambda_sparse : float, default=1e-3
        Weight of the mask entropy (sparsity) regulariser.
    {CREDIT_PARAMETER_DOC}    {_IMPORTANCE_DOC}\
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in
        :class:`~sklearn.linear_model.LogisticRegression`: a dict
        ``{{label: weight}}``, or ``"balanced"`` (``fit`` only; pass a dict to
        ``partial_fit``). Multiplies ``sample_weight``. For a multi-task
        ``Y``: ``"balanced"`` (each task balanced on its own labels) or a list
        of one dict (or None) per task, as the multi-output forests of
        scikit-learn take them; task ``t``'s weights weigh task ``t``'s
        cross-entropy only.
{_TRAINING_DOC}    scoring : str, callable or None, default=None
        What early stopping watches on the held-out rows (recorded as
        ``valid_score`` in ``history_``): a scikit-learn scorer name such as
        ``"roc_auc"`` or ``"neg_mean_absolute_error"``, or a callable
        ``scorer(estimator, X, y)``; higher is better. None watches the
        held-out loss (``valid_loss``). For a multi-task ``Y`` a scorer name
        scores each task on its own column and averages over the tasks (as
        pytorch-tabnet averages its metrics); a callable receives the whole
        ``Y`` (``(n_samples, n_tasks)``), ``predict`` of that shape and
        ``predict_proba`` as a list, e.g. ``lambda est, X, Y: est.score(X, Y)``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels (any type ``np.unique`` sorts); for a multi-task ``Y``,
        one array per task.
    n_outputs_ : int
        For a multi-task ``Y``, the number of tasks (columns of ``Y``); for
        a single task, the number of the network's outputs (``n_classes``),
        as for every skgates classifier.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Mean over the training rows of the aggregate masks of :meth:`explain`
        (or the permutation importance, see ``importance``): non-negative,
        sums to 1; embedded columns fold back onto their column.
        With ``credit_substitutes``, the substitutes of the columns that stand
        out are credited.{CREDIT_ATTRIBUTES_DOC}
    categorical_ : object
        The learned categorical encoding (columns, categories).
    net_ : skgates._net.PenalizedNet
        The fitted skorch net; ``net_.module_`` is a :class:`skgates.nn.TabNet`.
    history_ : pandas.DataFrame
        Per-epoch ``train_loss`` (and ``valid_loss``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    TabNetRegressor, TabNetPretrainer
    skgates.nn.TabNet : The network.

    References
    ----------
    S. O. Arik, T. Pfister. "TabNet: Attentive Interpretable Tabular Learning."
    AAAI 2021.

    Examples
    --------
    >>> from skgates import TabNetClassifier
    >>> from skgates.datasets import make_syn
    >>> X, y, relevant = make_syn("syn2", n_samples=500, n_noise=4, random_state=0)
    >>> clf = TabNetClassifier(max_epochs=5, batch_size=256, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> bool(abs(clf.feature_importances_.sum() - 1) < 1e-6)
    True

    Multi-task: one column of labels per task, each with its own classes.

    >>> import numpy as np
    >>> Y = np.c_[X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])].astype(int)
    >>> mt = TabNetClassifier(max_epochs=5, batch_size=256, random_state=0).fit(X, Y)
    >>> mt.predict(X[:3]).shape
    (3, 2)
    >>> [p.shape for p in mt.predict_proba(X[:3])]
    [(3, 2), (3, 3)]
    >>> [c.tolist() for c in mt.classes_]
    [[0, 1], [0, 1, 2]]
    """

    _task = "classification"
    _parameter_constraints = {
        **_SupervisedTabNet._parameter_constraints,
        "class_weight": [*BaseNetworkEstimator._class_weight_constraint, list],
    }

    def __init__(self, *, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                 lambda_sparse=1e-3, credit_substitutes=True, importance="mask",
                 virtual_batch_size=128, momentum=0.02, mask_type="sparsemax", cat_idxs="auto",
                 cat_dims=None, cat_emb_dim=1, grouped_features=None, class_weight=None,
                 compile=False, clip_value=1.0, contractive=0.0, contractive_layers=None,
                 max_epochs=100, batch_size=1024, lr=0.02, weight_decay=0.0,
                 early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, device="cpu", random_state=None, verbose=0,
                 callbacks=None, scoring=None):
        self._init(locals())
        self.lambda_sparse = lambda_sparse
        self.credit_substitutes = credit_substitutes
        self.importance = importance
        self.scoring = scoring
        self.class_weight = class_weight

    def fit(self, X, y, from_pretrained=None, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Train TabNet on ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data; categorical columns are embedded (see ``cat_idxs``).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Class labels (ints, strings, bools: any type ``np.unique``
            sorts). A 2-D ``y`` (array or DataFrame) of two or more columns
            is a multi-task target: each column is a task with its own
            labels (a DataFrame's columns keep their own types) and needs at
            least two classes. A single column is one task: it is raveled
            with a ``DataConversionWarning``.
        from_pretrained : TabNetPretrainer or None, default=None
            A fitted pretrainer with the same architecture: its embeddings and
            encoder start the training, and its categorical encoding is reused.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training (and validation) loss (of
            every task).
        X_val : array-like of shape (n_val, n_features), default=None
            Validation rows for early stopping and ``scoring``, instead of
            holding out ``validation_fraction`` of ``X`` (same columns as ``X``;
            they are not trained on and do not change the scaling).
        y_val : array-like of shape (n_val,) or (n_val, n_tasks), default=None
            Labels of ``X_val``, with the tasks of ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows in the validation loss and score.

        Returns
        -------
        self : TabNetClassifier
        """
        return super().fit(X, y, from_pretrained, sample_weight, X_val=X_val, y_val=y_val,
                           sample_weight_val=sample_weight_val)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more pass over a chunk of a stream (builds the network on the first call).

        ``feature_importances_`` is recomputed on each chunk.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels; the first call decides whether the stream is multi-task
            (two or more columns), later chunks must have the same tasks.
        classes : array-like of shape (n_classes,) or list of them, default=None
            All labels the stream will contain; needed on the first call
            unless the first chunk holds every class. Multi-task: a list of
            one array of labels per task.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row of the chunk in the loss.

        Returns
        -------
        self : TabNetClassifier
        """
        return self._partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities, in the order of ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or list of ndarray
            For a multi-task fit, a list of ``n_tasks`` arrays, array ``t`` of
            shape ``(n_samples, len(classes_[t]))`` (as
            :class:`~sklearn.ensemble.RandomForestClassifier` returns).
        """
        return self._probabilities(self._forward(X))

    def predict(self, X):
        """Most probable class of each row (of each task).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Labels from ``classes_``; for a multi-task fit one column per
            task (of the tasks' common label type, object where they differ).
        """
        return self._labels(self._forward(X))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy; for a multi-task fit the subset accuracy.

        The subset accuracy is the (weighted) fraction of rows whose labels
        are right in every task, what
        :meth:`sklearn.multioutput.MultiOutputClassifier.score` computes (and
        :func:`sklearn.metrics.accuracy_score` for 0/1 multi-output labels).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        if not self._multi_task():
            return super().score(X, y, sample_weight=sample_weight)
        columns = self._task_columns(y)
        Y_pred = self.predict(X)
        if len(Y_pred) != len(columns[0]):
            raise ValueError(f"{type(self).__name__}: X has {len(Y_pred)} samples but y has "
                             f"{len(columns[0])}; they must match.")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, Y_pred)
        return subset_accuracy(stack_labels(columns), Y_pred, sample_weight)

    # ------------------------------------------------------------ multi-task
    def _multi_task(self):
        """Whether the fitted target is multi-task (``classes_`` is a list)."""
        return isinstance(getattr(self, "classes_", None), list)

    def _task_columns(self, y):
        """The label columns of a multi-task ``y`` for this fit's tasks; clear errors otherwise."""
        name = type(self).__name__
        try:
            found = label_columns(y)
        except TypeError as error:
            raise TypeError(f"{name}: {error}") from None
        if found is None:
            raise ValueError(
                f"{name} was fitted on {self.n_outputs_} tasks; y must be 2-D with "
                f"{self.n_outputs_} columns, got shape {np.shape(y)}."
            )
        columns, _ = found
        if len(columns) != self.n_outputs_:
            raise ValueError(
                f"{name}: y has {len(columns)} columns (tasks), but {name} was fitted on "
                f"{self.n_outputs_} tasks."
            )
        return columns

    def _encode_targets(self, X_checked, y, first_call, classes, sample_weight, update=True):
        name = type(self).__name__
        if y is None:
            return super()._encode_targets(X_checked, y, first_call, classes, sample_weight,
                                           update)
        try:
            found = label_columns(y)
        except TypeError as error:
            raise TypeError(f"{name}: {error}") from None
        except ValueError:
            found = None  # (ragged input: the single-task checks name the problem)
        multi = found is not None if first_call else self._multi_task()
        if not multi:
            if found is not None:
                raise ValueError(
                    f"{name} was fitted on one task (a 1-D y); this y has {len(found[0])} "
                    "columns. Fit again with the 2-D y to train a multi-task classifier."
                )
            return super()._encode_targets(X_checked, y, first_call, classes, sample_weight,
                                           update)
        columns = self._task_columns(y) if not first_call else found[0]
        where = found[1] if found is not None else None
        n_tasks, n_rows = len(columns), len(X_checked)
        if len(columns[0]) != n_rows:
            raise ValueError(f"{name}: X has {n_rows} samples but y has {len(columns[0])} "
                             "rows; they must match.")
        given = self._task_class_lists(classes, n_tasks)
        for t, column in enumerate(columns):
            check_task_labels(column, t, where[t], name)
        if first_call:
            self.task_ = "classification"
            self.classes_ = [task_classes(column, given[t], t, where[t], name)
                             for t, column in enumerate(columns)]
            self.n_outputs_ = n_tasks
        elif classes is not None:
            for t, (task_given, fitted) in enumerate(zip(given, self.classes_)):
                task_given = np.unique(np.asarray(task_given))
                if not np.array_equal(task_given, fitted):
                    raise ValueError(
                        f"{name}: classes[{t}]={task_given.tolist()} differs from the classes "
                        f"of task {t} in the first partial_fit call, {fitted.tolist()}."
                    )
        codes = np.column_stack([
            encode_task_labels(column, self.classes_[t], t, where[t], name)
            for t, column in enumerate(columns)
        ])
        return torch.as_tensor(codes, dtype=torch.long, device=self.device_), codes

    def _task_class_lists(self, classes, n_tasks):
        if classes is None:
            return [None] * n_tasks
        if (isinstance(classes, (str, bytes)) or not hasattr(classes, "__len__")
                or len(classes) != n_tasks or any(np.ndim(c) != 1 for c in classes)):
            raise ValueError(
                f"{type(self).__name__}: for a multi-task y, classes must be a list of "
                f"{n_tasks} arrays, one per task (the labels each task of the stream will "
                f"contain); got {classes!r}."
            )
        return list(classes)

    def _with_class_weights(self, weights, codes, streaming):
        name = type(self).__name__
        class_weight = self.class_weight
        if not self._multi_task():
            if isinstance(class_weight, (list, tuple)):
                raise ValueError(
                    f"{name}: class_weight as a list (one dict per task) is for a multi-task "
                    "y (2-D, one column per task); this y has one task: pass a dict or "
                    "'balanced'."
                )
            return super()._with_class_weights(weights, codes, streaming)
        if class_weight is None:
            return weights
        n_tasks = self.n_outputs_
        if isinstance(class_weight, dict):
            raise ValueError(
                f"{name}: for a multi-task y, class_weight must be 'balanced' or a list of "
                f"{n_tasks} dicts (one per task, None for equal weights), as scikit-learn's "
                "multi-output forests take it; got a dict."
            )
        if isinstance(class_weight, str):
            if streaming:
                raise ValueError(
                    f"{name}: class_weight='balanced' needs the whole training set; with "
                    "partial_fit pass a list of one dict per task (e.g. from sklearn.utils."
                    "class_weight.compute_class_weight('balanced', classes=..., y=...)).")
            per_task = [class_weight] * n_tasks
        else:
            per_task = list(class_weight)
            if len(per_task) != n_tasks:
                raise ValueError(f"{name}: class_weight has {len(per_task)} entries, but y has "
                                 f"{n_tasks} tasks; pass one dict (or None) per task.")
        columns = []
        for t, (classes, task_weight) in enumerate(zip(self.classes_, per_task)):
            if task_weight is None:
                columns.append(np.ones(len(codes)))
                continue
            if not isinstance(task_weight, (dict, str)):
                raise TypeError(f"{name}: class_weight[{t}] must be a dict, 'balanced' or "
                                f"None, got {task_weight!r}.")
            try:
                per_class = compute_class_weight(task_weight, classes=classes,
                                                 y=classes[codes[:, t]])
            except ValueError as error:
                raise ValueError(f"{name}: class_weight of task {t}: {error}") from None
            columns.append(per_class[codes[:, t]])
        return weights[:, None] * np.column_stack(columns)

    def _make_criterion(self):
        if self._multi_task():
            return MultiTaskCrossEntropy([len(classes) for classes in self.classes_])
        return super()._make_criterion()

    def _network_outputs(self):
        if self._multi_task():
            return sum(len(classes) for classes in self.classes_)
        return super()._network_outputs()

    def _task_logits(self, logits):
        """The logits of each task: consecutive column blocks of the network's outputs."""
        bounds = np.cumsum([len(classes) for classes in self.classes_])[:-1]
        return np.split(logits, bounds, axis=1)

    def _probabilities(self, logits):
        if not self._multi_task():
            return super()._probabilities(logits)
        return [super(TabNetClassifier, self)._probabilities(part)
                for part in self._task_logits(logits)]

    def _labels(self, logits):
        if not self._multi_task():
            return super()._labels(logits)
        return stack_labels([classes[np.argmax(part, axis=1)]
                             for classes, part in zip(self.classes_, self._task_logits(logits))])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class TabNetRegressor(RegressorMixin, _SupervisedTabNet, BaseEstimator):
    __doc__ = f"""TabNet regressor (Arik & Pfister, 2021), single or multi-output.

    The network of :class:`TabNetClassifier` with a linear output per target;
    targets are standardised internally (MSE loss) and predictions mapped back.

    Parameters
    ----------{_ARCHITECTURE_DOC}
    lambda_sparse : float, default=1e-3
        Weight of the mask entropy (sparsity) regulariser.
    {CREDIT_PARAMETER_DOC}    {_IMPORTANCE_DOC}{_TRAINING_DOC}\
    scoring : str, callable or None, default=None
        What early stopping watches on the held-out rows (recorded as
        ``valid_score`` in ``history_``): a scikit-learn scorer name such as
        ``"roc_auc"`` or ``"neg_mean_absolute_error"``, or a callable
        ``scorer(estimator, X, y)``; higher is better. None watches the
        held-out loss (``valid_loss``).

    Attributes
    ----------
    feature_importances_, uncredited_importances_, substitutes_, substitution_r2_
        As for :class:`TabNetClassifier`.
    target_scaler_ : sklearn.preprocessing.StandardScaler
    net_, history_, categorical_, n_features_in_, feature_names_in_
        As for :class:`TabNetClassifier`.

    See Also
    --------
    TabNetClassifier, TabNetPretrainer

    Examples
    --------
    >>> import numpy as np
    >>> from skgates import TabNetRegressor
    >>> X = np.random.RandomState(0).randn(500, 5)
    >>> y = X[:, 0] - 2 * X[:, 1]
    >>> reg = TabNetRegressor(max_epochs=5, batch_size=128, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _task = "regression"

    def __init__(self, *, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                 lambda_sparse=1e-3, credit_substitutes=True, importance="mask",
                 virtual_batch_size=128, momentum=0.02, mask_type="sparsemax", cat_idxs="auto",
                 cat_dims=None, cat_emb_dim=1, grouped_features=None, compile=False,
                 clip_value=1.0, contractive=0.0, contractive_layers=None, max_epochs=100,
                 batch_size=1024, lr=0.02,
                 weight_decay=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, device="cpu", random_state=None, verbose=0,
                 callbacks=None, scoring=None):
        self._init(locals())
        self.lambda_sparse = lambda_sparse
        self.credit_substitutes = credit_substitutes
        self.importance = importance
        self.scoring = scoring

    def partial_fit(self, X, y, sample_weight=None):
        """Train one more pass over a chunk of a stream (builds the network on the first call).

        ``feature_importances_`` is recomputed on each chunk.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row of the chunk in the loss.

        Returns
        -------
        self : TabNetRegressor
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``.

        Computed in float64, so a row's prediction does not depend on the
        other rows it is predicted with.
        """
        return self._targets(self._forward(X, float64=True))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class TabNetPretrainer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _TabNetEstimator,
                       BaseEstimator):
    __doc__ = f"""Self-supervised TabNet pretraining: reconstruct randomly hidden columns.

    Each training row hides every column (or group) with probability
    ``pretraining_ratio``; the encoder reads the rest and a decoder
    reconstructs the hidden entries (loss: squared error of hidden entries
    divided by each column's batch variance). The fitted encoder can start
    a classifier's or regressor's training:
    ``TabNetClassifier(...).fit(X, y, from_pretrained=pretrainer)`` (same
    architecture parameters).

    It is also a transformer: :meth:`transform` gives the encoder's
    representation of each row, the sum over the decision steps of
    ``ReLU(d[i])`` (the ``n_d``-wide vector that a TabNet head reads), so
    ``make_pipeline(TabNetPretrainer(...), LogisticRegression())`` learns a
    model on the pretrained features.

    Parameters
    ----------
    pretraining_ratio : float, default=0.2
        Probability of hiding each column, in (0, 1).
    n_shared_decoder : int, default=1
        GLU layers shared by the decoder's steps.
    n_indep_decoder : int, default=1
        GLU layers of each decoder step's own block.{_ARCHITECTURE_DOC}
{_TRAINING_DOC}
    Attributes
    ----------
    feature_importances_ : ndarray of shape (n_features_in_,)
        Mean aggregate mask of the encoder over the training rows (sums to 1).
    net_, history_, categorical_, n_features_in_, feature_names_in_
        As for :class:`TabNetClassifier`; ``net_.module_`` is a
        :class:`skgates.nn.TabNetPretraining`.

    See Also
    --------
    TabNetClassifier, TabNetRegressor

    Examples
    --------
    >>> import numpy as np
    >>> from skgates import TabNetPretrainer, TabNetClassifier
    >>> X = np.random.RandomState(0).randn(600, 6)
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> pre = TabNetPretrainer(max_epochs=5, batch_size=128, random_state=0).fit(X)
    >>> clf = TabNetClassifier(max_epochs=5, batch_size=128, random_state=0)
    >>> clf.fit(X[:100], y[:100], from_pretrained=pre).predict(X[:3]).shape
    (3,)
    >>> pre.transform(X[:3]).shape  # the encoder's representation, n_d columns
    (3, 8)
    >>> pre.get_feature_names_out()[:2]
    array(['tabnetpretrainer0', 'tabnetpretrainer1'], dtype=object)
    """

    _task = "reconstruction"

    def __init__(self, *, pretraining_ratio=0.2, n_shared_decoder=1, n_indep_decoder=1, n_d=8,
                 n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                 virtual_batch_size=128, momentum=0.02, mask_type="sparsemax", cat_idxs="auto",
                 cat_dims=None, cat_emb_dim=1, grouped_features=None, compile=False,
                 clip_value=1.0, contractive=0.0, contractive_layers=None, max_epochs=100,
                 batch_size=1024, lr=0.02, weight_decay=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, device="cpu", random_state=None,
                 verbose=0, callbacks=None):
        self._init(locals())
        self.pretraining_ratio = pretraining_ratio
        self.n_shared_decoder = n_shared_decoder
        self.n_indep_decoder = n_indep_decoder

    def _build_module(self, n_features, n_outputs):
        return TabNetPretraining(
            n_features, pretraining_ratio=self.pretraining_ratio,
            n_shared_decoder=self.n_shared_decoder, n_indep_decoder=self.n_indep_decoder,
            **self._architecture(n_features))

    def _make_criterion(self):
        return TabNetPretrainingLoss()

    def fit(self, X, y=None):
        """Pretrain on ``X`` (``y`` is ignored).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : TabNetPretrainer
        """
        return self._fit_tabnet(X, None, None)

    def partial_fit(self, X, y=None):
        """Pretrain one more pass over a chunk (``y`` is ignored)."""
        return self._partial_fit(X, None)

    def reconstruct(self, X):
        """The decoder's reconstruction of every (embedded, standardised) column, nothing hidden.

        Returns
        -------
        ndarray of shape (n_samples, n_embedded_columns)
        """
        return self._forward(X)

    def transform(self, X):
        """The encoder's representation of each row: ``sum_i ReLU(d[i])`` over the steps.

        ``d[i]`` are the decision features of step ``i`` (the first ``n_d``
        outputs of its feature transformer); their sum after ReLU is the
        vector the head of :class:`TabNetClassifier`/:class:`TabNetRegressor`
        reads. Rows go through the fitted standardisation, categorical
        encoding and embeddings; nothing is hidden (no pretraining mask) and
        the ghost batch norms use their running statistics. Computed in
        float64, batch by batch, so a row's representation does not depend on
        the rows transformed with it.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_d)
            Non-negative float64 features; named ``tabnetpretrainer0``, ...
            by :meth:`get_feature_names_out`.
        """
        return self._batched(X, _representation, float64=True)

    @property
    def _n_features_out(self):
        # NotFittedError is an AttributeError: unfitted, ``get_feature_names_out`` says so.
        return self._inference_module().encoder.n_d

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _representation(module, batch):
    """``sum_i ReLU(d[i])`` of a batch through the embeddings and the encoder, no mask."""
    return torch.stack(module.encoder(module.embedding(batch))).sum(dim=0)


_ARCHITECTURE_PARAMETERS = (
    "n_d", "n_a", "n_steps", "gamma", "n_independent", "n_shared", "virtual_batch_size",
    "momentum", "mask_type", "cat_idxs", "cat_dims", "cat_emb_dim", "grouped_features",
    "compile", "clip_value",
)


def _explain_rows(module, batch):
    """``(aggregate (n, d), masks (n, n_steps, d))`` of a batch, rows first."""
    aggregate, masks = module.explain(batch)
    return aggregate, masks.transpose(0, 1)


def _is_frame(X):
    return hasattr(X, "iloc") and hasattr(X, "dtypes")


def _numeric(estimator, X, reset):
    # float64, C order: equal data in another container or layout gives bit-equal results.
    return validate_data(estimator, X, reset=reset, dtype=np.float64,
                         ensure_min_samples=1, order="C")


def _check_groups(groups, n_features, name):
    if groups is None:
        return []
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise TypeError(f"{name}: grouped_features must be a list of lists of column indices.")
    seen, result = set(), []
    for group in groups:
        if isinstance(group, (str, bytes)) or not hasattr(group, "__iter__"):
            raise TypeError(f"{name}: grouped_features must be a list of lists of column indices, "
                            f"got the entry {group!r}.")
        group = list(group)
        if not group:
            raise ValueError(f"{name}: grouped_features holds an empty group.")
        for j in group:
            if not isinstance(j, numbers.Integral) or isinstance(j, bool):
                raise TypeError(f"{name}: grouped_features entries must be ints, got {j!r}.")
            if not 0 <= j < n_features:
                raise ValueError(f"{name}: grouped_features holds column {j}, outside the "
                                 f"{n_features} columns of X.")
            if j in seen:
                raise ValueError(f"{name}: grouped_features overlap: column {j} is in two groups "
                                 "(or twice in one).")
            seen.add(j)
        result.append([int(j) for j in group])
    return result


def _check_emb_dims(cat_emb_dim, n_categorical, name):
    if isinstance(cat_emb_dim, numbers.Integral) and not isinstance(cat_emb_dim, bool):
        if cat_emb_dim < 1:
            raise ValueError(f"{name}: cat_emb_dim must be >= 1, got {cat_emb_dim}.")
        return [int(cat_emb_dim)] * n_categorical
    try:
        dims = list(cat_emb_dim)
    except TypeError:
        raise TypeError(f"{name}: cat_emb_dim must be an int or a list of ints.") from None
    if len(dims) != n_categorical or not all(
            isinstance(d, numbers.Integral) and d >= 1 for d in dims):
        raise ValueError(f"{name}: cat_emb_dim must hold one positive int per categorical column "
                         f"({n_categorical}), got {cat_emb_dim!r}.")
    return [int(d) for d in dims]


def _check_pretrained(estimator, pretrained):
    name = type(estimator).__name__
    if not isinstance(pretrained, TabNetPretrainer):
        raise TypeError(f"{name}: from_pretrained must be a fitted TabNetPretrainer, "
                        f"got {type(pretrained).__name__}.")
    check_is_fitted(pretrained, "net_")
