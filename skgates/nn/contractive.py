r"""The contractive penalty (Rifai et al., 2011): the squared Frobenius norm of hidden Jacobians.

For chosen hidden outputs :math:`Z_1, \dots, Z_L` of a network and an input
row :math:`x`, the penalty of a batch of rows :math:`x_1, \dots, x_n` is

.. math::

    \Omega = \frac{1}{n} \sum_{r=1}^{n} \frac{1}{L} \sum_{i=1}^{L}
             \left\| \frac{\partial Z_i(x_r)}{\partial x_r} \right\|_F^2 ,

the batch mean of the per-row penalty averaged over the chosen layers. It is
the *full* Jacobian of every chosen output with respect to that row's input,
not the gradient of a layer's mean activation.

Three ways to compute it (``method``):

``"closed_form"``
    Exact, for networks that are a chain of affine maps (``nn.Linear``,
    :class:`skgates.nn.DropConnectLinear` with its expected weights, the
    CancelOut gate as a diagonal map) and elementwise activations. The
    Jacobian of ``h_l = s(W_l h_{l-1} + b_l)`` is
    ``J_l = D_l W_l J_{l-1}`` with ``D_l = diag(s'(a_l))``; for the first
    hidden layer ``||J_1||_F^2 = sum_j s'(a_j)^2 ||W_{1,j}||^2`` (about one
    extra forward pass). Deeper layers write ``J_l = K_l W_1`` and read
    ``||J_l||_F^2 = trace(K_l (W_1 W_1^T) K_l^T)``, with the per-row
    ``K_l = D_l W_l ... D_1`` of shape ``(n, width_l, width_1)`` (or propagate
    ``J_l`` itself when there are fewer inputs than first-layer units). The
    cost of layer ``l >= 2`` is about ``n * width_l * width_1 *
    min(width_1, n_inputs)`` multiply-adds per batch: exact per-row
    Jacobians of deep layers cannot be had for one forward pass.
``"autodiff"``
    Exact for any module whose rows do not interact: ``torch.func.vmap`` of
    ``jacfwd`` (few inputs) or ``jacrev`` (few outputs) over the rows, with
    fresh noise per row for stochastic layers.
``"projection"``
    An unbiased *estimate*: ``E_u ||J^T u||^2 = ||J||_F^2`` for
    ``u ~ N(0, I)``, with ``n_projections`` vector-Jacobian products (ordinary
    backward passes with ``create_graph=True``) of the whole batch. It is used
    for modules with layers that couple the rows of a batch (BatchNorm in
    training mode), where it also counts the (order ``1/n``) dependence of a
    row's output on the other rows of its batch, and as the fallback when
    ``torch.func`` cannot transform a module (custom autograd Functions
    without functorch support, data-dependent control flow), with a
    ``RuntimeWarning``. The extra forward pass works on copies of the
    buffers, so BatchNorm running statistics are left untouched.

``"auto"`` picks ``"closed_form"`` when the network is such a chain and every
chosen layer lies on it, ``"projection"`` when a BatchNorm-like layer (a
``torch.nn`` batch norm, a module with a ``running_mean`` buffer, or one with
``batch_coupled = True``) is in training mode, and ``"autodiff"`` otherwise.

The chain protocol
------------------
The closed form reads a network's structure from the network itself; it
knows no skgates class by name. Built in are ``nn.Linear`` (affine),
``nn.Sequential`` (a container of its children in order), the elementwise
activations of ``torch.nn`` (``Identity``, ``Tanh``, ``Sigmoid``, ``ReLU``,
``LeakyReLU``, ``ELU``, ``GELU``, ``SiLU``, ``Softplus``, ``Mish``,
``Hardtanh``, ``CELU``, ``SELU``, ``Softsign``, ``Tanhshrink``,
``LogSigmoid``) and ``nn.Dropout`` in evaluation mode (the identity). Any
other module joins by declaring one of these roles:

container: ``contractive_chain()``
    Returns ``[(child_name, child), ...]``, the steps its ``forward`` applies
    one after the other, each name the child's path relative to the
    container as in ``named_modules()`` (``"hidden.0"``), so that chosen
    layer names resolve. Examples: :class:`skgates.nn.MLP`,
    :class:`skgates.nn.CancelOutNetwork`, :class:`skgates.nn.Autoencoder`,
    :class:`skgates.nn.DropConnectNetwork`.
affine leaf: ``contractive_affine = True``
    ``forward(x) = activation(x @ W.T + b)`` with ``b = module.bias`` (or
    None) and ``W`` from the optional method ``contractive_weight()``
    (default: ``module.weight``); the optional method
    ``contractive_activation()`` returns the elementwise activation the
    layer applies itself, or None. Example: :class:`skgates.nn.DropConnectLinear`
    (its expected weights, so the penalty of a training-mode pass is that of
    the mean network). Subclasses of ``nn.Linear`` are affine leaves already.
diagonal leaf: ``contractive_scale()``
    ``forward(x) = x * contractive_scale()``, with the factor of shape
    ``(n_features,)``, the same for every row. Example: :class:`skgates.nn.CancelOut`.
elementwise leaf: ``contractive_elementwise = True``
    ``forward`` applies one scalar function to every entry; its derivative is
    taken by a forward-mode product.

input hook (optional, on the module given): ``contractive_input(X)``
    Returns the batch the chain reads when ``forward`` first completes its
    input. Example: :class:`skgates.nn.CancelOutNetwork` appends zeros for
    its shadow inputs to a batch of real columns.

A module that declares no role, or a container with a step that is no part
of the protocol, is not a chain; its penalty is computed by ``"autodiff"``
or ``"projection"`` (exact, or an unbiased estimate, at a higher cost).

Choosing layers: fnmatch patterns over ``module.named_modules()`` names; a
pattern selects the *outermost* modules it matches (``"body.hidden.*"``
selects ``body.hidden.0`` and ``body.hidden.1``, not also the linear and
activation inside each).
"""

