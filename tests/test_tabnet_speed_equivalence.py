"""The speed-tuned TabNet code computes what straightforward reference code computes.

Every reference here is the plain, slow formulation (a Python loop over virtual
batches with ``F.batch_norm``, a sorting sparsemax, per-parameter norms); the
comparisons are in float64 with tolerances, and there are no timing assertions.
"""

import contextlib
import copy
import importlib
import pickle

import pytest
import torch
import torch.nn.functional as F

from skgates._net import ParameterListClipping
from skgates.nn import GhostBatchNorm1d
from skgates.nn.sparsemax import sparsemax

torch_double = dict(dtype=torch.float64)


def reference_ghost_batch_norm(x, weight, bias, running_mean, running_var, size, momentum, eps):
    """Chunk by chunk with ``F.batch_norm``: strided full chunks, then the trailing rows."""
    n, d = x.shape
    n_full, rest = divmod(n, size)
    out = torch.empty_like(x)
    chunks = [torch.arange(c, n_full * size, n_full) for c in range(n_full)]
    if rest:
        chunks.append(torch.arange(n_full * size, n))
    for rows in chunks:
        if len(rows) == 1:  # no variance: normalised to 0, no running update
            out[rows] = bias.expand(1, d)
            continue
        out[rows] = F.batch_norm(x[rows], running_mean, running_var, weight, bias, True,
                                 momentum, eps)
    return out


@pytest.mark.parametrize("n", [256, 1024, 1024 + 37, 1024 + 1, 300, 129])
@pytest.mark.parametrize("momentum", [0.02, 0.0, 1.0])
def test_ghost_batch_norm_matches_chunk_loop(n, momentum):
    torch.manual_seed(0)
    d, size = 6, 128
    gbn = GhostBatchNorm1d(d, virtual_batch_size=size, momentum=momentum).double()
    with torch.no_grad():
        gbn.weight.uniform_(0.5, 1.5)
        gbn.bias.normal_()
        gbn.running_mean.normal_()
        gbn.running_var.uniform_(0.5, 2.0)
    weight = gbn.weight.detach().clone().requires_grad_()
    bias = gbn.bias.detach().clone().requires_grad_()
    running_mean, running_var = gbn.running_mean.clone(), gbn.running_var.clone()
    x = (torch.randn(n, d, **torch_double) * 3 + 1).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    upstream = torch.randn(n, d, **torch_double)
    for _ in range(2):  # twice: the cached per-split constants are reused
        out = gbn(x)
        ref = reference_ghost_batch_norm(x_ref, weight, bias, running_mean, running_var, size,
                                         momentum, gbn.eps)
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(gbn.running_mean, running_mean)
        torch.testing.assert_close(gbn.running_var, running_var)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(gbn.weight.grad, weight.grad)
    torch.testing.assert_close(gbn.bias.grad, bias.grad)


def test_ghost_batch_norm_gradcheck():
    torch.manual_seed(1)
    gbn = GhostBatchNorm1d(3, virtual_batch_size=4, momentum=0.0).double()
    with torch.no_grad():
        gbn.weight.uniform_(0.5, 1.5)
        gbn.bias.normal_()
    x = torch.randn(11, 3, **torch_double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: torch.func.functional_call(
        gbn, {"weight": w, "bias": b}, (x,)), (x, gbn.weight, gbn.bias))


def reference_sparsemax(z):
    """Row by row: sort, find the support size k, ``tau = (sum of the k largest - 1) / k``."""
    out = torch.empty_like(z)
    for i, row in enumerate(z.reshape(-1, z.shape[-1])):
        top = row.max()
        if not torch.isfinite(top):
            out.view(-1, z.shape[-1])[i] = float("nan")
            continue
        ordered = torch.sort(row - top, descending=True).values
        k = max(j for j in range(1, len(row) + 1)
                if 1 + j * ordered[j - 1] > ordered[:j].sum())
        tau = (ordered[:k].sum() - 1) / k
        out.view(-1, z.shape[-1])[i] = torch.clamp(row - top - tau, min=0.0)
    return out


