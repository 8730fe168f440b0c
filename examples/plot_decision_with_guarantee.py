"""
A decision with an error guarantee: which columns of breast cancer are real?
============================================================================

Breast cancer's 30 columns get 120 columns of pure noise appended (probes), so we know the
answer: every selected probe is a false selection. Two meta-selectors turn the same
RandomForest into a decision, each with its own guarantee:

- :class:`~skgates.stability.StabilitySelector` keeps the columns that at least 75% of 20 fits
  on random halves of the rows put among their ``q`` most important, and reports a bound on
  the expected *number* of false selections (Meinshausen & Buhlmann; Shah & Samworth).
- :class:`~skgates.fdr.FDRSelector` fits once on half the rows, measures on the other half how
  much the loss grows when a column's values are swapped between two rows, turns that into
  a p-value per column and keeps the expected *proportion* of false selections at 10%
  (Benjamini-Hochberg).

The first is cautious by construction (at most about ``q / 0.75`` columns can pass); the
second aims at every column the forest relies on. Runs in about 10 s.
"""

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from skgates.datasets import load_cancer_with_probes
from skgates.fdr import FDRSelector
from skgates.stability import StabilitySelector

X, y, relevant = load_cancer_with_probes(n_probes=120, random_state=0)
is_real = np.isin(np.arange(X.shape[1]), relevant)


def report(name, selector, guarantee):
    chosen = selector.get_support()
    false = int(np.sum(chosen & ~is_real))
    print(f"{name}: {chosen.sum()} columns, {chosen[is_real].sum()} of 30 real, "
          f"{false} probes ({guarantee})")


stability = StabilitySelector(RandomForestClassifier(n_estimators=30, random_state=0),
                              n_resamples=10, max_false_selections=1.0,
                              random_state=0).fit(X, y)
report("StabilitySelector", stability,
       f"q = {stability.n_features_per_fit_:.0f} per fit, "
       f"E[false selections] <= {stability.expected_false_selections_bound_:.2f}")

fdr = FDRSelector(RandomForestClassifier(n_estimators=300, max_features=0.1),
                  fdr=0.1, random_state=0).fit(X, y)
report("FDRSelector", fdr, "expected false discovery proportion <= 0.10")

# The held-out importance of each selected column with its standard error, and its p-value.
order = np.argsort(fdr.pvalues_)[:8]
print("\ncolumn                       held-out importance     p-value")
for j in order:
    print(f"{X.columns[j]:<28} {fdr.scores_[j]:.4f} +- {fdr.feature_importances_std_[j]:.4f}"
          f"   {fdr.pvalues_[j]:.1e}")

# %%
# The two decisions side by side: the stability path of every column (selected columns in
# colour, the probability threshold dashed) and the held-out importances of the FDR test with
# the noise probes' band (hatched bars are probes).
import matplotlib.pyplot as plt

from skgates.plotting import ImportanceDisplay, StabilityPathDisplay

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
StabilityPathDisplay.from_estimator(stability, ax=left)
probes = np.flatnonzero(~is_real)
ImportanceDisplay.from_estimator(fdr, probes=probes, max_display=15, ax=right)
plt.show()
