"""The contractive penalty against brute-force per-example Jacobians."""

import ast

import pytest
import torch
from torch import nn

from skgates.nn import (
    MLP, CancelOut, CancelOutNetwork, ContractivePenalty, DropConnectLinear, DropConnectNetwork,
    contractive_penalty, jacobian_sq_norms,
)
from skgates.nn import contractive
from skgates.nn.contractive import linear_chain, resolve_layers


def brute_force(module, X, names):
    """``||dZ/dx||_F^2`` per row and layer with ``torch.autograd.functional.jacobian`` per row."""
    modules = dict(module.named_modules())
    out = torch.zeros(len(X), len(names), dtype=X.dtype)
    for k, name in enumerate(names):
        store = {}
        handle = modules[name].register_forward_hook(lambda m, i, o: store.__setitem__("z", o))
        try:
            for r in range(len(X)):
                def z_of(x):
                    module(x[None])
                    return store["z"][0]
                jac = torch.autograd.functional.jacobian(z_of, X[r])
                out[r, k] = jac.pow(2).sum()
        finally:
            handle.remove()
    return out


def layer_names(hidden):
    return [f"hidden.{i}" for i in range(len(hidden))]


@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu"])
@pytest.mark.parametrize("n_inputs, hidden", [(3, (9, 6)), (12, (5, 4, 3)), (4, (7,))])
def test_closed_form_and_autodiff_match_brute_force(activation, n_inputs, hidden):
    # (3, (9, 6)) propagates the Jacobian; (12, (5, 4, 3)) its Gram matrix
    torch.manual_seed(len(hidden) + n_inputs)
    net = MLP(n_inputs, hidden, 2, activation).double()
    X = torch.randn(6, n_inputs, dtype=torch.float64)
    names = layer_names(hidden) + ["output"]
    reference = brute_force(net, X, names)
    for method in ("closed_form", "autodiff"):
        norms = jacobian_sq_norms(net, X, ["hidden.*", "output"], method=method)
        assert torch.allclose(norms, reference, rtol=1e-5, atol=1e-5), method
    penalty = contractive_penalty(net, X, "hidden.*")
    assert torch.allclose(penalty, reference[:, :-1].mean(), rtol=1e-5, atol=1e-5)


def test_first_layer_formula():
    torch.manual_seed(0)
    net = MLP(5, (4,), 1, "tanh").double()
    X = torch.randn(3, 5, dtype=torch.float64)
    linear = net.hidden[0][0]
    slope = 1 - torch.tanh(linear(X)) ** 2
    formula = (slope ** 2 * linear.weight.pow(2).sum(1)).sum(1)
    assert torch.allclose(jacobian_sq_norms(net, X, "hidden.0")[:, 0], formula)


def test_gates_and_pre_activations():
    torch.manual_seed(1)
    net = CancelOutNetwork(CancelOut(4, init=0.3), MLP(4, (6, 5), 2, "logistic")).double()
    X = torch.randn(5, 4, dtype=torch.float64)
    for names in (["body.hidden.0", "body.hidden.1.0"], ["body.hidden.1"]):  # 1.0: pre-activation
        got = jacobian_sq_norms(net, X, names, "closed_form")
        assert torch.allclose(got, brute_force(net, X, names))


def test_dropconnect_network_uses_the_expected_weights():
    torch.manual_seed(2)
    net = DropConnectNetwork(5, (6, 4), 2, activation=nn.Tanh, p=0.5).double()
    X = torch.randn(4, 5, dtype=torch.float64)
    got = jacobian_sq_norms(net.train(), X, "hidden.*", "closed_form")
    assert torch.allclose(got, brute_force(net.eval(), X, ["hidden.0", "hidden.1"]))


