"""TabNetMaskDisplay: heat maps of TabNet's attention masks for a set of rows."""

import numpy as np

from ._base import check_feature_names, check_matplotlib_support, feature_names, fitted_attribute


class TabNetMaskDisplay:
    """TabNet's attention for a set of rows: one heat map per decision step, then the aggregate.

    Each panel has the rows as lines and the columns as columns; a cell is
    the weight the step's mask (or the aggregate importance) gave that
    column for that row, every row summing to 1. All panels share one colour
    scale, from 0 to the largest weight drawn. Build it with
    :meth:`from_estimator`; all parameters are stored as attributes.

    Parameters
    ----------
    aggregate : array-like of shape (n_rows, n_features)
        Aggregate importance of each column for each row.
    masks : array-like of shape (n_steps, n_rows, n_features)
        The mask of each decision step.
    feature_names : array-like of str of shape (n_features,), default=None
        Column names; None means ``x0, x1, ...``.
    row_labels : array-like of str of shape (n_rows,), default=None
        Labels of the rows; None means ``0, 1, ...``.
    name : str, default=None
        Name of the estimator, used in the title.

    Attributes
    ----------
    axes_ : ndarray of matplotlib.axes.Axes of shape (n_steps + 1,)
        One panel per step (``axes_[i]`` is step ``i + 1``), the aggregate last.
    images_ : ndarray of matplotlib.image.AxesImage of shape (n_steps + 1,)
        The heat maps, in the order of ``axes_``.
    colorbar_ : matplotlib.colorbar.Colorbar
        The shared colour scale.
    ax_ : matplotlib.axes.Axes
        The aggregate panel (``axes_[-1]``).
    bounding_ax_ : matplotlib.axes.Axes or None
        The axes that was split into the panels, when one was passed as ``ax``.
    figure_ : matplotlib.figure.Figure
        The figure holding the panels.

    See Also
    --------
    skgates.TabNetClassifier.explain : The masks drawn here.
    ImportanceDisplay : The aggregate importances over the training rows.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skgates.plotting import TabNetMaskDisplay
    >>> masks = np.full((2, 3, 4), 0.25)
    >>> display = TabNetMaskDisplay(masks.mean(axis=0), masks).plot()
    >>> len(display.axes_)
    3
    """

    def __init__(self, aggregate, masks, *, feature_names=None, row_labels=None, name=None):
        self.aggregate = aggregate
        self.masks = masks
        self.feature_names = feature_names
        self.row_labels = row_labels
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, X, *, row_labels=None, name=None, ax=None, cmap="viridis"):
        """Draw the masks of a fitted TabNet model for the rows of ``X``.

        Parameters
        ----------
        estimator : fitted :class:`~skgates.TabNetClassifier` or :class:`~skgates.TabNetRegressor`
            Any fitted estimator whose ``explain(X)`` returns
            ``(aggregate, masks)``.
        X : array-like or DataFrame of shape (n_rows, n_features_in_)
            The rows to explain; a few dozen at most keep the picture legible.
        row_labels : array-like of str of shape (n_rows,), default=None
            Labels of the rows; None uses the index of a DataFrame, else
            ``0, 1, ...``.
        name : str, default=None
            Name for the title; None uses the estimator's class name.
        ax : matplotlib.axes.Axes or array-like of Axes, default=None
            None makes a new figure; one Axes is split into the panels;
            ``n_steps + 1`` Axes are used as the panels.
        cmap : str or matplotlib.colors.Colormap, default="viridis"
            Colour map of the heat maps.

        Returns
        -------
        display : TabNetMaskDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(caller)
        explain = fitted_attribute(estimator, "explain", caller,
                                   "pass a fitted skgates.TabNetClassifier or TabNetRegressor")
        if getattr(estimator, "n_features_in_", None) is None:
            raise AttributeError(f"{caller} needs a fitted TabNet model; {type(estimator).__name__} "
                                 "has no `n_features_in_`.")
        aggregate, masks = explain(X)
        if row_labels is None and hasattr(X, "index"):
            row_labels = [str(i) for i in X.index]
        display = cls(aggregate, masks,
                      feature_names=feature_names(estimator, np.shape(aggregate)[1]),
                      row_labels=row_labels,
                      name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax, cmap=cmap)

    def plot(self, *, ax=None, cmap="viridis"):
        """Draw the heat maps.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or array-like of Axes, default=None
            None makes a new figure; one Axes is split into the panels;
            ``n_steps + 1`` Axes are used as the panels.
        cmap : str or matplotlib.colors.Colormap, default="viridis"
            Colour map of the heat maps.

        Returns
        -------
        display : TabNetMaskDisplay
            ``self``, with ``axes_``, ``images_``, ``colorbar_``, ``ax_`` and ``figure_`` set.
        """
        caller = f"{type(self).__name__}.plot"
        check_matplotlib_support(caller)
        import matplotlib.pyplot as plt
        from matplotlib.gridspec import GridSpecFromSubplotSpec

        aggregate = np.asarray(self.aggregate, dtype=np.float64)
        masks = np.asarray(self.masks, dtype=np.float64)
        if aggregate.ndim != 2 or masks.ndim != 3 or masks.shape[1:] != aggregate.shape:
            raise ValueError(
                f"{caller}: masks must have shape (n_steps, n_rows, n_features) and aggregate "
                f"(n_rows, n_features); got {masks.shape} and {aggregate.shape}."
            )
        n_steps, n_rows, n_features = masks.shape
        names = check_feature_names(self.feature_names, n_features, caller)
        rows = (np.arange(n_rows).astype(str) if self.row_labels is None
                else np.asarray([str(r) for r in self.row_labels], dtype=object))
        if len(rows) != n_rows:
            raise ValueError(f"{caller}: row_labels has {len(rows)} entries for {n_rows} rows.")
        n_panels = n_steps + 1

        self.bounding_ax_ = None
        if ax is None:
            width = min(4.0 + n_panels * (0.9 + 0.22 * n_features), 16.0)
            height = 1.8 + 0.25 * n_rows + 0.05 * max(len(n) for n in names)
            figure, axes = plt.subplots(1, n_panels, figsize=(width, height), sharey=True,
                                        squeeze=False, layout="constrained")
            axes = axes.ravel()
        elif hasattr(ax, "get_subplotspec") and not np.iterable(ax):
            figure = ax.figure
            ax.set_axis_off()
            self.bounding_ax_ = ax
            grid = GridSpecFromSubplotSpec(1, n_panels, subplot_spec=ax.get_subplotspec())
            axes = np.array([figure.add_subplot(grid[0, i]) for i in range(n_panels)])
        else:
            axes = np.asarray(ax, dtype=object).ravel()
            if len(axes) != n_panels:
                raise ValueError(f"{caller}: expected {n_panels} axes (one per step and one for "
                                 f"the aggregate), got {len(axes)}.")
            figure = axes[0].figure

        panels = list(masks) + [aggregate]
        titles = [f"step {i + 1}" for i in range(n_steps)] + ["aggregate"]
        vmax = max(float(np.max(panels[i])) for i in range(n_panels)) or 1.0
        images = np.empty(n_panels, dtype=object)
        for i, (panel_ax, values, title) in enumerate(zip(axes, panels, titles)):
            images[i] = panel_ax.imshow(values, aspect="auto", cmap=cmap, vmin=0.0, vmax=vmax,
                                        interpolation="nearest")
            panel_ax.set_title(title, fontsize="medium")
            panel_ax.set_xticks(np.arange(n_features), names, rotation=90, fontsize="small")
            if i == 0:
                panel_ax.set_yticks(np.arange(n_rows), rows, fontsize="small")
            else:  # the row labels are those of the first panel
                panel_ax.set_yticks(np.arange(n_rows))
                panel_ax.tick_params(axis="y", labelleft=False)
        axes[0].set_ylabel("row")
        self.colorbar_ = figure.colorbar(images[-1], ax=list(axes), shrink=0.9,
                                         label="attention weight")
        figure.suptitle("TabNet attention masks" if self.name is None
                        else f"{self.name}: attention masks")
        self.axes_ = axes
        self.images_ = images
        self.ax_ = axes[-1]
        self.figure_ = figure
        return self
