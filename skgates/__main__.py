"""Which columns of a data set carry signal? ``python -m skgates`` answers with every selector.

Without arguments it takes the breast-cancer data with 120 added noise columns
("probes"): a probe that a selector keeps is a false selection you can see. With a CSV
path and ``--target`` it takes that file's columns instead (``--probes N`` adds noise
columns there too). Every selector goes through the same decision rules (stability
selection, and the false-discovery-rate test for those that predict, see
:mod:`skgates.rankers`), and one table shows, for every column, which selectors keep it
and how sure they are. ``--report PATH`` writes the table and the figures to one HTML page.
"""

import argparse
import os
import shlex
import sys
import time

import numpy as np
import pandas as pd

from ._report import Context, decision_rows, html_report, text_report
from .datasets import add_probes, load_cancer_with_probes
from .rankers import SELECTORS, is_classification, select

_DEFAULT_RESAMPLES = 10
_DEFAULT_PROBES = 120
_THRESHOLD = 0.75
_FDR = 0.1


def _integer(minimum, also=None):
    """An argparse type: an int >= ``minimum`` (or exactly ``also``, with its meaning)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum and (also is None or value != also[0]):
            extra = f" (that many processes) or {also[0]} ({also[1]})" if also else ""
            raise argparse.ArgumentTypeError(f"must be >= {minimum}{extra}, got {value}")
        return value
    return parse


_n_jobs = _integer(1, also=(-1, "all cores"))
_positive = _integer(1)
_non_negative = _integer(0)


def _parser():
    selectors = "\n".join(
        f"  {name:<18} {spec.what}"
        + (f"; {spec.epochs} epochs" if spec.epochs else "")
        for name, spec in SELECTORS.items())
    parser = argparse.ArgumentParser(
        prog="python -m skgates",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Which columns of a data set carry signal? Every selector ranks the columns,\n"
            "and two decision rules with an error guarantee say which ones to keep:\n\n"
            f"  S  stability selection: {2 * _DEFAULT_RESAMPLES} fits (--n-resamples "
            f"{_DEFAULT_RESAMPLES} pairs), each on a random half of\n"
            "     the rows; a column is kept when at least 75% of the fits rank it among "
            "their q\n"
            "     most important, q chosen so that the expected number of false "
            "selections is <= 1;\n"
            "  F  one fit on half the rows, a held-out swap test per column and\n"
            f"     Benjamini-Hochberg at false discovery rate {_FDR}.\n\n"
            "It prints one table: for every column (the real ones first, the noise probes "
            "summarised),\nthe fraction P of fits that ranked it high and S/F where a rule "
            "keeps it, with a\nRandomForest as the yardstick; then a line per selector: "
            "columns kept and, with probes,\nhow many of them are probes (false "
            "selections).\n\nSelectors:\n" + selectors),
        epilog=(
            f"Budget: on the built-in data (569 rows, 150 columns) each selector makes "
            f"{2 * _DEFAULT_RESAMPLES} fits\n"
            "on half the rows and one for the FDR test, about 45 s of CPU time in all: "
            "half a minute\n"
            "to about a minute on 2 cores with the default --n-jobs -1 (its worker processes "
            "take a\n"
            "few seconds to start; --n-jobs 1 is as fast on a busy machine), less on more "
            "cores.\n"
            "Fewer --n-resamples or --max-epochs are faster and less sure. --report needs "
            "matplotlib\n"
            "(pip install skgates[plot]).\n\n"
            "Examples:\n"
            "  python -m skgates\n"
            "  python -m skgates data.csv --target label --probes 50 --report report.html\n"
            "  python -m skgates --selectors CancelOutSelector,RandomForest --n-jobs 1"),
    )
    parser.add_argument("csv", nargs="?",
                        help="CSV file to rank (default: built-in breast cancer + probes)")
    parser.add_argument("--target", metavar="COLUMN",
                        help="name of the target column of the CSV (required with one)")
    parser.add_argument("--probes", metavar="N", type=_non_negative, default=None,
                        help=f"noise columns to append as a yardstick (default: {_DEFAULT_PROBES} "
                             "for the built-in data, 0 for a CSV)")
    parser.add_argument("--selectors", metavar="NAMES", default=",".join(SELECTORS),
                        help="comma-separated selectors to run, from those listed above "
                             "(default: all of them)")
    parser.add_argument("--report", metavar="PATH",
                        help="also write one self-contained HTML page with the table and the "
                             "figures (needs matplotlib)")
    parser.add_argument("--n-jobs", metavar="N", type=_n_jobs, default=-1,
                        help="processes for the fits, through joblib: N >= 1, or -1 for all "
                             "cores (default -1)")
    parser.add_argument("--n-resamples", metavar="N", type=_positive, default=_DEFAULT_RESAMPLES,
                        help="complementary pairs of the stability selection: 2 N fits per "
                             f"selector (default {_DEFAULT_RESAMPLES})")
    parser.add_argument("--max-epochs", metavar="N", type=_positive, default=None,
                        help="training epochs of every network (default: each selector's "
                             "own, listed above)")
    parser.add_argument("--top", metavar="N", type=_positive, default=30,
                        help="rows of real columns in the table: every kept column, then the "
                             "others up to N (default 30)")
    parser.add_argument("--random-state", metavar="SEED", type=int, default=0,
                        help="seed of the probes, the halves and the networks (default 0)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress on stderr")
    return parser


def _selector_names(parser, text):
    by_lower = {name.lower(): name for name in SELECTORS}
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name.lower() not in by_lower]
    if unknown:
        parser.error(f"unknown selectors {unknown} in --selectors; choose from "
                     f"{', '.join(SELECTORS)}")
    if not names:
        parser.error(f"--selectors is empty; choose from {', '.join(SELECTORS)}")
    return list(dict.fromkeys(by_lower[name.lower()] for name in names))


def _check_report_path(parser, path):
    """Fail before the work if ``path`` cannot be written, or matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error("--report draws its figures with matplotlib, which is not installed: "
                     "pip install skgates[plot] (or pip install matplotlib)")
    if os.path.isdir(path):
        parser.error(f"--report {path}: is a directory; give a file name such as "
                     f"{os.path.join(path, 'report.html')}")
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        parser.error(f"--report {path}: cannot be written ({exc.strerror or exc})")
    if not existed:
        os.remove(path)


