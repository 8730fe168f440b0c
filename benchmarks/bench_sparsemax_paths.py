"""The three ways skgates finds sparsemax's threshold, timed against each other on the CPU.

1. Per width (20-100 scores) and rows (1024, 8192): the whole sparsemax forward with the
   threshold from a sort, from pairwise differences (only up to 32 scores) and from
   Michelot's fixed point, interleaved, medians of ``--rounds`` rounds of 20 calls.
2. The pairwise path with its own shift of the transposed scores (skgates) against the
   same path shifting with ``_shifted`` first, at 1024 x 20.
3. ``predict_proba`` of 10,000 rows by a TabNetClassifier on 50 columns (1 epoch on
   20,000 rows): its time with the sort and with Michelot's threshold, and the sort's
   share of it under the profiler.

One torch thread. Results of one run: ``benchmarks/results/sparsemax_paths.txt``.

Usage::

    python benchmarks/bench_sparsemax_paths.py --rounds 9
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from torch.profiler import profile

import skgates.nn.sparsemax  # noqa: F401  (the module: its name is also a function's)
from skgates import TabNetClassifier
from skgates.datasets import make_syn

S = sys.modules["skgates.nn.sparsemax"]


def _finish(z, threshold):
    z, undefined = S._shifted(z)
    return S._mark_undefined(torch.clamp(z - threshold(z), min=0.0), undefined)


def _pairwise_with_shifted(z):
    z, undefined = S._shifted(z)
    columns = z.t().contiguous()
    tau = torch.cat([S._pairwise_tau(b) for b in columns.split(S.PAIRWISE_BLOCK_ROWS, dim=1)], 1)
    return S._mark_undefined((columns - tau).clamp_min_(0.0).t(), undefined)


def medians(functions, rounds, calls=20):
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            for _ in range(calls):
                function()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print("1. forward time in us (sort / pairwise / Michelot)")
    for rows in (1024, 8192):
        for width in (20, 32, 50, 64, 100):
            z = torch.randn(rows, width) * 3
            functions = {"sort": lambda: _finish(z, S._sparsemax_threshold_sorted),
                         "michelot": lambda: _finish(z, S._sparsemax_threshold_michelot)}
            if width <= S.PAIRWISE_MAX_WIDTH:
                functions["pairwise"] = lambda: S._sparsemax_pairwise(z)
            t = medians(functions, args.rounds)
            print(f"{rows:>5} x {width:>3}: " + ", ".join(
                f"{name} {1e6 * t[name]:.0f}" for name in ("sort", "pairwise", "michelot") if name in t)
                + f"; sort / Michelot {t['sort'] / t['michelot']:.2f}", flush=True)
    z = torch.randn(1024, 20) * 3
    t = medians({"own shift": lambda: S._sparsemax_pairwise(z),
                 "_shifted": lambda: _pairwise_with_shifted(z)}, args.rounds, calls=50)
    print(f"2. pairwise 1024 x 20: own shift {1e6 * t['own shift']:.0f} us, with _shifted "
          f"{1e6 * t['_shifted']:.0f} us")
    X, y, _ = make_syn("syn2", n_samples=20000, n_noise=39, random_state=1)
    X_test, _, _ = make_syn("syn2", n_samples=10000, n_noise=39, random_state=2)
    model = TabNetClassifier(n_d=8, n_a=8, n_steps=3, gamma=1.3, batch_size=1024,
                             virtual_batch_size=128, max_epochs=1, random_state=0)
    model.fit(X.astype(np.float32), y)
    X_test = X_test.astype(np.float32)
    eager_cpu = S._eager_cpu
    sort_only = lambda z: False  # noqa: E731  (every path then sorts)
    results = {}
    for name, check in (("sort", sort_only), ("michelot", eager_cpu)):
        S._eager_cpu = check
        try:
            model.predict_proba(X_test)
            results[name] = medians({name: lambda: model.predict_proba(X_test)}, args.rounds, 3)[name]
            if name == "sort":
                with profile() as prof:
                    model.predict_proba(X_test)
                events = prof.key_averages()
                total = sum(e.self_cpu_time_total for e in events)
                share = sum(e.self_cpu_time_total for e in events if e.key == "aten::sort") / total
        finally:
            S._eager_cpu = eager_cpu
    print(f"3. predict_proba, 10,000 x 50: sort {1e3 * results['sort']:.1f} ms (aten::sort "
          f"{100 * share:.0f}% of it), Michelot {1e3 * results['michelot']:.1f} ms")


if __name__ == "__main__":
    main()
