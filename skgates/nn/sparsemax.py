"""Sparse alternatives to softmax: sparsemax and entmax-1.5.

Both map a vector of scores to a point of the probability simplex (non-negative,
summing to 1) that may hold exact zeros, which is what lets TabNet's attentive
transformer switch columns off completely.

- sparsemax (Martins & Astudillo, 2016) is the Euclidean projection onto the
  simplex: ``sparsemax(z) = argmin_{p in simplex} ||p - z||^2``, i.e.
  ``p_i = max(z_i - tau, 0)`` with ``tau`` chosen so the ``p_i`` sum to 1.
- entmax-1.5 (Peters, Niculae & Martins, 2019) is the 1.5-Tsallis
  regularised argmax: ``p_i = max(z_i / 2 - tau, 0) ** 2`` with ``tau`` chosen
  so the ``p_i`` sum to 1; it is less sparse than sparsemax and smoother.

Both thresholds are found exactly in a few vectorised ops (by sorting; sparsemax of
narrow rows by pairwise differences, and of wider rows on the CPU by Michelot's
fixed point, which are faster there), and both have closed-form gradients (custom
:class:`torch.autograd.Function`).

Non-finite scores never raise. A ``-inf`` score gets probability exactly 0
(the limit as the score falls), so ``-inf`` can mask entries out as it does
for softmax; a vector that holds a NaN or a ``+inf`` score, or only ``-inf``
scores, has no defined image and maps to all NaN. Other vectors of the batch
are unaffected, and a diverging network (TabNet's attention, say) shows up as
a NaN loss instead of an indexing error deep inside the sort.
"""

import torch
from torch import nn

from ._checks import check_int


def _to_last(z, dim):
    return z if dim in (-1, z.dim() - 1) else z.transpose(dim, -1)


def _shifted(z):
    """``(z - max(z), undefined)`` along the last dimension.

    ``undefined`` (keepdim) marks vectors whose maximum is not finite: a NaN, a
    ``+inf`` or only ``-inf`` scores. Their scores are replaced by 0 so that the
    sort-based threshold stays well defined; the caller writes NaN over them.
    """
    top = z.amax(dim=-1, keepdim=True)  # NaN when any score is NaN
    undefined = ~torch.isfinite(top)
    # (no data-dependent branch, so that torch.compile traces one graph)
    return z.masked_fill(undefined, 0.0) - top.masked_fill(undefined, 0.0), undefined


def _mark_undefined(p, undefined):
    return p.masked_fill(undefined, float("nan"))


# Up to this width and this many pairwise differences the threshold comes from pairwise
# differences, which on CPU is faster than a row-wise sort of a few scores (about 1.8x at
# 1024 or 8192 rows of 20 scores); wider rows use Michelot's fixed point (eager CPU code)
# or a sort.
PAIRWISE_MAX_WIDTH = 32
PAIRWISE_MAX_ELEMENTS = 2 ** 24
PAIRWISE_BLOCK_ROWS = 2048


def _sparsemax_pairwise(z):
    """Sparsemax of the rows of ``z`` with the threshold from pairwise differences.

    Score ``i`` (of a row shifted to maximum 0) is in the support exactly when
    ``sum_j max(z_j - z_i, 0) < 1`` (the sorted-order condition
    ``1 + k z_(k) > sum_{j<=k} z_(j)`` written for the score itself; tied scores
    pass or fail together), and ``tau = (sum_S z - 1) / |S|``. A ``-inf`` score is
    out of the support (its excess is infinite) and does not enter the sum; a row
    with a non-finite maximum is all NaN. The work runs on the transposed
    ``(d, rows)`` scores, so that every reduction over a row's scores and the
    ``(d, d, rows)`` differences (in blocks of rows, to stay in cache) run along
    the long rows axis. It shifts the transposed scores itself rather than calling
    :func:`_shifted`, whose masked copies of the ``(rows, d)`` scores made this path
    16% slower (1024 x 20: 430 against 370 us, ``benchmarks/bench_sparsemax_paths.py``).
    """
    shape, width = z.shape, z.shape[-1]
    columns = z.reshape(-1, width).t().contiguous()  # (d, rows)
    top = columns.amax(dim=0, keepdim=True)  # NaN when any score is NaN
    undefined = ~torch.isfinite(top)
    columns = columns - top  # rows with a non-finite maximum turn to NaN: marked below
    taus = [_pairwise_tau(block) for block in columns.split(PAIRWISE_BLOCK_ROWS, dim=1)]
    tau = taus[0] if len(taus) == 1 else torch.cat(taus, dim=1)
    p = (columns - tau).clamp_min_(0.0).masked_fill_(undefined, float("nan"))
    return p.t().contiguous().view(shape)


