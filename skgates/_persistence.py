"""Save and load fitted skgates estimators without pickle; keep pickle working too.

:func:`save` writes one ``.skgates`` file, a zip archive with three members:

``state.json``
    A header (``format``, ``format_version``, ``skgates_version``, the
    versions of the libraries that wrote it) and the estimator as a tree of
    plain JSON values. Every attribute of the estimator (``vars(estimator)``:
    constructor parameters and fitted attributes alike) is encoded by its type;
    a value that is not plain JSON is a tagged object ``{"__type__": ...}``
    (tuples, sets, dicts with non-str keys, non-finite floats, numpy scalars,
    arrays and dtypes, ``RandomState``/``Generator`` states, pandas frames,
    series and indexes, torch devices and tensors, and instances of the
    allow-listed classes of :data:`ALLOWED_CLASSES`, named by their public
    dotted path). skorch callbacks among the parameters are saved with their
    settings, without their ``_``-suffixed state of a training run. The
    bridge's per-fit scratch attributes (:data:`_TRANSIENT_ATTRIBUTES`) are
    left out.
``arrays.safetensors``
    The numeric numpy arrays of those attributes (bool, int, uint, float;
    complex and datetime arrays as a float/int view), referenced from
    ``state.json`` by key. Text and object arrays stay in ``state.json``.
``tensors.safetensors``
    The fitted networks: for each skorch net held by an estimator, the
    ``state_dict`` of its module(s) and criterion (unwrapped from
    ``torch.compile``; a parameter shared under several names, as TabNet's
    shared GLU layers are, is stored once and its other names recorded as
    aliases), non-persistent buffers, and the optimizer's state tensors.
    The rest of a net (optimizer hyper-parameters, plain module attributes
    such as TailDropout's mode, the net's scalar settings and its
    ``history``) is JSON in ``state.json``.

Loading executes nothing from the file. JSON and safetensors are parsed as
data; a class is reconstructed only if its name is a key of
:data:`ALLOWED_CLASSES` (the table maps names to modules that *this* file
imports, never to a dotted path read from the file), and it is rebuilt with
``cls.__new__`` plus its attribute dictionary: no ``__init__``,
``__setstate__``, ``__reduce__`` or any other method of it runs. Any other
class name fails with :class:`UntrustedClassError` before anything is
imported. A skorch net is not serialised as an object: after every other
attribute of its estimator is restored, ``estimator._new_net()`` (the bridge
method that builds an initialised, untrained net of the fitted architecture)
builds it and the saved weights, optimizer state and history are loaded
into it, so ``partial_fit`` continues exactly where the saved estimator was.
(Two things are not restored: callbacks' training state, and the validation
split of a net fitted with early stopping: ``_new_net`` builds a streaming
net, so a ``partial_fit`` after loading holds no rows out.)

Why not pickle (or ``torch.save``, which is pickle): unpickling runs whatever
callables the file names, so a model file from elsewhere is a program.
Why not ``skops.io``: it would still need the skorch net and the torch
modules and optimizer, which it can only handle by trusting their classes
and running their ``__setstate__`` (skorch's unpickles the modules with
pickle), and it adds a dependency (with its own dependencies) to do what a
short walk over ``vars(estimator)`` does here; safetensors is a small,
widely used format for tensors that other tools read too, and JSON is
readable with any text editor.

Pickle keeps working through :class:`PicklableNetMixin` (a base of the
bridge class): a pickle holds the net with its modules unwrapped from
``torch.compile`` (re-wrapped on unpickling) and without validation data.
"""

import base64
import errno
import functools
import importlib
import io
import json
import math
import os
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import torch

__all__ = [
    "ALLOWED_CLASSES",
    "FORMAT_VERSION",
    "PersistenceError",
    "PicklableNetMixin",
    "UntrustedClassError",
    "VersionMismatchError",
    "load",
    "save",
]

#: Name of the format, stored in every file's header.
FORMAT_NAME = "skgates"
#: Version of the layout described in the module docstring; bumped on any change.
FORMAT_VERSION = 1

_STATE = "state.json"
_ARRAYS = "arrays.safetensors"
_TENSORS = "tensors.safetensors"

