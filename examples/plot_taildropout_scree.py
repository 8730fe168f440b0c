"""
How many columns are needed? TailDropoutRanker's scree curve
============================================================

:class:`~skgates.TailDropoutRanker` orders the columns so that every prefix of the
order is a good subset, and one network predicts from any prefix. The held-out loss
of every prefix is the **scree curve**; the ranker keeps the shortest prefix that earns
95 % of the best prefix's loss drop (``n_features_``, the knee).

Syn3 (from the TabNet paper): ``y`` depends on columns 6-9 through
``-10 sin(0.2 x6) + |x7| + x8 + exp(-x9)``; eight noise columns are appended.
"""

import matplotlib.pyplot as plt

from skgates import TailDropoutRanker
from skgates.datasets import make_syn
from skgates.plotting import ImportanceDisplay, ScreeDisplay

X, y, relevant = make_syn("syn3", n_samples=3000, n_noise=8, random_state=0)
ranker = TailDropoutRanker(cv=1, max_epochs=30, n_repeats=4, random_state=0).fit(X, y)

# %%
# Left, the scree curve (each tick names the column added at that ``k``) with the knee;
# right, the Shapley values that order the columns, with their standard errors: the
# four relevant columns first, the noise at about zero.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
ScreeDisplay.from_estimator(ranker, ax=left)
ImportanceDisplay.from_estimator(ranker, ax=right)

print("relevant columns:", relevant.tolist())
print("order, best first:", ranker.order_.tolist())
print("n_features_ (the knee):", ranker.n_features_)
