"""What the substitutes credit does to DropConnect's and TabNet's ``feature_importances_``.

The ranking protocol of ``bench_selection.py`` (its data, seeds 0-2), each estimator at
its defaults. For every (task, seed) the estimator is fitted once; the precision@k of
``uncredited_importances_`` (the network's own importances) is compared with that of
the credited ``feature_importances_`` and of the credit recomputed with other source
levels ``z`` (``skgates._substitutes.credited_importances``). Prints one line per
(estimator, task, seed): precision@k uncredited, credited at the default z, then
``{z: (precision@k, number of sources, number of substitutes)}``, and fit seconds.
Results of one run: ``benchmarks/results/importance_credit_study.txt``.

Usage::

    python benchmarks/study_importance_credit.py dropconnect madelon,cancer+probes
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection import data_spec, load_task  # noqa: E402

from skgates import (DropConnectClassifier, DropConnectRegressor,  # noqa: E402
                     TabNetClassifier, TabNetRegressor)
from skgates._substitutes import credited_importances, standing_out  # noqa: E402
from skgates.datasets import precision_at_k  # noqa: E402

ESTIMATORS = {
    "dropconnect": (DropConnectClassifier, DropConnectRegressor),
    "tabnet": (TabNetClassifier, TabNetRegressor),
}
LEVELS = (3.0, 5.0, 8.0)


def main(which, tasks, seeds=(0, 1, 2)):
    torch.set_num_threads(1)
    spec = data_spec("ranking", False)
    classifier, regressor = ESTIMATORS[which]
    for task in tasks:
        for seed in seeds:
            X, y, _, _, relevant = load_task(task, spec, seed)
            estimator = regressor if task == "friedman" else classifier
            start = time.time()
            model = estimator(random_state=seed).fit(X, y)
            seconds = time.time() - start
            raw = model.uncredited_importances_
            X_t = torch.as_tensor(np.asarray(X, dtype=np.float32))  # R^2 ignores column scales
            levels = {}
            for z in LEVELS:
                credited, _, substitutes = credited_importances(X_t, torch.ones(len(X_t)), raw, z)
                standing = standing_out(raw, z)
                n_sources = 1 if standing is None or not standing.any() else int(standing.sum())
                levels[z] = (round(precision_at_k(credited, relevant), 2), n_sources,
                            int(substitutes.sum()))
            print(which, task, seed, "uncredited", round(precision_at_k(raw, relevant), 2),
                  "credited", round(precision_at_k(model.feature_importances_, relevant), 2), levels,
                  f"fit {seconds:.0f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","))