def _load(parser, args):
    """``(X, y, probes mask, description)``."""
    if args.csv is None:
        if args.target:
            parser.error("--target names a column of a CSV file; give the CSV path too")
        n_probes = _DEFAULT_PROBES if args.probes is None else args.probes
        X, y, _ = load_cancer_with_probes(n_probes, random_state=args.random_state)
        probes = np.arange(X.shape[1]) >= X.shape[1] - n_probes
        return X, y, probes, "breast cancer (standardised)"
    if not args.target:
        parser.error(f"--target is required with a CSV path: the name of the column of "
                     f"{args.csv} to predict")
    try:
        frame = pd.read_csv(args.csv)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read {args.csv}: {exc}")
    if args.target not in frame.columns:
        parser.error(f"column {args.target!r} is not in {args.csv}; its columns are "
                     f"{', '.join(map(str, frame.columns))}")
    y = frame.pop(args.target)
    if y.isna().any():
        parser.error(f"the target column {args.target!r} has {int(y.isna().sum())} missing values")
    bad = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
           or pd.api.types.is_bool_dtype(frame[c])]
    if bad:
        parser.error(f"columns {bad} of {args.csv} are not numeric; encode them as numbers "
                     "(or drop them) first")
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing:
        parser.error(f"columns {missing} of {args.csv} have missing values; impute or drop "
                     "them first")
    if frame.shape[1] == 0:
        parser.error(f"{args.csv} has no column besides the target {args.target!r}")
    n_probes = args.probes or 0
    if n_probes:
        try:
            frame, _ = add_probes(frame, n_probes, random_state=args.random_state)
        except ValueError as exc:
            parser.error(str(exc))
    probes = np.arange(frame.shape[1]) >= frame.shape[1] - n_probes
    return frame, y.to_numpy(), probes, str(args.csv)


def _task(y):
    if is_classification(y):
        return f"classification ({len(np.unique(y))} classes)"
    return "regression"


def main(argv=None):
    """Entry point of ``python -m skgates`` and of the ``skgates`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    names = _selector_names(parser, args.selectors)
    if args.report:
        _check_report_path(parser, args.report)
    X, y, probes, label = _load(parser, args)
    if not is_classification(y) and not pd.api.types.is_numeric_dtype(np.asarray(y).dtype):
        parser.error(f"the target column {args.target!r} is neither class labels nor numbers")
    context = Context(data=label, n_rows=X.shape[0], n_columns=X.shape[1],
                      n_probes=int(probes.sum()), task=_task(y),
                      n_resamples=args.n_resamples, threshold=_THRESHOLD, fdr=_FDR)

    def say(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread per process is fastest
    start = time.perf_counter()
    selections = []
    try:
        for number, name in enumerate(names, start=1):
            say(f"[{number}/{len(names)}] {name}: {2 * args.n_resamples} fits on random halves"
                + ", then the FDR test")
            selection = select(name, X, y, n_resamples=args.n_resamples, threshold=_THRESHOLD,
                               fdr=_FDR, max_epochs=args.max_epochs, n_jobs=args.n_jobs,
                               random_state=args.random_state, progress=not args.quiet)
            kept = int(selection.stability.get_support().sum())
            say(f"      {name}: {kept} kept by stability selection ({selection.seconds:.1f} s)")
            selections.append(selection)
    finally:
        torch.set_num_threads(threads)
    context.seconds = time.perf_counter() - start
    rows = decision_rows(X.columns, probes, selections, top=args.top)
    print(text_report(context, rows, selections, probes))
    print(f"\nTotal {context.seconds:.0f} s with --n-jobs {args.n_jobs}.")
    if args.report:
        page = html_report(context, rows, selections, probes, X.columns,
                           command="python -m skgates " + shlex.join(argv))
        with open(args.report, "w", encoding="utf-8") as handle:
            handle.write(page)
        print(f"Report written to {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