import fnmatch
import warnings

import torch
from torch import nn

from ._checks import check_int, check_option, check_real

METHODS = ("auto", "closed_form", "autodiff", "projection")

# Derivative s'(a) of elementwise activations, from the pre-activation a and output s(a).
_DERIVATIVES = {
    nn.Identity: lambda a, h: torch.ones_like(a),
    nn.Tanh: lambda a, h: 1.0 - h * h,
    nn.Sigmoid: lambda a, h: h * (1.0 - h),
    nn.ReLU: lambda a, h: (a > 0).to(a.dtype),
}
# Further elementwise activations whose derivative comes from a forward-mode product.
_ELEMENTWISE = (nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Mish, nn.Hardtanh,
                nn.CELU, nn.SELU, nn.Softsign, nn.Tanhshrink, nn.LogSigmoid)


# ------------------------------------------------------------------ layer choice
def resolve_layers(module, patterns):
    """Names of the outermost submodules of ``module`` matched by fnmatch ``patterns``.

    Parameters
    ----------
    module : torch.nn.Module
    patterns : str or sequence of str
        fnmatch patterns over the names of ``module.named_modules()``.

    Returns
    -------
    names : list of str
        Matched names in ``named_modules()`` order, without any name that lies
        inside another matched name.

    Raises
    ------
    ValueError
        When no module matches, naming the patterns and the available names.
    """
    patterns = check_layer_patterns(patterns)
    available = [name for name, _ in module.named_modules() if name]
    matched = [name for name in available if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    outer = [name for name in matched
             if not any(name.startswith(other + ".") for other in matched if other != name)]
    if not outer:
        raise ValueError(
            f"contractive_layers {list(patterns)!r} match no module; available module names: "
            f"{', '.join(available) if available else '(none)'}."
        )
    return outer


def check_layer_patterns(patterns):
    """Return ``patterns`` as a tuple of strings, or raise a ``TypeError``/``ValueError``."""
    if isinstance(patterns, str):
        patterns = (patterns,)
    try:
        patterns = tuple(patterns)
    except TypeError:
        raise TypeError(
            f"contractive_layers must be a string or a sequence of strings, got {patterns!r}."
        ) from None
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise ValueError(
            f"contractive_layers must be a non-empty sequence of strings, got {patterns!r}."
        )
    return patterns


# -------------------------------------------------------------------- the chain
def _children_in_order(module):
    """Ordered ``[(name, child)]`` of a chain-like container, or None."""
    chain = getattr(module, "contractive_chain", None)
    if callable(chain):
        return list(chain())
    if isinstance(module, nn.Sequential):
        return list(module.named_children())
    return None


def _leaf_step(module):
    """``(kind, module)`` for a leaf of the chain protocol (module docstring), or None."""
    if isinstance(module, nn.Linear) or getattr(module, "contractive_affine", False):
        return ("affine", module)
    if callable(getattr(module, "contractive_scale", None)):
        return ("scale", module)
    if (type(module) in _DERIVATIVES or isinstance(module, _ELEMENTWISE)
            or getattr(module, "contractive_elementwise", False)):
        return ("act", module)
    if isinstance(module, nn.Dropout) and not module.training:
        return ("act", nn.Identity())
    return None


def linear_chain(module, prefix=""):
    """Flatten ``module`` into closed-form steps.

    Returns
    -------
    steps : list of (kind, module) or None
        None when some part is not an affine map or elementwise activation.
    taps : dict
        ``{qualified module name: index of its last step}``; the output of that
        step is the module's output.
    """
    step = _leaf_step(module)
    if step is not None:
        steps = [step]
        extra = getattr(module, "contractive_activation", None)
        if step[0] == "affine" and callable(extra):
            act = extra()
            if act is not None:
                sub = _leaf_step(act)
                if sub is None or sub[0] != "act":
                    return None, {}
                steps.append(sub)
        return steps, {prefix: len(steps) - 1}
    children = _children_in_order(module)
    if children is None:
        return None, {}
    steps, taps = [], {}
    for name, child in children:
        qualified = f"{prefix}.{name}" if prefix else name
        sub_steps, sub_taps = linear_chain(child, qualified)
        if sub_steps is None:
            return None, {}
        offset = len(steps)
        steps.extend(sub_steps)
        taps.update({key: offset + index for key, index in sub_taps.items()})
    if steps:
        taps[prefix] = len(steps) - 1
    return steps, taps


def _affine_weight_bias(module):
    weight = getattr(module, "contractive_weight", None)
    weight = weight() if callable(weight) else module.weight
    return weight, module.bias


def _derivative(act, a, h):
    rule = _DERIVATIVES.get(type(act))
    if rule is not None:
        return rule(a, h)
    return torch.func.jvp(act, (a,), (torch.ones_like(a),))[1]


def closed_form_sq_norms(steps, tap_indices, X):
    """Exact ``||dZ/dx||_F^2`` per row for each tap of a chain (see the module docstring).

    The Jacobian after step ``l`` is written ``J_l = K_l R`` with ``R`` the
    product of the affine maps before the first row-wise factor (shared by all
    rows) and ``K_l`` per row, so that ``||J_l||_F^2 = trace(K_l (R R^T) K_l^T)``.
    When ``R`` has fewer rows than columns (wide inputs), ``K`` stays small and
    ``R R^T`` is computed once per batch; otherwise ``R`` is folded into ``K``
    and ``K`` is the Jacobian itself. A first row-wise factor ``diag(f)`` is kept
    as the vector ``f`` until the next affine map, so the first hidden layer
    costs ``sum_j f_j^2 ||R_j||^2``.

    Returns a tensor ``(n, len(tap_indices))``.
    """
    n = X.shape[0]
    last = max(tap_indices)
    wanted = {index: k for k, index in enumerate(tap_indices)}
    norms = [None] * len(tap_indices)
    h = X
    shared = None        # R while no row-wise factor has appeared (None: identity)
    root = _Root()       # R once it is factored out of K (its R R^T computed when needed)
    state = None         # None, ("diag", f (n, w)) or ("full", K (n, w, r), s (n, w) or None)
    for index, (kind, module) in enumerate(steps[:last + 1]):
        if kind == "affine":
            weight, bias = _affine_weight_bias(module)
            h = nn.functional.linear(h, weight, bias)
            if state is None:
                shared = weight if shared is None else weight @ shared
            elif state[0] == "diag":
                state = ("full", weight * state[1][:, None, :], None)
            else:
                K, scale = state[1], state[2]
                K = K if scale is None else scale[..., :, None] * K
                state = ("full", torch.matmul(weight, K), None)
        else:
            if kind == "scale":
                factor = module.contractive_scale()
                h = module(h)
            else:
                a = h
                h = module(a)
                factor = _derivative(module, a, h)
            if state is None and factor.ndim == 1:
                shared = factor[:, None] * shared if shared is not None else torch.diag(factor)
            elif state is None:
                if shared is not None and shared.shape[0] < shared.shape[1]:
                    root.matrix = shared
                    state = ("diag", factor)
                elif shared is not None:
                    state = ("full", shared.expand(n, *shared.shape), factor)
                else:
                    state = ("diag", factor)
            elif state[0] == "diag":
                state = ("diag", state[1] * factor)
            else:
                state = ("full", state[1], factor if state[2] is None else state[2] * factor)
        if index in wanted:
            norms[wanted[index]] = _sq_norm(state, shared, root, n)
    return torch.stack(norms, dim=1)


class _Root:
    """The shared factor ``R`` of ``J = K R``, with ``R R^T`` and its diagonal made on demand."""

    def __init__(self):
        self.matrix = None
        self._gram = None
        self._diag = None

    def gram(self):
        if self._gram is None:
            self._gram = self.matrix @ self.matrix.T
        return self._gram

    def diag(self):
        if self._diag is None:
            self._diag = (self.matrix * self.matrix).sum(1)
        return self._diag


def _sq_norm(state, shared, root, n):
    if state is None:
        if shared is None:
            raise ValueError("A chosen layer is the input itself; its Jacobian is the identity.")
        return (shared * shared).sum().expand(n)
    if state[0] == "diag":
        f2 = state[1] * state[1]
        return (f2 * root.diag()).sum(-1) if root.matrix is not None else f2.sum(-1)
    K, scale = state[1], state[2]
    if root.matrix is not None:
        rows = (torch.matmul(K, root.gram()) * K).sum(-1)
    else:
        rows = (K * K).sum(-1)
    return (rows if scale is None else rows * scale * scale).sum(-1)


# ------------------------------------------------------------ general modules
def _has_batch_coupling(module):
    """Whether rows of a batch interact: a BatchNorm-like layer in training mode.

    Detected as ``torch.nn`` batch norms, modules with a ``running_mean``
    buffer (ghost batch norms and the like) or a true ``batch_coupled``
    attribute.
    """
    for m in module.modules():
        if not m.training:
            continue
        if (isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "batch_coupled", False)
                or "running_mean" in dict(m.named_buffers(recurse=False))):
            return True
    return False


