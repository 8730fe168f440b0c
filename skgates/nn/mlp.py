"""A multi-layer perceptron head shared by skgates networks."""

import inspect

from torch import nn

from ._checks import check_int, check_sizes

#: Hidden-layer activations, named as in :class:`sklearn.neural_network.MLPClassifier`.
ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


def check_activation(activation):
    """Return the module class for ``activation`` or raise a ``ValueError`` listing the choices.

    Parameters
    ----------
    activation : {"identity", "logistic", "tanh", "relu"} or type of torch.nn.Module
        A name of :data:`ACTIVATIONS` (the names of
        :class:`sklearn.neural_network.MLPClassifier`), or a module class such
        as ``torch.nn.GELU``, returned as it is.

    Returns
    -------
    type of torch.nn.Module

    Raises
    ------
    ValueError
        For any other value: ``"Unknown activation 'swish'; activation must be one of ..."``.
    """
    if inspect.isclass(activation) and issubclass(activation, nn.Module):
        return activation
    try:
        known = isinstance(activation, str) and activation in ACTIVATIONS
    except TypeError:
        known = False
    if not known:
        raise ValueError(
            f"Unknown activation {activation!r}; activation must be one of "
            f"{', '.join(map(repr, ACTIVATIONS))} or a torch.nn.Module class."
        )
    return ACTIVATIONS[activation]


class MLP(nn.Module):
    """Fully connected network: ``(linear -> activation) * len(hidden) -> linear``.

    Parameters
    ----------
    in_features : int
        Size of each input row; >= 1.
    hidden_layer_sizes : int or sequence of int
        Width of each hidden layer (each >= 1); an int is one layer, an empty
        sequence gives a single linear layer.
    out_features : int
        Size of each output row; >= 1.
    activation : str or type of torch.nn.Module, default="relu"
        Non-linearity after each hidden layer: ``"identity"``, ``"logistic"``,
        ``"tanh"``, ``"relu"`` or a module class (see :func:`check_activation`).
    linear : callable, default=torch.nn.Linear
        Factory ``linear(in_features, out_features)`` for every layer, so a
        network can swap in, for example, :class:`skgates.nn.DropConnectLinear`.

    Attributes
    ----------
    hidden : torch.nn.ModuleList
        One ``nn.Sequential(linear, activation)`` per hidden layer; the output
        of ``hidden[i]`` is hidden representation ``i``.
    output : torch.nn.Module
        The last linear layer.

    Shape
    -----
    - Input: ``(*, in_features)``
    - Output: ``(*, out_features)``

    The network behaves the same in training and evaluation mode (unless
    ``linear`` makes layers that do not).

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import MLP
    >>> MLP(4, (8, 8), 2)(torch.randn(3, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, in_features, hidden_layer_sizes, out_features, activation="relu",
                 linear=nn.Linear):
        super().__init__()
        in_features = check_int(in_features, "in_features", 1)
        sizes = check_sizes(hidden_layer_sizes)
        out_features = check_int(out_features, "out_features", 1)
        activation_cls = check_activation(activation)
        if not callable(linear):
            raise TypeError(f"linear must be a callable linear(in_features, out_features), "
                            f"got {linear!r}.")
        widths = [in_features, *sizes]
        self.hidden = nn.ModuleList(
            nn.Sequential(linear(w_in, w_out), activation_cls())
            for w_in, w_out in zip(widths[:-1], widths[1:])
        )
        self.output = linear(widths[-1], out_features)

    def forward(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.output(x)

    def contractive_chain(self):
        """``[(name, module)]`` in forward order, for :mod:`skgates.nn.contractive`."""
        return [(f"hidden.{i}", layer) for i, layer in enumerate(self.hidden)] + [
            ("output", self.output)]
