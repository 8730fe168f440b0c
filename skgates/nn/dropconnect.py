"""DropConnect (Wan et al., 2013): drop individual weights, with a fresh mask for every example."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import check_int, check_module, check_option, check_real, check_sizes
from .mlp import check_activation

INFERENCE = ("mean", "gaussian")

#: Largest seed of the Gaussian-inference draws (exclusive), as ``torch.Generator`` takes it.
SEED_LIMIT = 2 ** 63

#: Elements of ``mean + std * noise`` made at once by Gaussian inference.
_GAUSSIAN_ELEMENTS = 1 << 22

#: Mask elements drawn at once by default on CPU (cache-sized) and on CUDA (fewer launches).
DEFAULT_CHUNK_ELEMENTS = {"cpu": 1 << 18, "cuda": 1 << 24}


def keep_threshold(p):
    """``(bits, threshold)``: keep a weight when a uniform ``bits``-bit integer is below ``threshold``.

    ``bits`` is the smallest of 1, 2, 4, 8, 16 for which ``(1 - p) * 2**bits``
    is an integer (so p = 0.5 uses one random bit per weight, exactly); other
    ``p`` use 16 bits and ``threshold = round((1 - p) * 2**16)``, i.e. ``p``
    rounded to a multiple of ``2**-16``.
    """
    keep = 1.0 - float(p)
    for bits in (1, 2, 4, 8, 16):
        scaled = keep * (1 << bits)
        if scaled == int(scaled):
            return bits, int(scaled)
    return 16, max(1, min((1 << 16) - 1, int(round(keep * (1 << 16)))))


def keep_mask(generator, shape, bits, threshold, device, dtype=torch.float32):
    """0/1 mask of ``shape`` (1 where a weight is kept), from ``generator``'s random bits.

    One 64-bit draw gives 32 random bits, cut into ``32 // bits`` fields; a
    field below ``threshold`` keeps its weight. With one bit per weight the
    bit itself is the mask. The mask is int32 (one bit) or ``dtype``: multiplying by
    it is several times faster than ``torch.where`` with a boolean mask.
    """
    n_elements = math.prod(shape)
    per_word = 32 // bits
    n_words = -(-n_elements // per_word)
    words = torch.empty(n_words, dtype=torch.int64, device=device).random_(generator=generator)
    words = words.to(torch.int32)  # the low 32 random bits (int64 random_ leaves the top bit 0)
    shifts = torch.arange(0, 32, bits, dtype=torch.int32, device=device)
    fields = (words[:, None] >> shifts) & ((1 << bits) - 1)
    keep = fields if bits == 1 else (fields < threshold).to(dtype)
    return keep.view(-1)[:n_elements].view(shape)


def _generator(device, seed):
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


class _DropConnectFunction(torch.autograd.Function):
    """``y_r = (W * M_r / q) x_r + b`` for rows ``r``, with masks regenerated in backward.

    Only the generator seed is saved: the masks of a chunk of rows are drawn
    in forward, used and freed, then drawn again from the same seed in
    backward. Memory is ``chunk_rows x out x in`` instead of
    ``batch x out x in``; the price is drawing every mask twice.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, scale, seed, bits, threshold, chunk_rows):
        generator = _generator(x.device, seed)
        w = weight * scale
        n_rows, (n_out, n_in) = x.shape[0], weight.shape
        out = x.new_empty(n_rows, n_out)
        for start in range(0, n_rows, chunk_rows):
            stop = min(n_rows, start + chunk_rows)
            keep = keep_mask(generator, (stop - start, n_out, n_in), bits, threshold, x.device,
                             w.dtype)
            masked = w * keep
            out[start:stop] = torch.bmm(masked, x[start:stop, :, None]).squeeze(-1)
        if bias is not None:
            out += bias
        ctx.save_for_backward(x, weight)
        ctx.config = (scale, seed, bits, threshold, chunk_rows, bias is not None)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        scale, seed, bits, threshold, chunk_rows, has_bias = ctx.config
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        generator = _generator(x.device, seed)
        w = weight * scale
        n_rows, (n_out, n_in) = x.shape[0], weight.shape
        grad_x = torch.empty_like(x) if need_x else None
        grad_w = torch.zeros_like(weight) if need_w else None
        for start in range(0, n_rows, chunk_rows):
            stop = min(n_rows, start + chunk_rows)
            keep = keep_mask(generator, (stop - start, n_out, n_in), bits, threshold, x.device,
                             w.dtype)
            g = grad_out[start:stop]
            if need_x:
                masked = w * keep
                grad_x[start:stop] = torch.bmm(g[:, None, :], masked).squeeze(1)
            if need_w:
                outer = g[:, :, None] * x[start:stop, None, :]
                grad_w += outer.mul_(keep).sum(0)
        if need_w:
            grad_w *= scale
        grad_b = grad_out.sum(0) if (need_b and has_bias) else None
        return grad_x, grad_w, grad_b, None, None, None, None, None