def _capture(module, names):
    """Forward hooks that store the outputs of ``names``; returns (store, handles)."""
    store = {}
    modules = dict(module.named_modules())
    handles = []
    for name in names:
        def hook(_mod, _inp, out, name=name):
            store[name] = out
        handles.append(modules[name].register_forward_hook(hook))
    return store, handles


def _flat(output):
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for part in output for t in _flat(part)]
    if isinstance(output, dict):
        return [t for part in output.values() for t in _flat(part)]
    return []


def autodiff_sq_norms(module, names, X):
    """Exact per-row ``||dZ/dx||_F^2`` with ``torch.func`` (rows must not interact)."""
    store, handles = _capture(module, names)

    def outputs(x_row):
        store.clear()
        module(x_row.unsqueeze(0))
        return tuple(torch.cat([t.reshape(-1) for t in _flat(store[name])]) for name in names)

    try:
        with torch.no_grad():
            sizes = [o.numel() for o in outputs(X[0])]
        if X.shape[1] <= max(sizes):  # forward mode: one noise draw shared by the tangents
            jacobian_of = torch.func.jacfwd(outputs, randomness="same")
        else:
            jacobian_of = torch.func.jacrev(outputs)
        jacobians = torch.func.vmap(jacobian_of, randomness="different")(X)
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack([j.pow(2).sum((-2, -1)) for j in jacobians], dim=1)


