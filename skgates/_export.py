"""Export a fitted network estimator as one tensor graph, for serving without skgates.

:func:`export` writes everything between raw float rows and the estimator's
output into a single program: the fitted input standardisation, the network
in eval mode and the output mapping (softmax, inverse target scaling or the
transformer's code). The file loads with plain PyTorch
(``torch.export.load(path).module()``) or, with ``format="onnx"``, with any
ONNX runtime.
"""

import copy
import os

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import _FLOAT32_LIMIT, _prediction_part

__all__ = ["export"]

_FORMATS = ("torch", "onnx")
_EXPORTABLE = ("TabNetClassifier (predict_proba)", "TabNetRegressor (predict)",
               "TabNetPretrainer (transform)", "DropConnectClassifier (predict_proba)",
               "DropConnectRegressor (predict)", "ContractiveAutoencoder (transform)")


def export(estimator, path, *, format="torch"):
    """Write a fitted estimator's inference as a standalone tensor program.

    The program maps raw rows to what the estimator returns:

    ============================  ==================================
    estimator                     output of the exported program
    ============================  ==================================
    TabNetClassifier,             ``predict_proba(X)``,
    DropConnectClassifier         ``(n, n_classes)`` in ``classes_`` order
    TabNetClassifier, multi-task  a tuple of ``n_tasks`` tensors, as
                                  ``predict_proba(X)``'s list
    TabNetRegressor,              ``predict(X)``: ``(n,)`` for a 1-D
    DropConnectRegressor          training ``y``, else ``(n, n_outputs)``
    TabNetPretrainer,             ``transform(X)``
    ContractiveAutoencoder
    ============================  ==================================

    It includes the fitted input standardisation (``input_scaler_``, constant
    columns mapped to 0), the network in eval mode and the output mapping
    (softmax of the logits, or the inverse scaling of the targets), so a
    server needs PyTorch (or an ONNX runtime) only. Class labels are not part
    of the program: ``estimator.classes_[proba.argmax(1)]`` gives ``predict``.

    Input: a float64 tensor ``(n_rows, n_features_in_)`` of raw numeric rows
    in the training column order (any ``n_rows >= 1``); the standardisation
    and the output mapping run in float64, the network in float32, as the
    estimator does (outputs agree with the estimator's to float32 precision,
    about 1e-6). Output: float64.

    The program holds its weights on the CPU, whatever ``device`` the estimator
    was fitted on, so a server without a GPU runs it.

    Parameters
    ----------
    estimator : fitted estimator
        One of TabNetClassifier, TabNetRegressor, TabNetPretrainer,
        DropConnectClassifier, DropConnectRegressor (``inference="mean"``),
        ContractiveAutoencoder. Selectors and rankers (CancelOutSelector,
        TailDropoutRanker, StabilitySelector, FDRSelector) have nothing to
        export: their output is a column subset, see ``get_support()``.
        TabNet models with categorical columns are refused: their encoding of
        strings and unseen categories is not a tensor operation.
    path : str or os.PathLike
        File to write; its directory must exist.
    format : {"torch", "onnx"}, default="torch"
        ``"torch"``: a :func:`torch.export.export` program saved with
        :func:`torch.export.save`; load it with
        ``torch.export.load(path).module()``. ``"onnx"``: an ONNX graph
        written by :func:`torch.onnx.export`; needs the optional ``onnx``
        package.

    Returns
    -------
    path : str
        The path written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    TypeError
        The estimator (or its configuration) cannot be exported.
    ValueError
        ``format`` is unknown, or ``path`` cannot be written.
    ImportError
        ``format="onnx"`` without the ``onnx`` package.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skgates import DropConnectClassifier
    >>> from skgates import export
    >>> X = np.random.RandomState(0).randn(100, 3); y = (X[:, 0] > 0).astype(int)
    >>> clf = DropConnectClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> import tempfile, os
    >>> path = export(clf, os.path.join(tempfile.mkdtemp(), "clf.pt2"))
    >>> served = torch.export.load(path).module()
    >>> proba = served(torch.from_numpy(X[:4])).numpy()
    >>> bool(np.allclose(proba, clf.predict_proba(X[:4]), rtol=1e-5, atol=1e-6))
    True
    """
    if format not in _FORMATS:
        raise ValueError(f"export: format must be one of {_FORMATS}, got {format!r}.")
    serving = _serving_module(estimator)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"export: cannot write {path!r}: the directory {directory!r} "
                         "does not exist.")
    if os.path.isdir(path):
        raise ValueError(f"export: cannot write {path!r}: it is a directory.")
    if not os.access(directory, os.W_OK):
        raise ValueError(f"export: cannot write {path!r}: the directory is not writable.")
    n_features = int(estimator.n_features_in_)
    example = (torch.zeros(3, n_features, dtype=torch.float64),)
    rows = torch.export.Dim("rows")
    if format == "torch":
        program = torch.export.export(serving, example, dynamic_shapes=({0: rows},))
        torch.export.save(program, path)
    else:
        try:
            import onnx  # noqa: F401
        except ImportError as error:
            raise ImportError("export: format='onnx' needs the optional 'onnx' package "
                              "(pip install onnx); format='torch' needs nothing more.") from error
        outputs = ["output"] if not isinstance(serving.output, _TaskSoftmax) else [
            f"output_{t}" for t in range(len(serving.output.sizes))]
        axes = {name: {0: "rows"} for name in ["X", *outputs]}
        torch.onnx.export(serving, example, path, input_names=["X"], output_names=outputs,
                          dynamic_axes=axes, dynamo=False)
    return path


