"""StabilityPathDisplay: selection probability of every column against the subset size."""

import numpy as np

from ._base import (
    axes_and_figure, check_feature_names, check_matplotlib_support, feature_names,
    fitted_attribute,
)


class StabilityPathDisplay:
    """The stability path of a stability selection.

    Each resampled fit keeps its ``k`` most important columns; a column's
    selection probability at ``k`` is the fraction of fits that kept it. One
    line per column against ``k``: the selected columns in colour and
    labelled, the others in grey; the probability threshold is a dashed
    horizontal line and the ``k`` the selection used (``n_features_per_fit_``)
    a dotted vertical one. Build it with :meth:`from_estimator`; all
    parameters are stored as attributes.

    Parameters
    ----------
    stability_path : array-like of shape (n_sizes, n_features)
        Selection probability of each column (columns) at each size (rows).
    path_sizes : array-like of shape (n_sizes,)
        The subset sizes ``k`` of the rows of ``stability_path``.
    threshold : float, default=None
        The probability a column needs to be selected; None draws no line.
    n_features_per_fit : float, default=None
        The ``k`` each fit selected with; None draws no line.
    support : array-like of bool of shape (n_features,), default=None
        The selected columns; None highlights none.
    feature_names : array-like of str of shape (n_features,), default=None
        Column names; None means ``x0, x1, ...``.
    name : str, default=None
        Name of the estimator, used in the title.

    Attributes
    ----------
    lines_ : ndarray of matplotlib.lines.Line2D of shape (n_features,)
        The path of each column (``lines_[j]`` is column ``j``).
    threshold_line_ : matplotlib.lines.Line2D or None
        The threshold line.
    per_fit_line_ : matplotlib.lines.Line2D or None
        The vertical line at ``n_features_per_fit``.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    See Also
    --------
    ImportanceDisplay : Bars of ``feature_importances_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skgates.plotting import StabilityPathDisplay
    >>> path = np.array([[0.9, 0.1, 0.0], [1.0, 0.6, 0.4], [1.0, 0.9, 1.0]])
    >>> display = StabilityPathDisplay(path, [1, 2, 3], threshold=0.8,
    ...                                support=[True, False, False]).plot()
    >>> display.lines_[0].get_ydata().tolist()
    [0.9, 1.0, 1.0]
    """

    def __init__(self, stability_path, path_sizes, *, threshold=None, n_features_per_fit=None,
                 support=None, feature_names=None, name=None):
        self.stability_path = stability_path
        self.path_sizes = path_sizes
        self.threshold = threshold
        self.n_features_per_fit = n_features_per_fit
        self.support = support
        self.feature_names = feature_names
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, label_selected=True):
        """Draw the stability path of a fitted stability selection.

        Parameters
        ----------
        estimator : fitted :class:`skgates.StabilitySelector`
            Any fitted estimator with ``stability_path_`` and ``path_sizes_``;
            its ``threshold`` and ``n_features_per_fit_`` are drawn and its
            ``get_support()`` highlighted.
        name : str, default=None
            Name for the title; None uses the estimator's class name.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.
        label_selected : bool, default=True
            Write the names of the selected columns in the legend.

        Returns
        -------
        display : StabilityPathDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(caller)
        hint = "pass a fitted skgates.StabilitySelector"
        path = np.asarray(fitted_attribute(estimator, "stability_path_", caller, hint),
                          dtype=np.float64)
        sizes = np.asarray(fitted_attribute(estimator, "path_sizes_", caller, hint))
        threshold = getattr(estimator, "threshold_", getattr(estimator, "threshold", None))
        threshold = float(threshold) if threshold is not None else None
        support = (np.asarray(estimator.get_support(), dtype=bool)
                   if hasattr(estimator, "get_support") else None)
        per_fit = getattr(estimator, "n_features_per_fit_", None)
        display = cls(path, sizes, threshold=threshold, support=support,
                      n_features_per_fit=None if per_fit is None else float(per_fit),
                      feature_names=feature_names(estimator, path.shape[1]),
                      name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax, label_selected=label_selected)

    def plot(self, *, ax=None, label_selected=True):
        """Draw the paths.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.
        label_selected : bool, default=True
            Write the names of the selected columns in the legend.

        Returns
        -------
        display : StabilityPathDisplay
            ``self``, with ``lines_``, ``threshold_line_``, ``ax_`` and ``figure_`` set.
        """
        caller = f"{type(self).__name__}.plot"
        check_matplotlib_support(caller)
        path = np.asarray(self.stability_path, dtype=np.float64)
        sizes = np.asarray(self.path_sizes)
        if path.ndim != 2 or path.shape[0] != len(sizes):
            raise ValueError(
                f"{caller}: stability_path must have shape (len(path_sizes), n_features) = "
                f"({len(sizes)}, n_features), got {path.shape}."
            )
        n_features = path.shape[1]
        names = check_feature_names(self.feature_names, n_features, caller)
        support = (np.zeros(n_features, dtype=bool) if self.support is None
                   else np.asarray(self.support, dtype=bool))
        ax, figure = axes_and_figure(ax)
        lines = np.empty(n_features, dtype=object)
        highlighted = 0
        for j in range(n_features):  # grey first, so the selected columns lie on top
            if not support[j]:
                (lines[j],) = ax.plot(sizes, path[:, j], color="0.7", linewidth=0.8, zorder=1)
        for j in np.flatnonzero(support):
            label = names[j] if label_selected else None
            (lines[j],) = ax.plot(sizes, path[:, j], color=f"C{highlighted % 10}",
                                  linewidth=2, zorder=2, label=label)
            highlighted += 1
        self.threshold_line_ = None
        if self.threshold is not None:
            self.threshold_line_ = ax.axhline(self.threshold, color="C3", linestyle="--",
                                              linewidth=1.2, zorder=3,
                                              label=f"threshold = {self.threshold:.3g}")
        self.per_fit_line_ = None
        if self.n_features_per_fit is not None:
            q = self.n_features_per_fit
            self.per_fit_line_ = ax.axvline(q, color="0.3", linestyle=":", linewidth=1.2,
                                            zorder=3, label=f"k of the selection = {q:.3g}")
        ax.set_xlabel("columns kept by each resampled fit (k)")
        ax.set_ylabel("selection probability")
        ax.set_ylim(-0.02, 1.02)
        title = "Stability path"
        ax.set_title(title if self.name is None else f"{self.name}: stability path")
        if highlighted or self.threshold_line_ is not None or self.per_fit_line_ is not None:
            ax.legend(loc="lower right", fontsize="small",
                      ncols=1 if highlighted < 8 else 2)
        self.lines_ = lines
        self.ax_ = ax
        self.figure_ = figure
        return self
