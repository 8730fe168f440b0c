r"""TailDropout: keep a random number of the *first* features (Martinsson, 2018).

Dropout zeroes each feature independently; TailDropout zeroes a *tail*: every
row keeps its first ``k`` features and loses the rest, with ``k`` random. The
first feature survives most often, the last one least often, so a network
trained through it learns features in order of importance, as PCA orders its
components, and can later be evaluated with only its first ``k`` features
(:meth:`TailDropout.set_k`).
"""

import math
import numbers

import torch
from torch import nn

from ._checks import check_int, check_module, check_real
from .mlp import MLP

#: Bisection steps when solving the scale from ``p`` (enough for float64).
_BISECTION_STEPS = 80


def kept_fraction(scale, n_features):
    r"""Expected fraction of ``n_features`` features that TailDropout keeps at ``scale``.

    With ``P(k >= j) = exp(-j / (scale * n))`` for ``j = 1..n`` the expected
    number of kept features is ``sum_j r**j`` with ``r = exp(-1 / (scale * n))``,
    a geometric sum.

    Parameters
    ----------
    scale : float
        Scale ``a > 0`` of the exponential, as a fraction of the width.
    n_features : int
        Width ``n`` of the dropped dimension.

    Returns
    -------
    float
        ``E[k] / n``.
    """
    n = int(n_features)
    r = math.exp(-1.0 / (scale * n))
    if r >= 1.0:
        return 1.0
    return r * (1.0 - r ** n) / (n * (1.0 - r))


def solve_scale(p, n_features):
    r"""The scale ``a`` at which TailDropout keeps, on average, a fraction ``1 - p``.

    Solves ``kept_fraction(a, n) = 1 - p`` by bisection on ``log a`` (the
    fraction increases with ``a``, from 0 as ``a -> 0`` to 1 as ``a -> inf``).
    The solution depends a little on ``n`` because ``k`` is an integer; as
    ``n`` grows it tends to the root of the continuous equation
    ``a (1 - exp(-1/a)) = 1 - p``.

    Parameters
    ----------
    p : float in (0, 1)
        Expected fraction of features dropped.
    n_features : int
        Width of the dropped dimension.

    Returns
    -------
    float
    """
    target = 1.0 - p
    low, high = -12.0, 12.0  # log a; a in [6e-6, 1.6e5] covers every p representable here
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        if kept_fraction(math.exp(middle), n_features) < target:
            low = middle
        else:
            high = middle
    return math.exp(0.5 * (low + high))


def _check_dims(batch_dim, dropout_dim):
    if isinstance(batch_dim, bool) or not isinstance(batch_dim, (numbers.Integral, list, tuple)):
        raise TypeError(f"batch_dim must be an int or a list of ints, got {batch_dim!r}.")
    batch_dims = (int(batch_dim),) if isinstance(batch_dim, numbers.Integral) else tuple(batch_dim)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in batch_dims):
        raise TypeError(f"batch_dim must be an int or a list of ints, got {batch_dim!r}.")
    dropout_dim = check_int(dropout_dim, "dropout_dim")
    if len(set(batch_dims)) != len(batch_dims):
        raise ValueError(f"batch_dim {batch_dim!r} repeats a dimension.")
    return tuple(int(d) for d in batch_dims), int(dropout_dim)


