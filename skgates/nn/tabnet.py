"""TabNet's building blocks (Arik & Pfister, AAAI 2021) as plain PyTorch modules.

``TabNet`` reads a row through ``n_steps`` decision steps. At step ``i`` an
*attentive transformer* turns the previous step's attention features ``a[i-1]``
into a sparse mask ``M[i] = sparsemax(P[i-1] * h_i(a[i-1]))`` over the columns
(or groups of columns), a *feature transformer* reads the masked row
``M[i] * f`` and splits its output into decision features ``d[i]`` and the next
attention features ``a[i]``. The prior ``P[i] = P[i-1] * (gamma - M[i])``
(``P[0] = 1``) discourages reusing a column; ``gamma = 1`` forces every column
to be used at most once. The prediction is ``W_final sum_i ReLU(d[i])``.

Modules here: :class:`GLULayer`, :class:`GLUBlock`, :class:`FeatureTransformer`,
:class:`AttentiveTransformer`, :class:`CategoricalEmbedding`,
:class:`TabNetEncoder`, :class:`TabNetDecoder`, :class:`TabNet` and
:class:`TabNetPretraining`. Ghost batch norm is in
:mod:`skgates.nn.ghost_batch_norm`, sparsemax/entmax in :mod:`skgates.nn.sparsemax`.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import _is_int, check_int, check_module, check_option, check_real
from .ghost_batch_norm import GhostBatchNorm1d, batched_running_stats
from .sparsemax import Entmax15, Sparsemax

MASK_TYPES = ("sparsemax", "entmax")


def _glu_init(linear, n_in, n_out):
    """Xavier-normal init scaled for a GLU input (as in the TabNet reference code)."""
    gain = math.sqrt((n_in + n_out) / math.sqrt(n_in))
    nn.init.xavier_normal_(linear.weight, gain=gain)


def _plain_init(linear, n_in, n_out):
    gain = math.sqrt((n_in + n_out) / math.sqrt(4 * n_in))
    nn.init.xavier_normal_(linear.weight, gain=gain)


class GLULayer(nn.Module):
    """``Linear -> GhostBatchNorm1d -> GLU``: ``u[:, :k] * sigmoid(u[:, k:])``.

    Parameters
    ----------
    in_features, out_features : int
        Input width and output width ``k``; >= 1.
    fc : torch.nn.Linear or None, default=None
        A ``Linear(in_features, 2 * out_features, bias=False)`` shared with
        other layers (TabNet shares these across decision steps); None creates one.
    virtual_batch_size : int, default=128
        Rows per ghost batch, >= 2 (see :class:`GhostBatchNorm1d`).
    momentum : float, default=0.02
        Of the ghost batch norm, in [0, 1].

    Shape
    -----
    - Input: ``(n, in_features)``. Output: ``(n, out_features)``.

    In training mode the ghost batch norm normalises every virtual batch
    with its own statistics (rows interact); in evaluation mode it uses the
    running statistics.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import GLULayer
    >>> GLULayer(5, 3, virtual_batch_size=4)(torch.randn(8, 5)).shape
    torch.Size([8, 3])
    """

    def __init__(self, in_features, out_features, fc=None, virtual_batch_size=128, momentum=0.02):
        super().__init__()
        in_features = check_int(in_features, "in_features", 1)
        out_features = check_int(out_features, "out_features", 1)
        check_module(fc, "fc", nn.Linear, none=True)
        if fc is not None and tuple(fc.weight.shape) != (2 * out_features, in_features):
            raise ValueError(
                f"fc must be a Linear({in_features}, {2 * out_features}) (in_features, "
                f"2 * out_features), got one of weight shape {tuple(fc.weight.shape)}."
            )
        self.out_features = out_features
        if fc is None:
            fc = nn.Linear(in_features, 2 * out_features, bias=False)
            _glu_init(fc, in_features, 2 * out_features)
        self.fc = fc
        self.bn = GhostBatchNorm1d(2 * out_features, virtual_batch_size, momentum)

    def forward(self, x):
        return F.glu(self.bn(self.fc(x)), dim=1)


class GLUBlock(nn.Module):
    """A stack of GLU layers with scaled residual connections.

    Every layer but (when ``first``) the first adds its input back:
    ``x <- (x + glu(x)) * sqrt(0.5)``.

    Parameters
    ----------
    in_features, out_features : int
        Widths; >= 1, and equal unless ``first`` (a residual adds the input).
    n_layers : int
        Number of GLU layers; >= 1.
    first : bool, default=False
        The first layer has no residual (its input width may differ).
    shared : sequence of torch.nn.Linear or None
        Linear layers to reuse (one per GLU layer, at least ``n_layers``);
        None creates new ones.
    virtual_batch_size, momentum : int, float
        As for :class:`GLULayer`.

    Shape
    -----
    - Input: ``(n, in_features)``. Output: ``(n, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import GLUBlock
    >>> GLUBlock(5, 3, n_layers=2, first=True, virtual_batch_size=4)(torch.randn(8, 5)).shape
    torch.Size([8, 3])
    """

    def __init__(self, in_features, out_features, n_layers, first=False, shared=None,
                 virtual_batch_size=128, momentum=0.02):
        super().__init__()
        in_features = check_int(in_features, "in_features", 1)
        out_features = check_int(out_features, "out_features", 1)
        n_layers = check_int(n_layers, "n_layers", 1)
        if not first and in_features != out_features:
            raise ValueError(
                f"in_features ({in_features}) must equal out_features ({out_features}) when "
                "first=False: every layer adds its input back."
            )
        if shared is not None and len(shared) < n_layers:
            raise ValueError(f"shared must hold at least n_layers={n_layers} linear layers, "
                             f"got {len(shared)}.")
        self.first = bool(first)
        self.layers = nn.ModuleList(
            GLULayer(in_features if i == 0 else out_features, out_features,
                     fc=None if shared is None else shared[i],
                     virtual_batch_size=virtual_batch_size, momentum=momentum)
            for i in range(n_layers)
        )

    def forward(self, x):
        layers = iter(self.layers)
        if self.first:
            x = next(layers)(x)
        for layer in layers:
            x = (x + layer(x)) * math.sqrt(0.5)
        return x


class FeatureTransformer(nn.Module):
    """TabNet's feature transformer: a shared GLU block then a step-specific one.

    The shared block's linear layers are the same objects in every decision
    step (``shared``), while each step keeps its own ghost batch norms; the
    step-dependent block has its own linear layers.

    Parameters
    ----------
    in_features, out_features : int
        Widths; >= 1.
    shared : torch.nn.ModuleList of torch.nn.Linear or None
        The linear layers shared across steps (``n_shared`` of them); None or
        empty means no shared block.
    n_independent : int
        GLU layers in the step-dependent block; >= 0, and >= 1 when there is
        no shared block.
    virtual_batch_size, momentum : int, float
        As for :class:`GLULayer`.

    Shape
    -----
    - Input: ``(n, in_features)``. Output: ``(n, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import FeatureTransformer
    >>> shared = torch.nn.ModuleList([torch.nn.Linear(5, 6, bias=False)])
    >>> FeatureTransformer(5, 3, shared, 2, virtual_batch_size=4)(torch.randn(8, 5)).shape
    torch.Size([8, 3])
    """

    def __init__(self, in_features, out_features, shared, n_independent,
                 virtual_batch_size=128, momentum=0.02):
        super().__init__()
        n_independent = check_int(n_independent, "n_independent", 0)
        options = dict(virtual_batch_size=virtual_batch_size, momentum=momentum)
        has_shared = shared is not None and len(shared) > 0
        if not has_shared and n_independent == 0:
            raise ValueError("n_independent and n_shared cannot both be 0.")
        self.shared = (GLUBlock(in_features, out_features, len(shared), first=True, shared=shared, **options)
                       if has_shared else None)
        self.independent = (
            GLUBlock(out_features if has_shared else in_features, out_features, n_independent,
                     first=not has_shared, **options)
            if n_independent > 0 else None
        )

    def forward(self, x):
        if self.shared is not None:
            x = self.shared(x)
        if self.independent is not None:
            x = self.independent(x)
        return x


class AttentiveTransformer(nn.Module):
    """Mask of one decision step: ``M = sparsemax(prior * GBN(Linear(a)))``.

    Parameters
    ----------
    n_a : int
        Width of the attention features ``a``; >= 1.
    n_groups : int
        Width of the mask (columns, or groups of columns); >= 1.
    mask_type : {"sparsemax", "entmax"}, default="sparsemax"
        :func:`skgates.nn.sparsemax` or :func:`skgates.nn.entmax15`.
    virtual_batch_size, momentum : int, float
        As for :class:`GLULayer`.

    Shape
    -----
    - Input: ``prior`` ``(n, n_groups)`` and ``a`` ``(n, n_a)``.
    - Output: ``(n, n_groups)``, non-negative rows summing to 1 (a row of NaN
      where the scores are not finite, see :mod:`skgates.nn.sparsemax`).

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import AttentiveTransformer
    >>> attention = AttentiveTransformer(4, 6, virtual_batch_size=4)
    >>> mask = attention(torch.ones(8, 6), torch.randn(8, 4))
    >>> mask.shape, bool(torch.allclose(mask.sum(dim=1), torch.ones(8)))
    (torch.Size([8, 6]), True)
    """

    def __init__(self, n_a, n_groups, mask_type="sparsemax", virtual_batch_size=128, momentum=0.02):
        super().__init__()
        n_a = check_int(n_a, "n_a", 1)
        n_groups = check_int(n_groups, "n_groups", 1)
        check_option(mask_type, "mask_type", MASK_TYPES)
        self.fc = nn.Linear(n_a, n_groups, bias=False)
        _plain_init(self.fc, n_a, n_groups)
        self.bn = GhostBatchNorm1d(n_groups, virtual_batch_size, momentum)
        self.selector = Sparsemax(dim=-1) if mask_type == "sparsemax" else Entmax15(dim=-1)

    def forward(self, prior, a):
        return self.selector(self.bn(self.fc(a)) * prior)


class CategoricalEmbedding(nn.Module):
    """Replace categorical code columns by learned embeddings, in place.

    Column ``cat_idxs[k]`` holds integer codes in ``[0, cat_dims[k])`` (stored
    as floats); it becomes ``cat_emb_dims[k]`` embedding columns at the same
    position, numeric columns pass through unchanged.

    Parameters
    ----------
    n_features : int
        Input columns; >= 1.
    cat_idxs : sequence of int
        Positions of the categorical columns, distinct, in ``[0, n_features)``.
    cat_dims : sequence of int
        Number of codes of each categorical column (each >= 1), one per
        entry of ``cat_idxs``.
    cat_emb_dims : sequence of int
        Embedding width of each categorical column (each >= 1), one per
        entry of ``cat_idxs``.

    Attributes
    ----------
    out_features : int
        ``n_features - len(cat_idxs) + sum(cat_emb_dims)``.
    column_of : torch.LongTensor of shape (out_features,)
        The input column each output column comes from.

    Shape
    -----
    - Input: ``(n, n_features)``. Output: ``(n, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import CategoricalEmbedding
    >>> embedding = CategoricalEmbedding(3, cat_idxs=[1], cat_dims=[4], cat_emb_dims=[2])
    >>> embedding(torch.tensor([[0.5, 3.0, -1.0]])).shape
    torch.Size([1, 4])
    """

    def __init__(self, n_features, cat_idxs=(), cat_dims=(), cat_emb_dims=()):
        super().__init__()
        n_features = check_int(n_features, "n_features", 1)
        cat_idxs = _check_int_list(cat_idxs, "cat_idxs")
        for idx in cat_idxs:
            if not 0 <= idx < n_features:
                raise ValueError(f"cat_idxs holds {idx}, outside the {n_features} input columns.")
        if len(set(cat_idxs)) != len(cat_idxs):
            raise ValueError(f"cat_idxs lists a column twice: {cat_idxs!r}.")
        for name, values in (("cat_dims", cat_dims), ("cat_emb_dims", cat_emb_dims)):
            values = _check_int_list(values, name)
            if len(values) != len(cat_idxs) or not all(v >= 1 for v in values):
                raise ValueError(
                    f"{name} must hold one int >= 1 per categorical column "
                    f"({len(cat_idxs)}, as cat_idxs), got {values!r}."
                )
        order = sorted(range(len(cat_idxs)), key=lambda k: cat_idxs[k])
        self.cat_idxs = [int(cat_idxs[k]) for k in order]
        self.embeddings = nn.ModuleList(
            nn.Embedding(int(cat_dims[k]), int(cat_emb_dims[k])) for k in order
        )
        widths = [1] * n_features
        for idx, k in zip(self.cat_idxs, order):
            widths[idx] = int(cat_emb_dims[k])
        self.out_features = sum(widths)
        self.register_buffer(
            "column_of", torch.repeat_interleave(torch.arange(n_features), torch.tensor(widths)),
            persistent=False,
        )

    def forward(self, x):
        if not self.cat_idxs:
            return x
        parts, start = [], 0
        for idx, embedding in zip(self.cat_idxs, self.embeddings):
            if idx > start:
                parts.append(x[:, start:idx])
            parts.append(embedding(x[:, idx].long()))
            start = idx + 1
        if start < x.shape[1]:
            parts.append(x[:, start:])
        return torch.cat(parts, dim=1)


class TabNetEncoder(nn.Module):
    """TabNet's sequential attention encoder.

    Parameters
    ----------
    n_features : int
        Input width (after embeddings); >= 1.
    n_d, n_a : int, default=8
        Widths of the decision and attention features; >= 1.
    n_steps : int, default=3
        Decision steps; >= 1.
    gamma : float, default=1.3
        Relaxation of the prior, ``P[i] = P[i-1] * (gamma - M[i])``; >= 1
        (below 1 the prior could turn negative).
    n_independent, n_shared : int, default=2
        GLU layers per step-dependent block and in the block shared by all
        steps; >= 0, not both 0.
    virtual_batch_size : int, default=128
        Rows per ghost batch; >= 2.
    momentum : float, default=0.02
        Of every ghost batch norm (the input batch norm uses 0.01); in [0, 1].
    mask_type : {"sparsemax", "entmax"}, default="sparsemax"
    group_matrix : torch.Tensor of shape (n_groups, n_features) or None
        ``group_matrix[g, j] = 1`` when column ``j`` belongs to group ``g``:
        masks are computed per group and every member shares its group's
        value. None means one group per column.
    epsilon : float, default=1e-15
        Inside ``log(M + epsilon)`` of the entropy; > 0.

    Attributes
    ----------
    entropy : torch.Tensor
        Mean over rows and steps of the mask entropy ``-sum_j M log M`` of the
        last forward pass: TabNet's sparsity regulariser.

    Shape
    -----
    - Input: ``x`` ``(n, n_features)``, optional ``prior`` ``(n, n_groups)``.
    - Output: list of ``n_steps`` tensors ``ReLU(d[i])`` of shape ``(n, n_d)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import TabNetEncoder
    >>> steps = TabNetEncoder(5, n_d=4, n_a=4, n_steps=2, virtual_batch_size=8)(torch.randn(16, 5))
    >>> len(steps), steps[0].shape
    (2, torch.Size([16, 4]))
    """

    def __init__(self, n_features, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                 virtual_batch_size=128, momentum=0.02, mask_type="sparsemax", group_matrix=None,
                 epsilon=1e-15):
        super().__init__()
        n_features = check_int(n_features, "n_features", 1)
        n_d, n_a = check_int(n_d, "n_d", 1), check_int(n_a, "n_a", 1)
        n_steps = check_int(n_steps, "n_steps", 1)
        gamma = check_real(gamma, "gamma", low=1.0)
        n_independent = check_int(n_independent, "n_independent", 0)
        n_shared = check_int(n_shared, "n_shared", 0)
        if n_independent == 0 and n_shared == 0:
            raise ValueError("n_independent and n_shared cannot both be 0.")
        check_int(virtual_batch_size, "virtual_batch_size", 2)
        check_real(momentum, "momentum", 0.0, 1.0)
        check_option(mask_type, "mask_type", MASK_TYPES)
        epsilon = check_real(epsilon, "epsilon", low=0.0, low_open=True)
        self.n_d, self.n_a, self.n_steps = n_d, n_a, n_steps
        self.gamma, self.epsilon = gamma, epsilon
        if group_matrix is None:
            self.register_buffer("group_matrix", None)
            self.n_groups = n_features
        else:
            group_matrix = torch.as_tensor(group_matrix, dtype=torch.float32)
            if (group_matrix.ndim != 2 or group_matrix.shape[1] != n_features
                    or not len(group_matrix)):
                raise ValueError(
                    f"group_matrix must have shape (n_groups, n_features={n_features}), got "
                    f"{tuple(group_matrix.shape)}."
                )
            self.register_buffer("group_matrix", group_matrix)
            self.n_groups = self.group_matrix.shape[0]
        # Plain batch norm of the whole batch (one "virtual batch"), which also accepts one row.
        self.initial_bn = GhostBatchNorm1d(n_features, virtual_batch_size=2 ** 62, momentum=0.01)
        width = n_d + n_a
        shared = nn.ModuleList()
        for i in range(n_shared):
            fc = nn.Linear(n_features if i == 0 else width, 2 * width, bias=False)
            _glu_init(fc, n_features if i == 0 else width, 2 * width)
            shared.append(fc)
        options = dict(virtual_batch_size=virtual_batch_size, momentum=momentum)
        self.initial_splitter = FeatureTransformer(n_features, width, shared, n_independent, **options)
        self.feature_transformers = nn.ModuleList(
            FeatureTransformer(n_features, width, shared, n_independent, **options)
            for _ in range(n_steps)
        )
        self.attentive_transformers = nn.ModuleList(
            AttentiveTransformer(n_a, self.n_groups, mask_type, **options) for _ in range(n_steps)
        )
        self.entropy = torch.zeros(())

    def _steps(self, x, prior=None):
        """Yield ``(M, ReLU(d))`` of each step; masks are in group space."""
        x = self.initial_bn(x)
        if prior is None:
            prior = torch.ones(x.shape[0], self.n_groups, dtype=x.dtype, device=x.device)
        a = self.initial_splitter(x)[:, self.n_d:]
        for attentive, transformer in zip(self.attentive_transformers, self.feature_transformers):
            mask = attentive(prior, a)
            prior = prior * (self.gamma - mask)
            column_mask = mask if self.group_matrix is None else mask @ self.group_matrix
            out = transformer(column_mask * x)
            yield mask, torch.relu(out[:, : self.n_d])
            a = out[:, self.n_d:]

    def forward(self, x, prior=None):
        outputs, entropy = [], 0.0
        with batched_running_stats():  # the ghost batch norms' running statistics, batched
            for mask, d in self._steps(x, prior):
                entropy = entropy - (mask * torch.log(mask + self.epsilon)).sum(dim=1).mean()
                outputs.append(d)
        self.entropy = entropy / self.n_steps
        return outputs

    def __getstate__(self):
        # The last entropy may hang on an autograd graph: copies and pickles keep its value only.
        state = self.__dict__.copy()
        state["entropy"] = self.entropy.detach() if torch.is_tensor(self.entropy) else self.entropy
        return state

    def forward_masks(self, x):
        """Masks and step weights for interpretation.

        Returns
        -------
        masks : torch.Tensor of shape (n_steps, n, n_groups)
            ``M[i]`` of every step.
        step_weights : torch.Tensor of shape (n_steps, n)
            ``eta[i] = sum_c ReLU(d[i])_c``, the paper's weight of step ``i``.
        """
        masks, weights = [], []
        for mask, d in self._steps(x):
            masks.append(mask)
            weights.append(d.sum(dim=1))
        return torch.stack(masks), torch.stack(weights)


class TabNetDecoder(nn.Module):
    """Reconstruct the (embedded) input from the encoder's step outputs.

    Each step output goes through its own feature transformer (sharing
    ``n_shared`` linear layers), the results are summed and a linear layer
    maps them back to ``n_features`` columns.

    Parameters
    ----------
    n_features : int
        Output width (the embedded input); >= 1.
    n_d : int, default=8
        Width of each step output; >= 1.
    n_steps : int, default=3
        Number of step outputs; >= 1.
    n_independent, n_shared : int, default=1
        GLU layers per step-dependent block and in the shared block; >= 0,
        not both 0 (``n_indep_decoder`` and ``n_shared_decoder`` of
        :class:`TabNetPretraining`).
    virtual_batch_size, momentum : int, float
        As for :class:`GLULayer`.

    Shape
    -----
    - Input: list of ``n_steps`` tensors ``(n, n_d)``. Output: ``(n, n_features)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import TabNetDecoder
    >>> decoder = TabNetDecoder(5, n_d=4, n_steps=2, virtual_batch_size=8)
    >>> decoder([torch.randn(16, 4), torch.randn(16, 4)]).shape
    torch.Size([16, 5])
    """

    def __init__(self, n_features, n_d=8, n_steps=3, n_independent=1, n_shared=1,
                 virtual_batch_size=128, momentum=0.02):
        super().__init__()
        n_features = check_int(n_features, "n_features", 1)
        n_d, n_steps = check_int(n_d, "n_d", 1), check_int(n_steps, "n_steps", 1)
        n_independent = check_int(n_independent, "n_independent", 0)
        n_shared = check_int(n_shared, "n_shared", 0)
        if n_independent == 0 and n_shared == 0:
            raise ValueError("n_independent and n_shared cannot both be 0.")
        shared = nn.ModuleList()
        for _ in range(n_shared):
            fc = nn.Linear(n_d, 2 * n_d, bias=False)
            _glu_init(fc, n_d, 2 * n_d)
            shared.append(fc)
        options = dict(virtual_batch_size=virtual_batch_size, momentum=momentum)
        self.feature_transformers = nn.ModuleList(
            FeatureTransformer(n_d, n_d, shared, n_independent, **options) for _ in range(n_steps)
        )
        self.reconstruction = nn.Linear(n_d, n_features, bias=False)
        _plain_init(self.reconstruction, n_d, n_features)

    def forward(self, steps):
        total = 0.0
        with batched_running_stats():
            for transformer, d in zip(self.feature_transformers, steps):
                total = total + transformer(d)
        return self.reconstruction(total)


def _group_matrix(n_features, groups, column_of):
    """``(n_groups, n_embedded)`` 0/1 membership matrix, or None for one group per column.

    ``groups`` lists groups of input columns; every input column in no group is
    a group of its own; embedded columns belong to the group of their input column.
    """
    if not groups and len(column_of) == n_features:
        return None
    group_of_column = [-1] * n_features
    for g, members in enumerate(groups):
        for j in members:
            group_of_column[j] = g
    n_groups = len(groups)
    for j in range(n_features):
        if group_of_column[j] < 0:
            group_of_column[j] = n_groups
            n_groups += 1
    matrix = torch.zeros(n_groups, len(column_of))
    rows = torch.tensor(group_of_column)[column_of]
    matrix[rows, torch.arange(len(column_of))] = 1.0
    return matrix, group_of_column


def _check_int_list(values, name):
    """``values`` as a list of ints, or a ``TypeError`` naming ``name``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints, got {values!r}.")
    values = list(values)
    if not all(_is_int(v) for v in values):
        raise TypeError(f"{name} must be a sequence of ints, got {values!r}.")
    return [int(v) for v in values]


def _check_groups(grouped_features, n_features):
    """``grouped_features`` as a list of lists: non-empty, disjoint groups of valid columns."""
    if grouped_features is None:
        return []
    expected = "grouped_features must be a list of lists of column indices"
    if isinstance(grouped_features, (str, bytes)) or not hasattr(grouped_features, "__iter__"):
        raise TypeError(f"{expected}, got {grouped_features!r}.")
    seen, groups = set(), []
    for group in grouped_features:
        if isinstance(group, (str, bytes)) or not hasattr(group, "__iter__"):
            raise TypeError(f"{expected}, got the entry {group!r}.")
        group = list(group)
        if not group:
            raise ValueError("grouped_features holds an empty group.")
        for j in group:
            if not _is_int(j):
                raise TypeError(f"grouped_features entries must be ints, got {j!r}.")
            if not 0 <= j < n_features:
                raise ValueError(f"grouped_features holds column {j}, outside the {n_features} "
                                 "input columns.")
            if j in seen:
                raise ValueError(f"grouped_features overlap: column {j} is in two groups "
                                 "(or twice in one).")
            seen.add(j)
        groups.append([int(j) for j in group])
    return groups


class _TabNetBase(nn.Module):
    """Embedding + encoder shared by :class:`TabNet` and :class:`TabNetPretraining`."""

    def __init__(self, n_features, n_d, n_a, n_steps, gamma, n_independent, n_shared,
                 virtual_batch_size, momentum, mask_type, cat_idxs, cat_dims, cat_emb_dims,
                 grouped_features, epsilon):
        super().__init__()
        self.n_features = n_features = check_int(n_features, "n_features", 1)
        self.embedding = CategoricalEmbedding(n_features, cat_idxs or (), cat_dims or (),
                                              cat_emb_dims or ())
        groups = _check_groups(grouped_features, n_features)
        found = _group_matrix(n_features, groups, self.embedding.column_of)
        if found is None:
            group_matrix, group_of_column = None, list(range(n_features))
        else:
            group_matrix, group_of_column = found
        # explain_matrix[g, j]: share of group g's mask that goes to input column j.
        n_groups = max(group_of_column) + 1
        explain = torch.zeros(n_groups, n_features)
        explain[torch.tensor(group_of_column), torch.arange(n_features)] = 1.0
        explain = explain / explain.sum(dim=1, keepdim=True)
        self.register_buffer("explain_matrix", explain, persistent=False)
        self.encoder = TabNetEncoder(
            self.embedding.out_features, n_d=n_d, n_a=n_a, n_steps=n_steps, gamma=gamma,
            n_independent=n_independent, n_shared=n_shared, virtual_batch_size=virtual_batch_size,
            momentum=momentum, mask_type=mask_type, group_matrix=group_matrix, epsilon=epsilon,
        )

    def explain(self, x):
        """Per-row masks in input-column space.

        Returns
        -------
        aggregate : torch.Tensor of shape (n, n_features)
            The paper's aggregate mask
            ``sum_i eta[i] M[i] / sum_j sum_i eta[i] M[i]_j``; rows sum to 1
            (a row whose step weights are all 0 weighs its steps equally).
        masks : torch.Tensor of shape (n_steps, n, n_features)
            Each step's mask ``M[i]`` (rows sum to 1). Masks of grouped or
            embedded columns are split evenly among the group's input columns.
        """
        masks, weights = self.encoder.forward_masks(self.embedding(x))
        masks = masks @ self.explain_matrix
        # A row whose steps all have weight 0 (every ReLU(d) is 0) weighs its steps equally.
        silent = weights.sum(dim=0, keepdim=True) <= 0
        weights = torch.where(silent, torch.ones_like(weights), weights)
        aggregate = (weights.unsqueeze(-1) * masks).sum(dim=0)
        return aggregate / aggregate.sum(dim=1, keepdim=True), masks


class TabNet(_TabNetBase):
    """TabNet for classification or regression: embeddings, encoder and a linear head.

    Parameters
    ----------
    n_features : int
        Input columns (categorical ones hold integer codes); >= 1.
    n_outputs : int
        Outputs (logits for classification); >= 1.
    n_d, n_a, n_steps, gamma, n_independent, n_shared, virtual_batch_size, momentum, mask_type
        See :class:`TabNetEncoder`.
    lambda_sparse : float, default=1e-3
        Weight of the mask entropy in :meth:`penalty`; finite, >= 0.
    cat_idxs, cat_dims, cat_emb_dims : sequences of int, default=()
        See :class:`CategoricalEmbedding`.
    grouped_features : sequence of sequences of int, default=()
        Groups of input columns that share one mask value: non-empty,
        disjoint, of column indices in ``[0, n_features)``.
    epsilon : float, default=1e-15
        See :class:`TabNetEncoder`.

    Shape
    -----
    - Input: ``(n, n_features)``. Output: ``(n, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> net = TabNet(5, 2, n_d=4, n_a=4, n_steps=2, virtual_batch_size=16)
    >>> net(torch.randn(32, 5)).shape
    torch.Size([32, 2])
    >>> float(net.penalty().detach()) >= 0
    True
    """

    def __init__(self, n_features, n_outputs, n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2,
                 n_shared=2, virtual_batch_size=128, momentum=0.02, mask_type="sparsemax",
                 lambda_sparse=1e-3, cat_idxs=(), cat_dims=(), cat_emb_dims=(), grouped_features=(),
                 epsilon=1e-15):
        n_outputs = check_int(n_outputs, "n_outputs", 1)
        lambda_sparse = check_real(lambda_sparse, "lambda_sparse", low=0.0)
        super().__init__(n_features, n_d, n_a, n_steps, gamma, n_independent, n_shared,
                         virtual_batch_size, momentum, mask_type, cat_idxs, cat_dims, cat_emb_dims,
                         grouped_features, epsilon)
        self.lambda_sparse = lambda_sparse
        self.head = nn.Linear(n_d, n_outputs, bias=False)
        _plain_init(self.head, n_d, n_outputs)

    def forward(self, x):
        steps = self.encoder(self.embedding(x))
        return self.head(torch.stack(steps).sum(dim=0))

    def penalty(self):
        """``lambda_sparse`` times the mean mask entropy of the last forward pass."""
        return self.lambda_sparse * self.encoder.entropy


class TabNetPretraining(_TabNetBase):
    """Self-supervised TabNet: reconstruct randomly hidden columns.

    In training mode each (row, group) is hidden with probability
    ``pretraining_ratio``: hidden embedded columns are set to 0, the encoder
    starts from the prior ``1 - hidden`` (it cannot attend to hidden groups)
    and the decoder reconstructs the embedded row. In eval mode nothing is
    hidden.

    Parameters
    ----------
    n_features : int
        Input columns; >= 1.
    pretraining_ratio : float, default=0.2
        Probability of hiding each (row, group), in (0, 1).
    n_shared_decoder, n_indep_decoder : int, default=1
        GLU layers of the decoder's shared and step-dependent blocks; >= 0,
        not both 0.
    other parameters
        As for :class:`TabNet`.

    Shape
    -----
    - Input: ``(n, n_features)``.
    - Output: tuple ``(reconstruction, embedded, hidden)``, each
      ``(n, n_embedded)``: the decoder's output, the embedded input it should
      match and the 0/1 indicator of hidden entries (all ones in eval mode).

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import TabNetPretraining, TabNetPretrainingLoss
    >>> net = TabNetPretraining(5, n_d=4, n_a=4, n_steps=2, virtual_batch_size=16)
    >>> reconstruction, embedded, hidden = net(torch.randn(32, 5))
    >>> reconstruction.shape
    torch.Size([32, 5])
    >>> TabNetPretrainingLoss()((reconstruction, embedded, hidden)).shape
    torch.Size([])
    """

    def __init__(self, n_features, pretraining_ratio=0.2, n_d=8, n_a=8, n_steps=3, gamma=1.3,
                 n_independent=2, n_shared=2, virtual_batch_size=128, momentum=0.02,
                 mask_type="sparsemax", cat_idxs=(), cat_dims=(), cat_emb_dims=(),
                 grouped_features=(), n_shared_decoder=1, n_indep_decoder=1, epsilon=1e-15):
        pretraining_ratio = check_real(pretraining_ratio, "pretraining_ratio", 0.0, 1.0,
                                       low_open=True, high_open=True)
        n_shared_decoder = check_int(n_shared_decoder, "n_shared_decoder", 0)
        n_indep_decoder = check_int(n_indep_decoder, "n_indep_decoder", 0)
        if n_shared_decoder == 0 and n_indep_decoder == 0:
            raise ValueError("n_shared_decoder and n_indep_decoder cannot both be 0.")
        super().__init__(n_features, n_d, n_a, n_steps, gamma, n_independent, n_shared,
                         virtual_batch_size, momentum, mask_type, cat_idxs, cat_dims, cat_emb_dims,
                         grouped_features, epsilon)
        self.pretraining_ratio = pretraining_ratio
        self.decoder = TabNetDecoder(self.embedding.out_features, n_d=n_d, n_steps=n_steps,
                                     n_independent=n_indep_decoder, n_shared=n_shared_decoder,
                                     virtual_batch_size=virtual_batch_size, momentum=momentum)

    def forward(self, x):
        embedded = self.embedding(x)
        if not self.training:
            steps = self.encoder(embedded)
            return self.decoder(steps), embedded, torch.ones_like(embedded)
        n_groups = self.encoder.n_groups
        hidden_groups = torch.bernoulli(
            torch.full((x.shape[0], n_groups), self.pretraining_ratio, device=x.device))
        group_matrix = self.encoder.group_matrix
        hidden = hidden_groups if group_matrix is None else hidden_groups @ group_matrix
        steps = self.encoder(embedded * (1.0 - hidden), prior=1.0 - hidden_groups)
        return self.decoder(steps), embedded, hidden


class TabNetPretrainingLoss(nn.Module):
    """Reconstruction error of hidden entries, scaled per column by its batch variance.

    ``loss = mean_j [ sum_b hidden_bj (rec_bj - x_bj)^2 / var_j ] / (sum_b hidden_bj)``
    over columns ``j`` with at least one hidden entry, where ``var_j`` is the
    column's variance in the batch (columns with zero variance use the mean
    variance).

    Parameters
    ----------
    eps : float, default=1e-9
        Smallest variance used for a column; > 0.

    Shape
    -----
    - Input: ``y_pred = (reconstruction, embedded, hidden)`` from
      :class:`TabNetPretraining`; ``y_true`` is ignored.
    - Output: scalar.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import TabNetPretrainingLoss
    >>> embedded = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> hidden = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # column 0 hidden in both rows
    >>> TabNetPretrainingLoss()((embedded + 1.0, embedded, hidden))  # error 1 / variance 2
    tensor(0.5000)
    """

    def __init__(self, eps=1e-9):
        super().__init__()
        self.eps = check_real(eps, "eps", low=0.0, low_open=True)

    def forward(self, y_pred, y_true=None):
        reconstruction, embedded, hidden = y_pred
        embedded = embedded.detach()  # the target, not something to move towards the output
        errors = ((reconstruction - embedded) * hidden) ** 2
        var = embedded.var(dim=0, unbiased=True) if embedded.shape[0] > 1 else torch.ones_like(embedded[0])
        var = torch.where(var > 0, var, var.mean().clamp_min(self.eps))
        counts = hidden.sum(dim=0)
        per_column = errors.sum(dim=0) / var / counts.clamp_min(1.0)
        used = (counts > 0).to(per_column.dtype)
        return (per_column * used).sum() / used.sum().clamp_min(1.0)
