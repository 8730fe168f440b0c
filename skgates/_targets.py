"""Decide the learning task from ``y`` and encode targets for torch."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.multiclass import check_classification_targets, type_of_target

TASKS = ("auto", "classification", "regression")

_CLASSIFICATION_TYPES = ("binary", "multiclass")
_REGRESSION_TYPES = ("continuous", "continuous-multioutput")


def resolve_task(task, y, estimator_name):
    """Return ``"classification"`` or ``"regression"`` for targets ``y``.

    Parameters
    ----------
    task : {"auto", "classification", "regression"}
        ``"auto"`` infers the task with :func:`sklearn.utils.multiclass.type_of_target`:
        binary and multiclass targets are classification, continuous ones
        (single or multi-output) regression.
    y : array-like
        Training targets.
    estimator_name : str
        Used in error messages.
    """
    if task not in TASKS:
        raise ValueError(
            f"{estimator_name}: unknown task {task!r}; expected one of {', '.join(map(repr, TASKS))}."
        )
    if task != "auto":
        return task
    kind = type_of_target(y, input_name="y")
    if kind in _CLASSIFICATION_TYPES:
        return "classification"
    if kind in _REGRESSION_TYPES:
        return "regression"
    raise ValueError(
        f"Unknown label type {kind!r}: {estimator_name} cannot infer a task from y. Pass "
        "task='classification' (single-output labels) or task='regression' "
        "(numeric targets, one column per output)."
    )


def check_enough_classes(classes, estimator_name):
    """Refuse a classification target with a single class."""
    if len(classes) < 2:
        raise ValueError(
            f"{estimator_name} needs at least 2 classes in y to train a classifier; "
            f"got 1 class ({np.asarray(classes).tolist()[0]!r})."
        )


def encode_labels(y, classes, estimator_name):
    """Map labels to their indices in the sorted array ``classes``.

    Raises a ``ValueError`` naming the labels that are not in ``classes``.
    """
    codes = np.searchsorted(classes, y)
    codes = np.clip(codes, 0, len(classes) - 1)
    unknown = classes[codes] != y
    if np.any(unknown):
        raise ValueError(
            f"{estimator_name}: y contains labels not in classes {classes.tolist()}: "
            f"{sorted(set(np.asarray(y)[unknown].tolist()))}."
        )
    return codes


# ------------------------------------------------------------------ multi-task labels
def label_columns(y):
    """The columns of a 2-D label target ``Y`` with two or more columns, else None.

    Returns ``(columns, names)``: one 1-D array per task (a DataFrame's
    columns keep their own dtypes; an object column of one type, such as a
    nullable integer column, becomes an array of that type) and a name per
    task for messages (``"column 2"``, or ``"column 'city'"`` for a DataFrame).
    A 1-D ``y`` and a single column return None: one task, as before.
    """
    if sp.issparse(y):
        raise TypeError("a sparse y is not supported; pass a dense array of labels.")
    if hasattr(y, "iloc") and getattr(y, "ndim", 1) == 2:
        if y.shape[1] < 2:
            return None
        columns = [y.iloc[:, t].to_numpy() for t in range(y.shape[1])]
        names = [f"column {name!r}" for name in y.columns]
    else:
        array = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=None)
        if array.ndim != 2 or array.shape[1] < 2:
            return None
        columns = [array[:, t] for t in range(array.shape[1])]
        names = [f"column {t}" for t in range(array.shape[1])]
    return [_homogeneous(column) for column in columns], names


def _homogeneous(column):
    """An object column whose labels share one type as an array of that type."""
    column = np.asarray(column)
    if column.dtype != object or len(column) == 0 or pd.isna(column).any():
        return column
    kinds = {type(value) for value in column}
    if len(kinds) != 1:
        return column  # mixed types: check_classification_targets names the problem
    converted = np.asarray(column.tolist())
    return converted if converted.ndim == 1 and converted.dtype != object else column


def check_task_labels(column, task, where, estimator_name):
    """Refuse NaN/None labels and non-label values in one task's column."""
    prefix = f"{estimator_name}: task {task} of Y ({where})"
    if column.dtype.kind == "f" and not np.all(np.isfinite(column)):
        raise ValueError(f"{prefix} contains NaN or infinity; every label must be given.")
    if column.dtype == object and pd.isna(column).any():
        raise ValueError(f"{prefix} contains NaN or None labels; every label must be given.")
    try:
        check_classification_targets(column)
    except ValueError as error:
        raise ValueError(f"{prefix}: {error}") from None


def task_classes(column, classes, task, where, estimator_name):
    """The sorted classes of one task (from ``classes`` when given); at least two."""
    found = np.unique(column) if classes is None else np.unique(np.asarray(classes))
    if len(found) < 2:
        which = f"a single class ({found.tolist()[0]!r})" if len(found) else "no classes"
        raise ValueError(
            f"{estimator_name}: task {task} of Y ({where}) has {which}; every task needs at "
            "least 2 classes to train a classifier."
        )
    return found


def encode_task_labels(column, classes, task, where, estimator_name):
    """Codes of one task's labels in its ``classes``; names the task for unknown labels."""
    try:
        return encode_labels(column, classes, estimator_name)
    except (ValueError, TypeError) as error:
        message = str(error)
        prefix = f"{estimator_name}: "
        raise ValueError(f"{prefix}task {task} of Y ({where}): "
                         f"{message[len(prefix):] if message.startswith(prefix) else message}"
                         ) from None


def stack_labels(columns):
    """Per-task label arrays as one ``(n_samples, n_tasks)`` array.

    The common dtype of the tasks' classes (ints stay ints, strings strings);
    object when the tasks' label types differ (ints in one task, strings in
    another), so every label keeps its own type.
    """
    kinds = {np.asarray(column).dtype.kind for column in columns}
    if len(kinds) == 1 and "O" not in kinds:
        return np.column_stack(columns)
    stacked = np.empty((len(columns[0]), len(columns)), dtype=object)
    for t, column in enumerate(columns):
        stacked[:, t] = column
    return stacked


def subset_accuracy(Y_true, Y_pred, sample_weight=None):
    """Fraction of rows whose labels are right in every task (weighted by ``sample_weight``).

    What :meth:`sklearn.multioutput.MultiOutputClassifier.score` computes, and
    what :func:`sklearn.metrics.accuracy_score` computes for binary
    (multilabel-indicator) targets.
    """
    right = np.all(np.asarray(Y_true, dtype=object) == np.asarray(Y_pred, dtype=object), axis=1)
    return float(np.average(right, weights=sample_weight))


class MultiTaskCrossEntropy(torch.nn.Module):
    """Per-row, per-task cross-entropy of concatenated task logits.

    The network's outputs are the logits of every task side by side
    (``sizes[t]`` columns for task ``t``, the task's own linear head); the
    loss of row ``i`` and task ``t`` is the cross-entropy of task ``t``'s
    logits against its class code ``y[i, t]``.

    Parameters
    ----------
    sizes : sequence of int
        Number of classes of each task.

    Shape
    -----
    - Input: logits ``(n, sum(sizes))``, codes ``(n, n_tasks)`` (int64).
    - Output: ``(n, n_tasks)``, unreduced: the bridge's loss is the mean
      over tasks of each task's (weighted) mean over rows.
    """

    def __init__(self, sizes):
        super().__init__()
        self.sizes = tuple(int(size) for size in sizes)

    def forward(self, logits, codes):
        parts = torch.split(logits, self.sizes, dim=1)
        return torch.stack([
            torch.nn.functional.cross_entropy(part, codes[:, t], reduction="none")
            for t, part in enumerate(parts)
        ], dim=1)
