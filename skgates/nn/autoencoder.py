"""A fully connected autoencoder: the network of :class:`skgates.ContractiveAutoencoder`."""

from collections import OrderedDict

from torch import nn

from ._checks import check_int, check_sizes
from .mlp import check_activation


class Autoencoder(nn.Module):
    """A fully connected autoencoder: the network of :class:`skgates.ContractiveAutoencoder`.

    ``encoder``: ``(Linear -> activation)`` for each width of
    ``hidden_layer_sizes``, then the code layer ``encoder.code``
    (``Linear -> activation`` to ``n_components``). ``decoder``: the mirror
    image, ending in a plain ``Linear`` back to ``in_features``.

    The network is a chain for :mod:`skgates.nn.contractive`
    (:meth:`contractive_chain`), so its contractive penalty, e.g. on
    ``"encoder.*"``, is computed exactly in closed form.

    Parameters
    ----------
    in_features : int
        Size of each input row; >= 1.
    n_components : int
        Width of the code; >= 1.
    hidden_layer_sizes : int or sequence of int, default=()
        Widths of the encoder layers before the code (each >= 1), mirrored in
        the decoder.
    activation : str or type of torch.nn.Module, default="logistic"
        Elementwise activation after every layer but the decoder's last:
        ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"`` or a module
        class (see :func:`skgates.nn.mlp.check_activation`).

    Attributes
    ----------
    encoder : torch.nn.Sequential
        ``layer0, layer1, ..., code``, each ``Sequential(Linear, activation)``.
    decoder : torch.nn.Sequential
        ``layer0, layer1, ..., output``; ``output`` is a plain ``Linear``.

    Shape
    -----
    - Input: ``(*, in_features)``
    - Output: ``(*, in_features)``, the reconstruction; :meth:`encode` gives
      ``(*, n_components)``.

    The network behaves the same in training and evaluation mode.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import Autoencoder
    >>> net = Autoencoder(6, 2, hidden_layer_sizes=(4,))
    >>> net.encode(torch.randn(3, 6)).shape, net(torch.randn(3, 6)).shape
    (torch.Size([3, 2]), torch.Size([3, 6]))
    """

    def __init__(self, in_features, n_components, hidden_layer_sizes=(), activation="logistic"):
        super().__init__()
        in_features = check_int(in_features, "in_features", 1)
        n_components = check_int(n_components, "n_components", 1)
        sizes = check_sizes(hidden_layer_sizes)
        activation = check_activation(activation)
        widths = [in_features, *sizes, n_components]
        encoder = [(f"layer{i}", nn.Sequential(nn.Linear(a, b), activation()))
                   for i, (a, b) in enumerate(zip(widths[:-2], widths[1:-1]))]
        encoder.append(("code", nn.Sequential(nn.Linear(widths[-2], widths[-1]), activation())))
        back = widths[::-1]
        decoder = [(f"layer{i}", nn.Sequential(nn.Linear(a, b), activation()))
                   for i, (a, b) in enumerate(zip(back[:-2], back[1:-1]))]
        decoder.append(("output", nn.Linear(back[-2], back[-1])))
        self.encoder = nn.Sequential(OrderedDict(encoder))
        self.decoder = nn.Sequential(OrderedDict(decoder))

    def encode(self, x):
        """The code, ``(*, n_components)``."""
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def contractive_chain(self):
        """``[(name, module)]`` in forward order, for :mod:`skgates.nn.contractive`."""
        return [("encoder", self.encoder), ("decoder", self.decoder)]