class TailDropout(nn.Module):
    r"""Randomly keep only the first ``k`` features; zero the tail.

    In training mode each *sample* (each index of ``batch_dim``) draws its own
    ``k`` and the output keeps features ``0..k-1`` of ``dropout_dim``, zeroing
    the rest. With ``n`` features and an exponential ``E ~ Exp(1)``,

    .. math::

        k = \#\{\, j \in 1..n : j < a\,n\,E \,\}, \qquad
        P(k \ge j) = e^{-j/(a n)},

    a truncated, discretised exponential: feature ``j`` survives with
    probability :math:`e^{-j/(an)}`, the first one most often. The scale
    :math:`a` is solved (by :func:`solve_scale`, once per width) so that the
    expected kept fraction :math:`E[k]/n = \frac{1}{n}\sum_{j=1}^n e^{-j/(an)}`
    equals ``1 - p`` exactly; for large ``n`` it is the root of
    :math:`a(1 - e^{-1/a}) = 1 - p` (``p = 0.5`` gives ``a`` about 0.63).

    Unlike :class:`torch.nn.Dropout`, kept features are **not** rescaled, and
    evaluation mode is the identity, so a trained network can be cut to its
    first ``k`` features with :meth:`set_k` (which works in both modes and
    stays until ``set_k(None)``). ``p = 0`` is the identity and ``p = 1``
    zeroes everything, the limits of the distribution.

    Parameters
    ----------
    p : float in [0, 1], default=0.5
        Expected fraction of features dropped during training.
    batch_dim : int or list of int, default=0
        Dimension(s) along which masks differ: one ``k`` per index. ``0`` for
        ``(batch, features)``; ``[0, 1]`` on ``(time, batch, features)`` for
        a fresh mask per sequence and time step; ``0`` with ``dropout_dim=1``
        on images ``(batch, channels, H, W)`` for one mask per image shared by
        all pixels. Dimensions in neither argument share the mask.
    dropout_dim : int, default=-1
        The dimension whose tail is dropped (the features).

    Shape
    -----
    - Input: ``(*)``, any number of dimensions covering ``batch_dim`` and ``dropout_dim``.
    - Output: ``(*)``, same as the input.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import TailDropout
    >>> dropout = TailDropout(p=0.5)
    >>> x = torch.ones(4, 6)
    >>> y = dropout(x)  # each row: ones, then zeros
    >>> bool((y.diff(dim=1) <= 0).all())
    True
    >>> _ = dropout.eval()
    >>> bool(dropout(x).equal(x))
    True
    >>> dropout.set_k(2)(x)[0]
    tensor([1., 1., 0., 0., 0., 0.])

    References
    ----------
    E. Martinsson. "TailDropout." GitHub repository ragulpr/taildropout, 2018.
    """

    def __init__(self, p=0.5, batch_dim=0, dropout_dim=-1):
        super().__init__()
        self.p = check_real(p, "p", 0.0, 1.0)
        self.batch_dims, self.dropout_dim = _check_dims(batch_dim, dropout_dim)
        self.batch_dim = batch_dim
        # k lives in a tensor so that torch.compile sees a changing k as data, not as a constant.
        self.register_buffer("k_", torch.zeros((), dtype=torch.long), persistent=False)
        self.k_is_set = False
        self._k_value = None
        self._scales = {}

    # ------------------------------------------------------------------- k
    def set_k(self, k):
        """Keep exactly the first ``k`` features from now on, in training and evaluation.

        Parameters
        ----------
        k : int or None
            ``0 <= k <= n_features``; checked against the input's width at the
            next call. ``None`` restores the random (training) or identity
            (evaluation) behaviour.

        Returns
        -------
        self : TailDropout
        """
        if k is None:
            self.k_is_set = False
            self._k_value = None
            return self
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"TailDropout.set_k: k must be an int or None, got {k!r}.")
        if k < 0:
            raise ValueError(f"TailDropout.set_k: k must be >= 0, got {k}.")
        self.k_.fill_(int(k))
        self._k_value = int(k)
        self.k_is_set = True
        return self

    @property
    def k(self):
        """The ``k`` set by :meth:`set_k`, or None."""
        return self._k_value

    # ------------------------------------------------------------- forward
    def _resolve_dims(self, ndim):
        dims = []
        for d in (*self.batch_dims, self.dropout_dim):
            if not -ndim <= d < ndim:
                raise ValueError(
                    f"TailDropout: dimension {d} is outside a {ndim}-D input "
                    f"(batch_dim={self.batch_dim!r}, dropout_dim={self.dropout_dim})."
                )
            dims.append(d % ndim)
        *batch, drop = dims
        if drop in batch:
            raise ValueError(
                f"TailDropout: batch_dim {self.batch_dim!r} overlaps dropout_dim "
                f"{self.dropout_dim} on a {ndim}-D input."
            )
        if len(set(batch)) != len(batch):
            raise ValueError(f"TailDropout: batch_dim {self.batch_dim!r} names a dimension twice "
                             f"on a {ndim}-D input.")
        return batch, drop

    def _scale(self, n):
        scale = self._scales.get(n)
        if scale is None:
            scale = self._scales[n] = solve_scale(self.p, n)
        return scale

    def _positions(self, x, drop):
        """``1..n`` along ``dropout_dim``, broadcastable against ``x``."""
        shape = [1] * x.ndim
        shape[drop] = x.shape[drop]
        return torch.arange(1, x.shape[drop] + 1, device=x.device).view(shape)

    def forward(self, x):
        batch, drop = self._resolve_dims(x.ndim)
        n = x.shape[drop]
        if self.k_is_set:
            if not torch.compiler.is_compiling() and self._k_value > n:
                raise ValueError(
                    f"TailDropout: k={self._k_value} was set, but the input has only {n} "
                    f"features along dimension {self.dropout_dim}."
                )
            return x * (self._positions(x, drop) <= self.k_)
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        shape = [1] * x.ndim
        for d in batch:
            shape[d] = x.shape[d]
        # Feature j (1-based) survives while j < a * n * E, E ~ Exp(1): P = exp(-j / (a n)).
        threshold = torch.empty(shape, device=x.device, dtype=torch.float32).exponential_()
        keep = self._positions(x, drop) < threshold * (self._scale(n) * n)
        return x * keep

    def extra_repr(self):
        return f"p={self.p}, batch_dim={self.batch_dim!r}, dropout_dim={self.dropout_dim}"


