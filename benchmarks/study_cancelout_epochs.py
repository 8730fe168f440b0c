"""How CancelOutSelector's ranking and decision change with more epochs on small Syn tasks.

The decision protocol of ``bench_selection.py`` (2,000 training rows, 89 noise
columns) for Syn1, Syn2, Syn4, Syn5 and Syn6, seeds 0-2, CancelOutSelector at its
defaults except ``max_epochs`` in (60, 200, 400). 400 epochs of 2,000 rows are about
as many optimizer steps (6,400 at batch 128) as the default 60 epochs of the ranking
protocol's 14,000 rows (6,600). Prints, per task and seed and for each epoch count:
(precision@k of ``ranking_``, columns kept by the default rule, relevant columns kept,
seconds). Results of one run: ``benchmarks/results/cancelout_epochs_study.txt``.

Usage::

    python benchmarks/study_cancelout_epochs.py syn1,syn2,syn4,syn5,syn6
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection import data_spec, load_task  # noqa: E402

from skgates import CancelOutSelector  # noqa: E402
from skgates.datasets import precision_at_k  # noqa: E402

EPOCHS = (60, 200, 400)


def main(tasks):
    torch.set_num_threads(1)
    spec = data_spec("decision", False)
    for task in tasks:
        for seed in (0, 1, 2):
            X_train, y_train, _, _, relevant = load_task(task, spec, seed)
            result = {}
            for epochs in EPOCHS:
                start = time.time()
                selector = CancelOutSelector(max_epochs=epochs, random_state=seed).fit(X_train, y_train)
                kept = selector.get_support()
                result[epochs] = (round(precision_at_k(-selector.ranking_, relevant), 2),
                                  int(kept.sum()),
                                  int(kept[list(relevant)].sum()), round(time.time() - start, 1))
            print(task, seed, result, flush=True)


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["syn1", "syn2", "syn4", "syn5", "syn6"])
