"""Ghost batch normalisation, computed for all virtual batches at once."""

import threading
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_int, check_real


class GhostBatchNorm1d(nn.Module):
    """Batch normalisation over "virtual" batches of ``virtual_batch_size`` rows.

    In training mode a batch of ``n = k * virtual_batch_size + r`` rows is cut
    into ``k`` virtual batches of ``virtual_batch_size`` rows plus, when
    ``r > 0``, a short one made of the last ``r`` rows; every virtual batch is
    normalised with its own mean and (biased) variance, exactly as
    :class:`torch.nn.BatchNorm1d` would normalise it alone. The full virtual
    batches are strided: virtual batch ``c`` holds rows ``c, c + k, c + 2k, ...``
    of the first ``k * virtual_batch_size`` rows, so that viewing the batch as
    ``(virtual_batch_size, k * num_features)`` costs no copy and one batch-norm
    call normalises all of them (training batches are shuffled, so any fixed
    split into virtual batches is a random one). There is no Python loop over
    virtual batches.

    The running statistics end where applying ``BatchNorm1d`` to the chunks one
    after another would leave them: each chunk moves them by ``momentum``
    towards its mean and unbiased variance (computed in closed form, without a
    loop over chunks). A chunk of a single row has no variance: it is normalised to 0
    (the output is ``bias``) and does not update the running statistics. Inside a
    :func:`batched_running_stats` block (TabNet's encoder and decoder run in one) the
    update is applied at the end of the block, batched with the other layers'.

    In eval mode the running statistics normalise every row, like
    ``BatchNorm1d.eval()``.

    Parameters
    ----------
    num_features : int
        Number of columns ``d``; >= 1.
    virtual_batch_size : int, default=128
        Rows per virtual batch; >= 2. A virtual batch of one row has no
        variance (every row would be normalised to 0 and the output would be
        ``bias`` alone, whatever the input), so 1 is refused here rather than
        training a network that cannot see its input.
    momentum : float, default=0.02
        Weight of each virtual batch in the running statistics, in [0, 1]
        (0 freezes them).
    eps : float, default=1e-5
        Added to the variance for numerical stability; > 0.

    Shape
    -----
    - Input: ``(n, d)``.
    - Output: ``(n, d)``.

    References
    ----------
    E. Hoffer, I. Hubara, D. Soudry. "Train longer, generalize better: closing
    the generalization gap in large batch training of neural networks." NeurIPS 2017.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import GhostBatchNorm1d
    >>> gbn = GhostBatchNorm1d(4, virtual_batch_size=8)
    >>> gbn(torch.randn(20, 4)).shape   # virtual batches of 8, 8 and 4 rows
    torch.Size([20, 4])
    """

    def __init__(self, num_features, virtual_batch_size=128, momentum=0.02, eps=1e-5):
        super().__init__()
        self.num_features = check_int(num_features, "num_features", 1)
        self.virtual_batch_size = check_int(virtual_batch_size, "virtual_batch_size", 2)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self.eps = check_real(eps, "eps", low=0.0, low_open=True)
        self.weight = nn.Parameter(torch.ones(self.num_features))
        self.bias = nn.Parameter(torch.zeros(self.num_features))
        self.register_buffer("running_mean", torch.zeros(self.num_features))
        self.register_buffer("running_var", torch.ones(self.num_features))

    def forward(self, x):
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        n, d = x.shape
        size = self.virtual_batch_size
        if 1 < n <= size:  # one virtual batch: plain batch norm
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                True, self.momentum, self.eps)
        if n == 1:  # no statistics to take: the normalised row is 0, no running update
            return torch.native_batch_norm(x, self.weight, self.bias, None, None, True, 0.0,
                                           self.eps)[0]
        n_full, rest = divmod(n, size)
        counted_rest = rest if rest > 1 else 0  # a single row has no variance: it does not count
        index, mean_weights, var_weights, eps_term, decay = self._chunk_constants(
            n_full, counted_rest, x)
        # Virtual batch c holds rows c, c + n_full, c + 2 n_full, ...: then the view
        # (n_full * size, d) -> (size, n_full * d) is free and has one column per
        # (chunk, feature), so a single batch-norm call normalises every full chunk; the
        # affine parameters, repeated per chunk (``index``), go into the same call.
        columns = (x if rest == 0 else x[: n_full * size]).reshape(size, n_full * d)
        weight, bias = ((self.weight, self.bias) if index is None
                        else (self.weight.index_select(0, index), self.bias.index_select(0, index)))
        out, mean, inv_std = torch.native_batch_norm(columns, weight, bias, None, None, True, 0.0,
                                                     self.eps)
        out = out.view(n_full * size, d)
        mean, inv_std = mean.view(n_full, d), inv_std.view(n_full, d)
        if rest:
            last, last_mean, last_inv_std = torch.native_batch_norm(
                x[n_full * size:], self.weight, self.bias, None, None, True, 0.0, self.eps)
            out = torch.cat([out, last])
            if counted_rest:
                mean = torch.cat([mean, last_mean.view(1, d)])
                inv_std = torch.cat([inv_std, last_inv_std.view(1, d)])
        if self.momentum > 0.0:
            weights = (mean_weights, var_weights, eps_term, decay)
            pending = None if torch.compiler.is_compiling() else getattr(_batched, "pending", None)
            if pending is None:
                self._update_running_stats(mean, inv_std, weights)
            else:
                pending.add(self, mean, inv_std, counted_rest, weights)
        return out

    @torch.no_grad()
    def _update_running_stats(self, mean, inv_std, weights):
        """Sequential updates ``r <- (1 - m) r + m s_i`` over chunks ``i = 1..k``, in closed form.

        ``r_k = (1 - m)^k r_0 + sum_i m (1 - m)^(k - i) s_i``, with each chunk's
        unbiased variance ``n_i / (n_i - 1) * biased_var_i`` and
        ``biased_var = inv_std^-2 - eps``.
        """
        mean_weights, var_weights, eps_term, decay = weights
        self.running_mean.addmv_(mean.t(), mean_weights, beta=decay)
        self.running_var.addmv_(inv_std.pow(-2).t(), var_weights, beta=decay).sub_(eps_term)

    def _chunk_constants(self, n_full, rest, like):
        """Per-split constants: the affine index and the running-statistic weights.

        Returns ``(index, mean_weights, var_weights, eps_term, decay)``: ``index``
        repeats the ``d`` affine parameters once per full chunk (None for a
        single chunk), the weights are ``m (1 - m)^(k - i)`` (times
        ``n_i / (n_i - 1)`` for the variances), ``eps_term`` is ``eps`` times the
        sum of the variance weights and ``decay`` is ``(1 - m)^k``. Cached per
        split (a training run sees one or two), except while ``torch.compile``
        traces (the graph folds them).
        """
        # (momentum, eps and the virtual batch size are plain attributes a user may change)
        key = (n_full, rest, like.dtype, like.device, self.virtual_batch_size, self.momentum,
               self.eps)
        compiling = torch.compiler.is_compiling()
        cache = {} if compiling else self.__dict__.setdefault("_chunk_constant_cache", {})
        if key not in cache:
            counts = [self.virtual_batch_size] * n_full + ([rest] if rest else [])
            k, keep = len(counts), 1.0 - self.momentum
            weights = [self.momentum * keep ** (k - 1 - i) for i in range(k)]
            var_weights = [w * c / (c - 1) for w, c in zip(weights, counts)]
            index = (None if n_full == 1 else
                     torch.arange(self.num_features, device=like.device).repeat(n_full))
            cache[key] = (index,
                          torch.tensor(weights, dtype=like.dtype, device=like.device),
                          torch.tensor(var_weights, dtype=like.dtype, device=like.device),
                          self.eps * sum(var_weights), keep ** k)
        return cache[key]

    def extra_repr(self):
        return (f"{self.num_features}, virtual_batch_size={self.virtual_batch_size}, "
                f"momentum={self.momentum}, eps={self.eps}")