class SkipNet(nn.Module):
    """Not a chain: a residual connection."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Sequential(nn.Linear(4, 3), nn.Softplus())

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)) + x)


def test_general_module_uses_autodiff_exactly():
    torch.manual_seed(3)
    net = SkipNet().double()
    X = torch.randn(5, 4, dtype=torch.float64)
    assert linear_chain(net)[0] is None
    with pytest.raises(ValueError, match="closed_form"):
        jacobian_sq_norms(net, X, "b", method="closed_form")
    assert torch.allclose(jacobian_sq_norms(net, X, "b"), brute_force(net, X, ["b"]))


def test_gradients_with_respect_to_parameters_agree():
    torch.manual_seed(4)
    net = MLP(6, (5, 4), 1, "tanh").double()
    X = torch.randn(8, 6, dtype=torch.float64)
    grads = []
    for method in ("closed_form", "autodiff"):
        net.zero_grad()
        contractive_penalty(net, X, "hidden.*", method=method).backward()
        grads.append([p.grad.clone() for p in net.hidden.parameters()])
        assert net.output.weight.grad is None  # the output layer plays no part
    for a, b in zip(*grads):
        assert torch.allclose(a, b)


class BatchNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.norm(self.lin(x)))


def test_projection_estimate_is_unbiased_for_batch_coupled_layers():
    torch.manual_seed(5)
    net = BatchNormNet().double().train()
    X = torch.randn(6, 3, dtype=torch.float64)
    before = net.norm.running_mean.clone()
    estimate = jacobian_sq_norms(net, X, "act", n_projections=3000)  # auto -> projection
    assert torch.equal(net.norm.running_mean, before)  # buffers restored
    # reference: row r's output depends on every row k of the batch; the estimate's row k is
    # sum_r ||d Z(x_r) / d x_k||^2, with the same batch mean as sum_k ||d Z(x_r) / d x_k||^2
    jac = torch.autograd.functional.jacobian(net, X)  # (n, 4, n, 3)
    assert torch.allclose(estimate[:, 0], jac.pow(2).sum((0, 1, 3)), rtol=0.1)
    assert torch.allclose(estimate.mean(), jac.pow(2).sum((1, 2, 3)).mean(), rtol=0.05)


def test_resolve_layers_outermost_and_errors():
    net = MLP(3, (4, 4), 1)
    assert resolve_layers(net, "hidden.*") == ["hidden.0", "hidden.1"]
    assert resolve_layers(net, ["hidden.1.0", "output"]) == ["hidden.1.0", "output"]
    with pytest.raises(ValueError, match="match no module.*hidden.0"):
        resolve_layers(net, ["encoder.*"])
    with pytest.raises(TypeError):
        resolve_layers(net, 3)
    with pytest.raises(ValueError, match="non-empty"):
        resolve_layers(net, [])


def test_penalty_term_checks_and_scales():
    net = MLP(3, (4,), 1).double()
    X = torch.randn(4, 3, dtype=torch.float64)
    term = ContractivePenalty("hidden.*", weight=2.5)
    assert torch.allclose(term(net, X), 2.5 * contractive_penalty(net, X, "hidden.*"))
    with pytest.raises(ValueError, match="weight must be a finite number >= 0, got -1"):
        ContractivePenalty("hidden.*", weight=-1)
    with pytest.raises(ValueError, match="weight must be a finite number >= 0, got inf"):
        ContractivePenalty("hidden.*", weight=float("inf"))
    with pytest.raises(ValueError, match="Unknown method 'exact'; method must be one of"):
        ContractivePenalty("hidden.*", method="exact")
    with pytest.raises(ValueError, match="Unknown method 'exact'"):
        jacobian_sq_norms(net, X, "hidden.*", method="exact")
    with pytest.raises(ValueError, match="n_projections must be an int >= 1, got 0"):
        ContractivePenalty("hidden.*", n_projections=0)


class CustomNorm(nn.Module):
    """A hand-written batch norm (like a ghost batch norm): rows interact in training."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("running_mean", torch.zeros(n))

    def forward(self, x):
        if self.training:
            self.running_mean.mul_(0.9).add_(0.1 * x.mean(0).detach())
            return x - x.mean(0)
        return x - self.running_mean


def test_hand_written_batch_norms_get_the_projection_estimate():
    torch.manual_seed(6)
    net = nn.Sequential(nn.Linear(3, 4), CustomNorm(4), nn.Tanh()).double()
    X = torch.randn(5, 3, dtype=torch.float64)
    estimate = jacobian_sq_norms(net, X, "2", n_projections=3000)
    assert torch.equal(net[1].running_mean, torch.zeros(4, dtype=torch.float64))  # untouched
    exact = torch.autograd.functional.jacobian(net, X).pow(2).sum((0, 1, 3))
    assert torch.allclose(estimate[:, 0], exact, rtol=0.1)
    net.eval()  # rows no longer interact: exact autodiff
    assert torch.allclose(jacobian_sq_norms(net, X, "2"), brute_force(net, X, ["2"]))