#: The classes whose instances :func:`save` writes and :func:`load` rebuilds, by the
#: public dotted name stored in a file. This table is the whole allow-list: a name
#: that is not a key here is refused, and the modules imported are the ones written
#: here. An entry whose module cannot be imported (an optional part not installed)
#: is skipped. Add a class only if it is plain data once fitted (its instance
#: dictionary holds parameters and fitted values, no callables or open resources).
ALLOWED_CLASSES = {
    # skgates estimators
    "skgates.CancelOutSelector": ("skgates.cancelout", "CancelOutSelector"),
    "skgates.TailDropoutRanker": ("skgates.taildropout", "TailDropoutRanker"),
    "skgates.TabNetClassifier": ("skgates.tabnet", "TabNetClassifier"),
    "skgates.TabNetRegressor": ("skgates.tabnet", "TabNetRegressor"),
    "skgates.TabNetPretrainer": ("skgates.tabnet", "TabNetPretrainer"),
    "skgates.DropConnectClassifier": ("skgates.dropconnect", "DropConnectClassifier"),
    "skgates.DropConnectRegressor": ("skgates.dropconnect", "DropConnectRegressor"),
    "skgates.ContractiveAutoencoder": ("skgates.contractive", "ContractiveAutoencoder"),
    "skgates.StabilitySelector": ("skgates.stability", "StabilitySelector"),
    # skgates helpers held by fitted estimators
    "skgates._categorical.CategoricalEncoder": ("skgates._categorical", "CategoricalEncoder"),
    "skgates._scaling.ColumnStandardizer": ("skgates._scaling", "ColumnStandardizer"),
    # scikit-learn: preprocessing and simple models a meta-estimator or pipeline may hold
    "sklearn.preprocessing.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "sklearn.preprocessing.RobustScaler": ("sklearn.preprocessing", "RobustScaler"),
    "sklearn.preprocessing.MinMaxScaler": ("sklearn.preprocessing", "MinMaxScaler"),
    "sklearn.preprocessing.MaxAbsScaler": ("sklearn.preprocessing", "MaxAbsScaler"),
    "sklearn.preprocessing.LabelEncoder": ("sklearn.preprocessing", "LabelEncoder"),
    "sklearn.preprocessing.LabelBinarizer": ("sklearn.preprocessing", "LabelBinarizer"),
    "sklearn.preprocessing.OrdinalEncoder": ("sklearn.preprocessing", "OrdinalEncoder"),
    "sklearn.preprocessing.OneHotEncoder": ("sklearn.preprocessing", "OneHotEncoder"),
    "sklearn.impute.SimpleImputer": ("sklearn.impute", "SimpleImputer"),
    "sklearn.pipeline.Pipeline": ("sklearn.pipeline", "Pipeline"),
    "sklearn.feature_selection.SelectFromModel": ("sklearn.feature_selection", "SelectFromModel"),
    "sklearn.feature_selection.VarianceThreshold": ("sklearn.feature_selection", "VarianceThreshold"),
    "sklearn.linear_model.LogisticRegression": ("sklearn.linear_model", "LogisticRegression"),
    "sklearn.linear_model.LinearRegression": ("sklearn.linear_model", "LinearRegression"),
    "sklearn.linear_model.Ridge": ("sklearn.linear_model", "Ridge"),
    "sklearn.linear_model.RidgeClassifier": ("sklearn.linear_model", "RidgeClassifier"),
    "sklearn.linear_model.Lasso": ("sklearn.linear_model", "Lasso"),
    "sklearn.linear_model.ElasticNet": ("sklearn.linear_model", "ElasticNet"),
    # skorch callbacks a user may pass as ``callbacks`` (saved without their training state)
    "skorch.callbacks.EarlyStopping": ("skorch.callbacks", "EarlyStopping"),
    "skorch.callbacks.GradientNormClipping": ("skorch.callbacks", "GradientNormClipping"),
    "skorch.callbacks.LRScheduler": ("skorch.callbacks", "LRScheduler"),
    "skorch.callbacks.ProgressBar": ("skorch.callbacks", "ProgressBar"),
}

#: Per-fit scratch attributes of the bridge: never saved, never pickled (they hold rows).
_TRANSIENT_ATTRIBUTES = ("_train_codes_", "_pretrained")

# numpy dtype kinds stored natively in arrays.safetensors
_NATIVE_KINDS = "biuf"
_DTYPE_STRING = re.compile(r"^[<>|=]?[a-zA-Z][0-9]*(\[[0-9]*[a-zA-Z]+\])?$")
_PANDAS_ARRAY_DTYPES = (
    "str", "string", "string[python]", "string[pyarrow]", "boolean",
    "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
    "Float32", "Float64",
)
_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
_BUILTIN_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "object": object}
# A module's own bookkeeping: never restored from a file.
_MODULE_INTERNALS = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"})


class PersistenceError(ValueError):
    """A file is not a readable skgates save, or an estimator cannot be saved as asked."""


class UntrustedClassError(PersistenceError):
    """A file names a class outside :data:`ALLOWED_CLASSES` (nothing was imported or run)."""


class VersionMismatchError(PersistenceError):
    """A file was written by another format version or another skgates version."""


# ----------------------------------------------------------------- allow-list
def _resolve_allowed(name):
    """The class of an allow-listed name; UntrustedClassError for any other name."""
    if not isinstance(name, str) or name not in ALLOWED_CLASSES:
        raise UntrustedClassError(
            f"skgates.load: the file names the class {name!r}, which is not in the allow-list "
            "(skgates._persistence.ALLOWED_CLASSES); refusing to load it. Nothing was imported "
            "or executed."
        )
    module_name, attribute = ALLOWED_CLASSES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PersistenceError(
            f"skgates.load: the file holds a {name}, which this installation cannot import "
            f"({error})."
        ) from error
    return getattr(module, attribute)


@functools.lru_cache(maxsize=None)
def _names_by_class_cached(table):
    names = {}
    for name, (module_name, attribute) in table:
        try:
            cls = getattr(importlib.import_module(module_name), attribute)
        except Exception:  # noqa: BLE001 - an optional or broken part cannot be saved
            continue  # an optional part that is not there: nothing of it can be saved either
        names[cls] = name
    return names


def _allowed_name(cls):
    names = _names_by_class_cached(tuple(sorted(ALLOWED_CLASSES.items())))
    return names.get(cls)


# ------------------------------------------------------------------- encoding
class _Writer:
    """Collects arrays and tensors while the JSON tree is built."""

    def __init__(self):
        self.arrays = {}
        self.tensors = {}
        self._n_nets = 0

    def add_array(self, array):
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def net_prefix(self):
        prefix = f"net{self._n_nets}"
        self._n_nets += 1
        return prefix


