"""
DropConnect against overfitting: the training history
=====================================================

:class:`~skgates.DropConnectClassifier` drops individual *weights* of its MLP, a fresh
mask for every example. On 400 rows with 30 columns (4 informative) a wide network
without it learns the training rows by heart and its validation loss climbs; with
``p=0.5`` the gap stays small.

:class:`~skgates.plotting.TrainingHistoryDisplay` draws ``history_``: the training and
validation losses per epoch and the epoch of the best validation loss, the weights
that ``early_stopping`` restores (patience is long here so the whole curve shows).
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from skgates import DropConnectClassifier
from skgates.plotting import TrainingHistoryDisplay

X, y = make_classification(800, 30, n_informative=4, n_redundant=0, shuffle=False,
                           flip_y=0.05, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, random_state=0)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
for p, ax in zip((0.0, 0.5), axes):
    clf = DropConnectClassifier(hidden_layer_sizes=(128,), p=p, max_epochs=60,
                                early_stopping=True, validation_fraction=0.25,
                                n_iter_no_change=60, random_state=0).fit(X_train, y_train)
    TrainingHistoryDisplay.from_estimator(clf, ax=ax, name=f"p={p}")
    print(f"p={p}: test accuracy {clf.score(X_test, y_test):.3f}")
