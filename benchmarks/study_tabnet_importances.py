"""Which importance ranks best for an undertrained network: its own, or permutation?

The ranking protocol of ``bench_selection.py`` (seed 0), one estimator per run at
one of three settings: ``tabnet`` (the selection benchmark's TabNetClassifier: 25
epochs, batch ``min(256, max(64, n // 10))``, no clipping), ``tabnet_default``
(every default) and ``dropconnect`` (every default). For each task it prints the
test score of the network, then precision@k of ``uncredited_importances_`` (the
network's own importances: mean attention masks, or input x gradient) and of
scikit-learn's ``permutation_importance`` (log-loss, 3 repeats) on 2,000 training
rows and on 2,000 test rows, and the seconds of the fit and of the permutation on
the training rows. Results of one run:
``benchmarks/results/tabnet_importances_study.txt``.

Usage::

    python benchmarks/study_tabnet_importances.py tabnet_default syn1,syn2,syn4
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection import data_spec, load_task  # noqa: E402

from skgates import DropConnectClassifier, TabNetClassifier  # noqa: E402
from skgates.datasets import precision_at_k  # noqa: E402


def make(which, n, seed):
    if which == "tabnet":
        batch = min(256, max(64, n // 10))
        return TabNetClassifier(n_d=8, n_a=8, n_steps=3, max_epochs=25, batch_size=batch,
                                virtual_batch_size=min(128, batch), clip_value=None,
                                random_state=seed)
    if which == "tabnet_default":
        return TabNetClassifier(random_state=seed)
    return DropConnectClassifier(random_state=seed)


def main(which, tasks, seed=0):
    torch.set_num_threads(1)
    spec = data_spec("ranking", False)
    for task in tasks:
        X_train, y_train, X_test, y_test, relevant = load_task(task, spec, seed)
        start = time.time()
        model = make(which, len(X_train), seed).fit(X_train, y_train)
        fit_seconds = time.time() - start
        rng = np.random.RandomState(0)
        train_rows = rng.choice(len(X_train), min(len(X_train), 2000), replace=False)
        start = time.time()
        on_train = permutation_importance(model, X_train[train_rows], y_train[train_rows],
                                          scoring="neg_log_loss", n_repeats=3, random_state=0)
        permutation_seconds = time.time() - start
        test_rows = rng.choice(len(X_test), min(len(X_test), 2000), replace=False)
        on_test = permutation_importance(model, X_test[test_rows], y_test[test_rows],
                                         scoring="neg_log_loss", n_repeats=3, random_state=0)
        auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
        print(which, task, seed, f"test AUC {auc:.3f}",
              "own", round(precision_at_k(model.uncredited_importances_, relevant), 2),
              "permutation(train)", round(precision_at_k(on_train.importances_mean, relevant), 2),
              "permutation(test)", round(precision_at_k(on_test.importances_mean, relevant), 2),
              f"fit {fit_seconds:.0f}s permutation {permutation_seconds:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","))