def _unsupported(value, where):
    return PersistenceError(
        f"skgates.save: cannot save {where} (a {type(value).__module__}.{type(value).__qualname__}): "
        "skgates saves plain values, numpy/pandas data, torch tensors and instances of the "
        "allow-listed classes (skgates._persistence.ALLOWED_CLASSES) only. Pickle the "
        "estimator instead if it must hold such an object."
    )


def _encode(value, writer, where):
    if value is None or type(value) in (bool, str, int):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"__type__": "float", "value": repr(value)}
    if isinstance(value, list) and type(value) is list:
        return [_encode(item, writer, f"{where}[{i}]") for i, item in enumerate(value)]
    if type(value) is tuple:
        return {"__type__": "tuple",
                "items": [_encode(item, writer, f"{where}[{i}]") for i, item in enumerate(value)]}
    if type(value) is dict and all(type(k) is str and k != "__type__" for k in value):
        return {k: _encode(v, writer, f"{where}[{k!r}]") for k, v in value.items()}
    if type(value) is dict:
        return {"__type__": "dict",
                "items": [[_encode(k, writer, f"{where} key"), _encode(v, writer, f"{where}[{k!r}]")]
                          for k, v in value.items()]}
    if type(value) in (set, frozenset):
        return {"__type__": type(value).__name__,
                "items": [_encode(item, writer, f"{where} item") for item in value]}
    if isinstance(value, np.generic):
        return _encode_numpy_scalar(value, where)
    if isinstance(value, np.ndarray):
        return _encode_ndarray(value, writer, where)
    if isinstance(value, np.dtype):
        return {"__type__": "numpy.dtype", "dtype": _dtype_string(value, where)}
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"__type__": "numpy.type", "dtype": _dtype_string(np.dtype(value), where)}
    if value is print:  # the default ``sink`` of skorch's callbacks
        return {"__type__": "builtins.print"}
    if isinstance(value, type) and value in _BUILTIN_TYPES.values():
        return {"__type__": "builtins.type", "name": value.__name__}
    if isinstance(value, np.random.RandomState):
        return {"__type__": "numpy.random.RandomState",
                "state": _encode(value.get_state(legacy=True), writer, f"{where} state")}
    if isinstance(value, np.random.Generator):
        bit_generator = type(value.bit_generator).__name__
        if bit_generator not in _BIT_GENERATORS:
            raise _unsupported(value.bit_generator, f"{where} (its bit generator)")
        return {"__type__": "numpy.random.Generator", "bit_generator": bit_generator,
                "state": _encode(value.bit_generator.state, writer, f"{where} state")}
    if isinstance(value, pd.DataFrame):
        if type(value.columns) is pd.MultiIndex:
            raise _unsupported(value.columns, f"{where}.columns")
        return {"__type__": "pandas.DataFrame",
                "columns": _encode_index(value.columns, writer, f"{where}.columns"),
                "index": _encode_index(value.index, writer, f"{where}.index"),
                "data": [_encode_values(value.iloc[:, j], writer, f"{where}.iloc[:, {j}]")
                         for j in range(value.shape[1])]}
    if isinstance(value, pd.Series):
        return {"__type__": "pandas.Series", "name": _encode(value.name, writer, f"{where}.name"),
                "index": _encode_index(value.index, writer, f"{where}.index"),
                "values": _encode_values(value, writer, where)}
    if isinstance(value, pd.Index):
        return _encode_index(value, writer, where)
    if isinstance(value, torch.device):
        return {"__type__": "torch.device", "device": str(value)}
    if isinstance(value, torch.Tensor):
        key = f"attr{len(writer.tensors)}"
        writer.tensors[key] = value.detach().cpu().contiguous().clone()
        return {"__type__": "torch.Tensor", "data": key,
                "requires_grad": bool(value.requires_grad)}
    if _is_net(value):
        raise PersistenceError(
            f"skgates.save: {where} is a skorch net outside an estimator's attributes; only "
            "an estimator's own net (rebuilt by its _new_net) can be saved."
        )
    return _encode_object(value, writer, where)


def _encode_object(obj, writer, where):
    cls = type(obj)
    name = _allowed_name(cls)
    if name is None:
        raise _unsupported(obj, where)
    if getattr(cls, "__slots__", None) or not hasattr(obj, "__dict__"):
        raise _unsupported(obj, where)
    attributes, nets = {}, {}
    callback = _is_callback(obj)
    for key, item in vars(obj).items():
        if key in _TRANSIENT_ATTRIBUTES or (callback and key.endswith("_")):
            continue  # a skorch callback's "_" attributes are its state in a training run
        _check_attribute_name(key, f"{where}.{key}", PersistenceError)
        if _is_net(item):
            nets[key] = _encode_net(obj, item, writer, f"{where}.{key}")
        else:
            attributes[key] = _encode(item, writer, f"{where}.{key}")
    encoded = {"__type__": "object", "class": name, "attributes": attributes}
    if nets:
        encoded["nets"] = nets
    return encoded


def _is_callback(obj):
    try:
        from skorch.callbacks import Callback
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(obj, Callback)


def _check_attribute_name(key, where, error):
    if not isinstance(key, str) or not key.isidentifier() or (key.startswith("__") and key.endswith("__")):
        raise error(f"skgates: {where}: {key!r} is not a plain attribute name.")