def projection_sq_norms(module, names, X, n_projections=1):
    """Unbiased estimate of per-row ``||dZ/dx||_F^2`` from random vector-Jacobian products.

    For ``u ~ N(0, I)`` over a layer's outputs, ``E ||J^T u||^2 = ||J||_F^2``;
    ``J^T u`` is one ordinary (double-differentiable) backward pass, so this
    works for any module whose backward is differentiable, including custom
    autograd Functions that ``torch.func`` cannot transform. When rows
    interact (batch norm), row ``k`` of the estimate is
    ``sum_r ||d Z(x_r) / d x_k||^2``, whose batch mean equals that of the
    per-output-row definition. The forward pass runs on copies of the
    buffers, so running statistics are left untouched.
    """
    store, handles = _capture(module, names)
    buffers = dict(module.named_buffers())
    X = X.detach().requires_grad_(True)
    try:
        store.clear()
        torch.func.functional_call(module, {k: b.clone() for k, b in buffers.items()}, (X,),
                                   strict=False)
        outputs = [[t for t in _flat(store[name]) if t.requires_grad] for name in names]
    finally:
        for handle in handles:
            handle.remove()
    total = torch.zeros(len(X), len(names), dtype=X.dtype, device=X.device)
    columns = []
    for k, tensors in enumerate(outputs):
        column = 0.0
        for _ in range(int(n_projections)):
            if not tensors:
                break
            probes = [torch.randn_like(t) for t in tensors]
            (grad,) = torch.autograd.grad(tensors, X, grad_outputs=probes, create_graph=True,
                                          allow_unused=True)
            if grad is not None:
                column = column + grad.reshape(len(X), -1).pow(2).sum(1)
        columns.append(column / int(n_projections) if torch.is_tensor(column) else total[:, k])
    return torch.stack(columns, dim=1)


