"""A/B timing of skgates' TabNet against an earlier revision of itself, interleaved in one process.

The base revision's ``skgates`` package (``git archive``) is imported under the name
``skgates_base`` next to the working tree's ``skgates``; every measurement alternates
the two (A, B, A, B, ...) in short blocks, so both see the same machine load, and reports
the per-round ratio base / new (> 1: the working tree is faster) and its median.

Measurements (one torch thread, 40,000 x 20 rows of Syn2 + 9 noise columns,
n_d = n_a = 8, 3 steps, gamma 1.3, batch 1024, virtual batch 128, lr 0.02):

- ``step``: the network-level eager training step (forward, cross-entropy + penalty,
  backward, ``clip_grad_norm_`` at 1, fused AdamW), as in ``bench_tabnet_profile.py``.
- ``fit``: ``TabNetClassifier.fit`` for ``--epochs`` epochs (skorch loop included).
- ``predict``: ``predict_proba`` of the 40,000 rows by a fitted classifier.
- ``compile`` (only with ``--compile``): the first ``compile=True`` fit of each (compile
  time included; run with a fresh ``TORCHINDUCTOR_CACHE_DIR`` for cold compiles) and then
  the per-fit time of further compiled fits, interleaved.

Usage::

    python benchmarks/bench_tabnet_step_ab.py --base f6c707c --rounds 7 --what step,fit,predict
"""

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_tabnet_profile


def import_base(revision):
    """Import ``skgates`` as of ``revision`` under the name ``skgates_base``."""
    folder = Path(tempfile.mkdtemp(prefix="skgates_base_"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "skgates"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "skgates").rename(folder / "skgates_base")
    sys.path.insert(0, str(folder))
    return importlib.import_module("skgates_base")


def data(n_rows=40000, n_features=20):
    from skgates.datasets import make_syn

    X, y, _ = make_syn("syn2", n_samples=n_rows, n_noise=n_features - 11, random_state=1)
    return X.astype(np.float32), y


def network_step(package, X, y, seed=0):
    from bench_tabnet_profile import training_steps

    nn_module = importlib.import_module(package.__name__ + ".nn.tabnet")
    return training_steps(nn_module.TabNet, torch.from_numpy(X), torch.from_numpy(y).long(), seed,
                          generator=torch.Generator().manual_seed(seed))


def classifier(package, epochs, compile=False):
    return package.TabNetClassifier(n_d=8, n_a=8, n_steps=3, gamma=1.3, batch_size=1024,
                                    virtual_batch_size=128, lr=0.02, max_epochs=epochs,
                                    random_state=0, compile=compile)


def interleave(runs, rounds):
    """``runs``: {name: callable returning seconds}; medians and base/new ratios per round."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            times[name].append(run())
    base, new = times["base"], times["new"]
    ratios = [a / b for a, b in zip(base, new)]
    return statistics.median(base), statistics.median(new), ratios


def timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def report(label, unit, scale, result):
    base, new, ratios = result
    print(f"{label}: base {base * scale:.2f} {unit}, new {new * scale:.2f} {unit}; base/new per round "
          f"{', '.join(f'{r:.3f}' for r in ratios)} (median {statistics.median(ratios):.3f})",
          flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="f6c707c", help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="steps per block (step)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fit (fit)")
    parser.add_argument("--what", default="step,fit,predict")
    parser.add_argument("--compile", action="store_true", help="also time compile=True fits")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    import skgates

    packages = {"base": import_base(args.base), "new": skgates}
    X, y = data()
    what = args.what.split(",")
    print(f"load average {os.getloadavg()[0]:.2f}; base {args.base}", flush=True)
    if "step" in what:
        steps = {name: network_step(package, X, y) for name, package in packages.items()}
        for run in steps.values():
            run(10)  # warm-up
        report(f"eager step ({args.steps} per block)", "ms/step", 1e3 / args.steps,
               interleave({name: (lambda s=s: timed(s, args.steps)) for name, s in steps.items()},
                          args.rounds))
    if "fit" in what or "predict" in what:
        models = {name: classifier(package, args.epochs) for name, package in packages.items()}
        for model in models.values():
            model.fit(X[:4096], y[:4096])  # warm-up
        if "fit" in what:
            report(f"eager fit ({args.epochs} epochs)", "s", 1,
                   interleave({name: (lambda m=m: timed(m.fit, X, y)) for name, m in models.items()},
                              args.rounds))
        else:
            for model in models.values():
                model.fit(X, y)
        if "predict" in what:
            report("predict_proba (40,000 rows)", "ms", 1e3,
                   interleave({name: (lambda m=m: timed(m.predict_proba, X))
                               for name, m in models.items()}, args.rounds))
    if args.compile:
        models = {name: classifier(package, args.epochs, compile=True)
                  for name, package in packages.items()}
        for name, model in models.items():  # (the two packages' code objects compile apart)
            print(f"first compiled fit, {name}: {timed(model.fit, X, y):.1f} s", flush=True)
        report(f"compiled fit ({args.epochs} epochs)", "s", 1,
               interleave({name: (lambda m=m: timed(m.fit, X, y)) for name, m in models.items()},
                          args.rounds))
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
