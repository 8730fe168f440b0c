"""Selection-quality benchmark: rank columns whose relevance is known.

Runs every method of ``selection_methods.METHODS`` on every task of
``shared/BENCHMARKS.md`` on the same splits, and reports per (task, method):

- precision@k of the ranking (k = number of relevant columns; 30 for
  cancer+probes),
- the test ROC AUC of ``HistGradientBoostingClassifier(random_state=0)``
  trained on the top-k columns,
- fit seconds (wall time of the rank call; median over ``--repeats``),
- any extra information a method returns (for example ``chosen_k``).

Raw results go to ``benchmarks/results/selection.json``; a run with a subset
of tasks or methods replaces only the rows it measured there, and the
markdown report (``docs/benchmarks/selection.md``) is regenerated from the
merged JSON, with the run each row came from. ``--quick`` uses fewer rows and
writes to ``*_quick`` files so smoke runs never mix with full results.

Usage::

    python benchmarks/bench_selection.py                       # everything
    python benchmarks/bench_selection.py --methods CancelOutSelector
    python benchmarks/bench_selection.py --tasks syn1,madelon --quick
"""

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skgates.datasets import (
    SYN_NAMES,
    load_cancer_with_probes,
    make_madelon_like,
    make_syn,
    precision_at_k,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from selection_methods import METHODS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TASKS = (*SYN_NAMES, "madelon", "cancer+probes")
N_THREADS = 1

# Fixed seeds: every method sees exactly the same data.
SYN_TRAIN_SEED, SYN_TEST_SEED = 101, 202  # separate draws for train and test rows
MADELON_SEED = 0  # make_madelon_like(random_state=0)
PROBE_SEED = 0  # load_cancer_with_probes(120, random_state=0)
SPLIT_SEED = 0  # train_test_split(..., test_size=0.3, stratify=y, random_state=0)
METHOD_SEED = 0  # random_state passed to every rank function


def data_spec(quick):
    """Everything that determines the data; stored with the results."""
    return {
        "syn_train_rows": 2000 if quick else 14000,
        "syn_test_rows": 1000 if quick else 6000,
        "syn_noise_columns": 89,
        "syn_train_seed": SYN_TRAIN_SEED,
        "syn_test_seed": SYN_TEST_SEED,
        "madelon_rows": 800 if quick else 2600,
        "madelon_seed": MADELON_SEED,
        "cancer_probes": 120,
        "probe_seed": PROBE_SEED,
        "split": "70/30 stratified",
        "split_seed": SPLIT_SEED,
        "method_random_state": METHOD_SEED,
    }


def load_task(name, spec):
    """Return ``X_train, y_train, X_test, y_test, relevant`` for a task."""
    if name in SYN_NAMES:
        X_train, y_train, relevant = make_syn(
            name, spec["syn_train_rows"], spec["syn_noise_columns"], spec["syn_train_seed"])
        X_test, y_test, _ = make_syn(
            name, spec["syn_test_rows"], spec["syn_noise_columns"], spec["syn_test_seed"])
        return X_train, y_train, X_test, y_test, relevant
    if name == "madelon":
        X, y, relevant = make_madelon_like(spec["madelon_rows"], random_state=spec["madelon_seed"])
    elif name == "cancer+probes":
        X, y, relevant = load_cancer_with_probes(spec["cancer_probes"], random_state=spec["probe_seed"])
        X = X.to_numpy()
    else:
        raise ValueError(f"Unknown task {name!r}; expected one of {', '.join(TASKS)}.")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=spec["split_seed"])
    return X_train, y_train, X_test, y_test, relevant


def downstream_auc(importances, k, X_train, y_train, X_test, y_test):
    """Test ROC AUC of gradient boosting on the ``k`` top-ranked columns."""
    top = np.argsort(-importances, kind="stable")[:k]
    model = HistGradientBoostingClassifier(random_state=0).fit(X_train[:, top], y_train)
    return float(roc_auc_score(y_test, model.predict_proba(X_test[:, top])[:, 1]))


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    return value


