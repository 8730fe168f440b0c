"""CancelOut: a learnable gate on every input feature (Borisov, Haug & Kasneci, 2019)."""

import torch
from torch import nn

from ._checks import check_int, check_module, check_option, check_real

GATE_ACTIVATIONS = ("sigmoid", "softmax")


class CancelOut(nn.Module):
    r"""Multiply each input feature by a learned gate ``g(w)``.

    ``forward(x) = x * g(w)`` with ``g`` the sigmoid (each gate in (0, 1),
    independently) or the softmax (gates sum to 1, so features compete).

    The sparsity penalty, added to the training loss by :meth:`penalty`, is

    .. math::

        \Omega(w) = \lambda_1 \sum_j g(w)_j - \lambda_2 \operatorname{Var}(w)

    with the population variance (divisor ``n_features``). It is the penalty of
    the authors' PyTorch notebook. Their Keras layer instead penalises the raw
    weights, :math:`\lambda_1 \|w\|_1 + \lambda_2 \|w\|_2`, which pulls every
    ``w`` towards 0, i.e. every sigmoid gate towards 0.5, where relevant and
    irrelevant features look alike. Penalising the gate values pulls
    unused gates towards 0 instead, so the gates rank features. The negative
    variance term spreads the weights apart but is unbounded below, which is
    why it is off by default. With the softmax the
    :math:`\lambda_1` term is the constant :math:`\lambda_1` (gates sum to 1) and
    only competition and the variance term shape the gates.

    Parameters
    ----------
    n_features : int
        Number of input features (size of the last dimension); >= 1.
    activation : {"sigmoid", "softmax"}, default="sigmoid"
        The gate function ``g`` (``gate_activation`` of
        :class:`skgates.CancelOutSelector`).
    lambda_1 : float, default=1e-3
        Weight of the gate-sum (L1 of the gate values) term; finite, >= 0.
    lambda_2 : float, default=0.0
        Weight of the negative weight-variance term; finite, >= 0. The term is
        unbounded below (one weight running off to minus infinity raises the
        variance without limit), so keep it small or use it with few epochs.
    init : float, default=4.0
        Initial value of every weight, finite (``gate_init`` of
        :class:`skgates.CancelOutSelector`). With the sigmoid, 4.0 opens every gate
        to ``sigmoid(4) = 0.982`` so training starts from (almost) the
        ungated network, as in the authors' code; with the softmax any
        constant gives equal gates ``1 / n_features``.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (n_features,)
        The gate logits ``w``.

    Shape
    -----
    - Input: ``(*, n_features)``
    - Output: ``(*, n_features)``, same as the input.

    The layer behaves the same in training and evaluation mode. For
    :mod:`skgates.nn.contractive` it is a diagonal map,
    :meth:`contractive_scale`.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import CancelOut
    >>> gate = CancelOut(3)
    >>> gate(torch.ones(2, 3)).shape
    torch.Size([2, 3])
    >>> bool(torch.allclose(gate.gates(), torch.sigmoid(torch.tensor(4.0)).expand(3)))
    True
    """

    def __init__(self, n_features, activation="sigmoid", lambda_1=1e-3, lambda_2=0.0, init=4.0):
        super().__init__()
        n_features = check_int(n_features, "n_features", 1)
        self.activation = check_option(activation, "activation", GATE_ACTIVATIONS)
        self.lambda_1 = check_real(lambda_1, "lambda_1", low=0)
        self.lambda_2 = check_real(lambda_2, "lambda_2", low=0)
        init = check_real(init, "init")
        self.weight = nn.Parameter(torch.full((n_features,), init))

    def gates(self):
        """The gate values ``g(w)``, shape ``(n_features,)``."""
        if self.activation == "softmax":
            return torch.softmax(self.weight, dim=0)
        return torch.sigmoid(self.weight)

    def forward(self, x):
        return x * self.gates()

    def contractive_scale(self):
        """The per-column factor of this diagonal map (:meth:`gates`), for contractive penalties."""
        return self.gates()

    def penalty(self):
        """The sparsity penalty :math:`\\Omega(w)` (a scalar tensor with gradient)."""
        return self.lambda_1 * self.gates().sum() - self.lambda_2 * self.weight.var(unbiased=False)

    def extra_repr(self):
        return (f"n_features={self.weight.numel()}, activation={self.activation!r}, "
                f"lambda_1={self.lambda_1}, lambda_2={self.lambda_2}")


class CancelOutNetwork(nn.Module):
    """A CancelOut gate followed by an MLP: the network of :class:`skgates.CancelOutSelector`.

    Parameters
    ----------
    gate : CancelOut
        The input gate.
    body : torch.nn.Module
        The network that reads the gated input (an :class:`skgates.nn.MLP`).
    n_shadows : int, default=0
        How many of the gate's last inputs are shadow columns: permuted copies
        of real columns that :class:`skgates.CancelOutSelector` appends in
        training so that their gates show how far a useless column's gate
        opens. An input without them (``n_features - n_shadows`` columns) gets
        zeros, the shadows' standardised mean, in their place.

    Shape
    -----
    - Input: ``(n, n_features)``, or ``(n, n_features - n_shadows)``
    - Output: whatever ``body`` returns, ``(n, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import MLP, CancelOut, CancelOutNetwork
    >>> net = CancelOutNetwork(CancelOut(4, lambda_1=0.01), MLP(4, (8,), 2))
    >>> net(torch.randn(3, 4)).shape
    torch.Size([3, 2])
    >>> float(net.penalty().detach()) > 0
    True
    """

    def __init__(self, gate, body, n_shadows=0):
        super().__init__()
        self.gate = check_module(gate, "gate", CancelOut)
        self.body = check_module(body, "body")
        self.n_shadows = check_int(n_shadows, "n_shadows", 0, self.gate.weight.numel() - 1)

    def forward(self, x):
        return self.body(self.gate(self.contractive_input(x)))

    def contractive_input(self, x):
        """``x`` with zeros for the shadow inputs when it holds only the real columns."""
        if self.n_shadows and x.shape[-1] == self.gate.weight.numel() - self.n_shadows:
            x = torch.cat([x, x.new_zeros(*x.shape[:-1], self.n_shadows)], dim=-1)
        return x

    def penalty(self):
        """The gate's sparsity penalty."""
        return self.gate.penalty()

    def contractive_chain(self):
        """``[(name, module)]`` in forward order, for :mod:`skgates.nn.contractive`."""
        return [("gate", self.gate), ("body", self.body)]