def jacobian_sq_norms(module, X, layers, method="auto", n_projections=1):
    """Per-row squared Frobenius norms of the chosen layers' Jacobians.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a batch ``(n, n_inputs)`` to its output; the chosen layers are
        submodules that it calls.
    X : torch.Tensor of shape (n, n_inputs)
    layers : str or sequence of str
        fnmatch patterns over ``module.named_modules()`` (outermost matches).
    method : {"auto", "closed_form", "autodiff", "projection"}, default="auto"
        See the module docstring.
    n_projections : int, default=1
        Random probes per row for ``"projection"``.

    Returns
    -------
    norms : torch.Tensor of shape (n, n_layers)
        Differentiable with respect to the module's parameters.
    """
    return _sq_norms(module, X, layers, method, n_projections)[0]


def _sq_norms(module, X, layers, method, n_projections):
    """``(norms, method used)``; see :func:`jacobian_sq_norms`."""
    names = resolve_layers(module, layers)
    complete_input = getattr(module, "contractive_input", None)
    if callable(complete_input):
        X = complete_input(X)
    automatic = method == "auto"
    method = _pick_method(module, names, method)
    if method == "closed_form":
        steps, taps = linear_chain(module)
        return closed_form_sq_norms(steps, [taps[name] for name in names], X), method
    if method == "projection":
        return projection_sq_norms(module, names, X, n_projections), method
    try:
        return autodiff_sq_norms(module, names, X), method
    except (RuntimeError, ValueError) as error:
        if not automatic:
            raise
        warnings.warn(
            f"contractive penalty: torch.func cannot differentiate {type(module).__name__} row "
            f"by row ({str(error).splitlines()[0][:120]}); using the unbiased random-projection "
            "estimate instead.", RuntimeWarning, stacklevel=3)
        return projection_sq_norms(module, names, X, n_projections), "projection"


