"""DropConnectLinear: per-example masks, gradients of kept weights, mean and Gaussian inference."""

import math

import pytest
import torch
from torch.nn import functional as F

from skgates.nn import DropConnectLinear, DropConnectNetwork
from skgates.nn.dropconnect import _DropConnectFunction, keep_threshold

N_IN, N_OUT = 8, 4


def binary_layer(p, chunk_elements=None):
    """A layer whose weights are powers of two, so that an all-ones input encodes the mask."""
    layer = DropConnectLinear(N_IN, N_OUT, p=p, chunk_elements=chunk_elements).double()
    with torch.no_grad():
        layer.weight.copy_(2.0 ** torch.arange(N_IN, dtype=torch.float64).expand(N_OUT, N_IN))
        layer.bias.zero_()
    return layer


def decode_masks(layer, out):
    """Masks ``(*, out, in)`` from the output of ``binary_layer`` on all-ones rows."""
    codes = torch.round(out * layer.keep_probability).long()
    bits = (codes[..., None] >> torch.arange(N_IN)) & 1
    return bits.to(torch.float64)


@pytest.mark.parametrize("p", [0.5, 0.75])
def test_each_row_gets_its_own_mask(p):
    torch.manual_seed(0)
    layer = binary_layer(p, chunk_elements=3 * N_IN * N_OUT)  # several chunks
    out = layer(torch.ones(400, N_IN, dtype=torch.float64))
    masks = decode_masks(layer, out).reshape(400, -1)
    # masks reproduce the output exactly
    recomputed = (masks.reshape(400, N_OUT, N_IN) * layer.weight / layer.keep_probability).sum(-1)
    assert torch.allclose(recomputed, out)
    q = 1 - p
    n = masks.numel()
    assert abs(masks.mean().item() - q) < 4 * math.sqrt(q * (1 - q) / n)
    # independent rows: pairs of rows agree on a weight with probability q^2 + p^2
    agree = (masks[1:] == masks[:-1]).double().mean().item()
    expected = q * q + p * p
    assert abs(agree - expected) < 4 * math.sqrt(expected * (1 - expected) / masks[1:].numel())
    assert len({tuple(row.tolist()) for row in masks}) > 390