def _pairwise_tau(columns):
    excess = (columns.unsqueeze(1) - columns.unsqueeze(0)).clamp_min_(0.0).sum(dim=0)
    support = excess < 1.0
    size = support.sum(dim=0, keepdim=True).to(columns.dtype)
    return (torch.where(support, columns, 0.0).sum(dim=0, keepdim=True) - 1.0) / size


def _eager_cpu(z):
    """Whether ``z`` runs eagerly on the CPU, where a data-dependent loop costs nothing extra."""
    return (z.device.type == "cpu" and not torch.compiler.is_compiling()
            and not torch.jit.is_tracing() and not torch.jit.is_scripting())


def _sparsemax_threshold_michelot(z):
    """``tau`` of rows ``z`` (shifted, max 0, no NaN) by Michelot's fixed point, from below.

    Start from ``tau = -1`` (no score at or below ``max - 1`` can be in the support),
    then repeat ``S = {i: z_i > tau}``, ``tau = (sum_S z - 1) / |S|``: ``tau`` only
    rises and ``S`` only shrinks, and once no row's support changes ``tau`` is exact.
    At most ``d`` passes, 4-5 on TabNet-like scores; on the CPU 2.3-4.8x faster
    than sorting rows of 50-100 scores (the sort took 54% of ``predict_proba`` at
    50 columns; ``benchmarks/bench_sparsemax_paths.py``). The loop's length
    depends on the data, so compiled, traced or GPU code sorts instead.
    """
    tau = torch.full_like(z[..., :1], -1.0)
    size = None
    for _ in range(z.shape[-1]):
        # (sum_S z - 1) / |S| written as tau + (sum_S (z - tau) - 1) / |S|: no masked copy
        excess = (z - tau).clamp_min_(0.0)
        new_size = (excess > 0).sum(dim=-1, keepdim=True)
        tau = tau + (excess.sum(dim=-1, keepdim=True) - 1.0) / new_size.to(z.dtype)
        if size is not None and torch.equal(new_size, size):
            break
        size = new_size
    return tau


def _sparsemax_threshold_sorted(z):
    """``tau`` of rows ``z`` (shifted, max 0, no NaN) from the scores sorted in decreasing order."""
    z_sorted, _ = torch.sort(z, dim=-1, descending=True)
    cumsum = z_sorted.cumsum(dim=-1) - 1.0
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    in_support = k * z_sorted > cumsum
    support_size = in_support.sum(dim=-1, keepdim=True)
    return cumsum.gather(-1, support_size - 1) / support_size.to(z.dtype)


class _SparsemaxFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        # Shift invariant: subtract the max so that the largest score is 0 and the
        # support always holds it (k * 0 > 0 - 1), whatever the scale of the scores.
        width = z.shape[-1]
        terms = z.numel() * width
        # (a symbolic size, as in an export with a dynamic batch, is not bounded: sort)
        if width <= PAIRWISE_MAX_WIDTH and type(terms) is int and terms <= PAIRWISE_MAX_ELEMENTS:
            p = _sparsemax_pairwise(z)
        else:
            z, undefined = _shifted(z)
            tau = (_sparsemax_threshold_michelot(z) if _eager_cpu(z)
                   else _sparsemax_threshold_sorted(z))
            p = _mark_undefined(torch.clamp(z - tau, min=0.0), undefined)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, grad_output):
        (p,) = ctx.saved_tensors
        support = (p > 0).to(grad_output.dtype)
        grad = grad_output * support
        mean = grad.sum(dim=-1, keepdim=True) / support.sum(dim=-1, keepdim=True)
        return support * (grad_output - mean)