def _pick_method(module, names, method):
    check_option(method, "method", METHODS)
    if method in ("auto", "closed_form"):
        steps, taps = linear_chain(module)
        if steps is not None and all(name in taps for name in names):
            return "closed_form"
        if method == "closed_form":
            raise ValueError(
                "method='closed_form' needs a chain of affine maps and elementwise activations "
                f"with every chosen layer on it; {type(module).__name__} is not one."
            )
        return "projection" if _has_batch_coupling(module) else "autodiff"
    return method


def contractive_penalty(module, X, layers, method="auto", n_projections=1):
    """The contractive penalty of a batch: mean over rows and chosen layers of ``||dZ/dx||_F^2``.

    Parameters are those of :func:`jacobian_sq_norms`.

    Returns
    -------
    penalty : torch.Tensor
        A scalar, differentiable with respect to the module's parameters.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import MLP, contractive_penalty
    >>> net = MLP(5, (8, 4), 1, activation="tanh")
    >>> contractive_penalty(net, torch.randn(3, 5), "hidden.*").shape
    torch.Size([])
    """
    return jacobian_sq_norms(module, X, layers, method, n_projections).mean()


class ContractivePenalty:
    """A loss term ``weight * contractive_penalty(module, X, layers)``.

    Callable as ``term(module, X)``, the form of the extra penalties that
    :class:`skgates._net.PenalizedNet` adds to the training loss. Picklable.
    With ``method="auto"``, once ``torch.func`` has failed on the network (and
    the estimate was used, with a warning), later calls use the estimate
    directly.

    Parameters
    ----------
    layers : str or sequence of str
        fnmatch patterns of the hidden layers that count
        (``contractive_layers`` of the estimators).
    weight : float, default=1.0
        Multiplies the penalty; finite, >= 0 (``contractive`` of the estimators).
    method : {"auto", "closed_form", "autodiff", "projection"}, default="auto"
        See the module docstring.
    n_projections : int, default=1
        Random probes per row for ``"projection"``; >= 1.

    Examples
    --------
    >>> import torch
    >>> from skgates.nn import MLP, ContractivePenalty
    >>> net = MLP(5, (8,), 1, activation="tanh")
    >>> term = ContractivePenalty("hidden.*", weight=0.1)
    >>> term(net, torch.randn(4, 5)).shape
    torch.Size([])
    """

    def __init__(self, layers, weight=1.0, method="auto", n_projections=1):
        self.layers = check_layer_patterns(layers)
        self.weight = check_real(weight, "weight", low=0.0)
        self.method = check_option(method, "method", METHODS)
        self.n_projections = check_int(n_projections, "n_projections", 1)

    def __call__(self, module, X):
        # after torch.func has failed once on this network, go straight to the estimate
        method = "projection" if getattr(self, "_fell_back", False) else self.method
        norms, used = _sq_norms(module, X, self.layers, method, self.n_projections)
        if method == "auto" and used == "projection" and not _has_batch_coupling(module):
            self._fell_back = True
        return self.weight * norms.mean()

    def __repr__(self):
        return (f"ContractivePenalty(layers={list(self.layers)!r}, weight={self.weight}, "
                f"method={self.method!r})")
