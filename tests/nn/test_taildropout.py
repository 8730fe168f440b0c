"""Tests of skgates.nn.TailDropout against brute force, formulas and scikit-learn's PCA."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from skgates.nn import MLP, TailDropout, TailDropoutRankerNetwork
from skgates.nn.taildropout import kept_fraction, solve_scale


def _brute_force_kept_fraction(scale, n):
    return sum(math.exp(-j / (scale * n)) for j in range(1, n + 1)) / n


@pytest.mark.parametrize("n", [1, 3, 50])
@pytest.mark.parametrize("p", [0.05, 0.5, 0.9])
def test_solved_scale_gives_the_kept_fraction(p, n):
    scale = solve_scale(p, n)
    assert kept_fraction(scale, n) == pytest.approx(1 - p, abs=1e-9)
    assert _brute_force_kept_fraction(scale, n) == pytest.approx(1 - p, abs=1e-9)


def test_scale_tends_to_the_continuous_root():
    scale = solve_scale(0.5, 100_000)
    assert scale * (1 - math.exp(-1 / scale)) == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("p,n", [(0.5, 10), (0.2, 7), (0.8, 32)])
def test_expected_kept_fraction_matches_p(p, n):
    torch.manual_seed(0)
    mask = TailDropout(p)(torch.ones(100_000, n))
    # standard error of the mean of k/n is below 0.4 / sqrt(1e5) ~ 0.0013
    assert mask.mean().item() == pytest.approx(1 - p, abs=0.006)
    # survival of feature j follows exp(-j / (a n))
    survival = mask.mean(dim=0).numpy()
    expected = np.exp(-np.arange(1, n + 1) / (solve_scale(p, n) * n))
    np.testing.assert_allclose(survival, expected, atol=0.01)


def test_masks_are_prefixes_and_vary_by_row():
    torch.manual_seed(1)
    out = TailDropout(0.5)(torch.ones(1000, 9))
    assert torch.all(out.diff(dim=1) <= 0)  # ones then zeros
    assert len(torch.unique(out.sum(dim=1))) > 5


def test_gradient_equals_the_mask():
    torch.manual_seed(2)
    x = (torch.rand(64, 12) + 0.5).requires_grad_()
    out = TailDropout(0.5)(x)
    out.sum().backward()
    mask = (out != 0).to(x.dtype)
    assert torch.equal(x.grad, mask)
    assert torch.equal(out, x.detach() * mask)


def test_eval_is_the_identity_without_rescaling():
    x = torch.randn(20, 5)
    dropout = TailDropout(0.7).eval()
    assert torch.equal(dropout(x), x)


@pytest.mark.parametrize("training", [True, False])
def test_set_k_is_exact_in_both_modes(training):
    x = torch.randn(30, 6) + 10
    dropout = TailDropout(0.5).train(training)
    for k in range(7):
        out = dropout.set_k(k)(x)
        assert torch.equal(out[:, :k], x[:, :k])
        assert torch.all(out[:, k:] == 0)
    dropout.set_k(None)
    assert dropout.k is None
    if not training:
        assert torch.equal(dropout(x), x)


def test_p_zero_and_one_are_the_limits():
    x = torch.randn(50, 8)
    assert torch.equal(TailDropout(0.0)(x), x)
    assert torch.all(TailDropout(1.0)(x) == 0)


def _shape_for(ndim):
    return (5, 4, 3, 6)[:ndim]


def _dim_cases():
    for ndim in (2, 3, 4):
        for drop in range(ndim):
            others = [d for d in range(ndim) if d != drop]
            for r in range(1, len(others) + 1):
                for batch in itertools.combinations(others, r):
                    yield ndim, list(batch), drop


@pytest.mark.parametrize("ndim,batch,drop", list(_dim_cases()))
def test_every_batch_dim_dropout_dim_combination(ndim, batch, drop):
    torch.manual_seed(3)
    shape = _shape_for(ndim)
    batch_arg = batch[0] if len(batch) == 1 else batch
    # negative dropout_dim must mean the same as the positive one
    dropout = TailDropout(0.5, batch_dim=batch_arg, dropout_dim=drop - ndim)
    out = dropout(torch.ones(shape))
    assert out.shape == shape
    moved = out.movedim(drop, -1)  # features last
    assert torch.all(moved.diff(dim=-1) <= 0), "the kept features of every mask are a prefix"
    # the mask is shared along dimensions that are neither batch nor dropout dims
    shared = [d for d in range(ndim) if d not in batch and d != drop]
    for d in shared:
        assert torch.equal(out, out.narrow(d, 0, 1).expand_as(out))
    # and it varies along the batch dims (many draws: not all equal)
    big_shape = list(shape)
    big_shape[batch[0]] = 200
    big = dropout(torch.ones(big_shape)).movedim(drop, -1).sum(-1)
    assert len(torch.unique(big)) > 2
    # eval is the identity and set_k cuts the same dimension
    x = torch.randn(shape) + 5
    dropout.eval()
    assert torch.equal(dropout(x), x)
    cut = dropout.set_k(2)(x).movedim(drop, -1)
    assert torch.all(cut[..., 2:] == 0) and torch.equal(cut[..., :2], x.movedim(drop, -1)[..., :2])


def test_sequence_mask_per_step_and_sequence():
    torch.manual_seed(4)
    per_sequence = TailDropout(0.5, batch_dim=1, dropout_dim=2)(torch.ones(7, 300, 5))
    assert torch.equal(per_sequence, per_sequence[:1].expand_as(per_sequence))
    per_step = TailDropout(0.5, batch_dim=[0, 1], dropout_dim=2)(torch.ones(7, 300, 5))
    assert not torch.equal(per_step, per_step[:1].expand_as(per_step))


def test_pca_ordering_of_a_linear_autoencoder():
    """First-k decoder directions span PCA's first k components, k = 1..4."""
    rng = np.random.RandomState(0)
    n_features, width = 6, 4
    rotation, _ = np.linalg.qr(rng.randn(n_features, n_features))
    X = rng.randn(1500, n_features) * np.sqrt([8, 4, 2, 1, 0.5, 0.25]) @ rotation.T
    X -= X.mean(axis=0)
    pca = PCA(width).fit(X)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        encoder = torch.nn.Linear(n_features, width, bias=False)
        decoder = torch.nn.Linear(width, n_features, bias=False)
        dropout = TailDropout(0.5)
        X_t = torch.tensor(X, dtype=torch.float32)
        optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=0.01)
        for _ in range(1200):
            optimizer.zero_grad()
            loss = ((decoder(dropout(encoder(X_t))) - X_t) ** 2).mean()
            loss.backward()
            optimizer.step()
    directions = decoder.weight.detach().numpy().astype(np.float64)
    for k in range(1, width + 1):
        angles = np.degrees(subspace_angles(directions[:, :k], pca.components_[:k].T))
        assert angles.max() < 6.0, (k, angles)


