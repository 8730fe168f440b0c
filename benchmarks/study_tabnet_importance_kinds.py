"""Three importances of one TabNet fit at its defaults: masks, input x gradient, permutation.

The ranking protocol of ``bench_selection.py`` (seed 0). For each task one
``TabNetClassifier(random_state=seed)`` is fitted and precision@k is printed for
three importances of that fit, each before and after the substitutes credit
(``+c``):

- ``mask``: ``uncredited_importances_`` (the mean aggregate mask, the default);
- ``grad``: DropConnect's ``input_x_gradient`` on the TabNet network (mean
  ``|x_j * d softmax_k / d x_j|`` over 2,000 training rows), nearly free;
- ``perm``: what ``importance="permutation"`` computes (the rise of the
  training loss, one permutation per column, 2,000 training rows).

with the seconds of the fit and of the two extra importances. Results of one run:
``benchmarks/results/tabnet_defaults_study.txt`` (second section).

Usage::

    python benchmarks/study_tabnet_importance_kinds.py syn1,syn4,cancer+probes
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection import data_spec, load_task  # noqa: E402

from skgates import TabNetClassifier  # noqa: E402
from skgates._permutation import permutation_importances  # noqa: E402
from skgates._seeding import draw_seed  # noqa: E402
from skgates._substitutes import credited_importances  # noqa: E402
from skgates.datasets import precision_at_k  # noqa: E402
from skgates.dropconnect import input_x_gradient  # noqa: E402


def main(tasks, seed=0):
    torch.set_num_threads(1)
    spec = data_spec("ranking", False)
    for task in tasks:
        X_train, y_train, _, _, relevant = load_task(task, spec, seed)
        start = time.perf_counter()
        model = TabNetClassifier(random_state=seed).fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        data = model._prepare(X_train, y_train, None, first_call=False, streaming=True,
                              update=False)
        module = model._inference_module().eval()
        start = time.perf_counter()
        grad = input_x_gradient(lambda x: torch.softmax(module(x), dim=1), data.X)
        grad_seconds = time.perf_counter() - start
        start = time.perf_counter()
        perm = np.clip(permutation_importances(model, data, draw_seed(seed)), 0, None)
        perm_seconds = time.perf_counter() - start
        perm = perm / perm.sum() if perm.sum() > 0 else perm
        mask = model.uncredited_importances_
        cells = []
        for name, values in (("mask", mask), ("grad", grad), ("perm", perm)):
            credited = credited_importances(data.X, data.weights, values)[0]
            cells.append(f"{name} {precision_at_k(values, relevant):.2f} "
                         f"+c {precision_at_k(credited, relevant):.2f}")
        print(f"{task:14s} seed {seed} " + " | ".join(cells)
              + f" | fit {fit_seconds:.0f}s grad {grad_seconds:.2f}s perm {perm_seconds:.1f}s",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1].split(","))