def _dtype_string(dtype, where):
    if dtype.kind == "V" or dtype.fields is not None or dtype.subdtype is not None:
        raise PersistenceError(f"skgates.save: cannot save {where}: structured dtype {dtype}.")
    text = dtype.str
    if not _DTYPE_STRING.match(text):
        raise PersistenceError(f"skgates.save: cannot save {where}: dtype {dtype}.")
    return text


def _encode_numpy_scalar(value, where):
    dtype = value.dtype
    text = _dtype_string(dtype, where)
    if dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize <= 8):
        item = value.item()
        if dtype.kind == "f" and not math.isfinite(item):
            item = repr(item)
        return {"__type__": "numpy.scalar", "dtype": text, "value": item}
    if dtype.kind == "U":
        return {"__type__": "numpy.scalar", "dtype": text, "value": str(value)}
    return {"__type__": "numpy.scalar", "dtype": text,
            "bytes": base64.b64encode(value.tobytes()).decode("ascii")}


def _encode_ndarray(array, writer, where):
    dtype = array.dtype
    text = _dtype_string(dtype, where)
    encoded = {"__type__": "numpy.ndarray", "dtype": text, "shape": list(array.shape)}
    if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
        encoded["order"] = "F"
    flat = np.ascontiguousarray(array)
    if dtype.kind in _NATIVE_KINDS and not (dtype.kind == "f" and dtype.itemsize > 8):
        encoded["data"] = writer.add_array(flat.astype(dtype.newbyteorder("<"), copy=False))
    elif dtype.kind in "mM":
        encoded["data"] = writer.add_array(flat.view(np.int64).astype("<i8", copy=False))
    elif dtype.kind == "c" and dtype.itemsize <= 16:
        real = np.dtype(f"<f{dtype.itemsize // 2}")
        encoded["data"] = writer.add_array(flat.astype(dtype.newbyteorder("<")).view(real))
    elif dtype.kind == "U":
        encoded["items"] = [str(item) for item in flat.reshape(-1)]
    elif dtype.kind == "S":
        encoded["items"] = [base64.b64encode(bytes(item)).decode("ascii") for item in flat.reshape(-1)]
    elif dtype.kind == "O":
        encoded["items"] = [_encode(item, writer, f"{where}.flat[{i}]")
                            for i, item in enumerate(flat.reshape(-1))]
    else:
        raise PersistenceError(f"skgates.save: cannot save {where}: arrays of dtype {dtype}.")
    return encoded


