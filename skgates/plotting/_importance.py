"""ImportanceDisplay: a bar chart of ``feature_importances_`` with its spread, threshold and probes."""

import numbers

import numpy as np

from ._base import (
    axes_and_figure, check_feature_names, check_matplotlib_support, feature_names,
    fitted_attribute,
)

# Attributes holding the spread of ``feature_importances_``, in order of preference.
_SPREAD_ATTRIBUTES = ("feature_importances_std_", "shapley_std_errors_")


class ImportanceDisplay:
    """Feature importances as a bar chart, with their spread, threshold and noise probes.

    Build it with :meth:`from_estimator`; all parameters are stored as
    attributes. The bars are horizontal, the most important column on top.

    Parameters
    ----------
    importances : array-like of shape (n_features,)
        One importance per column (``feature_importances_``).
    feature_names : array-like of str of shape (n_features,), default=None
        Column names; None means ``x0, x1, ...``.
    errors : array-like of shape (n_features,), default=None
        Half-length of each bar's error bar (a standard deviation or a
        standard error); None draws no error bars.
    threshold : float, default=None
        Importance at which a selector keeps a column, drawn as a vertical
        dashed line; None draws none.
    support : array-like of bool of shape (n_features,), default=None
        The columns a selector kept (``get_support()``): their bars are drawn
        in the first colour, the others in grey. None colours every bar alike.
    probes : array-like of int, default=None
        Indices of the columns that are noise probes (pure noise appended as a
        yardstick); their bars are hatched.
    probe_band : tuple of (float, float), default=None
        ``(low, high)`` importances of the probes, shaded as a band: a real
        column should stand clear of it.
    name : str, default=None
        Name of the estimator, used in the title.

    Attributes
    ----------
    bars_ : matplotlib.container.BarContainer
        The bars, most important first (top to bottom).
    errorbars_ : matplotlib.container.ErrorbarContainer or None
        The error bars, when ``errors`` is given.
    threshold_line_ : matplotlib.lines.Line2D or None
        The threshold line, when ``threshold`` is given.
    probe_band_ : matplotlib.patches.Polygon or matplotlib.patches.Rectangle or None
        The shaded probe band, when ``probe_band`` is given.
    shown_ : ndarray of int
        Indices of the columns drawn, in the order of the bars (top first).
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    See Also
    --------
    StabilityPathDisplay : Selection probabilities of a stability selection.
    ScreeDisplay : How many of TailDropoutRanker's ranked columns are needed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skgates import CancelOutSelector
    >>> from skgates.datasets import load_cancer_with_probes
    >>> from skgates.plotting import ImportanceDisplay
    >>> X, y, relevant = load_cancer_with_probes(n_probes=20, random_state=0)
    >>> selector = CancelOutSelector(max_epochs=5, random_state=0).fit(X, y)
    >>> display = ImportanceDisplay.from_estimator(
    ...     selector, probes=[c for c in X.columns if c.startswith("probe_")])
    >>> len(display.bars_)
    20
    """

    def __init__(self, importances, *, feature_names=None, errors=None, threshold=None,
                 support=None, probes=None, probe_band=None, name=None):
        self.importances = importances
        self.feature_names = feature_names
        self.errors = errors
        self.threshold = threshold
        self.support = support
        self.probes = probes
        self.probe_band = probe_band
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, *, probes=None, probe_quantile=1.0, threshold="auto",
                       max_display=20, name=None, ax=None, bar_kw=None):
        """Draw the ``feature_importances_`` of a fitted estimator.

        Parameters
        ----------
        estimator : fitted estimator
            Any estimator with ``feature_importances_``: every skgates
            estimator, a :class:`skgates.StabilitySelector`, a random forest...
            Error bars come from ``feature_importances_std_`` when the estimator
            has it, else from ``shapley_std_errors_``
            (:class:`~skgates.TailDropoutRanker`); bars of the columns a
            selector keeps (``get_support()``) are coloured, the others grey.
        probes : array-like of int or str, default=None
            The columns that are noise probes, as indices or as names from
            ``feature_names_in_`` (e.g. the columns that
            :func:`skgates.datasets.add_probes` appended). Their bars are
            hatched and their importances are shaded as a band.
        probe_quantile : float in (0, 1], default=1.0
            Upper edge of the probe band: this quantile of the probes'
            importances. The band runs from the smallest probe importance to
            it, so with the default 1.0 it covers the whole range
            ``[min, max]`` of the probes, and a column right of the band beats
            every probe; 0.95 lets the top 5 % of probes stick out (with many
            probes, the single largest is itself a noisy yardstick).
        threshold : "auto", float or None, default="auto"
            The selection threshold line: ``"auto"`` draws the estimator's
            own threshold when it is a selector with one (its ``threshold_``
            attribute, or its ``threshold`` parameter resolved as
            :class:`~sklearn.feature_selection.SelectFromModel` does:
            ``"mean"``, ``"median"``, ``"1.5*mean"``; a
            :class:`~skgates.CancelOutSelector` with ``threshold=None`` and no
            ``max_features`` selects above its most open shadow gate), drawn only when it explains the
            selection (not for a :class:`~skgates.StabilitySelector`, whose
            threshold is a selection probability); a float draws a line there
            and None draws none.
        max_display : int or None, default=20
            Draw the ``max_display`` most important columns (all with None).
            Probes outside them are not drawn, but the band still shows all
            probes.
        name : str, default=None
            Name for the title; None uses the estimator's class name.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.
        bar_kw : dict, default=None
            Keyword arguments of ``ax.barh``.

        Returns
        -------
        display : ImportanceDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(caller)
        importances = np.asarray(
            fitted_attribute(estimator, "feature_importances_", caller,
                             "pass a fitted estimator with importances"), dtype=np.float64)
        n_features = len(importances)
        names = feature_names(estimator, n_features)
        errors = None
        for attribute in _SPREAD_ATTRIBUTES:
            spread = getattr(estimator, attribute, None)
            if spread is not None:
                errors = np.asarray(spread, dtype=np.float64)
                break
        support = None
        if hasattr(estimator, "get_support"):
            support = np.asarray(estimator.get_support(), dtype=bool)
        probe_indices = _probe_indices(probes, names, caller)
        probe_band = None
        if probe_indices is not None:
            if not (isinstance(probe_quantile, numbers.Real) and 0 < probe_quantile <= 1):
                raise ValueError(
                    f"{caller}: probe_quantile must be a number in (0, 1], got {probe_quantile!r}."
                )
            values = importances[probe_indices]
            probe_band = (float(values.min()), float(np.quantile(values, probe_quantile)))
        if isinstance(threshold, str) and threshold == "auto":
            threshold = _estimator_threshold(estimator, importances)
        elif threshold is not None and not isinstance(threshold, numbers.Real):
            raise TypeError(
                f"{caller}: threshold must be 'auto', a number or None, got {threshold!r}."
            )
        display = cls(importances, feature_names=names, errors=errors, threshold=threshold,
                      support=support, probes=probe_indices, probe_band=probe_band,
                      name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax, max_display=max_display, bar_kw=bar_kw)

    def plot(self, *, ax=None, max_display=20, bar_kw=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure, taller with more bars.
        max_display : int or None, default=20
            Draw the ``max_display`` most important columns (all with None).
        bar_kw : dict, default=None
            Keyword arguments of ``ax.barh`` (they override the colours).

        Returns
        -------
        display : ImportanceDisplay
            ``self``, with ``bars_``, ``ax_`` and the other artists set.
        """
        caller = f"{type(self).__name__}.plot"
        check_matplotlib_support(caller)
        importances = np.asarray(self.importances, dtype=np.float64).ravel()
        n_features = len(importances)
        names = check_feature_names(self.feature_names, n_features, caller)
        if max_display is not None and (not isinstance(max_display, numbers.Integral)
                                        or max_display < 1):
            raise ValueError(f"{caller}: max_display must be an int >= 1 or None, "
                             f"got {max_display!r}.")
        order = np.argsort(-importances, kind="stable")[:max_display]
        n_shown = len(order)
        ax, figure = axes_and_figure(ax, figsize=(6.4, 1.2 + 0.28 * n_shown))

        probes = set() if self.probes is None else set(np.asarray(self.probes).tolist())
        if self.support is None:
            colors = ["C0"] * n_shown
        else:
            support = np.asarray(self.support, dtype=bool)
            colors = ["C0" if support[j] else "0.65" for j in order]
        positions = np.arange(n_shown)[::-1]  # the most important column on top
        kw = {"color": colors, "height": 0.7}
        kw.update(bar_kw or {})
        self.bars_ = ax.barh(positions, importances[order], **kw)
        for bar, j in zip(self.bars_, order):
            if j in probes:
                bar.set_hatch("///")
                bar.set_edgecolor("white")
        self.errorbars_ = None
        if self.errors is not None:
            errors = np.asarray(self.errors, dtype=np.float64).ravel()
            if len(errors) != n_features:
                raise ValueError(f"{caller}: errors has {len(errors)} entries for "
                                 f"{n_features} features.")
            self.errorbars_ = ax.errorbar(importances[order], positions, xerr=errors[order],
                                          fmt="none", ecolor="0.2", elinewidth=1, capsize=2)
        self.probe_band_ = None
        if self.probe_band is not None:
            low, high = self.probe_band
            self.probe_band_ = ax.axvspan(low, high, color="C1", alpha=0.3, zorder=3,
                                          linewidth=0, label="noise probes")
        self.threshold_line_ = None
        if self.threshold is not None:
            self.threshold_line_ = ax.axvline(self.threshold, color="C3", linestyle="--",
                                              linewidth=1.2,
                                              label=f"threshold = {self.threshold:.3g}")
        ax.set_yticks(positions, [names[j] for j in order])
        ax.set_ylim(-0.6, n_shown - 0.4)
        xlabel = "importance"
        if n_shown < n_features:
            xlabel += f" (the {n_shown} most important of {n_features} columns)"
        ax.set_xlabel(xlabel)
        ax.set_title("Feature importances" if self.name is None
                     else f"{self.name}: feature importances")
        if self.support is not None:
            import matplotlib.patches as mpatches

            handles = [mpatches.Patch(color="C0", label="selected"),
                       mpatches.Patch(color="0.65", label="not selected")]
        else:
            handles = []
        handles += [a for a in (self.threshold_line_, self.probe_band_) if a is not None]
        if handles:  # below the axes, where no bar is hidden
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                      ncols=2, fontsize="small", frameon=False)
        self.shown_ = order
        self.ax_ = ax
        self.figure_ = figure
        return self


