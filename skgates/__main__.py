"""Rank the columns of a data set with skgates' selectors: ``python -m skgates``.

Without arguments it ranks the breast-cancer data with 120 added noise
columns ("probes"), so you can see the real columns rise above the noise.
With a CSV path and ``--target`` it ranks that file's columns instead;
``--probes N`` adds noise columns there too, as a yardstick.
"""

import argparse
import sys
import time

import numpy as np
import pandas as pd

from .datasets import add_probes, load_cancer_with_probes
from .rankers import RANKERS


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m skgates",
        description="Rank the columns of a data set with skgates' neural feature selectors.",
    )
    parser.add_argument("csv", nargs="?", help="CSV file to rank (default: built-in breast cancer + probes)")
    parser.add_argument("--target", help="name of the target column in the CSV")
    parser.add_argument("--probes", type=int, default=None,
                        help="noise columns to append (default: 120 for the built-in data, 0 for a CSV)")
    parser.add_argument("--selectors", default=",".join(RANKERS),
                        help=f"comma-separated selectors to run (default: all of {', '.join(RANKERS)})")
    parser.add_argument("--top", type=int, default=20, help="rows of each ranking to print (default 20)")
    parser.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    return parser.parse_args(argv)


def _load(args):
    if args.csv is None:
        X, y, _ = load_cancer_with_probes(120 if args.probes is None else args.probes,
                                          random_state=args.random_state)
        return X, y, "breast cancer (standardised)"
    if not args.target:
        raise SystemExit("error: --target is required with a CSV path")
    frame = pd.read_csv(args.csv)
    if args.target not in frame.columns:
        raise SystemExit(f"error: column {args.target!r} is not in {args.csv}; columns are {list(frame.columns)}")
    y = frame.pop(args.target).to_numpy()
    if args.probes:
        frame, _ = add_probes(frame, args.probes, random_state=args.random_state)
    return frame, y, args.csv


def _table(columns, importances, top):
    order = np.argsort(-importances, kind="stable")
    rows = []
    for rank, j in enumerate(order[:top], start=1):
        name = str(columns[j])
        rows.append(f"{rank:>4}  {name:<28}  {importances[j]:>10.4f}  {'noise' if name.startswith('probe_') else ''}")
    header = f"{'rank':>4}  {'column':<28}  {'importance':>10}  noise?"
    return "\n".join([header, "-" * len(header), *rows])


def main(argv=None):
    """Entry point of ``python -m skgates`` and the ``skgates`` command."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    X, y, label = _load(args)
    names = [name.strip() for name in args.selectors.split(",") if name.strip()]
    unknown = [name for name in names if name not in RANKERS]
    if unknown:
        raise SystemExit(f"error: unknown selectors {unknown}; choose from {list(RANKERS)}")
    columns = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{j}" for j in range(X.shape[1])]
    n_probes = sum(str(c).startswith("probe_") for c in columns)
    print(f"Data: {label}: {X.shape[0]} rows, {X.shape[1]} columns ({n_probes} of them noise probes)\n")
    for name in names:
        start = time.perf_counter()
        importances = RANKERS[name](X, y, args.random_state)
        seconds = time.perf_counter() - start
        print(f"== {name} ({seconds:.1f} s)")
        print(_table(columns, importances, args.top))
        if n_probes:
            best_probe = max(importances[j] for j, c in enumerate(columns) if str(c).startswith("probe_"))
            above = sum(importances[j] > best_probe for j, c in enumerate(columns) if not str(c).startswith("probe_"))
            print(f"{above} of {len(columns) - n_probes} real columns rank above every noise probe.")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
