"""skgates TabNet side by side with pytorch-tabnet 4.1.0, in one process.

Two parts, both writing ``docs/benchmarks/tabnet.md`` (plus a JSON next to it):

``--speed`` (default): training rows/s (``fit``), prediction rows/s
(``predict_proba``) and test AUC on 40,000 x 20 and 200,000 x 50 rows, at 1
and 2 torch threads, with equal hyperparameters (n_d = n_a = 8, 3 steps,
gamma 1.3, batch 1024, virtual batch 128, momentum 0.02, lr 0.02,
lambda_sparse 1e-3, no early stopping, every row used: pytorch-tabnet gets
``drop_last=False``). skgates runs eager and with ``compile=True``; the
libraries run interleaved (A, B, C, A, B, C, ...) so a change in machine load
hits all of them, and the table reports medians and same-run ratios. Both
``fit`` calls include computing ``feature_importances_`` on the training rows.

``--syn``: Syn1-Syn6 of the TabNet paper with its hyperparameters (n_d = n_a =
16, batch 3000, virtual batch 100, lr 0.02 x 0.7 every ``--decay-every``
epochs, Syn1 lambda 0.02 / 4 steps / gamma 2, Syn2-3 lambda 0.01 / 4 / 2,
Syn4-6 lambda 0.005 / 5 / 1.5), 10,000 training rows (seed 101) plus 2,000
validation rows for early stopping (patience ``--patience``), 10,000 test rows
(seed 202), 11 columns; test AUC next to the paper's Table 1.

Usage::

    python benchmarks/bench_tabnet.py --speed --threads 1,2 --repeats 3
    python benchmarks/bench_tabnet.py --syn --tasks syn2,syn3 --peer
    python benchmarks/bench_tabnet.py --speed --device cuda --threads 1 \
        --output docs/benchmarks/tabnet_gpu.md      # both libraries on a GPU

``--device`` puts both libraries on that torch device (timings synchronise it);
``--batch-size`` / ``--virtual-batch-size`` change the speed part's 1024 / 128.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from skgates import TabNetClassifier
from skgates.datasets import make_syn

ROOT = Path(__file__).resolve().parent.parent
PAPER_AUC = {"syn1": 0.682, "syn2": 0.892, "syn3": 0.897, "syn4": 0.776, "syn5": 0.789, "syn6": 0.878}
PAPER_SETTINGS = {
    "syn1": dict(lambda_sparse=0.02, n_steps=4, gamma=2.0),
    "syn2": dict(lambda_sparse=0.01, n_steps=4, gamma=2.0),
    "syn3": dict(lambda_sparse=0.01, n_steps=4, gamma=2.0),
    "syn4": dict(lambda_sparse=0.005, n_steps=5, gamma=1.5),
    "syn5": dict(lambda_sparse=0.005, n_steps=5, gamma=1.5),
    "syn6": dict(lambda_sparse=0.005, n_steps=5, gamma=1.5),
}
SPEED_SIZES = {"40k x 20": (40000, 20, 5), "200k x 50": (200000, 50, 1)}  # rows, columns, epochs
BATCH = (1024, 128)  # --batch-size, --virtual-batch-size
DEVICE = "cpu"  # --device: both libraries train and predict there
SPEED_ARCH = dict(n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2,
                  momentum=0.02, lambda_sparse=1e-3)


# ------------------------------------------------------------------ runners
def fit_skgates(X, y, arch, batch_size, virtual_batch_size, epochs, seed, compile=False, **extra):
    model = TabNetClassifier(**arch, batch_size=batch_size, virtual_batch_size=virtual_batch_size,
                             max_epochs=epochs, lr=0.02, random_state=seed, compile=compile,
                             device=DEVICE, **extra)
    start = time.perf_counter()
    model.fit(X, y)
    _synchronize()
    return model, time.perf_counter() - start


def fit_peer(X, y, arch, batch_size, virtual_batch_size, epochs, seed, eval_set=None,
             patience=0, decay_every=None):
    from pytorch_tabnet.tab_model import TabNetClassifier as PeerClassifier

    options = dict(n_d=arch["n_d"], n_a=arch["n_a"], n_steps=arch["n_steps"], gamma=arch["gamma"],
                   n_independent=arch["n_independent"], n_shared=arch["n_shared"],
                   momentum=arch["momentum"], lambda_sparse=arch["lambda_sparse"], seed=seed,
                   verbose=0, device_name=DEVICE, optimizer_params=dict(lr=0.02))
    if decay_every:
        options.update(scheduler_fn=torch.optim.lr_scheduler.StepLR,
                       scheduler_params=dict(step_size=decay_every, gamma=0.7))
    model = PeerClassifier(**options)
    start = time.perf_counter()
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, eval_set=eval_set, max_epochs=epochs, patience=patience,
                  batch_size=batch_size, virtual_batch_size=virtual_batch_size, drop_last=False)
    _synchronize()
    return model, time.perf_counter() - start


def timed_predict(model, X):
    start = time.perf_counter()
    proba = model.predict_proba(X)  # numpy: the device has finished
    return proba, time.perf_counter() - start


def _synchronize():
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


# -------------------------------------------------------------------- speed
def speed(threads, repeats, sizes):
    """Interleaved repeats per (size, threads); each row also records the machine's load."""
    rows = []
    for size_name in sizes:
        n, d, epochs = SPEED_SIZES[size_name]
        X, y, _ = make_syn("syn2", n_samples=n, n_noise=d - 11, random_state=1)
        X_test, y_test, _ = make_syn("syn2", n_samples=10000, n_noise=d - 11, random_state=2)
        X, X_test = X.astype(np.float32), X_test.astype(np.float32)
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            runners = {
                "skgates eager": lambda: fit_skgates(X, y, SPEED_ARCH, *BATCH, epochs, 0),
                "skgates compile": lambda: fit_skgates(X, y, SPEED_ARCH, *BATCH, epochs, 0,
                                                       compile=True),
                "pytorch-tabnet": lambda: fit_peer(X, y, SPEED_ARCH, *BATCH, epochs, 0),
            }
            results = {name: {"fit": [], "predict": [], "auc": []} for name in runners}
            # One-time initialisation (lazy imports, thread pools) is not timed: tiny fits first.
            fit_skgates(X[:2048], y[:2048], SPEED_ARCH, *BATCH, 1, 0)
            fit_peer(X[:2048], y[:2048], SPEED_ARCH, *BATCH, 1, 0)
            # The first compiled fit compiles: timed on its own, not in the medians.
            _, first_compile = runners["skgates compile"]()
            print(f"{size_name} threads={n_threads} first compiled fit: {first_compile:.0f} s", flush=True)
            for repeat in range(repeats):
                for name, run in runners.items():
                    model, fit_s = run()
                    proba, predict_s = timed_predict(model, X_test)
                    results[name]["fit"].append(n * epochs / fit_s)
                    results[name]["predict"].append(len(X_test) / predict_s)
                    results[name]["auc"].append(roc_auc_score(y_test, proba[:, 1]))
                    print(f"{size_name} threads={n_threads} {name}: fit {n * epochs / fit_s:,.0f} rows/s,"
                          f" predict {len(X_test) / predict_s:,.0f} rows/s", flush=True)
            peer = results["pytorch-tabnet"]
            for name, values in results.items():
                fit_rate = statistics.median(values["fit"])
                predict_rate = statistics.median(values["predict"])
                rows.append(dict(
                    size=size_name, threads=n_threads, library=name, epochs=epochs,
                    fit_rows_per_s=fit_rate, predict_rows_per_s=predict_rate,
                    fit_ratio=statistics.median(
                        [a / b for a, b in zip(values["fit"], peer["fit"])]),
                    predict_ratio=statistics.median(
                        [a / b for a, b in zip(values["predict"], peer["predict"])]),
                    test_auc=statistics.median(values["auc"]),
                    first_fit_s=first_compile if name == "skgates compile" else None,
                    repeats=repeats,
                    load_average=os.getloadavg()[0],
                ))
    return rows