_batched = threading.local()


class _PendingUpdates:
    """Running-statistic updates collected by :func:`batched_running_stats`."""

    def __init__(self):
        self.groups, self.modules = {}, set()

    def add(self, module, mean, inv_std, rest, weights):
        if module in self.modules:  # a second call of one module: its first update goes first
            self.apply()
        self.modules.add(module)
        # layers with equal chunk sizes, momentum and eps share the weights: one group
        key = (mean.shape, mean.dtype, mean.device, module.virtual_batch_size, rest,
               module.momentum, module.eps)
        self.groups.setdefault(key, (weights, []))[1].append((module, mean, inv_std))

    @torch.no_grad()
    def apply(self):
        for (mean_weights, var_weights, eps_term, decay), entries in self.groups.values():
            modules, means, inv_stds = zip(*entries)
            mean_updates = torch.matmul(mean_weights, torch.stack(means))  # (layers, d)
            var_updates = torch.matmul(var_weights, torch.stack(inv_stds).pow_(-2)).sub_(eps_term)
            buffers = [m.running_mean for m in modules] + [m.running_var for m in modules]
            torch._foreach_mul_(buffers, decay)
            torch._foreach_add_(buffers, list(mean_updates.unbind(0)) + list(var_updates.unbind(0)))
        self.groups, self.modules = {}, set()


def batched_running_stats():
    """Apply the running-statistic updates of the ghost batch norms called inside at exit, batched.

    Every :class:`GhostBatchNorm1d` that normalises virtual batches inside the
    block records its update instead of applying it (eight small operations per
    layer); at exit (also on an exception) the updates of all layers are applied
    with a few stacked operations. The running statistics end exactly where
    per-call updates would leave them (up to rounding); nothing reads them in
    training mode in between. A layer called twice inside has its first update
    applied before the second is recorded. Nested blocks are one block; inside
    ``torch.compile`` updates are applied at each call (the graph fuses them).
    """
    if torch.compiler.is_compiling():
        return nullcontext()
    return _collecting_running_stats()


@contextmanager
def _collecting_running_stats():
    if getattr(_batched, "pending", None) is not None:
        yield
        return
    _batched.pending = pending = _PendingUpdates()
    try:
        yield
    finally:
        _batched.pending = None
        pending.apply()