def _probe_indices(probes, names, caller):
    """Probe columns given by index or by name, as a sorted int array (None stays None)."""
    if probes is None:
        return None
    probes = list(probes)
    if not probes:
        raise ValueError(f"{caller}: probes is empty; pass the probe columns or None.")
    position = {name: j for j, name in enumerate(names)}
    indices = []
    for probe in probes:
        if isinstance(probe, str):
            if probe not in position:
                raise ValueError(f"{caller}: probe {probe!r} is not a column name of the "
                                 "estimator (its feature_names_in_).")
            indices.append(position[probe])
        elif isinstance(probe, numbers.Integral) and not isinstance(probe, bool):
            if not 0 <= probe < len(names):
                raise ValueError(f"{caller}: probe index {probe} is out of range for "
                                 f"{len(names)} features.")
            indices.append(int(probe))
        else:
            raise TypeError(f"{caller}: probes must be column indices or names, got {probe!r}.")
    return np.unique(indices)


def _estimator_threshold(estimator, importances):
    """The importance at which a selector keeps a column, or None when it has no such number.

    A selector whose threshold is not on the importances' scale (the selection probability
    of a :class:`~skgates.StabilitySelector`), or whose selection the threshold does not
    explain, gets no line.
    """
    if hasattr(estimator, "probabilities_"):  # its threshold is a selection probability
        return None
    threshold = _resolved_threshold(estimator, importances)
    if threshold is None or not hasattr(estimator, "get_support"):
        return threshold
    support = np.asarray(estimator.get_support(), dtype=bool)
    above = importances >= threshold
    if np.any(support & ~above):
        return None
    if getattr(estimator, "max_features", None) is None and np.any(above & ~support):
        return None
    return threshold


def _resolved_threshold(estimator, importances):
    threshold = getattr(estimator, "threshold_", None)
    if isinstance(threshold, numbers.Real) and np.isfinite(threshold):
        return float(threshold)
    if not hasattr(estimator, "get_support") or not hasattr(estimator, "threshold"):
        return None
    threshold = estimator.threshold
    if threshold is None:
        return None
    if isinstance(threshold, numbers.Real):
        return float(threshold)
    if isinstance(threshold, str):
        from .._selection import resolve_threshold

        try:
            return resolve_threshold(threshold, importances, None)
        except ValueError:
            return None
    return None