@pytest.mark.parametrize("width", [1, 2, 5, 20, 32, 33, 50])
def test_sparsemax_matches_sorting_reference(width):
    torch.manual_seed(width)
    z = torch.randn(64, width, **torch_double) * 3
    z[1] = z[1].round()  # ties
    z[2, 0] = float("-inf")
    if width > 1:
        z[3, :2] = float("-inf")
        z[4, 1] = float("inf")
    z[5, 0] = float("nan")
    z[6] = float("-inf")
    z[7] *= 1e6
    torch.testing.assert_close(sparsemax(z), reference_sparsemax(z), equal_nan=True)


def test_sparsemax_wide_batch_falls_back_to_sorting(monkeypatch):
    module = importlib.import_module("skgates.nn.sparsemax")  # the name is also a function's
    z = torch.randn(40, 12, **torch_double)
    expected = sparsemax(z)
    monkeypatch.setattr(module, "PAIRWISE_MAX_ELEMENTS", 0)
    torch.testing.assert_close(sparsemax(z), expected)
    torch.testing.assert_close(expected, reference_sparsemax(z))


@pytest.mark.parametrize("width", [6, 40])
def test_sparsemax_gradcheck(width):
    torch.manual_seed(2)
    z = (torch.randn(5, width, **torch_double) * 2).requires_grad_()
    assert torch.autograd.gradcheck(sparsemax, (z,))


class _NetWithParameters:
    def __init__(self, module):
        self.module = module

    def get_all_learnable_params(self):
        return self.module.named_parameters()


@pytest.mark.parametrize("max_norm", [1e-3, 1.0, 1e6])
@pytest.mark.parametrize("norm_type", [2, 1])
@pytest.mark.parametrize("collected", [True, False])
def test_parameter_list_clipping_matches_clip_grad_norm(max_norm, norm_type, collected):
    torch.manual_seed(3)
    module = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3, bias=False)).double()
    module(torch.randn(7, 5, **torch_double)).pow(2).sum().backward()
    module[0].bias.grad = None  # a parameter without a gradient is skipped
    reference = copy.deepcopy(module)
    for copied, param in zip(reference.parameters(), module.parameters()):
        copied.grad = None if param.grad is None else param.grad.clone()
    torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm, norm_type)
    expected = [p.grad for p in reference.parameters()]
    callback = ParameterListClipping(gradient_clip_value=max_norm, gradient_clip_norm_type=norm_type)
    net = _NetWithParameters(module)
    if collected:
        callback.on_train_begin(net)
    callback.on_grad_computed(net, named_parameters=module.named_parameters())
    for param, grad in zip(module.parameters(), expected):
        if grad is None:
            assert param.grad is None
        else:
            torch.testing.assert_close(param.grad, grad)
    callback.on_train_end(net)
    assert callback.params_ is None


def test_training_mode_is_set_on_every_module():
    import numpy as np
    from skgates import TabNetClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 2, 64)
    net = TabNetClassifier(n_d=2, n_a=2, n_steps=1, max_epochs=1, batch_size=32,
                           virtual_batch_size=8, random_state=0).fit(X, y).net_
    net.module_.eval()
    net._set_training(True)
    assert all(m.training for m in net.module_.modules())
    net._set_training(False)
    assert not any(m.training for m in net.module_.modules())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sparsemax_of_a_3d_tensor_along_any_dim(dim):
    torch.manual_seed(4)
    z = torch.randn(4, 5, 6, **torch_double) * 2
    moved = z.movedim(dim, -1)
    expected = reference_sparsemax(moved.reshape(-1, moved.shape[-1])).reshape(moved.shape)
    torch.testing.assert_close(sparsemax(z, dim=dim), expected.movedim(-1, dim))


