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
    # Gaussian inference of one draw per row has the same mean and variance
    gauss = DropConnectLinear(6, 3, p=0.4, inference="gaussian", n_samples=1).double()
    gauss.load_state_dict(layer.state_dict())
    with torch.no_grad():
        draws = gauss.eval()(x.expand(n, 6))
    assert torch.all((draws.mean(0) - mean[0]).abs() < 4.5 * draws.std(0) / math.sqrt(n))
    assert torch.allclose(draws.var(0), var[0], rtol=6 * math.sqrt(2 / n))


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


@pytest.mark.parametrize("kwargs, match", [
    ({"p": 1.0}, r"\[0, 1\)"),
    ({"p": -0.1}, r"\[0, 1\)"),
    ({"inference": "median"}, "inference"),
    ({"n_samples": 0}, "n_samples"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DropConnectLinear(3, 2, **kwargs)


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
