"""
The stability path: which columns come back on every half of the rows?
======================================================================

One fit's importances move with the rows it saw. :class:`~skgates.StabilitySelector`
refits a selector on many random halves of the rows (complementary pairs) and keeps the
columns that most fits put among their ``k`` most important; under Meinshausen and
Buhlmann's assumptions the expected number of noise columns kept is bounded
(``expected_false_selections_bound_``).

Here it wraps a small :class:`~skgates.CancelOutSelector` on Syn2 (``y`` depends on the
squares of columns 2-5, which a linear model cannot see) with 10 noise columns.
:class:`~skgates.plotting.StabilityPathDisplay` draws the **stability path**: for every
``k``, the fraction of the fits whose ``k`` most important columns include each column.
The selected columns rise to the top long before the noise does; the dashed line is the
probability threshold, the dotted one the ``k`` the selection used. Right, the gates
averaged over the 16 fits with their spread from one half to another
(``feature_importances_`` and ``feature_importances_std_``).
"""

import matplotlib.pyplot as plt

from skgates import CancelOutSelector, StabilitySelector
from skgates.datasets import make_syn
from skgates.plotting import ImportanceDisplay, StabilityPathDisplay

X, y, relevant = make_syn("syn2", n_samples=1500, n_noise=10, random_state=0)
base = CancelOutSelector(max_epochs=20, gate_lr_scale=10.0, hidden_layer_sizes=(32,))
stability = StabilitySelector(base, n_resamples=8, n_features_per_fit=4,
                              random_state=0).fit(X, y)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
StabilityPathDisplay.from_estimator(stability, ax=left)
# right: the gates averaged over the 16 fits, with their spread from one half to another
ImportanceDisplay.from_estimator(stability, ax=right, max_display=12)

print("relevant columns:", relevant.tolist())
print("selected columns:", stability.get_support(indices=True).tolist())
print(f"bound on the expected number of false selections: "
      f"{stability.expected_false_selections_bound_:.2f}")