def test_compile_does_not_recompile_for_each_k():
    dynamo = pytest.importorskip("torch._dynamo")
    from torch._dynamo.utils import counters

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), TailDropout(0.5)).eval()
    try:
        dynamo.reset()
        counters.clear()
        compiled = torch.compile(model, backend="eager")
        x = torch.randn(4, 8)
        model[1].set_k(1)
        compiled(x)
    except Exception as error:  # pragma: no cover - platforms without dynamo support
        pytest.skip(f"torch.compile unavailable: {error}")
    graphs = counters["stats"]["unique_graphs"]
    for k in (2, 3, 5, 8):
        model[1].set_k(k)
        out = compiled(x)
        assert torch.all(out[:, k:] == 0)
        assert torch.equal(out[:, :k], model[0](x)[:, :k])
    assert counters["stats"]["unique_graphs"] == graphs
    dynamo.reset()


@pytest.mark.parametrize("p, error", [(-0.1, ValueError), (1.5, ValueError),
                                      (float("nan"), ValueError), ("0.5", TypeError)])
def test_bad_p(p, error):
    with pytest.raises(error, match=r"p must be a number in \[0, 1\], got"):
        TailDropout(p)


def test_bad_k():
    dropout = TailDropout()
    with pytest.raises(ValueError, match="k must be >= 0"):
        dropout.set_k(-1)
    with pytest.raises(TypeError, match="k must be an int"):
        dropout.set_k(1.5)
    dropout.set_k(5)
    with pytest.raises(ValueError, match="only 3 features"):
        dropout(torch.ones(2, 3))


