"""Pictures of fitted skgates estimators, following scikit-learn's Display API.

Each picture is a ``*Display`` class: ``Display.from_estimator(estimator, ...)`` draws
it from a fitted estimator's attributes, ``display.plot(ax=...)`` draws it again on
other axes, and the drawn objects stay on the display (``ax_``, ``figure_``, the
artists). matplotlib is an optional dependency: ``pip install skgates[plot]``. It is
imported when a picture is drawn, never when skgates is imported.
"""

from ._importance import ImportanceDisplay
from ._scree import ScreeDisplay
from ._stability_path import StabilityPathDisplay
from ._tabnet_masks import TabNetMaskDisplay
from ._training_history import TrainingHistoryDisplay

__all__ = [
    "ImportanceDisplay",
    "ScreeDisplay",
    "StabilityPathDisplay",
    "TabNetMaskDisplay",
    "TrainingHistoryDisplay",
]
