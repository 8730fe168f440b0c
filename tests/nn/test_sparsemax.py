"""Sparsemax and entmax-1.5 against brute-force definitions."""

import itertools

import numpy as np
import pytest
import torch

from skgates.nn.sparsemax import Entmax15, Sparsemax, entmax15, sparsemax


def brute_force_sparsemax(z):
    """Euclidean projection onto the simplex by trying every support set."""
    d = len(z)
    for size in range(1, d + 1):
        for support in itertools.combinations(range(d), size):
            support = list(support)
            tau = (z[support].sum() - 1.0) / size
            p = np.zeros(d)
            p[support] = z[support] - tau
            outside = [j for j in range(d) if j not in support]
            if np.all(p[support] > 0) and np.all(z[outside] <= tau):
                return p
    raise AssertionError("no support found")


def bisection_entmax15(z, iterations=200):
    """p_i = max(z_i / 2 - tau, 0)^2 with tau found by bisection so that sum p = 1."""
    z = z / 2.0
    low, high = z.max() - 1.0, z.max()
    for _ in range(iterations):
        tau = (low + high) / 2
        if (np.clip(z - tau, 0, None) ** 2).sum() > 1:
            low = tau
        else:
            high = tau
    return np.clip(z - (low + high) / 2, 0, None) ** 2


def tsallis_objective(p, z):
    """p.z + H(p) with the 1.5-Tsallis entropy H(p) = (sum p - p^1.5) / 0.75."""
    return p @ z + (p - p ** 1.5).sum() / 0.75


@pytest.mark.parametrize("seed", range(5))
def test_sparsemax_matches_brute_force_projection(seed):
    z = np.random.RandomState(seed).randn(6) * 2
    ours = sparsemax(torch.tensor(z[None])).numpy()[0]
    np.testing.assert_allclose(ours, brute_force_sparsemax(z), atol=1e-10)


def test_sparsemax_is_the_closest_simplex_point():
    rng = np.random.RandomState(0)
    z = rng.randn(5)
    p = sparsemax(torch.tensor(z[None])).numpy()[0]
    others = rng.dirichlet(np.ones(5) * 0.5, size=2000)
    assert np.linalg.norm(p - z) <= np.linalg.norm(others - z, axis=1).min() + 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_entmax15_matches_bisection(seed):
    z = np.random.RandomState(seed).randn(7) * 3
    ours = entmax15(torch.tensor(z[None])).numpy()[0]
    np.testing.assert_allclose(ours, bisection_entmax15(z), atol=1e-9)


def test_entmax15_maximises_the_tsallis_objective():
    rng = np.random.RandomState(1)
    z = rng.randn(5) * 2
    p = entmax15(torch.tensor(z[None])).numpy()[0]
    best = tsallis_objective(p, z)
    others = rng.dirichlet(np.ones(5) * 0.5, size=2000)
    assert all(tsallis_objective(q, z) <= best + 1e-12 for q in others)