def test_bad_dims():
    with pytest.raises(ValueError, match="overlaps"):
        TailDropout(batch_dim=1, dropout_dim=-1)(torch.ones(2, 3))
    with pytest.raises(ValueError, match="outside a 2-D input"):
        TailDropout(batch_dim=0, dropout_dim=2)(torch.ones(2, 3))
    with pytest.raises(ValueError, match="outside a 3-D input"):
        TailDropout(batch_dim=[0, 5], dropout_dim=2)(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="repeats"):
        TailDropout(batch_dim=[0, 0])
    with pytest.raises(ValueError, match="twice"):
        TailDropout(batch_dim=[0, -3], dropout_dim=1)(torch.ones(2, 3, 4))
    with pytest.raises(TypeError, match="dropout_dim"):
        TailDropout(dropout_dim=1.0)
    with pytest.raises(TypeError, match="batch_dim"):
        TailDropout(batch_dim="0")


def _ranker_network(d=5, outputs=2):
    torch.manual_seed(0)
    return TailDropoutRankerNetwork(d, MLP(2 * d, (8, 6), outputs), p=0.5)


def test_ranker_network_prefix_sweep_matches_masked_forward():
    """prefix_outputs (incremental first layer) equals the network on explicitly masked input."""
    network = _ranker_network().eval()
    x = torch.randn(7, 5)
    orders = network.sample_orders(7)
    for m, out in enumerate(network.prefix_outputs(x, orders)):
        mask = torch.zeros(7, 5)
        mask.scatter_(1, orders[:, :m], 1.0)
        expected = network.body(torch.cat([x * mask, mask], dim=1))
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_ranker_network_orders_follow_logits():
    network = _ranker_network(d=4)
    network.set_order_logits(torch.tensor([0.0, 3.0, -3.0, 1.0]))
    torch.manual_seed(5)
    first = network.sample_orders(20_000)[:, 0]
    # Plackett-Luce: P(first = j) = softmax(logits)_j
    expected = torch.softmax(torch.tensor([0.0, 3.0, -3.0, 1.0]), dim=0)
    frequencies = torch.bincount(first, minlength=4).double() / 20_000
    torch.testing.assert_close(frequencies, expected.double(), atol=0.01, rtol=0)


def test_ranker_network_ordered_mode_keeps_prefixes_of_the_order():
    network = _ranker_network(d=6).train()
    network.set_order([3, 0, 5, 1, 4, 2])
    torch.manual_seed(6)
    mask = network._mask(torch.randn(500, 6))
    in_order = mask[:, [3, 0, 5, 1, 4, 2]]
    assert torch.all(in_order.diff(dim=1) <= 0)
    network.dropout.set_k(2)
    assert torch.equal(network._mask(torch.randn(3, 6))[0], torch.tensor([1.0, 0, 0, 1, 0, 0]))


@pytest.mark.parametrize("args, error, match", [
    ((0, MLP(0 + 2, (4,), 1)), ValueError, "n_features must be an int >= 1, got 0"),
    ((3, MLP(6, (4,), 1), 0.0), ValueError, r"p must be a number in \(0, 1\], got 0.0"),
    ((3, MLP(6, (4,), 1), 1.5), ValueError, r"p must be a number in \(0, 1\]"),
    ((3, MLP(3, (4,), 1)), ValueError, "body must read 2 \\* n_features = 6 inputs"),
    ((3, MLP(4, (), 1)), ValueError, "got an MLP with in_features=4"),
    ((3, torch.nn.Linear(6, 1)), TypeError, "body must be a MLP, got Linear"),
])
def test_ranker_network_checks_its_arguments(args, error, match):
    with pytest.raises(error, match=match):
        TailDropoutRankerNetwork(*args)


def test_ranker_network_contractive_penalty_is_exact_by_autodiff():
    from skgates.nn import jacobian_sq_norms
    from skgates.nn.contractive import linear_chain
    network = _ranker_network(d=4).double().eval()
    assert linear_chain(network)[0] is None  # not a chain: masks and their concatenation
    x = torch.randn(3, 4, dtype=torch.float64)
    norms = jacobian_sq_norms(network, x, "body.hidden.0")
    for r in range(3):
        def hidden(row):
            mask = torch.ones_like(row)
            return network.body.hidden[0](torch.cat([row * mask, mask]))
        expected = torch.autograd.functional.jacobian(hidden, x[r]).pow(2).sum()
        torch.testing.assert_close(norms[r, 0], expected)
