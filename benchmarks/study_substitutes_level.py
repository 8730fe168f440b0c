"""The substitutes credit's family-wise level: how often it credits noise, and what real substitutes score.

1. ``--trials`` repetitions of 5 sources and 40 independent Gaussian columns on 120
   rows: the fraction of trials in which any column is credited, at the default
   level (0.1%) and at 5%.
2. The fits behind the choice of 0.1% (ranking protocol of ``bench_selection.py``):
   TailDropoutRanker on Syn4 seed 2, whose credit at 5% was a noise column, and
   CancelOutSelector on MADELON-like and cancer + probes seed 0: each credited column,
   whether it is relevant, its ``R^2`` and its p-value in the round that credited it.

Results of one run: ``benchmarks/results/substitutes_level.txt``.

Usage::

    python benchmarks/study_substitutes_level.py --trials 2000
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.special import fdtrc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_selection import data_spec, load_task  # noqa: E402

from skgates import CancelOutSelector, TailDropoutRanker  # noqa: E402
from skgates._substitutes import FAMILY_WISE_LEVEL, find_substitutes, substitution_r2  # noqa: E402


def noise_rate(trials, alpha, seed=7):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        X = torch.as_tensor(rng.normal(size=(120, 45)), dtype=torch.float32)
        hits += bool(find_substitutes(X, torch.ones(120), np.arange(5), alpha=alpha)[1].any())
    return hits


def credited_columns(X, sources, relevant, alpha):
    """(column, relevant?, R^2, p) for every column credited at ``alpha``, round by round."""
    X = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    weights = torch.ones(len(X))
    _, substitutes, rounds = find_substitutes(X, weights, sources, alpha=alpha)
    rows = []
    for round_ in range(1, rounds.max() + 1):
        known = np.union1d(sources, np.flatnonzero((rounds > 0) & (rounds < round_)))
        r2, rank, n_effective = substitution_r2(X, weights, known)
        dof = n_effective - rank - 1
        for j in np.flatnonzero(rounds == round_):
            p = fdtrc(rank, dof, (r2[j] / rank) / max(1.0 - r2[j], 1e-300) * dof)
            rows.append((int(j), int(j in set(relevant)), round(float(r2[j]), 4), float(p)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for alpha in (FAMILY_WISE_LEVEL, 0.05):
        hits = noise_rate(args.trials, alpha)
        print(f"level {alpha}: noise credited in {hits} of {args.trials} trials "
              f"({hits / args.trials:.4f})", flush=True)
    spec = data_spec("ranking", False)
    for task, seed, estimator in [("syn4", 2, TailDropoutRanker), ("madelon", 0, CancelOutSelector),
                                  ("cancer+probes", 0, CancelOutSelector)]:
        X, y, _, _, relevant = load_task(task, spec, seed)
        X = np.asarray(X, dtype=np.float64)
        fitted = estimator(random_state=seed, credit_substitutes=False).fit(X, y)
        if estimator is TailDropoutRanker:
            sources = np.flatnonzero(fitted._standing_out(fitted.shapley_values_, scale=2.0))
        else:
            sources = fitted.get_support(indices=True)
        for alpha in (FAMILY_WISE_LEVEL, 0.05):
            print(f"{task} seed {seed} {estimator.__name__}: {len(sources)} sources, level {alpha}, "
                  f"credited (column, relevant, R^2, p): "
                  f"{credited_columns(X, sources, relevant, alpha)}", flush=True)


if __name__ == "__main__":
    main()