# ----------------------------------------------------------------- building
def _serving_module(estimator):
    """The estimator's inference as one ``nn.Module`` (float64 rows in, float64 out)."""
    from .contractive import ContractiveAutoencoder
    from .dropconnect import _BaseDropConnect
    from .tabnet import TabNetPretrainer, _SupervisedTabNet

    name = type(estimator).__name__
    if not isinstance(estimator, (_SupervisedTabNet, TabNetPretrainer, _BaseDropConnect,
                                  ContractiveAutoencoder)):
        raise TypeError(
            f"export: cannot export a {name}; exportable are {', '.join(_EXPORTABLE)}. "
            "Selectors and rankers output a column subset (see get_support()), not a network's "
            "predictions."
        )
    check_is_fitted(estimator, "net_")
    if getattr(estimator, "categorical_", None) is not None and estimator.categorical_.columns_:
        raise TypeError(
            f"export: {name} was fitted with categorical columns "
            f"{list(estimator.categorical_.columns_)}; their encoding (strings, unseen "
            "categories) is not a tensor operation, so only numeric TabNet models export."
        )
    if isinstance(estimator, _BaseDropConnect) and estimator.inference != "mean":
        raise TypeError(f"export: {name} with inference={estimator.inference!r} samples at "
                        "prediction time; only inference='mean' exports.")
    # A copy (export puts it in eval mode and traces it; the estimator's net stays as it was),
    # on the CPU: the program serves without a GPU (move the loaded module to one if needed).
    network = copy.deepcopy(estimator._inference_module()).float().cpu().requires_grad_(False)
    if isinstance(estimator, TabNetPretrainer):
        body = _Call(network, _tabnet_representation)
        output = _Identity()
    elif isinstance(estimator, ContractiveAutoencoder):
        body = _Call(network, lambda module, x: module.encode(x))
        output = _Identity()
    elif isinstance(estimator, _SupervisedTabNet):
        body = _Call(network, lambda module, x: module.head(_tabnet_representation(module, x)))
        output = _output_mapping(estimator)
    else:
        body = _Call(network, lambda module, x: _prediction_part(module(x)))
        output = _output_mapping(estimator)
    scaler = getattr(estimator, "input_scaler_", None) if estimator._standardize_inputs else None
    return _Serving(_Standardize(scaler, estimator.n_features_in_), body, output).eval()