def run_one(task, method, data, repeats, log):
    """Measure one (task, method); errors are recorded, not raised."""
    X_train, y_train, X_test, y_test, relevant = data
    k = len(relevant)
    row = {"task": task, "method": method, "k": k}
    seconds = []
    try:
        result = None
        for _ in range(repeats):
            start = time.perf_counter()
            out = METHODS[method](X_train.copy(), y_train.copy(), METHOD_SEED)
            seconds.append(time.perf_counter() - start)
            result = out if result is None else result
        extra = {}
        if isinstance(result, dict):
            extra = {key: _to_builtin(val) for key, val in result.items() if key != "importances"}
            result = result["importances"]
        if isinstance(result, torch.Tensor):
            result = result.detach().cpu().numpy()
        importances = np.asarray(result, dtype=np.float64).ravel()
        if importances.shape != (X_train.shape[1],):
            raise ValueError(f"{method} returned {importances.shape[0]} importances for "
                             f"{X_train.shape[1]} columns.")
        if not np.all(np.isfinite(importances)):
            raise ValueError(f"{method} returned non-finite importances.")
        row.update(
            precision_at_k=precision_at_k(importances, relevant),
            auc=downstream_auc(importances, k, X_train, y_train, X_test, y_test),
            seconds=statistics.median(seconds),
            seconds_all=seconds,
            extra=extra,
            top_k=np.argsort(-importances, kind="stable")[:k].tolist(),
            importances=importances.tolist(),
        )
    except Exception as exc:  # one failing method must not kill the run
        row.update(error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        if seconds:
            row["seconds_all"] = seconds
        log.write(traceback.format_exc())
    return row


def machine_info():
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "platform": platform.platform()}


