"""
What did TabNet read? Attention masks of a mixed DataFrame
==========================================================

:class:`~skgates.TabNetClassifier` takes a pandas DataFrame with numeric, boolean and
categorical columns (categorical ones are embedded, no indices to write) and decides
in steps; at each step a sparse attention mask picks the columns it reads, row by row.
``explain(X)`` returns these masks and their aggregate, and
:class:`~skgates.plotting.TabNetMaskDisplay` draws them for a few rows.

The churn below depends on the plan, the age and the newsletter flag; ``income``,
``region`` and ``noise`` do not matter.
"""

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skgates import TabNetClassifier
from skgates.plotting import TabNetMaskDisplay

rng = np.random.RandomState(0)
n = 3000
frame = pd.DataFrame({
    "age": rng.randint(18, 80, n),
    "income": rng.lognormal(10, 0.5, n),
    "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n)),
    "region": rng.choice(["north", "south", "east", "west"], n).astype(object),
    "newsletter": rng.rand(n) > 0.5,
    "noise": rng.randn(n),
})
logit = ((frame["plan"] == "basic") * 1.5 - (frame["age"] - 50) / 15
         + frame["newsletter"] * 1.0 - 1.0)
y = (rng.rand(n) < 1 / (1 + np.exp(-logit))).astype(int)

X_train, X_test, y_train, y_test = train_test_split(frame, y, test_size=0.3, random_state=0)
clf = TabNetClassifier(n_d=8, n_a=8, n_steps=3, max_epochs=30, batch_size=256,
                       virtual_batch_size=128, cat_emb_dim=2, random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# One heat map per decision step and the aggregate, for 12 test rows (labelled by their
# index in the DataFrame). Each row of a mask sums to 1.
display = TabNetMaskDisplay.from_estimator(clf, X_test.head(12))

# %%
# A category never seen in training, or a missing one, still predicts.
new_rows = X_test.head(3).copy()
new_rows["region"] = ["atlantis", "north", None]
print("probabilities with unseen categories:", clf.predict_proba(new_rows)[:, 1].round(3))