def _output_mapping(estimator):
    if estimator.task_ == "classification" and isinstance(estimator.classes_, list):
        return _TaskSoftmax([len(classes) for classes in estimator.classes_])
    if estimator.task_ == "classification":
        return _Softmax()
    return _InverseScaling(estimator.target_scaler_, estimator._y_was_1d_)


def _tabnet_representation(module, x):
    """``sum_i ReLU(d[i])``, as ``TabNetPretrainer.transform`` and TabNet's head compute it.

    Walks the encoder's steps directly: its ``forward`` also stores the mask
    entropy on the module (a training-time penalty), which a graph cannot hold.
    """
    total = 0.0
    for _, d in module.encoder._steps(module.embedding(x)):
        total = total + d
    return total


class _Serving(nn.Module):
    """Standardise (float64) -> network (float32) -> output mapping (float64)."""

    def __init__(self, standardize, body, output):
        super().__init__()
        self.standardize, self.body, self.output = standardize, body, output

    def forward(self, x):
        z = self.standardize(x.to(torch.float64))
        z = torch.clamp(z, -_FLOAT32_LIMIT, _FLOAT32_LIMIT).to(torch.float32)
        return self.output(self.body(z).to(torch.float64))


class _Standardize(nn.Module):
    """:class:`skgates._scaling.ColumnStandardizer`'s ``transform`` as buffers.

    ``(x / unit - unit_mean) / unit_std``, constant columns 0; the identity
    when the estimator does not standardise.
    """

    def __init__(self, scaler, n_features):
        super().__init__()
        if scaler is None:
            unit, mean, std = np.ones(n_features), np.zeros(n_features), np.ones(n_features)
            constant = np.zeros(n_features, dtype=bool)
        else:
            unit, mean, std = scaler._unit, scaler._unit_mean, scaler._unit_std
            constant = scaler._constant
        for key, value in (("unit", unit), ("mean", mean), ("std", std)):
            self.register_buffer(key, torch.as_tensor(np.asarray(value, np.float64)))
        self.register_buffer("constant", torch.as_tensor(np.asarray(constant, bool)))

    def forward(self, x):
        z = (x / self.unit - self.mean) / self.std
        return torch.where(self.constant, torch.zeros_like(z), z)


class _Call(nn.Module):
    """``function(network, x)`` with the network as a submodule (so it is exported)."""

    def __init__(self, network, function):
        super().__init__()
        self.network, self.function = network, function

    def forward(self, x):
        return self.function(self.network, x)


class _Identity(nn.Module):
    def forward(self, x):
        return x


class _Softmax(nn.Module):
    def forward(self, logits):
        return torch.softmax(logits, dim=1)


class _TaskSoftmax(nn.Module):
    """A multi-task classifier's probabilities: a softmax over each task's block of logits."""

    def __init__(self, sizes):
        super().__init__()
        self.sizes = [int(size) for size in sizes]

    def forward(self, logits):
        return tuple(torch.softmax(part, dim=1) for part in torch.split(logits, self.sizes, dim=1))


class _InverseScaling(nn.Module):
    """The target scaler's ``inverse_transform``, flattened for a 1-D training ``y``."""

    def __init__(self, scaler, flatten):
        super().__init__()
        self.register_buffer("unit", torch.as_tensor(np.asarray(scaler._unit, np.float64)))
        self.register_buffer("mean", torch.as_tensor(np.asarray(scaler._unit_mean, np.float64)))
        self.register_buffer("std", torch.as_tensor(np.asarray(scaler._unit_std, np.float64)))
        self.flatten = bool(flatten)

    def forward(self, z):
        y = (z * self.std + self.mean) * self.unit
        return y.reshape(-1) if self.flatten else y
