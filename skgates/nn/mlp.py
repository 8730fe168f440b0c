"""A multi-layer perceptron head shared by skgates networks."""

from torch import nn

#: Hidden-layer activations, named as in :class:`sklearn.neural_network.MLPClassifier`.
ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


def check_activation(activation):
    """Return the module class for ``activation`` or raise a ``ValueError`` listing the choices."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}; expected one of {', '.join(map(repr, ACTIVATIONS))}."
        )
    return ACTIVATIONS[activation]


class MLP(nn.Module):
    """Fully connected network: ``(linear -> activation) * len(hidden) -> linear``.

    Parameters
    ----------
    in_features : int
        Size of each input row.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer; empty gives a single linear layer.
    out_features : int
        Size of each output row.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Non-linearity after each hidden layer.
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
        activation_cls = check_activation(activation)
        widths = [in_features, *hidden_layer_sizes]
        self.hidden = nn.ModuleList(
            nn.Sequential(linear(w_in, w_out), activation_cls())
            for w_in, w_out in zip(widths[:-1], widths[1:])
        )
        self.output = linear(widths[-1], out_features)

    def forward(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.output(x)