class NoFunctorchSquare(torch.autograd.Function):
    """x ** 2 as a custom Function without ``setup_context``: torch.func cannot transform it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class CustomFunctionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 4)
        self.out = nn.Identity()

    def forward(self, x):
        return self.out(NoFunctorchSquare.apply(self.lin(x)))


def test_modules_torch_func_cannot_transform_fall_back_to_the_estimate():
    torch.manual_seed(7)
    net = CustomFunctionNet().double()
    X = torch.randn(4, 3, dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="random-projection"):
        estimate = jacobian_sq_norms(net, X, "out", n_projections=4000)
    assert torch.allclose(estimate, brute_force(net, X, ["out"]), rtol=0.1)
    with pytest.raises(RuntimeError):
        jacobian_sq_norms(net, X, "out", method="autodiff")
    penalty = contractive_penalty(net, X, "out", method="projection")
    penalty.backward()  # differentiable with respect to the parameters
    assert net.lin.weight.grad is not None


# ------------------------------------------------------------ the chain protocol
def test_the_penalty_knows_no_skgates_network_by_name():
    # every network declares its own structure: the penalty imports none of them
    tree = ast.parse(open(contractive.__file__).read())
    imported = {(node.module, alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level and node.module != "_checks"
                for alias in node.names}
    assert imported <= {("autoencoder", "Autoencoder")}  # a re-export, unused by the penalty
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not used & {"MLP", "CancelOut", "CancelOutNetwork", "Autoencoder", "DropConnectLinear"}


def test_skgates_networks_declare_their_roles():
    mlp = MLP(3, (4,), 2)
    assert [name for name, _ in mlp.contractive_chain()] == ["hidden.0", "output"]
    gate = CancelOut(3, init=0.5)
    assert torch.equal(gate.contractive_scale(), gate.gates())
    net = CancelOutNetwork(gate, mlp)
    assert [name for name, _ in net.contractive_chain()] == ["gate", "body"]
    assert DropConnectLinear.contractive_affine is True
    steps, taps = linear_chain(net)
    assert [kind for kind, _ in steps] == ["scale", "affine", "act", "affine"]
    assert taps["gate"] == 0 and taps["body.hidden.0"] == 2 and taps["body.output"] == 3


class PlainGate(nn.Module):
    """A CancelOut-like gate that does not declare itself: not a chain."""

    def __init__(self, n):
        super().__init__()
        self.logits = nn.Parameter(torch.linspace(-1.0, 2.0, n, dtype=torch.float64))

    def forward(self, x):
        return x * torch.sigmoid(self.logits)


class DeclaredGate(PlainGate):
    def contractive_scale(self):
        return torch.sigmoid(self.logits)


class TiedLinear(nn.Module):
    """An affine leaf with its own weight (a scaled parameter) and its own activation."""

    contractive_affine = True

    def __init__(self, n_in, n_out):
        super().__init__()
        self.raw = nn.Parameter(torch.randn(n_out, n_in, dtype=torch.float64))
        self.bias = nn.Parameter(torch.randn(n_out, dtype=torch.float64))
        self.act = nn.Softplus()

    def contractive_weight(self):
        return 0.5 * self.raw

    def contractive_activation(self):
        return self.act

    def forward(self, x):
        return self.act(nn.functional.linear(x, self.contractive_weight(), self.bias))


class Cube(nn.Module):
    """A custom elementwise activation."""

    contractive_elementwise = True

    def forward(self, x):
        return x + x ** 3 / 3


class Pipeline(nn.Module):
    """A container that lists its steps; one of them a diagonal leaf, one custom affine."""

    def __init__(self, gate):
        super().__init__()
        self.gate = gate
        self.first = TiedLinear(4, 5)
        self.squash = Cube()
        self.last = nn.Sequential(nn.Linear(5, 3), nn.Tanh())

    def forward(self, x):
        return self.last(self.squash(self.first(self.gate(x))))

    def contractive_chain(self):
        return [("gate", self.gate), ("first", self.first), ("squash", self.squash),
                ("last", self.last)]


def test_protocol_roles_give_the_exact_closed_form():
    torch.manual_seed(8)
    net = Pipeline(DeclaredGate(4)).double()
    X = torch.randn(6, 4, dtype=torch.float64)
    steps, _ = linear_chain(net)
    assert [kind for kind, _ in steps] == ["scale", "affine", "act", "act", "affine", "act"]
    names = ["first", "squash", "last"]
    got = jacobian_sq_norms(net, X, names, method="closed_form")
    assert torch.allclose(got, brute_force(net, X, names))
    assert torch.allclose(got, jacobian_sq_norms(net, X, names, method="autodiff"))


def test_an_undeclared_step_breaks_the_chain():
    torch.manual_seed(9)
    net = Pipeline(PlainGate(4)).double()
    X = torch.randn(5, 4, dtype=torch.float64)
    assert linear_chain(net)[0] is None
    with pytest.raises(ValueError, match="closed_form"):
        jacobian_sq_norms(net, X, "first", method="closed_form")
    # "auto" still computes it exactly, by autodiff
    assert torch.allclose(jacobian_sq_norms(net, X, "first"), brute_force(net, X, ["first"]))