def _encode_values(values, writer, where):
    """The values of a pandas Series/Index: a numpy array, or a pandas array by dtype name."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        return _encode_ndarray(np.asarray(values), writer, where)
    if isinstance(dtype, pd.CategoricalDtype):
        categorical = pd.Categorical(values)
        return {"__type__": "pandas.Categorical",
                "categories": _encode_index(categorical.categories, writer, f"{where}.categories"),
                "codes": _encode_ndarray(np.asarray(categorical.codes), writer, f"{where}.codes"),
                "ordered": bool(categorical.ordered)}
    name = str(dtype)
    if name not in _PANDAS_ARRAY_DTYPES:
        raise PersistenceError(f"skgates.save: cannot save {where}: pandas dtype {name}.")
    items = [None if value is pd.NA or (isinstance(value, float) and math.isnan(value))
             else _encode(value.item() if isinstance(value, np.generic) else value, writer, where)
             for value in pd.array(values)]
    return {"__type__": "pandas.array", "dtype": name, "items": items}


def _encode_index(index, writer, where):
    if type(index) is pd.RangeIndex:
        return {"__type__": "pandas.RangeIndex", "start": int(index.start), "stop": int(index.stop),
                "step": int(index.step), "name": _encode(index.name, writer, f"{where}.name")}
    if type(index) is pd.MultiIndex:
        raise _unsupported(index, where)
    return {"__type__": "pandas.Index", "name": _encode(index.name, writer, f"{where}.name"),
            "values": _encode_values(index, writer, where)}


# --------------------------------------------------------------- skorch nets
def _is_net(value):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(value, NeuralNet)


def _unwrap(module):
    return getattr(module, "_orig_mod", module)


def _encode_module(module, writer, prefix, where):
    """A module's tensors (shared ones once), non-persistent buffers and plain attributes."""
    module = _unwrap(module)
    names, aliases = {}, {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        if tensor is None:
            continue
        first = names.get(id(tensor))
        if first is not None:
            aliases[name] = first
            continue
        names[id(tensor)] = name
        # A copy: safetensors refuses tensors that share memory (views of one storage).
        writer.tensors[f"{prefix}/{name}"] = tensor.detach().cpu().contiguous().clone()
    tensors = {f"{prefix}/{name}": name for name in names.values()}
    buffers, attributes = {}, {}
    for sub_name, sub in module.named_modules():
        for buffer_name in sorted(sub._non_persistent_buffers_set):
            buffer = sub._buffers.get(buffer_name)
            if buffer is not None:
                full = f"{sub_name}.{buffer_name}" if sub_name else buffer_name
                key = f"{prefix}/nonpersistent/{full}"
                writer.tensors[key] = buffer.detach().cpu().contiguous().clone()
                buffers[key] = full
        plain = {key: value for key, value in vars(sub).items()
                 if key not in _MODULE_INTERNALS and (value is None or type(value) in (bool, int, str)
                                                      or (type(value) is float and math.isfinite(value)))}
        if plain:
            attributes[sub_name] = plain
    return {"tensors": tensors, "aliases": aliases, "buffers": buffers, "attributes": attributes}


def _encode_optimizer(optimizer, writer, prefix, where):
    state_dict = optimizer.state_dict()
    state = {}
    for index, values in state_dict["state"].items():
        entry = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensor_key = f"{prefix}/{index}/{key}"
                writer.tensors[tensor_key] = value.detach().cpu().contiguous().clone()
                entry[key] = {"__type__": "torch.Tensor", "data": tensor_key, "requires_grad": False}
            else:
                entry[key] = _encode(value, writer, f"{where} state {index}.{key}")
        state[str(index)] = entry
    return {"state": state,
            "param_groups": _encode(state_dict["param_groups"], writer, f"{where} param_groups")}


def _encode_net(owner, net, writer, where):
    if not callable(getattr(owner, "_new_net", None)):
        raise PersistenceError(
            f"skgates.save: {where} is a skorch net, but {type(owner).__name__} has no _new_net() "
            "to rebuild it on load."
        )
    prefix = writer.net_prefix()
    encoded = {"modules": {}, "criteria": {}, "optimizers": {}}
    for group, names in (("modules", net._modules), ("criteria", net._criteria)):
        for name in names:
            component = getattr(net, f"{name}_", None)
            if isinstance(component, torch.nn.Module):
                encoded[group][name] = _encode_module(
                    component, writer, f"{prefix}/{name}", f"{where}.{name}_")
    for name in net._optimizers:
        optimizer = getattr(net, f"{name}_", None)
        if isinstance(optimizer, torch.optim.Optimizer):
            encoded["optimizers"][name] = _encode_optimizer(
                optimizer, writer, f"{prefix}/{name}", f"{where}.{name}_")
    encoded["settings"] = {
        key: value for key, value in net.get_params(deep=False).items()
        if "__" not in key and (value is None or type(value) in (bool, int, str)
                                or (type(value) is float and math.isfinite(value)))
    }
    encoded["history"] = _encode(_plain_history(net.history), writer, f"{where}.history")
    return encoded


def _plain_history(history):
    return [dict(row) if isinstance(row, dict) else row for row in history]


# ------------------------------------------------------------------- decoding
class _Reader:
    def __init__(self, arrays, tensors):
        self.arrays = arrays
        self.tensors = tensors

    def array(self, key):
        if not isinstance(key, str) or key not in self.arrays:
            raise PersistenceError(f"skgates.load: the file refers to a missing array {key!r}.")
        return self.arrays[key]

    def tensor(self, key):
        if not isinstance(key, str) or key not in self.tensors:
            raise PersistenceError(f"skgates.load: the file refers to a missing tensor {key!r}.")
        return self.tensors[key]


def _malformed(what):
    return PersistenceError(f"skgates.load: malformed file: {what}.")


def _decode(value, reader):
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, list):
        return [_decode(item, reader) for item in value]
    if not isinstance(value, dict):
        raise _malformed(f"a value {str(value)[:80]}")
    if "__type__" not in value:  # a dict with str keys
        return {key: _decode(item, reader) for key, item in value.items()}
    kind = value["__type__"]
    if not isinstance(kind, str):
        raise _malformed(f"the type tag {str(kind)[:80]}")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UntrustedClassError(
            f"skgates.load: the file holds a value of unknown type {kind!r}; refusing to load it."
        )
    try:
        return decoder(value, reader)
    except PersistenceError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as error:
        raise _malformed(f"a {kind} entry could not be read ({type(error).__name__}: {error})") from error


def _decode_float(value, reader):
    text = value["value"]
    if text not in ("nan", "inf", "-inf"):
        raise _malformed(f"float {text!r}")
    return float(text)


def _decode_dtype(text):
    if not isinstance(text, str) or not _DTYPE_STRING.match(text):
        raise _malformed(f"dtype {text!r}")
    dtype = np.dtype(text)
    if dtype.kind == "V":
        raise _malformed(f"dtype {text!r}")
    return dtype


def _decode_numpy_scalar(value, reader):
    dtype = _decode_dtype(value["dtype"])
    if "bytes" in value:
        data = base64.b64decode(value["bytes"], validate=True)
        return np.frombuffer(data, dtype=dtype, count=1)[0].copy()
    item = value["value"]
    if dtype.kind == "f" and isinstance(item, str):
        item = _decode_float({"value": item}, reader)
    if dtype.kind in "biuf" and (isinstance(item, bool) != (dtype.kind == "b")
                                 or not isinstance(item, (int, float))):
        raise _malformed(f"numpy scalar {item!r} of dtype {dtype}")
    return np.array(item, dtype=dtype)[()]


def _decode_ndarray(value, reader):
    dtype = _decode_dtype(value["dtype"])
    shape = tuple(int(n) for n in value["shape"])
    if "data" in value:
        stored = reader.array(value["data"])
        if dtype.kind in "mM":
            array = stored.astype("<i8").view(dtype)
        elif dtype.kind == "c":
            array = stored.view(np.dtype(f"<c{stored.dtype.itemsize * 2}")).astype(dtype)
        elif dtype.kind in _NATIVE_KINDS:
            array = stored.astype(dtype)
        else:
            raise _malformed(f"array data of dtype {dtype}")
    else:
        items = value["items"]
        if not isinstance(items, list):
            raise _malformed("array items")
        if dtype.kind == "S":
            items = [base64.b64decode(item, validate=True) for item in items]
        elif dtype.kind == "O":
            items = [_decode(item, reader) for item in items]
        elif dtype.kind != "U" or not all(isinstance(item, str) for item in items):
            raise _malformed(f"array items of dtype {dtype}")
        array = np.empty(len(items), dtype=dtype)
        for i, item in enumerate(items):  # element by element: nested sequences stay objects
            array[i] = item
    array = array.reshape(shape)
    if value.get("order") == "F":
        return np.asfortranarray(array)
    return np.array(array, copy=True, order="C") if not array.flags.writeable else array