# ---------------------------------------------------------------------- syn
def syn(tasks, peer, max_epochs, patience, decay_every, n_threads):
    from skorch.callbacks import LRScheduler

    torch.set_num_threads(n_threads)
    rows = []
    for task in tasks:
        X_all, y_all, _ = make_syn(task, n_samples=12000, n_noise=0, random_state=101)
        X_test, y_test, _ = make_syn(task, n_samples=10000, n_noise=0, random_state=202)
        arch = dict(n_d=16, n_a=16, n_independent=2, n_shared=2, momentum=0.02, **PAPER_SETTINGS[task])
        scheduler = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=decay_every, gamma=0.7)
        model, fit_s = fit_skgates(
            X_all, y_all, arch, 3000, 100, max_epochs, 0, early_stopping=True,
            validation_fraction=2000 / 12000, n_iter_no_change=patience, callbacks=[scheduler])
        row = dict(task=task, paper_auc=PAPER_AUC[task], skgates_auc=roc_auc_score(
            y_test, model.predict_proba(X_test)[:, 1]), skgates_s=fit_s,
            skgates_epochs=len(model.history_))
        print(task, row, flush=True)
        if peer:
            model, fit_s = fit_peer(X_all[:10000], y_all[:10000], arch, 3000, 100, max_epochs, 0,
                                    eval_set=[(X_all[10000:], y_all[10000:])], patience=patience,
                                    decay_every=decay_every)
            row.update(peer_auc=roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]),
                       peer_s=fit_s, peer_epochs=len(model.history["loss"]))
            print(task, row, flush=True)
        rows.append(row)
    return rows