def test_batched_running_stats_match_per_call_updates(monkeypatch):
    from skgates.nn import TabNet, tabnet as tabnet_module

    torch.manual_seed(5)
    batched = TabNet(7, 3, n_d=4, n_a=4, n_steps=2, virtual_batch_size=16).double()
    per_call = copy.deepcopy(batched)
    x = torch.randn(70, 7, **torch_double)  # 4 chunks of 16 rows and one of 6
    out = batched(x)
    with monkeypatch.context() as patch:
        patch.setattr(tabnet_module, "batched_running_stats", contextlib.nullcontext)
        expected = per_call(x)
    torch.testing.assert_close(out, expected)
    for (name, buffer), (_, reference) in zip(batched.named_buffers(), per_call.named_buffers()):
        torch.testing.assert_close(buffer, reference, msg=name)


def test_a_layer_called_twice_in_one_block_updates_twice_in_order():
    from skgates.nn.ghost_batch_norm import batched_running_stats

    torch.manual_seed(6)
    first, second = torch.randn(40, 3, **torch_double), torch.randn(48, 3, **torch_double)
    batched = GhostBatchNorm1d(3, virtual_batch_size=8, momentum=0.3).double()
    per_call = copy.deepcopy(batched)
    with batched_running_stats():
        batched(first)
        batched(second)
    per_call(first)
    per_call(second)
    torch.testing.assert_close(batched.running_mean, per_call.running_mean)
    torch.testing.assert_close(batched.running_var, per_call.running_var)


def test_sparsemax_in_blocks_of_rows(monkeypatch):
    module = importlib.import_module("skgates.nn.sparsemax")
    torch.manual_seed(7)
    z = torch.randn(30, 9, **torch_double) * 2
    z[3, 2] = float("-inf")
    monkeypatch.setattr(module, "PAIRWISE_BLOCK_ROWS", 7)  # blocks of 7, 7, 7, 7 and 2 rows
    torch.testing.assert_close(sparsemax(z), reference_sparsemax(z))


@pytest.mark.parametrize("width", [33, 64, 100])
def test_sparsemax_michelot_and_sort_paths_agree_with_the_reference(monkeypatch, width):
    module = importlib.import_module("skgates.nn.sparsemax")
    torch.manual_seed(width)
    z = torch.randn(300, width, **torch_double) * 3
    z[1] = z[1].round()  # ties
    z[2, :5] = float("-inf")
    z[3] = 0.0  # all tied
    z[4] *= 1e-9
    z[5, 3] = float("nan")
    expected = reference_sparsemax(z)
    assert module._eager_cpu(z)
    torch.testing.assert_close(sparsemax(z), expected, equal_nan=True)  # Michelot
    monkeypatch.setattr(module, "_eager_cpu", lambda z: False)
    torch.testing.assert_close(sparsemax(z), expected, equal_nan=True)  # sort


def test_ghost_batch_norm_follows_a_changed_momentum():
    # The per-split constants are cached: changing momentum (a plain attribute) must not
    # leave the running statistics on the old weights.
    torch.manual_seed(0)
    x = torch.randn(40, 3, **torch_double)
    changed = GhostBatchNorm1d(3, virtual_batch_size=8).to(torch.float64).train()
    changed(x)  # caches the constants of momentum 0.02
    changed.momentum = 0.5
    fresh = GhostBatchNorm1d(3, virtual_batch_size=8, momentum=0.5).to(torch.float64).train()
    fresh.load_state_dict(changed.state_dict())
    changed(x), fresh(x)
    torch.testing.assert_close(changed.running_mean, fresh.running_mean)
    torch.testing.assert_close(changed.running_var, fresh.running_var)


def test_clipping_callback_pickles_without_its_parameter_list():
    callback = ParameterListClipping(gradient_clip_value=1.0)
    callback.params_ = [torch.nn.Parameter(torch.ones(3))]  # as after an interrupted run
    restored = pickle.loads(pickle.dumps(callback))
    assert restored.params_ is None and restored.gradient_clip_value == 1.0
    assert callback.params_ is not None  # the live callback is untouched
