"""Decide the learning task from ``y`` and encode targets for torch."""

import numpy as np
from sklearn.utils.multiclass import type_of_target

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
