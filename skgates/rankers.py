"""Ready-made rankings: each skgates selector as ``rank(X, y, random_state) -> importances``.

Used by ``python -m skgates``; handy for comparing selectors on one data set.
"""

from .cancelout import CancelOutSelector


def rank_with_cancelout(X, y, random_state=None):
    """Gate values of a :class:`CancelOutSelector` fitted with its defaults."""
    return CancelOutSelector(random_state=random_state).fit(X, y).feature_importances_


#: Selector name -> ranking function.
RANKERS = {
    "CancelOutSelector": rank_with_cancelout,
}
