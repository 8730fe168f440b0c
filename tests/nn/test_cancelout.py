import numpy as np
import pytest
import torch

from skgates.nn import MLP, CancelOut, CancelOutNetwork
from skgates.nn.mlp import check_activation


def test_forward_is_input_times_sigmoid_of_weight_on_any_leading_shape():
    gate = CancelOut(4, init=0.0)
    with torch.no_grad():
        gate.weight.copy_(torch.tensor([-2.0, 0.0, 1.0, 3.0]))
    x = torch.randn(2, 5, 4)
    expected = x * (1 / (1 + torch.exp(-gate.weight.detach())))
    torch.testing.assert_close(gate(x), expected)


def test_gradient_reaches_the_gate_weights_as_the_chain_rule_says():
    gate = CancelOut(3, init=0.5)
    x = torch.randn(8, 3)
    coefficients = torch.randn(3)
    (gate(x) * coefficients).sum().backward()
    s = torch.sigmoid(torch.tensor(0.5))
    expected = (x * coefficients).sum(0) * s * (1 - s)
    torch.testing.assert_close(gate.weight.grad, expected)


def test_softmax_gates_are_positive_and_sum_to_one():
    gate = CancelOut(6, activation="softmax")
    with torch.no_grad():
        gate.weight.normal_()
    gates = gate.gates()
    assert torch.all(gates > 0)
    torch.testing.assert_close(gates.sum(), torch.tensor(1.0))


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_penalty_equals_its_formula(activation):
    gate = CancelOut(5, activation=activation, lambda_1=0.3, lambda_2=0.2)
    w = np.array([-1.0, 0.5, 2.0, 0.0, 4.0])
    with torch.no_grad():
        gate.weight.copy_(torch.tensor(w))
    g = 1 / (1 + np.exp(-w)) if activation == "sigmoid" else np.exp(w) / np.exp(w).sum()
    expected = 0.3 * g.sum() - 0.2 * np.mean((w - w.mean()) ** 2)
    assert gate.penalty().item() == pytest.approx(expected, rel=1e-6)


def test_penalty_gradient_closes_an_unused_gate():
    gate = CancelOut(2, lambda_1=1.0, lambda_2=0.0, init=1.0)
    gate.penalty().backward()
    assert torch.all(gate.weight.grad > 0)  # descent lowers every weight, closing the gates


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(activation="relu"), ValueError,
     "Unknown activation 'relu'; activation must be one of 'sigmoid', 'softmax'"),
    (dict(lambda_1=-1.0), ValueError, r"lambda_1 must be a finite number >= 0, got -1.0"),
    (dict(lambda_1=float("inf")), ValueError, "lambda_1 must be a finite number"),
    (dict(lambda_2=float("nan")), ValueError, "lambda_2 must be a finite number >= 0, got nan"),
    (dict(lambda_2="0.1"), TypeError, "lambda_2 must be a finite number >= 0"),
    (dict(init=float("nan")), ValueError, "init must be a finite number, got nan"),
    (dict(init=None), TypeError, "init must be a finite number, got None"),
    (dict(n_features=0), ValueError, "n_features must be an int >= 1, got 0"),
    (dict(n_features=3.0), TypeError, "n_features must be an int >= 1, got 3.0"),
])
def test_bad_gate_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        CancelOut(**{"n_features": 3, **kwargs})


def test_numpy_scalars_are_accepted():
    gate = CancelOut(np.int64(3), lambda_1=np.float32(0.5), init=np.float64(1.0))
    assert gate.weight.shape == (3,) and gate.lambda_1 == 0.5
    assert type(gate.lambda_1) is float


def test_network_checks_its_parts():
    with pytest.raises(TypeError, match="gate must be a CancelOut, got Linear"):
        CancelOutNetwork(torch.nn.Linear(3, 3), MLP(3, (), 1))
    with pytest.raises(TypeError, match="body must be a torch.nn.Module, got function"):
        CancelOutNetwork(CancelOut(3), lambda x: x)


def test_network_penalty_is_the_gate_penalty_and_output_shape():
    gate = CancelOut(4, lambda_1=0.1)
    net = CancelOutNetwork(gate, MLP(4, (8,), 3))
    assert net(torch.randn(5, 4)).shape == (5, 3)
    torch.testing.assert_close(net.penalty(), gate.penalty())


def test_mlp_rejects_unknown_activation_and_stacks_layers():
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        MLP(3, (4,), 1, activation="swish")
    mlp = MLP(3, (4, 5), 2, activation="tanh")
    assert [layer[0].out_features for layer in mlp.hidden] == [4, 5]
    assert isinstance(mlp.hidden[0][1], torch.nn.Tanh)
    assert isinstance(MLP(3, 4, 1, activation=torch.nn.GELU).hidden[0][1], torch.nn.GELU)
    assert len(MLP(3, (), 1).hidden) == 0


def test_check_activation_returns_the_class():
    assert check_activation("logistic") is torch.nn.Sigmoid
    assert check_activation(torch.nn.SiLU) is torch.nn.SiLU
    for bad in ("swish", None, torch.nn.ReLU(), ["relu"]):
        with pytest.raises(ValueError, match="Unknown activation"):
            check_activation(bad)


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((0, (4,), 1), {}, ValueError, "in_features must be an int >= 1, got 0"),
    ((3, (4,), 0), {}, ValueError, "out_features must be an int >= 1, got 0"),
    ((3, (4, 0), 1), {}, ValueError, r"hidden_layer_sizes must be .*ints >= 1, got \(4, 0\)"),
    ((3, (4, 2.5), 1), {}, ValueError, "hidden_layer_sizes"),
    ((3, "44", 1), {}, TypeError, "hidden_layer_sizes"),
    ((3, None, 1), {}, TypeError, "hidden_layer_sizes"),
    ((3, (4,), 1), {"linear": 3}, TypeError, "linear must be a callable"),
])
def test_mlp_bad_arguments_are_named(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(*args, **kwargs)
