"""What computing TabNet's ``feature_importances_`` costs, as a share of ``fit``.

``fit`` ends by computing the importances (the mean aggregate mask over at most
20,000 training rows and the substitutes credit on the same rows, ``_after_training``); this times that step alone and the whole
``fit`` at the speed benchmark's settings (n_d = n_a = 8, 3 steps, batch 1024,
virtual batch 128, one torch thread): 40,000 x 20 rows for 5 epochs and 200,000 x 50
rows for 1 epoch, medians of 3 repeats, and the share it would be of a 50-epoch fit.

Usage::

    python benchmarks/bench_tabnet_importances_cost.py
"""

import statistics
import time

import numpy as np
import torch

from skgates import TabNetClassifier
from skgates.datasets import make_syn


def main():
    torch.set_num_threads(1)
    for n, d, epochs in [(40000, 20, 5), (200000, 50, 1)]:
        X, y, _ = make_syn("syn2", n_samples=n, n_noise=d - 11, random_state=1)
        X = X.astype(np.float32)
        model = TabNetClassifier(n_d=8, n_a=8, n_steps=3, gamma=1.3, batch_size=1024,
                                 virtual_batch_size=128, max_epochs=epochs, lr=0.02, random_state=0)
        model.fit(X[:2048], y[:2048])  # warm-up
        fits, importances = [], []
        for _ in range(3):
            start = time.perf_counter()
            model.fit(X, y)
            fits.append(time.perf_counter() - start)
            data = model._prepare(X, y, None, first_call=False, streaming=False, update=False)
            start = time.perf_counter()
            model._after_training(data, first_call=False)
            importances.append(time.perf_counter() - start)
        fit_s, importance_s = statistics.median(fits), statistics.median(importances)
        print(f"{n:,} x {d}, {epochs} epoch(s): fit {fit_s:.2f} s (importances included), "
              f"importances {importance_s:.3f} s = {100 * importance_s / fit_s:.1f}% of fit; "
              f"of a 50-epoch fit: {100 * importance_s / (fit_s / epochs * 50):.2f}%")


if __name__ == "__main__":
    main()