class _Entmax15Function(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        z, undefined = _shifted(z)
        z = z / 2.0
        z_sorted, _ = torch.sort(z, dim=-1, descending=True)
        rho = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
        mean = z_sorted.cumsum(dim=-1) / rho
        mean_sq = (z_sorted ** 2).cumsum(dim=-1) / rho
        # tau_k solves sum_{i<=k} (z_i - tau)^2 = 1 over the k largest scores.
        delta = (1.0 - rho * (mean_sq - mean ** 2)) / rho
        tau = mean - torch.sqrt(torch.clamp(delta, min=0.0))
        support_size = (tau <= z_sorted).sum(dim=-1, keepdim=True)
        # tau_1 = z_1 - 1 <= z_1: the largest score is always in the support
        tau_star = tau.gather(-1, support_size - 1)
        p = _mark_undefined(torch.clamp(z - tau_star, min=0.0) ** 2, undefined)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, grad_output):
        (p,) = ctx.saved_tensors
        root = torch.sqrt(p)
        grad = grad_output * root
        q = grad.sum(dim=-1, keepdim=True) / root.sum(dim=-1, keepdim=True)
        return grad - q * root


def sparsemax(z, dim=-1):
    """Sparsemax of ``z`` along ``dim`` (see :class:`Sparsemax`)."""
    out = _SparsemaxFunction.apply(_to_last(z, dim))
    return _to_last(out, dim)


def entmax15(z, dim=-1):
    """Entmax-1.5 of ``z`` along ``dim`` (see :class:`Entmax15`)."""
    out = _Entmax15Function.apply(_to_last(z, dim))
    return _to_last(out, dim)


class Sparsemax(nn.Module):
    """Sparsemax: Euclidean projection of scores onto the probability simplex.

    ``sparsemax(z)_i = max(z_i - tau(z), 0)`` where ``tau(z)`` makes the outputs
    sum to 1. Scores far below the largest ones get exactly 0. Same in train
    and eval mode.

    Parameters
    ----------
    dim : int, default=-1
        Dimension along which outputs sum to 1.

    Shape
    -----
    - Input: ``(*, d)`` (any shape; ``dim`` indexes the simplex dimension).
    - Output: same shape as the input, non-negative, summing to 1 along ``dim``;
      all NaN for a vector that holds a NaN or ``+inf`` score or only ``-inf``
      scores (a ``-inf`` score alone gets 0), see :mod:`skgates.nn.sparsemax`.

    References
    ----------
    A. Martins, R. Astudillo. "From Softmax to Sparsemax: A Sparse Model of
    Attention and Multi-Label Classification." ICML 2016.

    Examples
    --------
    >>> import torch
    >>> Sparsemax()(torch.tensor([[2.0, 1.0, -1.0]]))
    tensor([[1., 0., 0.]])
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check_int(dim, "dim")

    def forward(self, z):
        return sparsemax(z, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Entmax15(nn.Module):
    """Entmax with alpha = 1.5: a sparse, smoother relative of softmax.

    ``entmax15(z)_i = max(z_i / 2 - tau(z), 0) ** 2`` where ``tau(z)`` makes the
    outputs sum to 1. Same in train and eval mode.

    Parameters
    ----------
    dim : int, default=-1
        Dimension along which outputs sum to 1.

    Shape
    -----
    - Input: ``(*, d)``.
    - Output: same shape as the input, non-negative, summing to 1 along ``dim``;
      non-finite scores as for :class:`Sparsemax`.

    References
    ----------
    B. Peters, V. Niculae, A. Martins. "Sparse Sequence-to-Sequence Models."
    ACL 2019.

    Examples
    --------
    >>> import torch
    >>> p = Entmax15()(torch.tensor([[3.0, 1.0, -2.0]]))
    >>> float(p.sum()), float(p[0, 2])
    (1.0, 0.0)
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check_int(dim, "dim")

    def forward(self, z):
        return entmax15(z, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
