"""Ghost batch normalisation, computed for all virtual batches at once."""

import torch
import torch.nn.functional as F
from torch import nn


class GhostBatchNorm1d(nn.Module):
    """Batch normalisation over "virtual" batches of ``virtual_batch_size`` rows.

    In training mode a batch of ``n`` rows is cut into consecutive chunks of
    ``virtual_batch_size`` rows (the last one may be shorter) and every chunk is
    normalised with its own mean and (biased) variance, exactly as
    :class:`torch.nn.BatchNorm1d` would normalise that chunk alone. All full
    chunks are normalised in one vectorised op (a reshape to
    ``(n_chunks, virtual_batch_size, num_features)``), the short last chunk in a
    second one: there is no Python loop over chunks.

    The running statistics end where applying ``BatchNorm1d`` to the chunks one
    after another would leave them: each chunk moves them by ``momentum``
    towards its mean and unbiased variance (computed in closed form, without a
    loop over chunks). A chunk of a single row has no variance: it is normalised to 0
    (the output is ``bias``) and does not update the running statistics.

    In eval mode the running statistics normalise every row, like
    ``BatchNorm1d.eval()``.

    Parameters
    ----------
    num_features : int
        Number of columns ``d``.
    virtual_batch_size : int, default=128
        Rows per virtual batch.
    momentum : float, default=0.02
        Weight of each virtual batch in the running statistics.
    eps : float, default=1e-5
        Added to the variance for numerical stability.

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
    >>> gbn = GhostBatchNorm1d(4, virtual_batch_size=8)
    >>> gbn(torch.randn(20, 4)).shape   # chunks of 8, 8 and 4 rows
    torch.Size([20, 4])
    """

    def __init__(self, num_features, virtual_batch_size=128, momentum=0.02, eps=1e-5):
        super().__init__()
        if int(virtual_batch_size) < 1:
            raise ValueError(f"virtual_batch_size must be >= 1, got {virtual_batch_size}.")
        self.num_features = int(num_features)
        self.virtual_batch_size = int(virtual_batch_size)
        self.momentum = float(momentum)
        self.eps = float(eps)
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
        # (n_full * size, d) -> (size, n_full * d): one column per (chunk, feature),
        # so a single batch-norm call normalises every full chunk.
        columns = x[: n_full * size].view(n_full, size, d).transpose(0, 1).reshape(size, n_full * d)
        out, mean, inv_std = torch.native_batch_norm(columns, None, None, None, None, True, 0.0,
                                                     self.eps)
        out = out.view(size, n_full, d).transpose(0, 1).reshape(n_full * size, d)
        out = torch.addcmul(self.bias, out, self.weight)
        mean, inv_std = mean.view(n_full, d), inv_std.view(n_full, d)
        if rest:
            last, last_mean, last_inv_std = torch.native_batch_norm(
                x[n_full * size:], self.weight, self.bias, None, None, True, 0.0, self.eps)
            out = torch.cat([out, last])
            if rest > 1:  # a single row has no variance: it does not count
                mean = torch.cat([mean, last_mean.view(1, d)])
                inv_std = torch.cat([inv_std, last_inv_std.view(1, d)])
        if self.momentum > 0.0:
            self._update_running_stats(mean, inv_std, n_full, rest if rest > 1 else 0)
        return out

    @torch.no_grad()
    def _update_running_stats(self, mean, inv_std, n_full, rest):
        """Sequential updates ``r <- (1 - m) r + m s_i`` over chunks ``i = 1..k``, in closed form.

        ``r_k = (1 - m)^k r_0 + sum_i m (1 - m)^(k - i) s_i``, with each chunk's
        unbiased variance ``n_i / (n_i - 1) * biased_var_i``.
        """
        mean_weights, var_weights, eps_term, decay = self._chunk_weights(n_full, rest, mean)
        self.running_mean.addmv_(mean.t(), mean_weights, beta=decay)
        # biased_var = inv_std^-2 - eps
        self.running_var.addmv_(inv_std.pow(-2).t(), var_weights, beta=decay).sub_(eps_term)

    def _chunk_weights(self, n_full, rest, like):
        key = (n_full, rest, like.dtype, like.device)
        compiling = torch.compiler.is_compiling()  # compiled graphs fold these constants
        cache = {} if compiling else self.__dict__.setdefault("_chunk_weight_cache", {})
        if key not in cache:
            counts = [self.virtual_batch_size] * n_full + ([rest] if rest else [])
            k, keep = len(counts), 1.0 - self.momentum
            weights = [self.momentum * keep ** (k - 1 - i) for i in range(k)]
            var_weights = [w * c / (c - 1) for w, c in zip(weights, counts)]
            cache[key] = (torch.tensor(weights, dtype=like.dtype, device=like.device),
                          torch.tensor(var_weights, dtype=like.dtype, device=like.device),
                          self.eps * sum(var_weights), keep ** k)
        return cache[key]

    def extra_repr(self):
        return (f"{self.num_features}, virtual_batch_size={self.virtual_batch_size}, "
                f"momentum={self.momentum}, eps={self.eps}")
