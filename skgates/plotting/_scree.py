"""ScreeDisplay: TailDropoutRanker's held-out loss of every prefix of its ranking."""

import numbers

import numpy as np

from ._base import axes_and_figure, check_matplotlib_support, feature_names, fitted_attribute


class ScreeDisplay:
    """The scree curve of a ranking: held-out loss with the first ``k`` ranked columns.

    ``k`` runs from 0 (no column) to all of them; the chosen ``k`` (the knee)
    is marked with a dashed vertical line and a dot. With at most 40 columns
    the ticks name the column that joins at each ``k``. Build it with
    :meth:`from_estimator`; all parameters are stored as attributes.

    Parameters
    ----------
    scree : array-like of shape (n_features + 1,)
        ``scree[k]``: held-out loss with the first ``k`` ranked columns.
    n_features_selected : int, default=None
        The chosen ``k``; None marks none.
    added_features : array-like of str of shape (n_features,), default=None
        The column that joins at ``k = 1, 2, ...`` (the ranking, best first);
        None labels the ticks with ``k`` only.
    name : str, default=None
        Name of the estimator, used in the title.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The curve: x is ``k``, y is ``scree``.
    knee_line_ : matplotlib.lines.Line2D or None
        The vertical line at the chosen ``k``.
    knee_marker_ : matplotlib.lines.Line2D or None
        The dot on the curve at the chosen ``k``.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    See Also
    --------
    skgates.TailDropoutRanker : Learns the ranking and the scree curve.
    ImportanceDisplay : The ranker's Shapley values with their standard errors.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skgates.plotting import ScreeDisplay
    >>> display = ScreeDisplay([0.69, 0.40, 0.21, 0.20], n_features_selected=2).plot()
    >>> display.line_.get_ydata().tolist()
    [0.69, 0.4, 0.21, 0.2]
    """

    def __init__(self, scree, *, n_features_selected=None, added_features=None, name=None):
        self.scree = scree
        self.n_features_selected = n_features_selected
        self.added_features = added_features
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None):
        """Draw the scree curve of a fitted :class:`~skgates.TailDropoutRanker`.

        Parameters
        ----------
        estimator : fitted :class:`~skgates.TailDropoutRanker`
            Any fitted estimator with ``scree_`` (the held-out loss for
            ``k = 0..n_features`` columns); its ``n_features_`` is marked and
            its ``order_`` names the ticks.
        name : str, default=None
            Name for the title; None uses the estimator's class name.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.

        Returns
        -------
        display : ScreeDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(caller)
        scree = np.asarray(fitted_attribute(estimator, "scree_", caller,
                                            "pass a fitted skgates.TailDropoutRanker"),
                           dtype=np.float64)
        added = None
        order = getattr(estimator, "order_", None)
        if order is not None:
            added = feature_names(estimator, len(order))[np.asarray(order)]
        display = cls(scree, n_features_selected=getattr(estimator, "n_features_", None),
                      added_features=added,
                      name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax)

    def plot(self, *, ax=None):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.

        Returns
        -------
        display : ScreeDisplay
            ``self``, with ``line_``, ``knee_line_``, ``knee_marker_``, ``ax_`` and ``figure_`` set.
        """
        caller = f"{type(self).__name__}.plot"
        check_matplotlib_support(caller)
        scree = np.asarray(self.scree, dtype=np.float64).ravel()
        ks = np.arange(len(scree))
        ax, figure = axes_and_figure(ax)
        (self.line_,) = ax.plot(ks, scree, marker="o", markersize=3, color="C0",
                                label="held-out loss")
        self.knee_line_ = self.knee_marker_ = None
        k = self.n_features_selected
        if k is not None:
            if not isinstance(k, numbers.Integral) or not 0 <= k < len(scree):
                raise ValueError(f"{caller}: n_features_selected must be an int in "
                                 f"[0, {len(scree) - 1}], got {k!r}.")
            self.knee_line_ = ax.axvline(k, color="C3", linestyle="--", linewidth=1.2,
                                         label=f"chosen k = {k}")
            (self.knee_marker_,) = ax.plot([k], [scree[k]], "o", color="C3", markersize=7,
                                           zorder=3)
        if self.added_features is not None and len(scree) <= 41:
            added = list(self.added_features)
            if len(added) != len(scree) - 1:
                raise ValueError(f"{caller}: added_features has {len(added)} entries for a "
                                 f"scree curve of {len(scree)} points.")
            ax.set_xticks(ks, ["none"] + [f"+{name}" for name in added], rotation=90,
                          fontsize="small")
            ax.set_xlabel("k: the first k ranked columns (tick: the column added at k)")
        else:
            ax.set_xlabel("k: the first k ranked columns")
        ax.set_ylabel("held-out loss")
        ax.set_title("Scree curve" if self.name is None else f"{self.name}: scree curve")
        ax.legend(loc="upper right", fontsize="small")
        self.ax_ = ax
        self.figure_ = figure
        return self