def _decode_values(value, reader):
    kind = value.get("__type__") if isinstance(value, dict) else None
    if kind == "numpy.ndarray":
        return _decode_ndarray(value, reader)
    if kind == "pandas.Categorical":
        categories = _decode_index(value["categories"], reader)
        codes = _decode_ndarray(value["codes"], reader)
        return pd.Categorical.from_codes(codes, categories=categories, ordered=bool(value["ordered"]))
    if kind == "pandas.array":
        dtype = value["dtype"]
        if dtype not in _PANDAS_ARRAY_DTYPES:
            raise _malformed(f"pandas dtype {dtype!r}")
        return pd.array([_decode(item, reader) for item in value["items"]], dtype=dtype)
    raise _malformed(f"column values of type {kind!r}")


def _decode_index(value, reader):
    if not isinstance(value, dict):
        raise _malformed("an index")
    kind = value.get("__type__")
    name = _decode(value.get("name"), reader)
    if kind == "pandas.RangeIndex":
        return pd.RangeIndex(int(value["start"]), int(value["stop"]), int(value["step"]), name=name)
    if kind == "pandas.Index":
        values = _decode_values(value["values"], reader)
        return pd.Index(values, name=name, dtype=values.dtype)
    raise _malformed(f"an index of type {kind!r}")


def _decode_dataframe(value, reader):
    columns = _decode_index(value["columns"], reader)
    index = _decode_index(value["index"], reader)
    data = [_decode_values(column, reader) for column in value["data"]]
    if len(data) != len(columns):
        raise _malformed("a DataFrame's columns")
    frame = pd.DataFrame({j: pd.Series(column, index=index, copy=False)
                          for j, column in enumerate(data)}, index=index)
    frame.columns = columns
    return frame


def _decode_series(value, reader):
    return pd.Series(_decode_values(value["values"], reader),
                     index=_decode_index(value["index"], reader),
                     name=_decode(value.get("name"), reader))


def _decode_random_state(value, reader):
    state = _decode(value["state"], reader)
    generator = np.random.RandomState()
    generator.set_state(state)
    return generator


def _decode_generator(value, reader):
    name = value["bit_generator"]
    if name not in _BIT_GENERATORS:
        raise UntrustedClassError(f"skgates.load: unknown bit generator {name!r}.")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = _decode(value["state"], reader)
    return np.random.Generator(bit_generator)


def _decode_tensor(value, reader):
    tensor = reader.tensor(value["data"]).clone()
    return tensor.requires_grad_(bool(value.get("requires_grad", False)))


def _decode_object(value, reader):
    cls = _resolve_allowed(value.get("class"))
    attributes = value["attributes"]
    nets = value.get("nets", {})
    if not isinstance(attributes, dict) or not isinstance(nets, dict):
        raise _malformed(f"attributes of a {value.get('class')}")
    obj = cls.__new__(cls)
    for key, item in attributes.items():
        _check_attribute_name(key, f"{value['class']}.{key}", _malformed_error)
        obj.__dict__[key] = _decode(item, reader)
    for key, net in nets.items():
        _check_attribute_name(key, f"{value['class']}.{key}", _malformed_error)
        obj.__dict__[key] = _decode_net(obj, net, reader, f"{value['class']}.{key}")
    return obj


def _malformed_error(message):
    return PersistenceError(f"skgates.load: malformed file: {message}")


def _decode_net(owner, encoded, reader, where):
    from skorch.history import History

    from ._seeding import torch_seeded

    new_net = getattr(owner, "_new_net", None)
    if not callable(new_net):
        raise _malformed(f"{where} is a net, but {type(owner).__name__} cannot build one")
    device = vars(owner).get("device_")
    if isinstance(device, torch.device):  # the net is rebuilt on it: one this machine has
        from ._devices import loaded_device

        owner.device_ = device = loaded_device(device, type(owner).__name__)
    try:
        # Initialising draws random weights: keep the caller's torch RNG untouched.
        with torch_seeded(0, device or "cpu"):
            net = new_net()
    except Exception as error:
        raise PersistenceError(
            f"skgates.load: could not rebuild the network of {where} from the saved attributes "
            f"({type(error).__name__}: {error})."
        ) from error
    for group in ("modules", "criteria"):
        for name, state in encoded[group].items():
            component = getattr(net, f"{name}_", None)
            if not isinstance(component, torch.nn.Module):
                raise _malformed(f"{where} has no {name}_ to load weights into")
            _load_module(_unwrap(component), state, reader, f"{where}.{name}_")
    for name, state in encoded["optimizers"].items():
        optimizer = getattr(net, f"{name}_", None)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise _malformed(f"{where} has no optimizer {name}_")
        state_dict = {
            "state": {int(index): {key: _decode(item, reader) for key, item in entry.items()}
                      for index, entry in state["state"].items()},
            "param_groups": _decode(state["param_groups"], reader),
        }
        try:
            optimizer.load_state_dict(state_dict)
        except (ValueError, KeyError, RuntimeError) as error:
            raise PersistenceError(
                f"skgates.load: the optimizer state of {where} does not fit the rebuilt network "
                f"({error})."
            ) from error
    current = net.get_params(deep=False)
    for key, item in encoded.get("settings", {}).items():
        if key in current and "__" not in key and current[key] != item and (
                item is None or type(item) in (bool, int, float, str)):
            setattr(net, key, item)
    net.history = History(_decode(encoded["history"], reader))
    return net


