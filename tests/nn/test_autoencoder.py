"""The autoencoder network: shapes, structure, closed-form contractive penalty, arguments."""

import pytest
import torch
from torch import nn

from skgates.nn import Autoencoder, jacobian_sq_norms
from skgates.nn.contractive import linear_chain


def test_shapes_and_mirrored_layers():
    net = Autoencoder(7, 3, (5, 4), activation="tanh")
    x = torch.randn(6, 7)
    assert net.encode(x).shape == (6, 3) and net(x).shape == (6, 7)
    assert list(net.encoder._modules) == ["layer0", "layer1", "code"]
    assert list(net.decoder._modules) == ["layer0", "layer1", "output"]
    widths = [(m[0].in_features, m[0].out_features) for m in net.encoder]
    assert widths == [(7, 5), (5, 4), (4, 3)]
    assert [(m[0].in_features, m[0].out_features) for m in net.decoder[:-1]] == [(3, 4), (4, 5)]
    assert type(net.decoder.output) is nn.Linear and net.decoder.output.out_features == 7
    assert isinstance(net.encoder.code[1], nn.Tanh)
    torch.testing.assert_close(net(x), net.decoder(net.encode(x)))


def test_default_activation_is_the_sigmoid_and_classes_are_accepted():
    assert isinstance(Autoencoder(3, 1).encoder.code[1], nn.Sigmoid)
    assert isinstance(Autoencoder(3, 1, activation=nn.GELU).encoder.code[1], nn.GELU)
    assert isinstance(Autoencoder(3, 1, 2).encoder.layer0[0], nn.Linear)  # an int: one layer


def test_code_penalty_is_exact_in_closed_form():
    torch.manual_seed(1)
    ae = Autoencoder(7, 3, (5,)).double()
    X = torch.randn(5, 7, dtype=torch.float64)
    assert linear_chain(ae)[0] is not None
    got = jacobian_sq_norms(ae, X, "encoder.*", "closed_form")
    for k, name in enumerate(["encoder.layer0", "encoder.code"]):
        layer = dict(ae.named_modules())[name]
        for r in range(len(X)):
            def z(x, layer=layer):
                store = {}
                handle = layer.register_forward_hook(lambda m, i, o: store.setdefault("z", o))
                try:
                    ae(x[None])
                finally:
                    handle.remove()
                return store["z"][0]
            expected = torch.autograd.functional.jacobian(z, X[r]).pow(2).sum()
            torch.testing.assert_close(got[r, k], expected)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(in_features=0), ValueError, "in_features must be an int >= 1, got 0"),
    (dict(n_components=0), ValueError, "n_components must be an int >= 1, got 0"),
    (dict(n_components=2.0), TypeError, "n_components must be an int >= 1, got 2.0"),
    (dict(hidden_layer_sizes=(4, 0)), ValueError, "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="4"), TypeError, "hidden_layer_sizes"),
    (dict(activation="swish"), ValueError, "Unknown activation 'swish'"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = {"in_features": 4, "n_components": 2, **kwargs}
    with pytest.raises(error, match=match):
        Autoencoder(**arguments)
