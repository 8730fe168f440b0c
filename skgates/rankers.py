"""Ready-made rankings: each skgates estimator as ``rank(X, y, random_state) -> importances``.

Used by ``python -m skgates``; handy for comparing the estimators on one data set. Each
function fits the estimator with its defaults and returns its ``feature_importances_``
(higher means more important), picking the classifier or regressor from ``y``.
"""

from sklearn.utils.multiclass import type_of_target

from .cancelout import CancelOutSelector
from .dropconnect import DropConnectClassifier, DropConnectRegressor
from .tabnet import TabNetClassifier, TabNetRegressor
from .taildropout import TailDropoutRanker


def _is_classification(y):
    return type_of_target(y, input_name="y") in ("binary", "multiclass")


def rank_with_cancelout(X, y, random_state=None):
    """Gate values of a :class:`CancelOutSelector`."""
    return CancelOutSelector(random_state=random_state).fit(X, y).feature_importances_


def rank_with_taildropout(X, y, random_state=None):
    """Importances of a :class:`TailDropoutRanker` (they order columns as ``ranking_`` does)."""
    return TailDropoutRanker(random_state=random_state).fit(X, y).feature_importances_


def rank_with_tabnet(X, y, random_state=None):
    """Aggregate attention masks of a :class:`TabNetClassifier` or :class:`TabNetRegressor`."""
    estimator = TabNetClassifier if _is_classification(y) else TabNetRegressor
    return estimator(random_state=random_state).fit(X, y).feature_importances_


def rank_with_dropconnect(X, y, random_state=None):
    """Input-gradient importances of a DropConnect network."""
    estimator = DropConnectClassifier if _is_classification(y) else DropConnectRegressor
    return estimator(random_state=random_state).fit(X, y).feature_importances_


#: Estimator name -> ranking function.
RANKERS = {
    "CancelOutSelector": rank_with_cancelout,
    "TailDropoutRanker": rank_with_taildropout,
    "TabNet": rank_with_tabnet,
    "DropConnect": rank_with_dropconnect,
}