def _load_module(module, state, reader, where):
    tensors = {name: reader.tensor(key) for key, name in state["tensors"].items()}
    for alias, name in state["aliases"].items():
        if name not in tensors:
            raise _malformed(f"{where}: alias {alias!r} of a missing tensor {name!r}")
        tensors[alias] = tensors[name]
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise PersistenceError(
            f"skgates.load: the saved weights of {where} do not fit the rebuilt network ({error})."
        ) from error
    buffers = dict(module.named_buffers(remove_duplicate=False))
    for key, full in state["buffers"].items():
        if full not in buffers:
            raise _malformed(f"{where}: no buffer {full!r}")
        with torch.no_grad():
            buffers[full].copy_(reader.tensor(key))
    submodules = dict(module.named_modules())
    for sub_name, attributes in state["attributes"].items():
        sub = submodules.get(sub_name)
        if sub is None:
            raise _malformed(f"{where}: no submodule {sub_name!r}")
        for key, item in attributes.items():
            if key in _MODULE_INTERNALS or key not in vars(sub):
                continue  # only attributes this version's module has, and plain ones
            old = vars(sub)[key]
            if (old is None or type(old) in (bool, int, float, str)) and (
                    item is None or type(item) in (bool, int, float, str)):
                sub.__dict__[key] = item


_DECODERS = {
    "float": _decode_float,
    "tuple": lambda value, reader: tuple(_decode(item, reader) for item in value["items"]),
    "dict": lambda value, reader: {_decode(k, reader): _decode(v, reader) for k, v in value["items"]},
    "set": lambda value, reader: {_decode(item, reader) for item in value["items"]},
    "frozenset": lambda value, reader: frozenset(_decode(item, reader) for item in value["items"]),
    "numpy.scalar": _decode_numpy_scalar,
    "numpy.ndarray": _decode_ndarray,
    "numpy.dtype": lambda value, reader: _decode_dtype(value["dtype"]),
    "numpy.type": lambda value, reader: _decode_dtype(value["dtype"]).type,
    "builtins.type": lambda value, reader: _BUILTIN_TYPES[value["name"]],
    "builtins.print": lambda value, reader: print,
    "numpy.random.RandomState": _decode_random_state,
    "numpy.random.Generator": _decode_generator,
    "pandas.DataFrame": _decode_dataframe,
    "pandas.Series": _decode_series,
    "pandas.Index": _decode_index,
    "pandas.RangeIndex": _decode_index,
    "torch.device": lambda value, reader: torch.device(str(value["device"])),
    "torch.Tensor": _decode_tensor,
    "object": _decode_object,
}


# ------------------------------------------------------------------ the API
def _versions():
    import sklearn
    import skorch

    from . import __version__

    versions = {"skgates": __version__, "torch": torch.__version__, "numpy": np.__version__,
                "scikit-learn": sklearn.__version__, "skorch": skorch.__version__,
                "pandas": pd.__version__}
    return versions


def save(estimator, path):
    """Save an estimator (fitted or not) to one file, without pickle.

    Parameters
    ----------
    estimator : skgates estimator, or an allow-listed scikit-learn estimator holding some
        Anything whose class is in :data:`ALLOWED_CLASSES`, including
        meta-estimators and pipelines whose parts are.
    path : str, os.PathLike or binary file object
        Where to write; an existing file is replaced (the new file is written
        beside it first, so a failure leaves the old one intact).

    Raises
    ------
    PersistenceError
        An attribute holds something this format cannot describe (for
        example a callable or a class outside the allow-list); nothing is written.
    OSError
        The path cannot be written.

    See Also
    --------
    load : Read the file back.
    """
    from safetensors.numpy import save as save_arrays
    from safetensors.torch import save as save_tensors

    writer = _Writer()
    tree = _encode(estimator, writer, type(estimator).__name__)
    versions = _versions()
    header = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
              "skgates_version": versions.pop("skgates"), "library_versions": versions,
              "estimator": tree}
    try:
        state = json.dumps(header, allow_nan=False, indent=1, ensure_ascii=False).encode("utf-8")
    except ValueError as error:  # pragma: no cover - the encoder tags non-finite floats
        raise PersistenceError(f"skgates.save: {error}") from error
    arrays = save_arrays(writer.arrays, metadata={"format": FORMAT_NAME})
    tensors = save_tensors(writer.tensors, metadata={"format": FORMAT_NAME})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_STATE, state)
        archive.writestr(_ARRAYS, arrays)
        archive.writestr(_TENSORS, tensors)
    data = buffer.getvalue()
    if hasattr(path, "write"):
        path.write(data)
        return
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"skgates.save: cannot write {path!r}: it is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    partial = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    except OSError as error:
        try:
            os.remove(partial)
        except OSError:
            pass
        raise type(error)(
            error.errno, f"skgates.save: cannot write {path!r}: {error.strerror or error}"
        ) from error


