"""What every Display shares: the matplotlib check, the estimator's attributes, axes."""

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted


def check_matplotlib_support(caller_name):
    """Raise an ``ImportError`` that says how to install matplotlib.

    Parameters
    ----------
    caller_name : str
        What needs matplotlib, e.g. ``"ImportanceDisplay.plot"``.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib, an optional dependency of skgates: "
            "install it with `pip install skgates[plot]` (or `pip install matplotlib`)."
        ) from exc


def fitted_attribute(estimator, attribute, caller_name, hint=""):
    """``estimator.<attribute>``, or a clear error naming what is missing.

    An unfitted estimator raises :class:`~sklearn.exceptions.NotFittedError`;
    a fitted one without the attribute raises ``AttributeError``. Both name
    the attribute that ``caller_name`` draws; ``hint`` says which estimators
    have it.
    """
    name = type(estimator).__name__
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(
            f"This {name} instance is not fitted yet: call `fit` before {caller_name}, "
            f"which draws its `{attribute}` attribute."
        ) from None
    except (TypeError, AttributeError):  # not a scikit-learn estimator: duck typing
        pass
    try:
        return getattr(estimator, attribute)
    except NotFittedError:
        raise NotFittedError(
            f"This {name} instance is not fitted yet: call `fit` before {caller_name}, "
            f"which draws its `{attribute}` attribute."
        ) from None
    except AttributeError:
        raise AttributeError(
            f"{caller_name} draws the `{attribute}` attribute, which {name} does not have"
            f"{'; ' + hint if hint else ''}."
        ) from None


def feature_names(estimator, n_features):
    """``feature_names_in_`` when the estimator has it, else ``x0, x1, ...``."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and len(names) == n_features:
        return np.asarray([str(n) for n in names], dtype=object)
    return np.asarray([f"x{j}" for j in range(n_features)], dtype=object)


def check_feature_names(names, n_features, caller_name):
    """``names`` as an object array of ``n_features`` strings (None: ``x0, x1, ...``)."""
    if names is None:
        return np.asarray([f"x{j}" for j in range(n_features)], dtype=object)
    names = np.asarray([str(n) for n in names], dtype=object)
    if len(names) != n_features:
        raise ValueError(
            f"{caller_name}: feature_names has {len(names)} entries for {n_features} features."
        )
    return names


def axes_and_figure(ax, **subplots_kw):
    """``(ax, figure)``: the given axes and its figure, or a new figure with one axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        figure, ax = plt.subplots(layout="constrained", **subplots_kw)
        return ax, figure
    return ax, ax.figure
