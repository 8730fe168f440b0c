"""TrainingHistoryDisplay: training and validation loss per epoch, and the early-stopping point."""

import numpy as np

from ._base import axes_and_figure, check_matplotlib_support, fitted_attribute


class TrainingHistoryDisplay:
    """Training (and validation) loss per epoch, with the epoch of the best validation loss.

    With a validation loss (``early_stopping=True``), the epoch where it was
    lowest, the weights early stopping restores, is marked with a dashed
    vertical line and a dot. Build it with :meth:`from_estimator`; all
    parameters are stored as attributes.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``epoch``, ``train_loss`` and, optionally, ``valid_loss``,
        one row per epoch (an estimator's ``history_``).
    name : str, default=None
        Name of the estimator, used in the title.

    Attributes
    ----------
    train_line_ : matplotlib.lines.Line2D
        Training loss against epoch.
    valid_line_ : matplotlib.lines.Line2D or None
        Validation loss against epoch, when the history has one.
    best_epoch_ : int or None
        Epoch of the lowest validation loss.
    best_line_ : matplotlib.lines.Line2D or None
        The vertical line at ``best_epoch_``.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    See Also
    --------
    skgates.CancelOutSelector : Like every skgates network estimator, has ``history_``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skgates.plotting import TrainingHistoryDisplay
    >>> history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4],
    ...                         "valid_loss": [0.6, 0.5, 0.55]})
    >>> TrainingHistoryDisplay(history).plot().best_epoch_
    2
    """

    def __init__(self, history, *, name=None):
        self.history = history
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, log_scale=False):
        """Draw the ``history_`` of a fitted skgates estimator.

        Parameters
        ----------
        estimator : fitted skgates estimator
            Any fitted estimator with ``history_`` (every skgates network
            estimator).
        name : str, default=None
            Name for the title; None uses the estimator's class name.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.
        log_scale : bool, default=False
            Draw the loss on a logarithmic axis.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_matplotlib_support(caller)
        history = fitted_attribute(estimator, "history_", caller,
                                   "pass a fitted skgates network estimator")
        display = cls(history, name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax, log_scale=log_scale)

    def plot(self, *, ax=None, log_scale=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None makes a new figure.
        log_scale : bool, default=False
            Draw the loss on a logarithmic axis.

        Returns
        -------
        display : TrainingHistoryDisplay
            ``self``, with the lines, ``best_epoch_``, ``ax_`` and ``figure_`` set.
        """
        caller = f"{type(self).__name__}.plot"
        check_matplotlib_support(caller)
        history = self.history
        missing = [c for c in ("epoch", "train_loss") if c not in getattr(history, "columns", ())]
        if missing:
            raise ValueError(f"{caller}: history must be a DataFrame with columns 'epoch' and "
                             f"'train_loss' (an estimator's history_); missing {missing}.")
        epochs = np.asarray(history["epoch"])
        ax, figure = axes_and_figure(ax)
        (self.train_line_,) = ax.plot(epochs, np.asarray(history["train_loss"], dtype=float),
                                      color="C0", label="training loss")
        self.valid_line_ = self.best_line_ = None
        self.best_epoch_ = None
        valid = (np.asarray(history["valid_loss"], dtype=float) if "valid_loss" in history.columns
                 else None)
        if valid is not None and np.isfinite(valid).any():
            (self.valid_line_,) = ax.plot(epochs, valid, color="C1", label="validation loss")
            best = int(np.nanargmin(np.where(np.isfinite(valid), valid, np.nan)))
            self.best_epoch_ = int(epochs[best])
            self.best_line_ = ax.axvline(self.best_epoch_, color="C3", linestyle="--",
                                         linewidth=1.2,
                                         label=f"best validation loss (epoch {self.best_epoch_})")
            ax.plot([self.best_epoch_], [valid[best]], "o", color="C3", zorder=3)
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title("Training history" if self.name is None
                     else f"{self.name}: training history")
        ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = figure
        return self
