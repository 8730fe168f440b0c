"""The selectors of ``python -m skgates`` and the decision rules it applies to each of them.

Every selector is a base estimator with importances (a skgates estimator, or a random
forest as the yardstick users know), sized so that the whole main job takes about a
minute on the built-in data on 2 cores. :func:`select` runs the decision rules over one
of them:

- **stability selection** (:class:`skgates.StabilitySelector`, every selector): the
  estimator is refitted on ``2 * n_resamples`` random halves of the rows, each fit keeps
  its most important columns, and a column is kept when at least ``threshold`` of the
  fits kept it; the expected number of false selections is bounded;
- **the false-discovery-rate test** (:class:`skgates.fdr.FDRSelector`, every selector; the
  selectors without ``predict`` are tested through their network's predictions): one fit
  on half the rows, a held-out swap test per column and Benjamini-Hochberg at level
  ``fdr``.
"""

import time
import warnings
from dataclasses import dataclass, field

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.utils.multiclass import type_of_target

from .cancelout import CancelOutSelector
from .dropconnect import DropConnectClassifier, DropConnectRegressor
from .fdr import FDRSelector
from .stability import StabilitySelector
from .tabnet import TabNetClassifier, TabNetRegressor
from .taildropout import TailDropoutRanker

__all__ = ["SELECTORS", "SelectorSpec", "Selection", "is_classification", "select"]


def is_classification(y):
    """Whether ``y`` holds class labels (binary or multiclass) rather than numbers to regress."""
    return type_of_target(y, input_name="y") in ("binary", "multiclass")


@dataclass(frozen=True)
class SelectorSpec:
    """One selector of the main job.

    Attributes
    ----------
    name : str
        Its name on the command line and in the table.
    make : callable
        ``make(classification, max_epochs) -> estimator``: a fresh, unfitted base
        estimator (``max_epochs`` is ignored by a selector that is no network).
    epochs : int or None
        The main job's default number of training epochs (None: not a network).
    what : str
        What its importances are, for ``--help`` and the report.
    """

    name: str
    make: object = field(repr=False)
    epochs: int | None
    what: str


def _cancelout(classification, max_epochs):
    return CancelOutSelector(max_epochs=max_epochs)


def _taildropout(classification, max_epochs):
    # One scouting round on one held-out split (not 5 cross-fitted folds), no committed
    # phase: the Shapley values come from the scout; the resampling does the averaging.
    return TailDropoutRanker(cv=1, n_rounds=1, n_repeats=4, ordered_epochs=0,
                             max_epochs=max_epochs)


def _tabnet(classification, max_epochs):
    estimator = TabNetClassifier if classification else TabNetRegressor
    # batch_size=128: on ~300 rows the default 1024 makes one step per epoch.
    return estimator(max_epochs=max_epochs, batch_size=128)


def _dropconnect(classification, max_epochs):
    estimator = DropConnectClassifier if classification else DropConnectRegressor
    return estimator(max_epochs=max_epochs, batch_size=32)


def _random_forest(classification, max_epochs):
    estimator = RandomForestClassifier if classification else RandomForestRegressor
    return estimator(n_estimators=100, n_jobs=1)


#: Selector name -> :class:`SelectorSpec`, in the order of the table.
SELECTORS = {
    spec.name: spec for spec in [
        SelectorSpec("CancelOutSelector", _cancelout, 20, "CancelOut gate values"),
        SelectorSpec("TailDropoutRanker", _taildropout, 20,
                     "Shapley values of the held-out loss"),
        SelectorSpec("TabNet", _tabnet, 20, "TabNet's aggregated attention masks"),
        SelectorSpec("DropConnect", _dropconnect, 10,
                     "input gradients of a DropConnect network"),
        SelectorSpec("RandomForest", _random_forest, None,
                     "scikit-learn's impurity importances, 100 trees"),
    ]
}


@dataclass
class Selection:
    """What the decision rules found for one selector.

    Attributes
    ----------
    name : str
    stability : StabilitySelector
        Fitted; ``probabilities_``, ``get_support()``, ``feature_importances_`` and
        ``feature_importances_std_``, ``expected_false_selections_bound_``.
    fdr : FDRSelector or None
        Fitted (None when the FDR test was not asked for).
    fdr_note : str or None
        Why the FDR test could select nothing (too few rows), when it could not.
    seconds : float
        Wall time of both rules.
    """

    name: str
    stability: StabilitySelector
    fdr: FDRSelector | None = None
    fdr_note: str | None = None
    seconds: float = 0.0


def select(name, X, y, *, n_resamples=10, threshold=0.75, max_false_selections=1.0,
           fdr=0.1, max_epochs=None, n_jobs=None, random_state=None, progress=False):
    """Run the decision rules over selector ``name`` on ``(X, y)``.

    Parameters
    ----------
    name : str
        A key of :data:`SELECTORS`.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    n_resamples : int, default=10
        Complementary pairs of the stability selection (``2 * n_resamples`` fits).
    threshold : float in (0.5, 1], default=0.75
        Selection probability at which stability selection keeps a column.
    max_false_selections : float, default=1.0
        Bound on the expected number of false selections; it sets how many columns each
        fit keeps.
    fdr : float in (0, 1) or None, default=0.1
        Level of the FDR test; None skips it.
    max_epochs : int or None, default=None
        Training epochs of the networks; None keeps each selector's default.
    n_jobs : int or None, default=None
        The stability selection's fits run in parallel through joblib.
    random_state : int or None, default=None
    progress : bool, default=False
        Show a progress bar over the fits (on stderr).

    Returns
    -------
    selection : Selection
    """
    spec = SELECTORS[name]
    classification = is_classification(y)
    epochs = spec.epochs if max_epochs is None else max_epochs
    start = time.perf_counter()
    stability = StabilitySelector(
        spec.make(classification, epochs), n_resamples=n_resamples, threshold=threshold,
        max_false_selections=max_false_selections, n_jobs=n_jobs, random_state=random_state,
        verbose=int(progress),
    ).fit(X, y)
    selection = Selection(name, stability)
    if fdr is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            selection.fdr = FDRSelector(spec.make(classification, epochs), fdr=fdr,
                                        random_state=random_state).fit(X, y)
        for warning in caught:
            if "can select nothing" in str(warning.message):
                selection.fdr_note = str(warning.message)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                       warning.lineno)
    selection.seconds = time.perf_counter() - start
    return selection