# ------------------------------------------------------------------- report
def _markers(name):
    return f"<!-- section:{name} -->", f"<!-- /section:{name} -->"


def replace_section(path, name, text):
    """Put ``text`` between the ``name`` markers of the report at ``path`` (appended if absent).

    Other scripts (``bench_tabnet_paper.py``, ``tabnet_step_compare.py``) own such
    sections; :func:`write_report` keeps them when it rewrites the rest.
    """
    path = Path(path)
    start, end = _markers(name)
    old = path.read_text() if path.exists() else "# TabNet benchmark: skgates vs pytorch-tabnet 4.1.0\n"
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


def _kept_sections(path):
    """The marked sections of the existing report, in order."""
    import re

    if not path.exists():
        return []
    return re.findall(r"<!-- section:[\w-]+ -->.*?<!-- /section:[\w-]+ -->", path.read_text(),
                      flags=re.S)


def machine():
    gpu = f", {torch.cuda.get_device_name()}" if DEVICE.startswith("cuda") else ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs{gpu}, "
            f"torch {torch.__version__}, Python {platform.python_version()}")


def write_report(results, path):
    lines = ["# TabNet benchmark: skgates vs pytorch-tabnet 4.1.0", ""]
    lines.append(f"Generated by `benchmarks/bench_tabnet.py` on {results['date']} ({results['machine']}).")
    lines.append("")
    if results.get("speed"):
        s = results["speed_settings"]
        lines += [
            "## Throughput", "",
            f"Command: `{s['command']}`. Data: Syn2 rows with noise columns "
            "(40,000 x 20 for 5 epochs, 200,000 x 50 for 1 epoch), prediction on 10,000 rows. "
            f"Device: {s.get('device', 'cpu')} for both libraries. "
            "Equal hyperparameters: n_d = n_a = 8, 3 steps, gamma 1.3, "
            f"batch {s.get('batch_size', 1024)}, virtual batch {s.get('virtual_batch_size', 128)}, "
            "lr 0.02, lambda_sparse 1e-3; pytorch-tabnet with `drop_last=False`. "
            "Medians of the interleaved repeats (last column) after warm-up fits (the first, compiling "
            "fit with `compile=True` is reported apart); ratios are "
            "median same-round ratios to pytorch-tabnet. The load average after each (size, threads) "
            "run is in the budget table (the benchmark's own process counts about 1): "
            "ratios are the comparable numbers.",
            "",
            "| data | threads | library | fit rows/s | fit x peer | predict rows/s | predict x peer | test AUC | repeats |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in results["speed"]:
            lines.append(
                f"| {r['size']} | {r['threads']} | {r['library']} | {r['fit_rows_per_s']:,.0f} | "
                f"{r['fit_ratio']:.2f} | {r['predict_rows_per_s']:,.0f} | {r['predict_ratio']:.2f} | "
                f"{r['test_auc']:.3f} | {r.get('repeats', '')} |")
        compiles = [r for r in results["speed"] if r["first_fit_s"]]
        if compiles:
            lines += ["", "First (compiling) `fit` with `compile=True`: " + ", ".join(
                f"{r['size']} / {r['threads']} thread(s): {r['first_fit_s']:.0f} s" for r in compiles) + "."]
        lines += [""] + budget_table(results["speed"], s.get("budget_epochs", 50))
        lines.append("")
    if results.get("syn"):
        s = results["syn_settings"]
        peer = any("peer_auc" in r for r in results["syn"])
        lines += [
            "## Syn1-Syn6 test AUC (paper hyperparameters, reduced budget, momentum 0.02)", "",
            f"Command: `{s['command']}` ({s['threads']} torch thread(s), max {s['max_epochs']} epochs, "
            f"early stopping patience {s['patience']}, lr x0.7 every {s['decay_every']} epochs).", "",
            "| task | paper TabNet | skgates | skgates s (epochs) |" + (" pytorch-tabnet | peer s (epochs) |" if peer else ""),
            "| --- | --- | --- | --- |" + (" --- | --- |" if peer else ""),
        ]
        for r in results["syn"]:
            line = (f"| {r['task']} | {r['paper_auc']:.3f} | {r['skgates_auc']:.3f} | "
                    f"{r['skgates_s']:.0f} ({r['skgates_epochs']}) |")
            if peer:
                line += (f" {r['peer_auc']:.3f} | {r['peer_s']:.0f} ({r['peer_epochs']}) |"
                         if "peer_auc" in r else " - | - |")
            lines.append(line)
        lines.append("")
    if results.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in results["notes"]] + [""]
    lines += [block + "\n" for block in _kept_sections(path)]
    path.write_text("\n".join(lines))