def test_only_kept_weights_receive_gradient_and_backward_reuses_the_masks():
    torch.manual_seed(1)
    layer = binary_layer(0.5, chunk_elements=2 * N_IN * N_OUT)
    x = torch.ones(7, N_IN, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    masks = decode_masks(layer, out.detach())
    upstream = torch.randn_like(out)
    out.backward(upstream)
    scale = 1 / layer.keep_probability
    expected_w = torch.einsum("ro,roi,ri->oi", upstream, masks, x.detach()) * scale
    expected_x = torch.einsum("ro,roi,oi->ri", upstream, masks, layer.weight.detach()) * scale
    assert torch.allclose(layer.weight.grad, expected_w)
    assert torch.allclose(x.grad, expected_x)
    assert torch.allclose(layer.bias.grad, upstream.sum(0))
    # a single row: the gradient is zero exactly where the weight was dropped
    layer.weight.grad = None
    one = layer(torch.ones(1, N_IN, dtype=torch.float64))
    kept = decode_masks(layer, one.detach())[0].bool()
    one.sum().backward()
    assert torch.equal(layer.weight.grad != 0, kept)


def test_function_gradcheck():
    torch.manual_seed(2)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    bits, threshold = keep_threshold(0.3)

    def f(x, w, b):
        return _DropConnectFunction.apply(x, w, b, (1 << bits) / threshold, 123, bits, threshold, 2)

    assert torch.autograd.gradcheck(f, (x, w, b))


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_expected_training_output_is_the_mean_inference_output(p):
    torch.manual_seed(3)
    layer = DropConnectLinear(6, 3, p=p).double()
    x = torch.randn(1, 6, dtype=torch.float64)
    n = 20000
    with torch.no_grad():
        samples = layer(x.expand(n, 6))
        mean_output = layer.eval()(x)[0]
    se = samples.std(0) / math.sqrt(n)
    assert torch.all((samples.mean(0) - mean_output).abs() < 4.5 * se)
    assert torch.allclose(mean_output, F.linear(x, layer.weight, layer.bias)[0])


def test_gaussian_moments_match_sampled_masks():
    torch.manual_seed(4)
    layer = DropConnectLinear(6, 3, p=0.4).double()
    x = torch.randn(1, 6, dtype=torch.float64)
    n = 40000
    with torch.no_grad():
        samples = layer(x.expand(n, 6))
        mean, var = layer.moments(x)
    assert torch.all((samples.mean(0) - mean[0]).abs() < 4.5 * samples.std(0) / math.sqrt(n))
    # relative standard error of a sample variance: about sqrt(2 / n), more for non-Gaussian masks
    assert torch.allclose(samples.var(0), var[0], rtol=8 * math.sqrt(2 / n))
    # the Gaussian that inference draws from has the same mean and variance
    recorder = Recorder()
    gauss = DropConnectLinear(6, 3, p=0.4, inference="gaussian", n_samples=n,
                              activation=recorder).double()
    gauss.load_state_dict(layer.state_dict())
    with torch.no_grad():
        gauss.eval()(x)
    draws = torch.cat(recorder.inputs).reshape(n, 3)
    assert torch.all((draws.mean(0) - mean[0]).abs() < 4.5 * draws.std(0) / math.sqrt(n))
    assert torch.allclose(draws.var(0), var[0], rtol=6 * math.sqrt(2 / n))


class Recorder(torch.nn.Module):
    """The identity, keeping what it was given."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, u):
        self.inputs.append(u.detach().clone())
        return u


def test_gaussian_inference_averages_the_activation():
    torch.manual_seed(5)
    layer = DropConnectLinear(6, 3, p=0.5, inference="gaussian", n_samples=20000,
                              activation=torch.nn.ReLU()).double().eval()
    x = torch.randn(2, 6, dtype=torch.float64)
    with torch.no_grad():
        out = layer(x)
        m, v = layer.moments(x)
    s = v.sqrt()
    normal = torch.distributions.Normal(0.0, 1.0)
    expected = m * normal.cdf(m / s) + s * normal.log_prob(m / s).exp()  # E[relu(N(m, s^2))]
    assert torch.allclose(out, expected, atol=5 * 1.0 * s.max().item() / math.sqrt(20000))


def test_shapes_batch_of_one_1d_and_3d():
    torch.manual_seed(6)
    layer = binary_layer(0.5)
    assert layer(torch.ones(1, N_IN, dtype=torch.float64)).shape == (1, N_OUT)
    assert layer(torch.ones(N_IN, dtype=torch.float64)).shape == (N_OUT,)
    out = layer(torch.ones(2, 5, N_IN, dtype=torch.float64))
    assert out.shape == (2, 5, N_OUT)
    masks = decode_masks(layer, out).reshape(10, -1)
    assert len({tuple(row.tolist()) for row in masks}) == 10  # each position its own mask
    layer.eval()
    assert layer(torch.ones(1, N_IN, dtype=torch.float64)).shape == (1, N_OUT)
    assert layer(torch.ones(2, 5, N_IN, dtype=torch.float64)).shape == (2, 5, N_OUT)


def test_seeded_masks_are_reproducible_and_p0_is_linear():
    layer = DropConnectLinear(5, 3, p=0.5)
    x = torch.randn(4, 5)
    torch.manual_seed(7)
    a = layer(x)
    torch.manual_seed(7)
    assert torch.equal(a, layer(x))
    plain = DropConnectLinear(5, 3, p=0.0)
    assert torch.allclose(plain(x), F.linear(x, plain.weight, plain.bias))


@pytest.mark.parametrize("p, expected", [(0.5, 0.5), (0.25, 0.75), (0.3, 0.7)])
def test_keep_probability(p, expected):
    assert abs(DropConnectLinear(2, 2, p=p).keep_probability - expected) <= 2.0 ** -16


@pytest.mark.parametrize("kwargs, error, match", [
    ({"p": 1.0}, ValueError, r"p must be a number in \[0, 1\), got 1.0"),
    ({"p": -0.1}, ValueError, r"\[0, 1\)"),
    ({"p": float("nan")}, ValueError, r"p must be a number in \[0, 1\), got nan"),
    ({"p": "0.5"}, TypeError, r"p must be a number in \[0, 1\)"),
    ({"inference": "median"}, ValueError,
     "Unknown inference 'median'; inference must be one of 'mean', 'gaussian'"),
    ({"n_samples": 0}, ValueError, "n_samples must be an int >= 1, got 0"),
    ({"n_samples": 10.0}, TypeError, "n_samples must be an int >= 1, got 10.0"),
    ({"activation": torch.nn.ReLU}, TypeError,
     "activation must be a torch.nn.Module or None, got type"),
    ({"chunk_elements": 0}, ValueError, "chunk_elements must be an int >= 1, got 0"),
    ({"seed": -1}, ValueError, r"seed must be an int in \[0, 9223372036854775807\], got -1"),
    ({"seed": 2 ** 63}, ValueError, "seed must be an int in"),
    ({"in_features": 0}, ValueError, "in_features must be an int >= 1, got 0"),
    ({"out_features": 2.0}, TypeError, "out_features must be an int >= 1, got 2.0"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DropConnectLinear(**{"in_features": 3, "out_features": 2, **kwargs})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"hidden_layer_sizes": (4, 0)}, ValueError, "hidden_layer_sizes"),
    ({"activation": "swish"}, ValueError, "Unknown activation 'swish'"),
    ({"hidden_layer_sizes": (), "p": 1.0}, ValueError, r"p must be a number in \[0, 1\)"),
    ({"hidden_layer_sizes": (), "inference": "mode"}, ValueError, "inference"),
    ({"hidden_layer_sizes": (), "n_samples": 0}, ValueError, "n_samples"),
    ({"seed": 2 ** 63 - 1}, ValueError, "seed must be an int in"),  # the second layer's seed
])
def test_network_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DropConnectNetwork(**{"in_features": 3, "hidden_layer_sizes": (4, 4), "out_features": 1,
                              **kwargs})


def test_wrong_last_dimension():
    layer = DropConnectLinear(3, 2)
    for mode in (layer.train, layer.eval):
        mode()
        with pytest.raises(ValueError, match="in_features=3"):
            layer(torch.randn(4, 5))


def test_network_trains_and_uses_plain_output_layer():
    torch.manual_seed(8)
    net = DropConnectNetwork(3, (16,), 1, p=0.5)
    assert type(net.output) is torch.nn.Linear
    X = torch.randn(128, 3)
    y = X[:, :1] - 2 * X[:, 1:2]
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        loss = F.mse_loss(net(X), y)
        loss.backward()
        opt.step()
    net.eval()
    assert F.mse_loss(net(X), y).item() < 0.2 * y.var().item()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_the_mask_semantics():
    torch.manual_seed(9)
    layer = binary_layer(0.5).cuda()
    x = torch.ones(64, N_IN, dtype=torch.float64, device="cuda", requires_grad=True)
    out = layer(x)
    masks = decode_masks(layer, out.detach().cpu())
    out.backward(torch.ones_like(out))
    expected_w = masks.sum(0) / layer.keep_probability
    assert torch.allclose(layer.weight.grad.cpu(), expected_w)
    assert abs(masks.mean().item() - 0.5) < 0.1


def test_drop_in_for_linear_and_no_bias():
    linear = torch.nn.Linear(5, 3)
    layer = DropConnectLinear(5, 3, p=0.25)
    layer.load_state_dict(linear.state_dict())  # same parameters as nn.Linear
    x = torch.randn(4, 5)
    assert torch.allclose(layer.eval()(x), linear(x))
    no_bias = DropConnectLinear(5, 3, bias=False, p=0.5).train()
    torch.manual_seed(10)
    out = no_bias(x)
    out.sum().backward()
    assert no_bias.bias is None and no_bias.weight.grad.shape == (3, 5)


# ------------------------------------------------ Gaussian inference: common random numbers
def gaussian_layer(n_samples=100, seed=0):
    torch.manual_seed(11)
    layer = DropConnectLinear(6, 5, p=0.5, inference="gaussian", n_samples=n_samples,
                              activation=torch.nn.ReLU(), seed=seed)
    return layer.eval()


def test_gaussian_output_of_a_row_does_not_depend_on_its_batch():
    layer = gaussian_layer()
    torch.manual_seed(12)
    X = torch.randn(40, 6) * 2
    with torch.no_grad():
        alone = torch.cat([layer(X[i:i + 1]) for i in range(len(X))])
        order = torch.randperm(len(X))
        shuffled = torch.empty_like(alone)
        shuffled[order] = layer(X[order])
        large = layer(torch.cat([torch.randn(3000, 6), X, torch.randn(2000, 6)]))[3000:3040]
        again = layer(X)
        one_dimensional = layer(X[7])
        three_dimensional = layer(X.reshape(8, 5, 6)).reshape(40, 5)
    spread = alone.std().item()
    for other in (shuffled, large, again, three_dimensional):
        torch.testing.assert_close(other, alone, rtol=1e-5, atol=1e-5 * spread)
    torch.testing.assert_close(one_dimensional, alone[7], rtol=1e-5, atol=1e-5 * spread)
    # and it is not the mean network: the draws do average the activation
    assert not torch.allclose(alone, torch.relu(F.linear(X, layer.weight, layer.bias)), atol=1e-3)


def test_gaussian_draws_are_the_seeds():
    layer = gaussian_layer(seed=3)
    x = torch.randn(4, 6)
    with torch.no_grad():
        first = layer(x)
        torch.manual_seed(99)  # the global RNG plays no part
        assert torch.equal(layer(x), first)
        other = gaussian_layer(seed=3)
        other.load_state_dict(layer.state_dict())
        assert torch.equal(other(x), first)
        layer.seed = 4
        assert not torch.allclose(layer(x), first)
    draws = layer.gaussian_draws(torch.float64)
    assert draws.shape == (100, 5) and draws.dtype == torch.float64
    assert torch.equal(layer.gaussian_draws(), draws.float())
    assert "seed=4" in repr(layer)


def test_network_layers_get_their_own_seeds():
    net = DropConnectNetwork(3, (4, 4), 1, inference="gaussian", seed=7)
    assert [layer.seed for layer in net.hidden] == [7, 8]


def test_gaussian_inference_still_estimates_the_expected_activation():
    n_samples = 4000
    layer = gaussian_layer(n_samples=n_samples).double()
    torch.manual_seed(13)
    X = torch.randn(300, 6, dtype=torch.float64)
    with torch.no_grad():
        out = layer(X)
        m, v = layer.moments(X)
    s = v.sqrt()
    normal = torch.distributions.Normal(0.0, 1.0)
    expected = m * normal.cdf(m / s) + s * normal.log_prob(m / s).exp()  # E[relu(N(m, s^2))]
    # each row: an unbiased Monte-Carlo estimate, standard error below s / sqrt(n_samples)
    assert torch.all((out - expected).abs() < 4.5 * s / math.sqrt(n_samples))
    # so is the mean over rows
    error = (out - expected).mean(0).abs()
    assert torch.all(error < 4.5 * s.mean(0) / math.sqrt(n_samples))


def test_gaussian_inference_groups_large_batches_without_changing_rows(monkeypatch):
    from skgates.nn import dropconnect
    layer = gaussian_layer(n_samples=50)
    x = torch.randn(30, 6)
    with torch.no_grad():
        whole = layer(x)
        monkeypatch.setattr(dropconnect, "_GAUSSIAN_ELEMENTS", 7 * 5)  # several groups of draws
        grouped = layer(x)
    torch.testing.assert_close(grouped, whole)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gaussian_inference_is_the_same_on_cuda():
    layer = gaussian_layer().double()
    x = torch.randn(64, 6, dtype=torch.float64)
    with torch.no_grad():
        cpu = layer(x)
        cuda = layer.cuda()(x.cuda()).cpu()
    torch.testing.assert_close(cuda, cpu)
