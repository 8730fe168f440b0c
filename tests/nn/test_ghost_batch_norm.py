"""Ghost batch norm against BatchNorm1d applied chunk by chunk."""

import pytest
import torch

from skgates.nn.ghost_batch_norm import GhostBatchNorm1d


def chunked_reference(x, size, momentum, weight=None, bias=None):
    """Apply one BatchNorm1d to each virtual batch in turn, as the definition says."""
    bn = torch.nn.BatchNorm1d(x.shape[1], momentum=momentum).double()
    with torch.no_grad():
        if weight is not None:
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
    n_full = len(x) // size
    out = torch.empty_like(x)
    for c in range(n_full):  # full virtual batch c: rows c, c + n_full, c + 2 n_full, ...
        rows = torch.arange(c, n_full * size, n_full)
        out[rows] = bn(x[rows])
    rest = x[n_full * size:]
    if len(rest) == 1:  # BatchNorm1d refuses one row; ghost BN outputs the bias
        out[n_full * size:] = rest * 0 + bn.bias
    elif len(rest) > 1:
        out[n_full * size:] = bn(rest)
    return out, bn


@pytest.mark.parametrize("n", [64, 70, 65, 16, 5, 1])
def test_train_mode_equals_per_chunk_batch_norm(n):
    torch.manual_seed(n)
    x = torch.randn(n, 3, dtype=torch.float64) * 4 + 2
    weight, bias = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, -1.0, 3.0])
    gbn = GhostBatchNorm1d(3, virtual_batch_size=16, momentum=0.1).double()
    with torch.no_grad():
        gbn.weight.copy_(weight)
        gbn.bias.copy_(bias)
    expected, bn = chunked_reference(x, 16, 0.1, weight, bias)
    torch.testing.assert_close(gbn(x), expected.detach(), atol=1e-4, rtol=1e-6)
    # running statistics end where sequential BatchNorm1d updates leave them
    torch.testing.assert_close(gbn.running_mean, bn.running_mean)
    torch.testing.assert_close(gbn.running_var, bn.running_var)


def test_gradient_equals_per_chunk_batch_norm():
    torch.manual_seed(0)
    x = torch.randn(50, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randn(50, 4, dtype=torch.float64)
    gbn = GhostBatchNorm1d(4, virtual_batch_size=16).double()
    (gbn(x) * target).sum().backward()
    x_ref = x.detach().clone().requires_grad_()
    ref, _ = chunked_reference(x_ref, 16, 0.02)
    (ref * target).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_eval_mode_uses_running_statistics():
    torch.manual_seed(1)
    gbn = GhostBatchNorm1d(3, virtual_batch_size=8, momentum=0.5)
    gbn(torch.randn(40, 3) * 3 + 1)
    gbn.eval()
    x = torch.randn(5, 3)
    expected = (x - gbn.running_mean) / torch.sqrt(gbn.running_var + gbn.eps) * gbn.weight + gbn.bias
    torch.testing.assert_close(gbn(x), expected)
    one_row = gbn(x[:1])  # a single row is fine in eval mode
    torch.testing.assert_close(one_row, expected[:1])


def test_single_row_chunk_leaves_running_stats_alone():
    gbn = GhostBatchNorm1d(2, virtual_batch_size=4, momentum=0.3)
    gbn(torch.randn(1, 2))
    torch.testing.assert_close(gbn.running_mean, torch.zeros(2))
    torch.testing.assert_close(gbn.running_var, torch.ones(2))


@pytest.mark.parametrize("kwargs, error, match", [
    # a ghost batch of one row has no variance: refused when built, not a ZeroDivisionError later
    (dict(virtual_batch_size=1), ValueError, "virtual_batch_size must be an int >= 2, got 1"),
    (dict(virtual_batch_size=0), ValueError, "virtual_batch_size must be an int >= 2, got 0"),
    (dict(virtual_batch_size=16.0), TypeError, "virtual_batch_size must be an int >= 2"),
    (dict(momentum=1.5), ValueError, r"momentum must be a number in \[0, 1\], got 1.5"),
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(eps=0.0), ValueError, "eps must be a finite number > 0, got 0.0"),
    (dict(num_features=0), ValueError, "num_features must be an int >= 1, got 0"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        GhostBatchNorm1d(**{"num_features": 3, **kwargs})


def test_smallest_virtual_batch_trains():
    torch.manual_seed(2)
    x = torch.randn(9, 3, dtype=torch.float64)  # chunks of 2, 2, 2, 2 and a single row
    gbn = GhostBatchNorm1d(3, virtual_batch_size=2, momentum=0.1).double()
    expected, bn = chunked_reference(x, 2, 0.1)
    out = gbn(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected.detach(), atol=1e-4, rtol=1e-6)
    torch.testing.assert_close(gbn.running_var, bn.running_var)