class TailDropoutRankerNetwork(nn.Module):
    r"""An MLP that reads its input columns through TailDropout in a chosen order.

    The network of :class:`skgates.TailDropoutRanker`. Column ``j`` sits at
    position ``position[j]`` of an order; TailDropout keeps a random prefix
    of that order (the first positions most often) and zeroes the others
    before the MLP ``body`` reads the columns. Two training modes:

    - ``"random"``: every row draws its own random order (uniform, or biased
      by :meth:`set_order_logits`), so the kept columns are a random subset
      whose size follows TailDropout's distribution (the scouting phase: the
      network learns to predict from any subset);
    - ``"ordered"``: every row uses the order in ``position`` (the committed
      phase: the network learns to predict from every prefix).

    In evaluation mode the input is passed unchanged unless
    ``dropout.set_k(k)`` is set, which keeps exactly the first ``k``
    positions of the order. :meth:`prefix_outputs` evaluates every prefix of
    an order (one per row, or shared) in one sweep.

    Parameters
    ----------
    n_features : int
        Number of input columns; >= 1.
    body : MLP
        An :class:`skgates.nn.MLP` reading ``2 * n_features`` inputs: the
        masked columns, then the mask itself (1 = kept), so the network can
        tell a dropped column from a column whose value is 0.
    p : float in (0, 1], default=0.5
        TailDropout's expected fraction of dropped columns. 0 is refused:
        the network would never see a column dropped and the columns could
        not be ranked.

    Attributes
    ----------
    dropout : TailDropout
        The TailDropout layer over positions.
    position : torch.Tensor of shape (n_features,), long
        ``position[j]`` is the place of column ``j`` in the order (a buffer).
    mode : {"random", "ordered"}

    Shape
    -----
    - Input: ``(n, n_features)``
    - Output: ``(n, n_outputs)``, the body's output.

    The network is not a chain for the closed form of
    :mod:`skgates.nn.contractive`: in training its input step multiplies
    each row by its own random mask and appends the mask. Its contractive
    penalty is computed by ``"autodiff"``, exactly, with fresh masks per row.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import MLP, TailDropoutRankerNetwork
    >>> net = TailDropoutRankerNetwork(3, MLP(6, (8,), 1), p=0.5)
    >>> net(torch.randn(4, 3)).shape
    torch.Size([4, 1])
    >>> _ = net.set_order([2, 0, 1]).eval()
    >>> [out.shape[1] for out in net.prefix_outputs(torch.randn(4, 3), torch.tensor([2, 0, 1]))]
    [1, 1, 1, 1]
    """

    def __init__(self, n_features, body, p=0.5):
        super().__init__()
        n_features = check_int(n_features, "n_features", 1)
        check_module(body, "body", MLP)
        width = (body.hidden[0][0] if len(body.hidden) else body.output).in_features
        if width != 2 * n_features:
            raise ValueError(
                f"body must read 2 * n_features = {2 * n_features} inputs (the masked columns, "
                f"then the mask), got an MLP with in_features={width}."
            )
        p = check_real(p, "p", 0.0, 1.0, low_open=True)
        self.dropout = TailDropout(p)
        self.body = body
        self.register_buffer("position", torch.arange(n_features))
        self.register_buffer("order_logits", torch.zeros(n_features))
        self.mode = "random"

    def set_order_logits(self, logits):
        """Draw each row's order from ``logits`` from now on (Plackett-Luce), in ``"random"`` mode.

        A row's order sorts ``logits + Gumbel noise``: columns with larger
        logits tend to come first. Zero logits give uniformly random orders.
        """
        self.order_logits.copy_(torch.as_tensor(logits, dtype=self.order_logits.dtype))
        self.mode = "random"
        return self

    def sample_orders(self, n):
        """``(n, d)`` column orders, best first, one per row (see :meth:`set_order_logits`)."""
        d = self.order_logits.numel()
        gumbel = -torch.log(-torch.log(torch.rand(n, d, device=self.order_logits.device).clamp_min(1e-12)))
        return (self.order_logits + gumbel).argsort(dim=1, descending=True)

    def set_order(self, order):
        """Use ``order`` (column indices, best first) from now on, in ``"ordered"`` mode."""
        order = torch.as_tensor(order, dtype=torch.long, device=self.position.device)
        position = torch.empty_like(order)
        position[order] = torch.arange(len(order), device=order.device)
        self.position.copy_(position)
        self.mode = "ordered"
        return self

    def _mask(self, x):
        if self.mode == "random" and self.training and self.dropout.k is None:
            n, d = x.shape
            kept = self.dropout(torch.ones(n, d, device=x.device, dtype=x.dtype))
            # a random order per row; column j sits at position positions[i, j]
            positions = self.sample_orders(n).argsort(dim=1)
            return kept.gather(1, positions)
        kept = self.dropout(torch.ones(1 if self.dropout.k is not None or not self.training
                                       else x.shape[0], x.shape[1], device=x.device, dtype=x.dtype))
        return kept[:, self.position]

    def forward(self, x):
        if not self.training and self.dropout.k is None:
            mask = torch.ones_like(x)
        else:
            mask = self._mask(x).expand_as(x)
        return self.body(torch.cat([x * mask, mask], dim=1))

    def prefix_outputs(self, x, order):
        """Yield the outputs on ``x`` with only the first ``m`` columns of ``order``, m = 0..d.

        The first layer is linear, so its pre-activation grows by one
        column's contribution (its value and its mask indicator) per step;
        only the rest of the network runs ``d + 1`` times.

        Parameters
        ----------
        x : torch.Tensor of shape (n, d)
        order : torch.Tensor of shape (d,) or (n, d), long
            Column indices, best first; one order for all rows or one per row.

        Yields
        ------
        torch.Tensor of shape (n, n_outputs)
            ``d + 1`` outputs, for ``m = 0, 1, ..., d``.
        """
        layers = list(self.body.hidden)
        first = layers[0][0] if layers else self.body.output
        n, d = x.shape
        weight, indicator = first.weight[:, :d], first.weight[:, d:]  # (h, d) each
        pre = first.bias if first.bias is not None else weight.new_zeros(weight.shape[0])
        pre = pre.expand(n, -1).clone()
        rows = torch.arange(n, device=x.device)
        for m in range(d + 1):
            yield self._rest(pre, layers)
            if m == d:
                break
            if order.ndim == 1:
                column = order[m]
                pre = pre + x[:, column, None] * weight[:, column] + indicator[:, column]
            else:
                column = order[:, m]
                pre = pre + x[rows, column, None] * weight[:, column].T + indicator[:, column].T

    def _rest(self, pre, layers):
        if not layers:
            return pre
        h = layers[0][1:](pre)
        for layer in layers[1:]:
            h = layer(h)
        return self.body.output(h)
