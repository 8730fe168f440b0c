"""Selection-quality benchmark: rank and select columns whose relevance is known.

Runs methods of ``selection_methods.METHODS`` on tasks whose relevant columns
are known, on the same splits, for one or more seeds, and reports per
(task, method), as medians over the seeds:

- precision@k of the ranking (k = number of relevant columns; the real
  columns for cancer+probes and wine+probes),
- the test score of gradient boosting (``HistGradientBoosting*``,
  ``random_state=0``) trained on the top-k columns: ROC AUC on binary tasks,
  one-vs-rest macro ROC AUC on wine+probes (3 classes), R^2 on friedman,
- fit seconds (wall time of the method call, its decision included),
- for methods that return a selected set (their own default rule): the false
  discovery rate (selected irrelevant / selected, 0 if none selected), the
  power (selected relevant / relevant) and the number kept; the report gives
  the mean FDR over seeds (an FDR guarantee is about the mean) and medians.

Two protocols (``--protocol``):

- ``ranking`` (default): the protocol of ``shared/BENCHMARKS.md`` (14,000 Syn
  training rows...), every method, one seed by default. Results in
  ``benchmarks/results/selection.json`` and ``docs/benchmarks/selection.md``.
- ``decision``: smaller tasks (``DECISION_SPEC``) so that three seeds of the
  methods that return a decision (``selection_methods.DECISION_METHODS``) fit
  in about 45 minutes on one core. Results in
  ``benchmarks/results/selection_decision.json`` and
  ``docs/benchmarks/selection_decision.md``.

Seed ``s`` (0, 1, ... ``--seeds - 1``) adds ``s`` to every data seed (Syn
train and test draws, MADELON-like, probes, Friedman train and test draws,
the 70/30 split) and passes ``random_state = s`` to the method: seed 0 is the
original single-seed protocol.

A run with a subset of tasks, methods or seeds replaces only the
(task, method, seed) rows it measured in the JSON; the markdown report is
regenerated from the merged JSON, with the run each row came from.
``--quick`` uses fewer rows and writes to ``*_quick`` files so smoke runs never
mix with full results.

Usage::

    python benchmarks/bench_selection.py                       # ranking protocol
    python benchmarks/bench_selection.py --protocol decision    # 3 seeds, decision methods
    python benchmarks/bench_selection.py --protocol decision \\
        --methods CancelOutSelector,TailDropoutRanker           # re-run two methods, merge
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
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from skgates.datasets import (
    SYN_NAMES,
    fdr_and_power,
    load_cancer_with_probes,
    load_wine_with_probes,
    make_friedman1_with_noise,
    make_madelon_like,
    make_syn,
    precision_at_k,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from selection_methods import DECISION_METHODS, METHODS, NotApplicable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TASKS = (*SYN_NAMES, "madelon", "cancer+probes", "friedman", "wine+probes")
N_THREADS = 1

# Base seeds of seed 0; seed s adds s to each.
SYN_TRAIN_SEED, SYN_TEST_SEED = 101, 202  # separate draws for train and test rows
MADELON_SEED = 0  # make_madelon_like(random_state=0)
PROBE_SEED = 0  # load_cancer_with_probes(120, random_state=0), load_wine_with_probes(52, ...)
FRIEDMAN_TRAIN_SEED, FRIEDMAN_TEST_SEED = 301, 402
SPLIT_SEED = 0  # train_test_split(..., test_size=0.3, stratify=y, random_state=0)
METHOD_SEED = 0  # random_state passed to every rank function

SCORE_NAMES = {"roc_auc": "ROC AUC", "roc_auc_ovr": "ROC AUC (one-vs-rest, macro)", "r2": "R^2"}


def data_spec(protocol, quick):
    """Everything that determines the data of seed 0; stored with the results."""
    if protocol == "decision":
        rows = {"syn_train_rows": 1000 if quick else 2000,
                "syn_test_rows": 1000 if quick else 2000,
                "madelon_rows": 800 if quick else 1300,
                "friedman_train_rows": 600 if quick else 1000,
                "friedman_test_rows": 1000 if quick else 2000}
    else:
        rows = {"syn_train_rows": 2000 if quick else 14000,
                "syn_test_rows": 1000 if quick else 6000,
                "madelon_rows": 800 if quick else 2600,
                "friedman_train_rows": 1000 if quick else 2000,
                "friedman_test_rows": 1000 if quick else 6000}
    return {
        **{k: v for k, v in rows.items() if not k.startswith("friedman")},
        "syn_noise_columns": 89,
        "syn_train_seed": SYN_TRAIN_SEED,
        "syn_test_seed": SYN_TEST_SEED,
        "madelon_seed": MADELON_SEED,
        "cancer_probes": 120,
        "probe_seed": PROBE_SEED,
        "split": "70/30 stratified",
        "split_seed": SPLIT_SEED,
        "method_random_state": METHOD_SEED,
        "friedman_train_rows": rows["friedman_train_rows"],
        "friedman_test_rows": rows["friedman_test_rows"],
        "friedman_noise_columns": 95,
        "friedman_noise_sd": 1.0,
        "friedman_train_seed": FRIEDMAN_TRAIN_SEED,
        "friedman_test_seed": FRIEDMAN_TEST_SEED,
        "wine_probes": 52,
        "seeding": "seed s adds s to every data seed and uses random_state=s for the method",
    }


def load_task(name, spec, seed=0):
    """Return ``X_train, y_train, X_test, y_test, relevant`` for a task and seed."""
    s = int(seed)
    if name in SYN_NAMES:
        X_train, y_train, relevant = make_syn(
            name, spec["syn_train_rows"], spec["syn_noise_columns"], spec["syn_train_seed"] + s)
        X_test, y_test, _ = make_syn(
            name, spec["syn_test_rows"], spec["syn_noise_columns"], spec["syn_test_seed"] + s)
        return X_train, y_train, X_test, y_test, relevant
    if name == "friedman":
        n_noise, sd = spec["friedman_noise_columns"], spec["friedman_noise_sd"]
        X_train, y_train, relevant = make_friedman1_with_noise(
            spec["friedman_train_rows"], n_noise, sd, spec["friedman_train_seed"] + s)
        X_test, y_test, _ = make_friedman1_with_noise(
            spec["friedman_test_rows"], n_noise, sd, spec["friedman_test_seed"] + s)
        return X_train, y_train, X_test, y_test, relevant
    if name == "madelon":
        X, y, relevant = make_madelon_like(spec["madelon_rows"],
                                           random_state=spec["madelon_seed"] + s)
    elif name == "cancer+probes":
        X, y, relevant = load_cancer_with_probes(spec["cancer_probes"],
                                                 random_state=spec["probe_seed"] + s)
        X = X.to_numpy()
    elif name == "wine+probes":
        X, y, relevant = load_wine_with_probes(spec["wine_probes"],
                                               random_state=spec["probe_seed"] + s)
        X = X.to_numpy()
    else:
        raise ValueError(f"Unknown task {name!r}; expected one of {', '.join(TASKS)}.")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=spec["split_seed"] + s)
    return X_train, y_train, X_test, y_test, relevant


def score_name(task):
    if task == "friedman":
        return "r2"
    if task == "wine+probes":
        return "roc_auc_ovr"
    return "roc_auc"


def downstream_score(task, importances, k, X_train, y_train, X_test, y_test):
    """Test score of gradient boosting on the ``k`` top-ranked columns."""
    top = np.argsort(-importances, kind="stable")[:k]
    metric = score_name(task)
    if metric == "r2":
        model = HistGradientBoostingRegressor(random_state=0).fit(X_train[:, top], y_train)
        return float(r2_score(y_test, model.predict(X_test[:, top])))
    model = HistGradientBoostingClassifier(random_state=0).fit(X_train[:, top], y_train)
    proba = model.predict_proba(X_test[:, top])
    if metric == "roc_auc_ovr":
        return float(roc_auc_score(y_test, proba, multi_class="ovr", average="macro"))
    return float(roc_auc_score(y_test, proba[:, 1]))


def decision_metrics(selected, relevant, n_features):
    selected = np.asarray(selected, dtype=bool).ravel()
    if selected.shape != (n_features,):
        raise ValueError(f"selected mask has shape {selected.shape}, expected ({n_features},).")
    n_selected, fdr, power = fdr_and_power(selected, relevant)
    return {"n_selected": n_selected, "fdr": fdr, "power": power,
            "selected": np.flatnonzero(selected).tolist()}


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    return value


def run_one(task, method, data, seed, repeats, log):
    """Measure one (task, method, seed); errors are recorded, not raised."""
    X_train, y_train, X_test, y_test, relevant = data
    k = len(relevant)
    row = {"task": task, "method": method, "seed": int(seed), "k": k}
    seconds, cpu_seconds = [], []
    try:
        result = None
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            out = METHODS[method](X_train.copy(), y_train.copy(), METHOD_SEED + int(seed))
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu_start)
            result = out if result is None else result
        extra, selected, also = {}, None, {}
        if isinstance(result, dict):
            selected = result.get("selected")
            also = result.get("also_selected") or {}
            extra = {key: _to_builtin(val) for key, val in result.items()
                     if key not in ("importances", "selected", "also_selected")}
            result = result["importances"]
        if isinstance(result, torch.Tensor):
            result = result.detach().cpu().numpy()
        importances = np.asarray(result, dtype=np.float64).ravel()
        n_features = X_train.shape[1]
        if importances.shape != (n_features,):
            raise ValueError(f"{method} returned {importances.shape[0]} importances for "
                             f"{n_features} columns.")
        if not np.all(np.isfinite(importances)):
            raise ValueError(f"{method} returned non-finite importances.")
        row.update(
            precision_at_k=precision_at_k(importances, relevant),
            score=downstream_score(task, importances, k, X_train, y_train, X_test, y_test),
            score_metric=score_name(task),
            seconds=statistics.median(seconds),
            seconds_all=seconds,
            cpu_seconds=statistics.median(cpu_seconds),
            extra=extra,
            top_k=np.argsort(-importances, kind="stable")[:k].tolist(),
            importances=importances.tolist(),
        )
        if selected is not None:
            row["decision"] = decision_metrics(selected, relevant, n_features)
        if also:
            row["also_decisions"] = {label: decision_metrics(mask, relevant, n_features)
                                     for label, mask in also.items()}
    except NotApplicable as exc:
        row.update(not_applicable=str(exc))
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


def _git_state():
    """Commit of the checkout and whether skgates/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "skgates"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (skgates/ modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions():
    out = {"python": platform.python_version()}
    for dist in ("skgates", "torch", "scikit-learn", "skorch", "numpy", "pytorch-tabnet",
                 "lassonet", "stg", "Boruta", "knockpy"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["git"] = _git_state()
    return out


def _key(row):
    return row["task"], row["method"], int(row.get("seed", 0))


def _normalise(row):
    """Rows of older runs: no seed means seed 0; ``auc`` is the ROC AUC score."""
    row.setdefault("seed", 0)
    if "auc" in row and "score" not in row:
        row["score"] = row.pop("auc")
        row["score_metric"] = "roc_auc"
    return row


def merge(old, new_run, new_rows):
    """Replace the measured (task, method, seed) rows of ``old`` by ``new_rows``."""
    measured = {_key(r) for r in new_rows}
    rows = [_normalise(r) for r in old.get("results", []) if _key(r) not in measured]
    rows += new_rows
    used = {r["run"] for r in rows}
    runs = {rid: run for rid, run in old.get("runs", {}).items() if rid in used}
    runs[new_run["id"]] = new_run
    return {"data": {**old.get("data", {}), **new_run["data"]}, "runs": runs, "results": rows}


def compatible(old_spec, spec):
    """Stored results may be merged when every setting both know is equal."""
    return all(old_spec[key] == spec[key] for key in old_spec.keys() & spec.keys())


# ----------------------------------------------------------------------------- report


def _ordered(values, preferred):
    seen = [v for v in preferred if v in values]
    return seen + sorted(v for v in values if v not in seen)


def _ok(row):
    return "error" not in row and "not_applicable" not in row


def _group(rows):
    """(task, method) -> rows of every seed, sorted by seed."""
    groups = {}
    for r in rows:
        groups.setdefault((r["task"], r["method"]), []).append(r)
    return {key: sorted(val, key=lambda r: r["seed"]) for key, val in groups.items()}


def _median_of(group, getter):
    vals = [getter(r) for r in group if _ok(r)]
    vals = [v for v in vals if v is not None]
    return float(np.median(vals)) if vals else None


def _cell(group, getter, fmt):
    if not group:
        return ""
    if all("not_applicable" in r for r in group):
        return "n/a"
    value = _median_of(group, getter)
    if value is None:
        return "error"
    n_err = sum("error" in r for r in group)
    return fmt.format(value) + (f" ({n_err} err)" if n_err else "")


def _table(tasks, methods, groups, getter, fmt, mean_row):
    lines = ["| task | " + " | ".join(methods) + " |",
             "| --- |" + " ---: |" * len(methods)]
    for task in tasks:
        cells = [_cell(groups.get((task, m)), getter, fmt) for m in methods]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if mean_row:
        cells = []
        for m in methods:
            vals = [_median_of(groups[(t, m)], getter) for t in tasks if (t, m) in groups]
            vals = [v for v in vals if v is not None]
            if not vals:
                cells.append("")
            elif len(vals) < len(tasks):
                cells.append(fmt.format(float(np.mean(vals))) + f" ({len(vals)}/{len(tasks)})")
            else:
                cells.append("**" + fmt.format(float(np.mean(vals))) + "**")
        lines.append(f"| {mean_row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _decision_stats(group, label=None):
    """FDR, power, kept and seconds of a (task, method) over its seeds."""
    decisions = []
    for r in group:
        if not _ok(r):
            continue
        d = r.get("decision") if label is None else r.get("also_decisions", {}).get(label)
        if d is not None:
            decisions.append((d, r["seconds"], r.get("cpu_seconds")))
    if not decisions:
        return None
    fdr = [d["fdr"] for d, _, _ in decisions]
    cpu = [c for _, _, c in decisions if c is not None]
    return {"fdr_mean": float(np.mean(fdr)), "fdr_median": float(np.median(fdr)),
            "fdr_max": float(np.max(fdr)),
            "power": float(np.median([d["power"] for d, _, _ in decisions])),
            "power_min": float(np.min([d["power"] for d, _, _ in decisions])),
            "kept": float(np.median([d["n_selected"] for d, _, _ in decisions])),
            "kept_all": [d["n_selected"] for d, _, _ in decisions],
            "seconds": float(np.median([s for _, s, _ in decisions])),
            "cpu_seconds": float(np.median(cpu)) if cpu else None,
            "n": len(decisions)}


def _fmt_kept(value):
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _decision_section(tasks, methods, groups, k_of):
    deciders = [m for m in methods
                if any(r.get("decision") is not None for t in tasks for r in groups.get((t, m), []))]
    if not deciders:
        return []
    alt = sorted({(m, label) for m in deciders for t in tasks for r in groups.get((t, m), [])
                  for label in r.get("also_decisions", {})})
    out = ["## Decision: the selected set at each method's default rule", ""]
    out.append(
        "FDR = selected irrelevant columns / selected columns (0 when nothing is selected); "
        "power = selected relevant columns / relevant columns; kept = number of columns "
        "selected. For cancer+probes and wine+probes the relevant columns are the real ones. "
        "Each cell: **mean FDR over seeds** / median power / median kept (an FDR guarantee is "
        "about the mean, so the FDR is the mean; the other numbers are medians).")
    out.append("")
    lines = ["| task (relevant) | " + " | ".join(deciders) + " |",
             "| --- |" + " ---: |" * len(deciders)]
    for task in tasks:
        cells = []
        for m in deciders:
            stats = _decision_stats(groups.get((task, m), []))
            if stats is None:
                group = groups.get((task, m), [])
                cells.append("n/a" if group and all("not_applicable" in r for r in group)
                             else ("error" if group else ""))
            else:
                cells.append(f"{stats['fdr_mean']:.2f} / {stats['power']:.2f} / "
                             f"{_fmt_kept(stats['kept'])}")
        lines.append(f"| {task} ({k_of.get(task, '?')}) | " + " | ".join(cells) + " |")
    summary = []
    for label, key in (("mean FDR over tasks", "fdr_mean"), ("mean power over tasks", "power")):
        cells = []
        for m in deciders:
            vals = [_decision_stats(groups.get((t, m), [])) for t in tasks]
            vals = [v[key] for v in vals if v is not None]
            cells.append(f"**{np.mean(vals):.2f}**" + (f" ({len(vals)}/{len(tasks)})"
                                                    if len(vals) < len(tasks) else "")
                         if vals else "")
        summary.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("\n".join(lines + summary))
    out.append("")
    out.append("Every number per (task, method): FDR mean, median and largest over seeds; "
               "power median and smallest; kept median and per seed; median seconds of the "
               "method call (fit and decision): wall and CPU (`time.process_time`, one thread; "
               "less sensitive than wall time to other jobs on the machine).")
    out.append("")
    long = ["| task | method | seeds | FDR mean | FDR median | FDR max | power median | "
            "power min | kept median | kept per seed | seconds | CPU seconds |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for task in tasks:
        for m in deciders:
            entries = [(m, None)] + [(m, label) for mm, label in alt if mm == m]
            for name, label in entries:
                stats = _decision_stats(groups.get((task, name), []), label)
                if stats is None:
                    continue
                shown = name if label is None else f"{name} ({label})"
                long.append(
                    f"| {task} | {shown} | {stats['n']} | {stats['fdr_mean']:.3f} | "
                    f"{stats['fdr_median']:.3f} | {stats['fdr_max']:.3f} | {stats['power']:.2f} | "
                    f"{stats['power_min']:.2f} | {_fmt_kept(stats['kept'])} | "
                    f"{', '.join(map(str, stats['kept_all']))} | "
                    + ("" if label is not None else f"{stats['seconds']:.1f}") + " | "
                    + ("" if label is not None or stats["cpu_seconds"] is None
                       else f"{stats['cpu_seconds']:.1f}") + " |")
    out.append("\n".join(long))
    out.append("")
    if alt:
        out.append("Rows with a label in parentheses are a second rule applied to the same fit "
                   "(seconds are those of the main row): knockoffs (offset0) is the knockoff "
                   "threshold without knockoff+'s +1, which controls a modified FDR "
                   "(E[V / (R + 1/q)]) and can select fewer than 1/q = 10 columns; knockoff+ "
                   "(the method's default, an FDR guarantee) selects nothing unless it can "
                   "select at least 10 columns with no negative W among them.")
        out.append("")
    return out


def render_markdown(merged, json_name, protocol, orphan=False, decision_page=None):
    """The report; ``orphan`` marks a page that no toctree lists (Sphinx builds with -W).

    ``decision_page``: a relative link to the decision report, shown when given.
    """
    rows = [_normalise(r) for r in merged["results"]]
    groups = _group(rows)
    tasks = _ordered({r["task"] for r in rows}, TASKS)
    preferred = list(DECISION_METHODS) if protocol == "decision" else list(METHODS)
    methods = _ordered({r["method"] for r in rows}, list(dict.fromkeys(preferred + list(METHODS))))
    seeds = sorted({r["seed"] for r in rows})
    k_of = {r["task"]: r["k"] for r in rows}
    runs = merged["runs"]
    spec = merged["data"]
    title = ("Selection benchmark: decisions (smaller tasks, several seeds)"
             if protocol == "decision" else "Selection-quality benchmark")
    out = ["---", "orphan: true", "---", ""] if orphan else []
    out += [f"# {title}", ""]
    out.append(
        f"Generated by `benchmarks/bench_selection.py --protocol {protocol}` from `{json_name}`. "
        "Tasks and metrics as in `shared/BENCHMARKS.md`: precision@k of each method's ranking "
        "(k = number of relevant columns; the real columns for the tasks with probes), the test "
        "score of gradient boosting (`HistGradientBoosting*`, `random_state=0`) trained on the "
        "top-k columns, wall seconds of the method call and, for methods that select, the false "
        "discovery rate and power of the selected set. Method settings are documented in "
        "`benchmarks/selection_methods.py`.")
    out.append("")
    if decision_page:
        out.append(f"The selected sets of the methods that select (false discovery rate, power, "
                   f"number kept) over three seeds of smaller tasks: [{decision_page}]"
                   f"({decision_page}).")
        out.append("")
    out.append(f"Seeds in the results: {', '.join(map(str, seeds))}. Every table gives the "
               "median over the seeds a (task, method) was measured on (the decision table "
               "gives the mean FDR), `(n err)` counts seeds that failed.")
    out.append("")
    out.append("## Data (seed 0; seed s adds s to every data seed and to the method's "
               "`random_state`)")
    out.append("")
    out.append(
        f"- syn1-syn6: `make_syn(name, {spec['syn_train_rows']}, 89, random_state="
        f"{spec['syn_train_seed']} + s)` for training, `make_syn(name, {spec['syn_test_rows']}, "
        f"89, random_state={spec['syn_test_seed']} + s)` for testing (100 columns).")
    out.append(
        f"- madelon: `make_madelon_like({spec['madelon_rows']}, random_state="
        f"{spec['madelon_seed']} + s)`, 500 columns, 20 relevant; cancer+probes: "
        f"`load_cancer_with_probes({spec['cancer_probes']}, random_state={spec['probe_seed']} + s)`"
        f", 150 columns, 30 real; wine+probes: `load_wine_with_probes("
        f"{spec.get('wine_probes', 52)}, random_state={spec['probe_seed']} + s)`, 65 columns, 13 "
        f"real, 3 classes; all three split 70/30 stratified with `train_test_split(..., "
        f"random_state={spec['split_seed']} + s)`.")
    if "friedman_train_rows" in spec:
        out.append(
            f"- friedman (regression): `make_friedman1_with_noise({spec['friedman_train_rows']}, "
            f"{spec['friedman_noise_columns']}, noise={spec['friedman_noise_sd']}, random_state="
            f"{spec['friedman_train_seed']} + s)` for training and "
            f"`make_friedman1_with_noise({spec['friedman_test_rows']}, ..., random_state="
            f"{spec['friedman_test_seed']} + s)` for testing: 100 columns uniform on [0, 1], the "
            "first 5 relevant.")
    out.append(f"- every method gets `random_state={spec['method_random_state']} + s`.")
    out.append("")
    out.append("## Precision@k (higher is better)")
    out.append("")
    out.append(_table(tasks, methods, groups, lambda r: r.get("precision_at_k"), "{:.2f}",
                      "mean"))
    out.append("")
    out.append("## Test score of gradient boosting on the top-k columns")
    out.append("")
    metrics = {t: SCORE_NAMES[score_name(t)] for t in tasks}
    out.append("Metric per task: " + "; ".join(
        f"{name}: {', '.join(t for t in tasks if metrics[t] == name)}"
        for name in dict.fromkeys(metrics.values())) + ".")
    out.append("")
    out.append(_table(tasks, methods, groups, lambda r: r.get("score"), "{:.3f}", None))
    out.append("")
    out.extend(_decision_section(tasks, methods, groups, k_of))
    repeats = {run["repeats"] for run in runs.values()}
    what = "median of the repeats, then of the seeds" if max(repeats) > 1 else "median of the seeds"
    out.append(f"## Fit seconds ({what}; wall time of the method call)")
    out.append("")
    out.append(_table(tasks, methods, groups, lambda r: r.get("seconds"), "{:.1f}", None))
    out.append("")
    if "RandomForest" in methods:
        out.append("Seconds relative to RandomForest (300 trees) on the same task and seed, in "
                   "the same run (median over seeds; ratio < 1: faster than RandomForest; blank "
                   "where the rows come from different runs):")
        out.append("")
        ratio_lines = ["| task | " + " | ".join(methods) + " |",
                       "| --- |" + " ---: |" * len(methods)]
        by_key = {_key(r): r for r in rows}
        for task in tasks:
            cells = []
            for m in methods:
                ratios = []
                for r in groups.get((task, m), []):
                    ref = by_key.get((task, "RandomForest", r["seed"]))
                    if (ref is not None and _ok(r) and _ok(ref) and r["run"] == ref["run"]):
                        ratios.append(r["seconds"] / ref["seconds"])
                cells.append(f"{np.median(ratios):.2f}" if ratios else "")
            ratio_lines.append(f"| {task} | " + " | ".join(cells) + " |")
        out.append("\n".join(ratio_lines))
        out.append("")
    with_extra = [(t, m) for t in tasks for m in methods
                  if any(r.get("extra") for r in groups.get((t, m), []))]
    if with_extra:
        out.append("## Extra information returned by the methods (per seed)")
        out.append("")
        out.append("| task | method | info |")
        out.append("| --- | --- | --- |")
        for t, m in with_extra:
            parts = []
            for r in groups[(t, m)]:
                if r.get("extra"):
                    info = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in r["extra"].items())
                    parts.append(f"s{r['seed']}: {info}")
            out.append(f"| {t} | {m} | {'; '.join(parts)} |")
        out.append("")
    errors = [r for r in rows if "error" in r]
    if errors:
        out.append("## Errors")
        out.append("")
        for r in errors:
            out.append(f"- {r['task']} / {r['method']} / seed {r['seed']}: `{r['error']}`")
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
        if "seeds" in run:
            out.append(f"- seeds: {', '.join(map(str, run['seeds']))}")
        out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()))
        status = "" if run.get("complete", True) else " (interrupted or still running)"
        out.append(f"- rows: {run['n_rows']} (task, method, seed) rows in "
                   f"{run['total_seconds']:.0f} s{status}")
        if run.get("note"):
            out.append(f"- note: {run['note']}")
        out.append("")
    if len(runs) > 1:
        out.append("Run each row came from (all seeds of a cell; several runs are listed "
                   "when seeds came from different runs):")
        out.append("")
        run_of = {key: sorted({r["run"] for r in group}) for key, group in groups.items()}
        out.append("\n".join(
            ["| task | " + " | ".join(methods) + " |", "| --- |" + " --- |" * len(methods)]
            + [f"| {t} | " + " | ".join(", ".join(run_of.get((t, m), [])) for m in methods)
               + " |" for t in tasks]))
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


def _split_arg(value, known, what, default=None):
    if value is None:
        return list(default if default is not None else known)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown {what}: {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def _parse_seeds(value, default):
    """``3`` means seeds 0, 1, 2; ``1,4`` means exactly those seeds."""
    if value is None:
        return list(range(default))
    if "," in value or value.startswith("="):
        return sorted({int(v) for v in value.lstrip("=").split(",") if v.strip()})
    n = int(value)
    if n < 1:
        raise SystemExit("--seeds must be >= 1")
    return list(range(n))


def _report(merged, json_path, md_path, args):
    # Only docs/benchmarks/selection.md is in the docs' toctree; the other pages are orphans
    # (linked from it), so the warning-free docs build accepts them.
    orphan = args.protocol == "decision" or args.quick or md_path.name != "selection.md"
    decision_page = None
    if args.protocol == "ranking" and (md_path.parent / "selection_decision.md").exists():
        decision_page = "selection_decision.md"
    return render_markdown(merged, _display_path(json_path), args.protocol, orphan=orphan,
                           decision_page=decision_page) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=("ranking", "decision"), default="ranking",
                        help="ranking: BENCHMARKS.md row counts, all methods, 1 seed; "
                        "decision: smaller tasks, the methods that select, 3 seeds")
    parser.add_argument("--tasks", help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--methods", help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--seeds", help="number of seeds (N runs seeds 0..N-1) or a "
                        "comma-separated list such as 1,2 (default: 1 for ranking, 3 for "
                        "decision)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer rows (smoke run); writes *_quick files by default")
    parser.add_argument("--repeats", type=int, default=1,
                        help="time each method call this many times; seconds are medians")
    parser.add_argument("--output", help="markdown report path "
                        "(default docs/benchmarks/selection[_decision][_quick].md)")
    parser.add_argument("--json", help="raw results path "
                        "(default benchmarks/results/selection[_decision][_quick].json)")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore an existing JSON instead of merging into it")
    parser.add_argument("--note", help="a note stored with the run and shown in the report")
    parser.add_argument("--report-only", action="store_true",
                        help="only regenerate the markdown report from the JSON")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    decision = args.protocol == "decision"
    tasks = _split_arg(args.tasks, TASKS, "tasks",
                       default=TASKS if decision else (*SYN_NAMES, "madelon", "cancer+probes"))
    methods = _split_arg(args.methods, list(METHODS), "methods",
                         default=DECISION_METHODS if decision else None)
    seeds = _parse_seeds(args.seeds, 3 if decision else 1)
    suffix = ("_decision" if decision else "") + ("_quick" if args.quick else "")
    json_path = Path(args.json or ROOT / "benchmarks" / "results" / f"selection{suffix}.json")
    md_path = Path(args.output or ROOT / "docs" / "benchmarks" / f"selection{suffix}.md")
    spec = data_spec(args.protocol, args.quick)

    if args.report_only:
        with _locked(json_path):
            merged = json.loads(json_path.read_text())
            _write_atomic(md_path, _report(merged, json_path, md_path, args))
        print(f"wrote {md_path}")
        return

    if json_path.exists() and not args.fresh:
        old = json.loads(json_path.read_text())
        if not compatible(old.get("data", {}), spec):
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
        "protocol": args.protocol,
        "machine": machine_info(),
        "threads": (f"torch.set_num_threads({N_THREADS}); BLAS/OpenMP limited to {N_THREADS} "
                    "with threadpoolctl; RandomForest, Boruta and knockoffs n_jobs=1"),
        "repeats": args.repeats,
        "seeds": seeds,
        "versions": versions(),
        "data": spec,
        "tasks": tasks,
        "methods": methods,
        "complete": False,
    }
    if args.note:
        run["note"] = args.note
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
                if not compatible(stored.get("data", {}), spec):
                    log.write(f"{json_path} now holds other data; overwriting it.\n")
                    stored = {}
            ignore_stored[0] = False
            merged = merge(stored, run, new_rows)
            _write_atomic(json_path, json.dumps(merged, indent=1) + "\n")
            md_path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(md_path, _report(merged, json_path, md_path, args))

    with threadpool_limits(limits=N_THREADS):
        for seed in seeds:
            for task in tasks:
                data = load_task(task, spec, seed)
                for method in methods:
                    row = run_one(task, method, data, seed, args.repeats, log)
                    row["run"] = run_id
                    new_rows.append(row)
                    if "error" in row:
                        shown = f"error {row['error']}"
                    elif "not_applicable" in row:
                        shown = f"n/a ({row['not_applicable']})"
                    else:
                        shown = (f"p@k={row['precision_at_k']:.2f} "
                                 f"{row['score_metric']}={row['score']:.3f} "
                                 f"{row['seconds']:.1f}s")
                        shown += f" (cpu {row['cpu_seconds']:.1f}s)"
                        if "decision" in row:
                            d = row["decision"]
                            shown += (f" kept={d['n_selected']} fdr={d['fdr']:.2f} "
                                      f"power={d['power']:.2f}")
                        if row["extra"]:
                            shown += f" {row['extra']}"
                    print(f"s{seed} {task:14s} {method:20s} {shown}", flush=True)
                    save()
    run["complete"] = True
    save()
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