def versions():
    out = {"python": platform.python_version()}
    for dist in ("skgates", "torch", "scikit-learn", "skorch", "numpy", "pytorch-tabnet",
                 "lassonet", "stg"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def merge(old, new_run, new_rows):
    """Replace the measured (task, method) rows of ``old`` by ``new_rows``."""
    measured = {(r["task"], r["method"]) for r in new_rows}
    rows = [r for r in old.get("results", []) if (r["task"], r["method"]) not in measured]
    rows += new_rows
    used = {r["run"] for r in rows}
    runs = {rid: run for rid, run in old.get("runs", {}).items() if rid in used}
    runs[new_run["id"]] = new_run
    return {"data": new_run["data"], "runs": runs, "results": rows}


# ----------------------------------------------------------------------------- report


def _ordered(values, preferred):
    seen = [v for v in preferred if v in values]
    return seen + sorted(v for v in values if v not in seen)


def _cell(row, key, fmt):
    if row is None:
        return ""
    if "error" in row:
        return "error"
    return fmt.format(row[key])


def _table(tasks, methods, lookup, key, fmt, mean_row):
    lines = ["| task | " + " | ".join(methods) + " |",
             "| --- |" + " ---: |" * len(methods)]
    for task in tasks:
        cells = [_cell(lookup.get((task, m)), key, fmt) for m in methods]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if mean_row:
        cells = []
        for m in methods:
            vals = [lookup[(t, m)][key] for t in tasks
                    if (t, m) in lookup and "error" not in lookup[(t, m)]]
            if not vals:
                cells.append("")
            elif len(vals) < len(tasks):
                cells.append(fmt.format(float(np.mean(vals))) + f" ({len(vals)}/{len(tasks)})")
            else:
                cells.append("**" + fmt.format(float(np.mean(vals))) + "**")
        lines.append(f"| {mean_row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_markdown(merged, json_name="selection.json"):
    rows = merged["results"]
    lookup = {(r["task"], r["method"]): r for r in rows}
    tasks = _ordered({r["task"] for r in rows}, TASKS)
    methods = _ordered({r["method"] for r in rows}, list(METHODS))
    runs = merged["runs"]
    spec = merged["data"]
    out = ["# Selection-quality benchmark", ""]
    out.append(
        f"Generated by `benchmarks/bench_selection.py` from `{json_name}`. "
        "Tasks and metrics as in `shared/BENCHMARKS.md`: precision@k of each "
        "method's ranking (k = number of relevant columns, 30 for cancer+probes), test ROC AUC "
        "of `HistGradientBoostingClassifier(random_state=0)` trained on the top-k columns, and "
        "wall seconds of the ranking call (fit). Peer settings are documented in "
        "`benchmarks/selection_methods.py`.")
    out.append("")
    out.append("## Data (deterministic, identical for every method)")
    out.append("")
    out.append(
        f"- syn1-syn6: `make_syn(name, {spec['syn_train_rows']}, 89, random_state="
        f"{spec['syn_train_seed']})` for training, `make_syn(name, {spec['syn_test_rows']}, 89, "
        f"random_state={spec['syn_test_seed']})` for testing (100 columns).")
    out.append(
        f"- madelon: `make_madelon_like({spec['madelon_rows']}, random_state={spec['madelon_seed']})`"
        f", 500 columns; cancer+probes: `load_cancer_with_probes({spec['cancer_probes']}, "
        f"random_state={spec['probe_seed']})`, 150 columns; both split 70/30 stratified with "
        f"`train_test_split(..., random_state={spec['split_seed']})`.")
    out.append(f"- every method gets `random_state={spec['method_random_state']}`.")
    out.append("")
    out.append("## Precision@k (higher is better)")
    out.append("")
    out.append(_table(tasks, methods, lookup, "precision_at_k", "{:.2f}", "mean"))
    out.append("")
    out.append("## Test ROC AUC of gradient boosting on the top-k columns")
    out.append("")
    out.append(_table(tasks, methods, lookup, "auc", "{:.3f}", "mean"))
    out.append("")
    repeats = {run["repeats"] for run in runs.values()}
    what = "median of the repeats" if max(repeats) > 1 else "one run"
    out.append(f"## Fit seconds ({what}; wall time of the ranking call)")
    out.append("")
    out.append(_table(tasks, methods, lookup, "seconds", "{:.1f}", None))
    out.append("")
    if "RandomForest" in methods:
        out.append("Seconds relative to RandomForest (300 trees) on the same task, same run "
                   "(ratio < 1: faster than RandomForest):")
        out.append("")
        ratio_lines = ["| task | " + " | ".join(methods) + " |",
                       "| --- |" + " ---: |" * len(methods)]
        for task in tasks:
            ref = lookup.get((task, "RandomForest"))
            cells = []
            for m in methods:
                r = lookup.get((task, m))
                if (r is None or ref is None or "error" in r or "error" in ref
                        or r["run"] != ref["run"]):
                    cells.append("")
                else:
                    cells.append(f"{r['seconds'] / ref['seconds']:.2f}")
            ratio_lines.append(f"| {task} | " + " | ".join(cells) + " |")
        out.append("\n".join(ratio_lines))
        out.append("")
    extras = [(r["task"], r["method"], r["extra"]) for r in rows if r.get("extra")]
    if extras:
        out.append("## Extra information returned by the methods")
        out.append("")
        out.append("| task | method | info |")
        out.append("| --- | --- | --- |")
        for task in tasks:
            for m in methods:
                r = lookup.get((task, m))
                if r and r.get("extra"):
                    info = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in r["extra"].items())
                    out.append(f"| {task} | {m} | {info} |")
        out.append("")
    errors = [r for r in rows if "error" in r]
    if errors:
        out.append("## Errors")
        out.append("")
        for r in errors:
            out.append(f"- {r['task']} / {r['method']}: `{r['error']}`")
        out.append("")
    out.append("## Runs")
    out.append("")
    for rid in sorted(runs):
        run = runs[rid]
        m = run["machine"]
        out.append(f"### Run {rid}")
        out.append("")
        out.append(f"- date: {run['date']}")
        out.append(f"- command: `{run['command']}`")
        out.append(f"- machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['platform']}")
        out.append(f"- threads: {run['threads']}")
        out.append(f"- repeats: {run['repeats']}")
        out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()))
        status = "" if run.get("complete", True) else " (interrupted or still running)"
        out.append(f"- rows: {run['n_rows']} (task, method) pairs in "
                   f"{run['total_seconds']:.0f} s{status}")
        if run.get("note"):
            out.append(f"- note: {run['note']}")
        out.append("")
    if len(runs) > 1:
        out.append("Run each row came from:")
        out.append("")
        run_of = {(r["task"], r["method"]): r["run"] for r in rows}
        out.append("\n".join(
            ["| task | " + " | ".join(methods) + " |", "| --- |" + " --- |" * len(methods)]
            + [f"| {t} | " + " | ".join(run_of.get((t, m), "") for m in methods) + " |"
               for t in tasks]))
        out.append("")
    else:
        out.append("All rows come from this one run, so every method ran on identical data "
                   "in the same process.")
        out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- main