@pytest.mark.parametrize("function", [sparsemax, entmax15])
def test_outputs_on_the_simplex_and_sparse(function):
    z = torch.randn(64, 10, dtype=torch.float64) * 3
    p = function(z)
    assert torch.all(p >= 0)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(64, dtype=torch.float64))
    assert (p == 0).any(dim=1).float().mean() > 0.9  # spread scores leave exact zeros
    # a dominant score takes all the mass
    q = function(torch.tensor([[10.0, 0.0, -1.0]], dtype=torch.float64))
    torch.testing.assert_close(q, torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("function", [sparsemax, entmax15])
def test_gradient_matches_finite_differences(function):
    # scores with distinct values and no ties at the support boundary
    z = torch.tensor([[1.3, 0.2, -0.4, 0.9, 0.05], [0.1, 0.35, -2.0, 0.6, 0.3]],
                     dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(function, (z,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("function", [sparsemax, entmax15])
def test_invariant_to_shifts_and_dim_argument(function):
    z = torch.randn(4, 6, 3, dtype=torch.float64)
    torch.testing.assert_close(function(z + 5.0, dim=-1), function(z, dim=-1))
    along_1 = function(z, dim=1)
    torch.testing.assert_close(along_1, function(z.transpose(1, 2), dim=-1).transpose(1, 2))
    torch.testing.assert_close(along_1.sum(dim=1), torch.ones(4, 3, dtype=torch.float64))


def test_modules_wrap_the_functions():
    z = torch.randn(3, 5)
    torch.testing.assert_close(Sparsemax()(z), sparsemax(z))
    torch.testing.assert_close(Entmax15(dim=0)(z), entmax15(z, dim=0))


# ---------------------------------------------------------------- non-finite scores
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("function", [sparsemax, entmax15])
@pytest.mark.parametrize("bad", [NAN, INF])
def test_nan_or_plus_inf_gives_a_nan_row_and_leaves_the_others(function, bad):
    torch.manual_seed(0)
    z = torch.randn(5, 6, dtype=torch.float64) * 2
    clean = function(z)
    z[2, 3] = bad
    p = function(z)  # no "index -1 is out of bounds"
    assert torch.isnan(p[2]).all()
    others = [0, 1, 3, 4]
    torch.testing.assert_close(p[others], clean[others])
    # the loss of a batch with such a row is non-finite, and so are the gradients of that row
    z.requires_grad_(True)
    out = function(z)
    assert not torch.isfinite(out.sum())
    (out[others] * torch.randn(4, 6, dtype=torch.float64)).sum().backward()
    assert torch.isfinite(z.grad[others]).all()


@pytest.mark.parametrize("function", [sparsemax, entmax15])
def test_every_score_nan_or_minus_inf_gives_nan(function):
    z = torch.tensor([[NAN, NAN, NAN], [-INF, -INF, -INF], [-INF, NAN, 1.0], [1.0, 2.0, 0.0]])
    p = function(z)
    assert torch.isnan(p[:3]).all()
    assert torch.isfinite(p[3]).all()
    torch.testing.assert_close(p[3].sum(), torch.tensor(1.0))


@pytest.mark.parametrize("function", [sparsemax, entmax15])
def test_minus_inf_masks_a_score_out(function):
    z = torch.tensor([[0.3, -INF, 0.1, 0.8], [-INF, 2.0, -INF, 1.7]], dtype=torch.float64)
    p = function(z)
    assert torch.equal(p[0, 1], torch.tensor(0.0, dtype=torch.float64))
    assert torch.equal(p[1, [0, 2]], torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(p[0, [0, 2, 3]], function(z[0, [0, 2, 3]][None])[0])
    torch.testing.assert_close(p[1, [1, 3]], function(z[1, [1, 3]][None])[0])
    # and training through it works: finite gradients, 0 for the masked scores
    z.requires_grad_(True)
    (function(z) * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum().backward()
    assert torch.isfinite(z.grad).all() and z.grad[0, 1] == 0


@pytest.mark.parametrize("function", [sparsemax, entmax15])
def test_huge_finite_scores_stay_on_the_simplex(function):
    z = torch.tensor([[3e38, 2.9e38, -3e38], [1e30, 1e30, 0.0]], dtype=torch.float32)
    p = function(z)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.sum(dim=1), torch.ones(2))


@pytest.mark.parametrize("module", [Sparsemax, Entmax15])
def test_dim_must_be_an_int(module):
    with pytest.raises(TypeError, match="dim must be an int, got 1.0"):
        module(dim=1.0)


@pytest.mark.parametrize("width,scale", [(40, 0.05), (40, 3.0), (300, 0.01), (300, 5.0)])
def test_michelot_threshold_equals_the_sorted_one(width, scale):
    # Wide rows take Michelot's fixed point on the CPU; small scales give supports of many
    # scores (many passes), large ones supports of a few (few passes).
    from skgates.nn.sparsemax import (
        _shifted, _sparsemax_threshold_michelot, _sparsemax_threshold_sorted,
    )

    z = torch.tensor(np.random.RandomState(width).randn(500, width) * scale)
    shifted, _ = _shifted(z)
    fixed_point = _sparsemax_threshold_michelot(shifted)
    np.testing.assert_allclose(fixed_point, _sparsemax_threshold_sorted(shifted), atol=1e-12)
    support = (sparsemax(z) > 0).sum(dim=1)
    assert support.min() >= 1 and (support.max() > 8 if scale < 0.1 else support.max() < 8)