def load(path, *, allow_version_mismatch=False):
    """Load an estimator written by :func:`save`, executing nothing from the file.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
    allow_version_mismatch : bool, default=False
        Load a file written by another skgates version (with a warning)
        instead of raising. The format version must always match.

    Returns
    -------
    estimator
        Equal to the saved one: parameters, fitted attributes, network weights,
        optimizer state and training history.

    Raises
    ------
    PersistenceError
        The file is not a skgates save, or is damaged.
    UntrustedClassError
        The file names a class outside :data:`ALLOWED_CLASSES`.
    VersionMismatchError
        The file's format version, or skgates version, differs from this one's.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_arrays
    from safetensors.torch import load as load_tensors

    from . import __version__

    name = getattr(path, "name", None) if hasattr(path, "read") else os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if not {_STATE, _ARRAYS, _TENSORS} <= members:
                raise PersistenceError(
                    f"skgates.load: {name!r} is not a skgates save (it lacks "
                    f"{', '.join(sorted({_STATE, _ARRAYS, _TENSORS} - members))})."
                )
            state = archive.read(_STATE)
            arrays = archive.read(_ARRAYS)
            tensors = archive.read(_TENSORS)
    except zipfile.BadZipFile as error:
        raise PersistenceError(f"skgates.load: {name!r} is not a skgates save ({error}).") from error
    try:
        header = json.loads(state.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PersistenceError(f"skgates.load: {name!r} has an unreadable {_STATE} ({error}).") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise PersistenceError(f"skgates.load: {name!r} is not a skgates save (no skgates header).")
    if header.get("format_version") != FORMAT_VERSION:
        raise VersionMismatchError(
            f"skgates.load: {name!r} has format version {header.get('format_version')!r}; this "
            f"skgates ({__version__}) reads format version {FORMAT_VERSION} only."
        )
    if header.get("skgates_version") != __version__:
        message = (f"skgates.load: {name!r} was written by skgates "
                   f"{header.get('skgates_version')!r}, this is skgates {__version__}")
        if not allow_version_mismatch:
            raise VersionMismatchError(
                message + "; pass allow_version_mismatch=True to load it anyway."
            )
        warnings.warn(message + ".", UserWarning, stacklevel=2)
    try:
        reader = _Reader(load_arrays(arrays), load_tensors(tensors))
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise PersistenceError(f"skgates.load: {name!r} has unreadable tensors ({error}).") from error
    if "estimator" not in header:
        raise _malformed("no estimator")
    return _decode(header["estimator"], reader)


# --------------------------------------------------------------------- pickle
def _holds_data(split):
    """Whether a skorch ``train_split`` carries a dataset (``predefined_split`` does)."""
    if not isinstance(split, functools.partial):
        return False
    values = [*split.args, *split.keywords.values()]
    return any(isinstance(v, (torch.utils.data.Dataset, torch.Tensor, np.ndarray, pd.DataFrame))
               for v in values)


def _portable_net(net):
    """A shallow copy of ``net`` that pickles: modules unwrapped from torch.compile, no rows."""
    portable = object.__new__(type(net))
    portable.__dict__.update(net.__dict__)
    compiled = []
    for key, value in net.__dict__.items():
        if isinstance(value, torch.nn.Module) and isinstance(
                getattr(value, "_orig_mod", None), torch.nn.Module):
            portable.__dict__[key] = value._orig_mod
            compiled.append(key)
    if compiled:
        portable.__dict__["_skgates_compiled_"] = compiled
    # skorch keeps the module instance it was given as a parameter, the very object it
    # trains (module_): pickled as it is, it would travel twice, and outside skorch's
    # device mapping (a GPU fit would not unpickle on a CPU machine).
    shared = [name for name in (*net._modules, *net._criteria)
              if portable.__dict__.get(name) is not None
              and portable.__dict__.get(name) is portable.__dict__.get(name + "_")]
    for name in shared:
        portable.__dict__[name] = None
    if shared:
        portable.__dict__["_skgates_shared_"] = shared
    if _holds_data(net.__dict__.get("train_split")):
        portable.__dict__["train_split"] = None
    return portable


class PicklableNetMixin:
    """Make an estimator holding a skorch net pickle, including ``compile=True`` fits.

    On pickling, each skorch net among the estimator's attributes is replaced,
    in the pickled state only (the live estimator is not changed), by a
    shallow copy whose ``torch.compile`` wrappers are removed (a compiled
    module cannot be pickled) and whose ``train_split`` drops a validation
    dataset (skorch's ``predefined_split`` keeps one, so every pickle would
    carry those rows). The bridge's per-fit scratch attributes are left out
    too. On unpickling, the modules that were compiled are wrapped again with
    ``torch.compile(module, dynamic=False)`` (recompiled lazily, on the next
    training step).

    Put it before ``BaseEstimator`` among the bases:
    ``class BaseNetworkEstimator(PicklableNetMixin, BaseEstimator)``.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())
        for key in _TRANSIENT_ATTRIBUTES:
            state.pop(key, None)
        for key, value in state.items():
            if _is_net(value):
                state[key] = _portable_net(value)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(vars(self).get("device_"), torch.device):
            from ._devices import loaded_device

            self.device_ = loaded_device(self.device_, type(self).__name__)
        for value in list(vars(self).values()):
            if _is_net(value):
                for name in value.__dict__.pop("_skgates_shared_", ()):
                    value.__dict__[name] = value.__dict__[name + "_"]
                for key in value.__dict__.pop("_skgates_compiled_", ()):
                    value.__dict__[key] = torch.compile(value.__dict__[key], dynamic=False)