def budget_table(rows, budget):
    """Seconds for ``budget`` epochs, from the measured per-epoch rates, compilation included.

    pytorch-tabnet and eager skgates: ``budget`` epochs at their median rate. Compiled
    skgates: its first (compiling) fit, which also trained ``epochs`` epochs, plus the
    remaining ``budget - epochs`` epochs at its median steady rate.
    """
    sizes = {name: n for name, (n, _, _) in SPEED_SIZES.items()}
    lines = [f"### A {budget}-epoch budget, compilation included (projected from the rates above)", "",
             f"Seconds to train {budget} epochs: pytorch-tabnet and eager skgates at their median "
             f"rates; compiled skgates as its first, compiling fit (which trained the run's epochs "
             f"and compiled) plus the remaining epochs at its median steady rate. Ratios: "
             f"pytorch-tabnet's seconds over skgates'.", "",
             "| data | threads | pytorch-tabnet s | skgates eager s | eager x peer | "
             "skgates compile s (of which first fit) | compile x peer | load average |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (size, threads) in sorted({(r["size"], r["threads"]) for r in rows}):
        by = {r["library"]: r for r in rows if (r["size"], r["threads"]) == (size, threads)}
        if not {"pytorch-tabnet", "skgates eager", "skgates compile"} <= set(by):
            continue
        n, epochs = sizes[size], by["skgates compile"]["epochs"]
        peer = budget * n / by["pytorch-tabnet"]["fit_rows_per_s"]
        eager = budget * n / by["skgates eager"]["fit_rows_per_s"]
        first = by["skgates compile"]["first_fit_s"]
        compiled = first + max(budget - epochs, 0) * n / by["skgates compile"]["fit_rows_per_s"]
        load = by["skgates compile"].get("load_average")
        lines.append(f"| {size} | {threads} | {peer:,.0f} | {eager:,.0f} | {peer / eager:.2f} | "
                     f"{compiled:,.0f} ({first:.0f}) | {peer / compiled:.2f} | "
                     f"{'' if load is None else f'{load:.2f}'} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", action="store_true", help="throughput part (default)")
    parser.add_argument("--syn", action="store_true", help="Syn1-Syn6 AUC part")
    parser.add_argument("--threads", default="1,2", help="torch thread counts for --speed")
    parser.add_argument("--sizes", default=",".join(SPEED_SIZES), help="subset of " + ",".join(SPEED_SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(PAPER_AUC))
    parser.add_argument("--peer", action="store_true", help="also run pytorch-tabnet in --syn")
    parser.add_argument("--max-epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=60)
    parser.add_argument("--decay-every", type=int, default=60)
    parser.add_argument("--syn-threads", type=int, default=1)
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks" / "tabnet.md"))
    parser.add_argument("--budget-epochs", type=int, default=50,
                        help="epochs of the projected training budget in the report")
    parser.add_argument("--cold-compile-cache", action="store_true",
                        help="compile into a fresh inductor cache (a first run on a new machine)")
    parser.add_argument("--device", default="cpu", help="torch device of both libraries")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--virtual-batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    global DEVICE, BATCH
    DEVICE, BATCH = args.device, (args.batch_size, args.virtual_batch_size)
    if args.cold_compile_cache:
        import tempfile

        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-cold-")
    if not args.syn:
        args.speed = True
    output = Path(args.output)
    json_path = output.with_suffix(".json")
    command = "python benchmarks/bench_tabnet.py " + " ".join(argv if argv is not None else sys.argv[1:])
    new_speed = speed([int(t) for t in args.threads.split(",")], args.repeats,
                      args.sizes.split(",")) if args.speed else None
    new_syn = syn(args.tasks.split(","), args.peer, args.max_epochs, args.patience,
                  args.decay_every, args.syn_threads) if args.syn else None
    # Read the stored results only now, so runs in parallel processes do not erase each other.
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    results.update(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   machine=machine())
    if new_speed is not None:
        done = {(r["size"], r["threads"]) for r in new_speed}  # later runs replace earlier rows
        kept = [r for r in results.get("speed", []) if (r["size"], r["threads"]) not in done]
        results["speed"] = sorted(kept + new_speed, key=lambda r: (r["size"], r["threads"]))
        results.setdefault("speed_commands", []).append(command)
        results["speed_settings"] = dict(command="; ".join(results["speed_commands"]),
                                         repeats=args.repeats, budget_epochs=args.budget_epochs,
                                         device=args.device, batch_size=args.batch_size,
                                         virtual_batch_size=args.virtual_batch_size)
    if new_syn is not None:
        done = {r["task"] for r in new_syn}
        kept = [r for r in results.get("syn", []) if r["task"] not in done]
        results["syn"] = sorted(kept + new_syn, key=lambda r: r["task"])
        results.setdefault("syn_commands", []).append(command)
        results["syn_settings"] = dict(command="; ".join(results["syn_commands"]),
                                       threads=args.syn_threads, max_epochs=args.max_epochs,
                                       patience=args.patience, decay_every=args.decay_every)
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1))
    write_report(results, output)


if __name__ == "__main__":
    main()