class DropConnectLinear(nn.Linear):
    r"""A linear layer that drops each weight with probability ``p``, per example, in training.

    In training mode every row ``x_r`` of the input gets its own Bernoulli mask
    ``M_r`` over the weight matrix, as DropConnect (Wan et al., 2013) asks:

    .. math::

        y_r = \frac{W \odot M_r}{1 - p}\, x_r + b, \qquad
        M_{r,oi} \sim \operatorname{Bernoulli}(1 - p),

    so ``p`` is the probability of **dropping** a weight (like
    ``torch.nn.Dropout``'s ``p``; the paper's ``p`` is the probability of
    keeping one). Kept weights are scaled by ``1 / (1 - p)`` so that the
    expected training output is the plain linear layer ``W x + b``, and the
    layer is a drop-in for ``nn.Linear``: the same weights, the same
    evaluation output with ``inference="mean"``. The bias is not dropped.

    Memory: the ``(rows, out, in)`` masks are never stored. They are drawn
    for chunks of about ``chunk_elements`` weights at a time from a
    generator whose seed (taken from torch's global RNG, so
    ``torch.manual_seed`` makes training reproducible) is the only thing
    saved for backward, where the same masks are drawn again. A training
    step therefore holds ``O(chunk_elements + rows x (in + out))`` extra
    memory instead of ``O(rows x out x in)``, and draws every mask twice;
    random bits are cheap (one bit per weight for ``p = 0.5``, 16 bits in
    general, with ``p`` rounded to a multiple of ``2**-16``). Second
    derivatives through the masked product are not supported.

    Evaluation mode:

    - ``inference="mean"``: the expected layer ``W x + b`` (then
      ``activation``).
    - ``inference="gaussian"``: the paper's moment matching. The masked
      pre-activation of a row is approximated by a Gaussian with its exact
      mean ``m = W x + b`` and variance ``v = p / (1 - p) * (W * W) (x * x)``
      (:meth:`moments`); the output is the Monte-Carlo average of
      ``activation(m + sqrt(v) * z_k)`` over ``n_samples`` standard-normal
      draws ``z_k`` (one per output unit). The draws are *common random
      numbers*: drawn from a generator seeded with ``seed``, the same for
      every row, every call and every device, so the evaluation output is a
      deterministic function of the row, whatever else is in its batch and
      wherever it sits there; it is an unbiased estimate of the expected
      activation, with an error of order ``1 / sqrt(n_samples)`` that is
      fixed for a row. Without an activation the average is ``m`` plus such
      an error.

    Parameters
    ----------
    bias : bool, default=True
        Learn an additive bias (never dropped).
    in_features, out_features : int
        Sizes of each input and output row; >= 1 (as ``nn.Linear``).
    p : float, default=0.5
        Probability of dropping each weight, in [0, 1).
    inference : {"mean", "gaussian"}, default="mean"
        Evaluation-mode behaviour, see above.
    n_samples : int, default=100
        Gaussian draws with ``inference="gaussian"``; >= 1.
    activation : torch.nn.Module or None, default=None
        Elementwise activation applied to the output (inside the layer, so
        that Gaussian inference can average it). None is the identity.
    chunk_elements : int or None, default=None
        Mask elements drawn at once in training (at least one row's
        ``out x in``); trades memory for Python overhead; >= 1. None means
        ``2**18`` on CPU (cache-sized) and ``2**24`` on CUDA.
    seed : int, default=0
        Seed of the ``n_samples`` standard-normal draws of Gaussian
        inference, in ``[0, 2**63)``; the attribute can be changed later.
        Training masks do not use it (they come from torch's global RNG).

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (out_features, in_features)
    bias : torch.nn.Parameter of shape (out_features,) or None

    Shape
    -----
    - Input: ``(*, in_features)``; every row (every vector along the last
      dimension, e.g. each position of a sequence) gets its own mask. A 1-D
      input is one row.
    - Output: ``(*, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import DropConnectLinear
    >>> layer = DropConnectLinear(4, 3, p=0.5)
    >>> layer(torch.randn(2, 5, 4)).shape
    torch.Size([2, 5, 3])
    >>> _ = layer.eval()
    >>> x = torch.randn(1, 4)
    >>> bool(torch.allclose(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias)))
    True

    Gaussian inference gives a row the same output alone and inside any batch:

    >>> gaussian = DropConnectLinear(4, 3, inference="gaussian", activation=torch.nn.ReLU())
    >>> _ = gaussian.eval()
    >>> batch = torch.randn(5, 4)
    >>> bool(torch.allclose(gaussian(batch)[2:3], gaussian(batch[2:3])))
    True
    """

    def __init__(self, in_features, out_features, bias=True, p=0.5, inference="mean",
                 n_samples=100, activation=None, chunk_elements=None, seed=0,
                 device=None, dtype=None):
        in_features = check_int(in_features, "in_features", 1)
        out_features = check_int(out_features, "out_features", 1)
        p = check_real(p, "p", 0.0, 1.0, high_open=True)
        check_option(inference, "inference", INFERENCE)
        n_samples = check_int(n_samples, "n_samples", 1)
        check_module(activation, "activation", none=True)
        if chunk_elements is not None:
            chunk_elements = check_int(chunk_elements, "chunk_elements", 1)
        seed = check_int(seed, "seed", 0, SEED_LIMIT - 1)
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.p = p
        self.inference = inference
        self.n_samples = n_samples
        self.activation = activation
        self.chunk_elements = chunk_elements
        self.seed = seed

    @property
    def keep_probability(self):
        """The exact keep probability of the masks, ``1 - p`` on the 16-bit grid."""
        bits, threshold = keep_threshold(self.p)
        return threshold / (1 << bits)

    def _check_input(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"DropConnectLinear: expected input with last dimension in_features="
                f"{self.in_features}, got shape {tuple(x.shape)}."
            )

    def _activate(self, u):
        return u if self.activation is None else self.activation(u)

    def forward(self, x):
        self._check_input(x)
        if not self.training:
            if self.inference == "gaussian" and self.p > 0:
                return self._gaussian_inference(x)
            return self._activate(F.linear(x, self.weight, self.bias))
        if self.p == 0:
            return self._activate(F.linear(x, self.weight, self.bias))
        rows = x.reshape(-1, self.in_features)
        bits, threshold = keep_threshold(self.p)
        seed = int(torch.randint(0, 2**62, (1,)).item())
        chunk = self.chunk_elements or DEFAULT_CHUNK_ELEMENTS.get(x.device.type, 1 << 18)
        chunk_rows = max(1, chunk // (self.in_features * self.out_features))
        out = _DropConnectFunction.apply(rows, self.weight, self.bias,
                                         (1 << bits) / threshold, seed, bits, threshold,
                                         chunk_rows)
        return self._activate(out.reshape(*x.shape[:-1], self.out_features))

    def moments(self, x):
        """Mean and variance of the training-mode pre-activation ``(W * M / q) x + b`` over masks.

        Parameters
        ----------
        x : torch.Tensor of shape (*, in_features)

        Returns
        -------
        mean, var : torch.Tensor of shape (*, out_features)
        """
        self._check_input(x)
        q = self.keep_probability
        mean = F.linear(x, self.weight, self.bias)
        var = (1.0 - q) / q * F.linear(x * x, self.weight * self.weight)
        return mean, var

    def gaussian_draws(self, dtype=torch.float32, device="cpu"):
        """The standard-normal draws ``z`` of Gaussian inference, ``(n_samples, out_features)``.

        Drawn in float64 on the CPU from a generator seeded with ``seed``,
        then cast: the same numbers on every call, device and dtype.
        """
        generator = torch.Generator().manual_seed(self.seed)
        draws = torch.randn((self.n_samples, self.out_features), generator=generator,
                            dtype=torch.float64)
        return draws.to(device=device, dtype=dtype)

    def _gaussian_inference(self, x):
        mean, var = self.moments(x)
        shape = mean.shape
        mean = mean.reshape(-1, self.out_features)
        std = var.clamp_min(0).sqrt().reshape(-1, self.out_features)
        draws = self.gaussian_draws(mean.dtype, mean.device)[:, None, :]  # (k, 1, out)
        # Groups of draws and of rows are cut by sizes that do not depend on the batch,
        # so a row's sum runs over the same groups alone or among others.
        per_group = max(1, min(self.n_samples, _GAUSSIAN_ELEMENTS // self.out_features))
        rows = max(1, _GAUSSIAN_ELEMENTS // (per_group * self.out_features))
        out = torch.empty_like(mean)
        for start in range(0, len(mean), rows):
            m, s = mean[start:start + rows], std[start:start + rows]
            total = torch.zeros_like(m)
            for first in range(0, self.n_samples, per_group):
                total = total + self._activate(m + s * draws[first:first + per_group]).sum(0)
            out[start:start + rows] = total / self.n_samples
        return out.reshape(shape)

    # --------------------------------------------- contractive closed form
    contractive_affine = True

    def contractive_activation(self):
        """The activation applied inside the layer, for :mod:`skgates.nn.contractive`."""
        return self.activation

    def extra_repr(self):
        gaussian = f", n_samples={self.n_samples}, seed={self.seed}"
        return (f"{super().extra_repr()}, p={self.p}, inference={self.inference!r}"
                + (gaussian if self.inference == "gaussian" else ""))


class DropConnectNetwork(nn.Module):
    """An MLP whose hidden layers are :class:`DropConnectLinear` layers, then a plain linear output.

    Parameters
    ----------
    in_features : int
        Size of each input row; >= 1.
    hidden_layer_sizes : int or sequence of int
        Width of each hidden layer (each >= 1); an empty sequence gives a
        plain linear model.
    out_features : int
        Size of each output row; >= 1.
    activation : str or type of torch.nn.Module, default="relu"
        Elementwise activation, instantiated inside every hidden layer:
        ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"`` or a module
        class (see :func:`skgates.nn.mlp.check_activation`).
    p, inference, n_samples
        As for :class:`DropConnectLinear`.
    seed : int, default=0
        Hidden layer ``i`` draws its Gaussian-inference numbers with seed
        ``seed + i``; ``seed + len(hidden_layer_sizes)`` must stay below ``2**63``.

    Attributes
    ----------
    hidden : torch.nn.ModuleList of DropConnectLinear
        ``hidden[i]`` outputs hidden representation ``i`` (after its activation).
    output : torch.nn.Linear

    Shape
    -----
    - Input: ``(*, in_features)``
    - Output: ``(*, out_features)``

    In training mode every row gets its own masks; in evaluation mode a row's
    output does not depend on the other rows (see :class:`DropConnectLinear`).

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import DropConnectNetwork
    >>> DropConnectNetwork(4, (8,), 2)(torch.randn(3, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, in_features, hidden_layer_sizes, out_features, activation="relu",
                 p=0.5, inference="mean", n_samples=100, seed=0):
        super().__init__()
        in_features = check_int(in_features, "in_features", 1)
        sizes = check_sizes(hidden_layer_sizes)
        out_features = check_int(out_features, "out_features", 1)
        activation = check_activation(activation)
        # checked here too: with no hidden layer no DropConnectLinear would see them
        p = check_real(p, "p", 0.0, 1.0, high_open=True)
        check_option(inference, "inference", INFERENCE)
        n_samples = check_int(n_samples, "n_samples", 1)
        seed = check_int(seed, "seed", 0, SEED_LIMIT - 1 - len(sizes))
        widths = [in_features, *sizes]
        self.hidden = nn.ModuleList(
            DropConnectLinear(w_in, w_out, p=p, inference=inference, n_samples=n_samples,
                              activation=activation(), seed=seed + i)
            for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:]))
        )
        self.output = nn.Linear(widths[-1], out_features)

    def forward(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.output(x)

    def contractive_chain(self):
        """``[(name, module)]`` in forward order, for :mod:`skgates.nn.contractive`."""
        return [(f"hidden.{i}", layer) for i, layer in enumerate(self.hidden)] + [
            ("output", self.output)]
