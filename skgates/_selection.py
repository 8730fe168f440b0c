"""``threshold`` / ``max_features`` selection, with :class:`~sklearn.feature_selection.SelectFromModel`'s meaning."""

import numbers
import re

import numpy as np

_SCALED_REFERENCE = re.compile(r"^\s*([0-9.eE+-]+)\s*\*\s*(mean|median)\s*$")


def resolve_threshold(threshold, importances, default):
    """Turn ``threshold`` into a number.

    Parameters
    ----------
    threshold : float, str or None
        A number; ``"mean"`` or ``"median"`` of the importances; a scaled
        reference such as ``"1.5*mean"``; or None for ``default``.
    importances : ndarray of shape (n_features,)
    default : float or str
        Used when ``threshold`` is None.
    """
    if threshold is None:
        threshold = default
    if isinstance(threshold, str):
        match = _SCALED_REFERENCE.match(threshold)
        scale, reference = (float(match.group(1)), match.group(2)) if match else (1.0, threshold.strip())
        if reference == "mean":
            return scale * float(np.mean(importances))
        if reference == "median":
            return scale * float(np.median(importances))
        raise ValueError(
            f"threshold {threshold!r} is not understood; use a number, 'mean', 'median' "
            "or a scaled reference such as '1.5*mean'."
        )
    if not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number, a string or None, got {type(threshold).__name__}.")
    return float(threshold)


def check_max_features(max_features, n_features, estimator_name):
    """Check ``max_features`` is None or an int in ``[0, n_features]``."""
    if max_features is None:
        return
    if not isinstance(max_features, numbers.Integral) or isinstance(max_features, bool):
        raise TypeError(
            f"{estimator_name}: max_features must be an int or None, got {max_features!r}."
        )
    if not 0 <= max_features <= n_features:
        raise ValueError(
            f"{estimator_name}: max_features must be between 0 and the number of "
            f"features ({n_features}), got {max_features}."
        )


def support_mask(importances, threshold, max_features, default_threshold):
    """Boolean mask of the selected features.

    As in ``SelectFromModel``: features whose importance is at least the
    threshold are kept, then at most ``max_features`` of them, the most
    important first (ties keep the earlier column). When ``max_features`` is
    set and ``threshold`` is None, only ``max_features`` limits the selection.
    """
    importances = np.asarray(importances, dtype=np.float64)
    if threshold is None and max_features is not None:
        cutoff = -np.inf
    else:
        cutoff = resolve_threshold(threshold, importances, default_threshold)
    mask = importances >= cutoff
    if max_features is not None:
        order = np.argsort(-importances, kind="stable")
        top = np.zeros_like(mask)
        top[order[:max_features]] = True
        mask &= top
    return mask