@contextlib.contextmanager
def _locked(path):
    """Exclusive lock for read-merge-write of ``path`` (lock file in the temp dir)."""
    digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"skgates-bench-{digest}.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path, text):
    tmp = Path(f"{path}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _display_path(path):
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _split_arg(value, known, what):
    if value is None:
        return list(known)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown {what}: {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--methods", help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--quick", action="store_true",
                        help="fewer rows (smoke run); writes *_quick files by default")
    parser.add_argument("--repeats", type=int, default=1,
                        help="time each rank call this many times; seconds are medians")
    parser.add_argument("--output", help="markdown report path "
                        "(default docs/benchmarks/selection[_quick].md)")
    parser.add_argument("--json", help="raw results path "
                        "(default benchmarks/results/selection[_quick].json)")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore an existing JSON instead of merging into it")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    tasks = _split_arg(args.tasks, TASKS, "tasks")
    methods = _split_arg(args.methods, list(METHODS), "methods")
    suffix = "_quick" if args.quick else ""
    json_path = Path(args.json or ROOT / "benchmarks" / "results" / f"selection{suffix}.json")
    md_path = Path(args.output or ROOT / "docs" / "benchmarks" / f"selection{suffix}.md")
    spec = data_spec(args.quick)

    old = {}
    if json_path.exists() and not args.fresh:
        old = json.loads(json_path.read_text())
        if old.get("data") != spec:
            raise SystemExit(f"{json_path} holds results for other data ({old.get('data')}); "
                             "use --fresh or another --json to start over.")

    torch.set_num_threads(N_THREADS)
    warnings.filterwarnings("ignore")
    started = datetime.datetime.now(datetime.timezone.utc)
    run_id = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    log = sys.stderr
    run = {
        "id": run_id,
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join(shlex.quote(a) for a in
                                        [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "machine": machine_info(),
        "threads": (f"torch.set_num_threads({N_THREADS}); BLAS/OpenMP limited to {N_THREADS} "
                    "with threadpoolctl; RandomForest n_jobs=1"),
        "repeats": args.repeats,
        "versions": versions(),
        "data": spec,
        "tasks": tasks,
        "methods": methods,
        "complete": False,
    }
    new_rows = []
    t0 = time.perf_counter()

    ignore_stored = [args.fresh]

    def save():
        # Written after every row, so an interrupted run keeps what it measured.
        # The stored JSON is re-read under a lock just before writing, so runs of
        # other methods going on at the same time keep their rows.
        run.update(n_rows=len(new_rows), total_seconds=time.perf_counter() - t0)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(json_path):
            stored = {}
            if json_path.exists() and not ignore_stored[0]:
                stored = json.loads(json_path.read_text())
                if stored.get("data") != spec:
                    log.write(f"{json_path} now holds other data; overwriting it.\n")
                    stored = {}
            ignore_stored[0] = False
            merged = merge(stored, run, new_rows)
            _write_atomic(json_path, json.dumps(merged, indent=1) + "\n")
            md_path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(md_path, render_markdown(merged, _display_path(json_path)) + "\n")

    with threadpool_limits(limits=N_THREADS):
        for task in tasks:
            data = load_task(task, spec)
            for method in methods:
                row = run_one(task, method, data, args.repeats, log)
                row["run"] = run_id
                new_rows.append(row)
                shown = (f"error {row['error']}" if "error" in row else
                         f"p@k={row['precision_at_k']:.2f} auc={row['auc']:.3f} "
                         f"{row['seconds']:.1f}s {row['extra'] or ''}")
                print(f"{task:14s} {method:20s} {shown}", flush=True)
                save()
    run["complete"] = True
    save()
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
