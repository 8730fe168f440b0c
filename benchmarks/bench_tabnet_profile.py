"""Where an eager skgates TabNet training step spends its time, and whether a sort-free sparsemax helps.

The step is the estimator's: 40,000 x 20 rows (Syn2 + 9 noise columns), n_d = n_a = 8,
3 steps, gamma 1.3, batch 1024, virtual batch 128, cross-entropy + lambda_sparse 1e-3
times the mask entropy, gradient-norm clipping at 1, fused AdamW (lr 0.02, no decay),
one torch thread.

1. ``torch.profiler`` over ``--steps`` steps: the operators by self CPU time, and the
   shares of sparsemax (forward) and of ``aten::sort`` (0 where skgates' sparsemax takes
   pairwise differences instead, rows of <= 32 scores).
2. The same step with skgates' sparsemax and with a sort-free one (Michelot's
   algorithm: Newton's method on ``sum_i max(z_i - tau, 0) = 1`` from below, exact once
   the support stops shrinking; same closed-form backward), interleaved in one process,
   ``--rounds`` rounds: per-round time ratios, plus the CPU time each spends in sparsemax
   under the profiler.

On a shared machine absolute times drift with the load; the shares and the same-run
ratios are the comparable numbers (the load average is printed before and after).

Usage::

    python benchmarks/bench_tabnet_profile.py --steps 60 --rounds 5 --write

``--write`` puts the tables in the ``profile`` section of ``docs/benchmarks/tabnet.md``.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.profiler import profile

from skgates.datasets import make_syn
from skgates.nn.tabnet import TabNet

import skgates.nn.sparsemax  # noqa: F401  (the module, for the swap below)

SPARSEMAX = sys.modules["skgates.nn.sparsemax"]


class _SortFreeSparsemax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        z, undefined = SPARSEMAX._shifted(z)
        tau = torch.full_like(z[..., :1], -1.0)
        size, zero = None, z.new_zeros(())
        for _ in range(z.shape[-1]):
            support = z > tau
            new_size = support.sum(dim=-1, keepdim=True)
            tau = (torch.where(support, z, zero).sum(dim=-1, keepdim=True) - 1.0) / new_size.to(z.dtype)
            if size is not None and torch.equal(new_size, size):
                break
            size = new_size
        p = SPARSEMAX._mark_undefined(torch.clamp(z - tau, min=0.0), undefined)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, grad_output):
        return SPARSEMAX._SparsemaxFunction.backward(ctx, grad_output)


def sort_free_sparsemax(z, dim=-1):
    out = _SortFreeSparsemax.apply(SPARSEMAX._to_last(z, dim))
    return SPARSEMAX._to_last(out, dim)


def training_steps(tabnet_class, X, y, seed=0, generator=None):
    """``steps(k)``: ``k`` eager training steps of a fresh ``tabnet_class`` network on ``(X, y)``.

    The estimator's step at the speed benchmark's settings: batches of 1024 random rows,
    cross-entropy + the sparsity penalty, gradient-norm clipping at 1, fused AdamW.
    ``bench_tabnet_step_ab.py`` runs it for two revisions of skgates.
    """
    torch.manual_seed(seed)
    net = tabnet_class(X.shape[1], 2, n_d=8, n_a=8, n_steps=3, gamma=1.3, virtual_batch_size=128)
    optimizer = torch.optim.AdamW(net.parameters(), lr=0.02, weight_decay=0.0, fused=True)
    criterion = torch.nn.CrossEntropyLoss()

    def steps(k):
        for _ in range(k):
            rows = torch.randint(0, len(X), (1024,), generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(net(X[rows]), y[rows]) + net.penalty()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()

    return steps


def make_step(n_rows=40000, n_noise=9, seed=0):
    X, y, _ = make_syn("syn2", n_samples=n_rows, n_noise=n_noise, random_state=1)
    return training_steps(TabNet, torch.tensor(X, dtype=torch.float32), torch.tensor(y), seed)


def profiled(steps, k):
    with profile() as prof:
        steps(k)
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages)
    by_key = {e.key: e for e in averages}
    return prof, averages, total, by_key


PROFILE_FINDINGS = """
Findings: the step is many small operators; the matrix products, the ghost batch norms
(forward and backward) and the GLUs take the largest shares, and a large part of the
step is per-operator overhead (a 256-row step costs about two thirds of a 1024-row one).
The sorting sparsemax's forward was about 15% of the step and its sort 7-8%; skgates now
takes the threshold of rows of <= 32 scores from pairwise differences laid out as
(d, d, rows) (long inner loops), about 1.8x faster than the sort at 1024 x 20 in
isolation, so at this width `aten::sort` no longer appears. At this width a sort-free
sparsemax (Michelot's iteration, exact after a few passes; the second variant above)
spends about as much CPU as the pairwise one. For wider rows (more than 32 scores) the
sort was 54% of `predict_proba` at 50 columns and Michelot's iteration is 2.3-4.8x
faster than it (50-100 scores, `bench_sparsemax_paths.py`), so skgates uses it there in
eager CPU code; its data-dependent
loop (no single `torch.compile` graph, a device synchronisation per pass on a GPU) keeps
compiled, traced and GPU code on the sort. Fusing a GLU
layer (linear, ghost batch norm, GLU) into one custom `torch.autograd.Function` with a
hand-written backward was slower (574 vs 504 us per layer forward + backward): the
Python function's overhead exceeds the autograd nodes it saves.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    lines = []

    def emit(text):  # printed, and repeated in the report
        lines.append(text)
        print(text, flush=True)

    emit(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    steps = make_step()
    steps(10)  # warm-up
    _, averages, total, by_key = profiled(steps, args.steps)
    emit(f"\n1. Profile of {args.steps} eager training steps (self CPU {total / 1e3:.0f} ms in all):")
    emit("")
    emit("| operator | self CPU % | calls |")
    emit("| --- | --- | --- |")
    for e in sorted(averages, key=lambda e: -e.self_cpu_time_total)[: args.rows]:
        emit(f"| {e.key} | {100 * e.self_cpu_time_total / total:.1f} | {e.count} |")
    sparse = by_key["_SparsemaxFunction"].cpu_time_total
    # (skgates' sparsemax of <= 32 scores takes pairwise differences and does not sort)
    sort = by_key["aten::sort"].self_cpu_time_total if "aten::sort" in by_key else 0.0
    emit(f"\nsparsemax forward (all its ops): {100 * sparse / total:.1f}% of the step; "
          f"aten::sort alone: {100 * sort / total:.1f}%")

    library = SPARSEMAX.sparsemax
    variants = {"skgates": library, "sort-free (Michelot)": sort_free_sparsemax}
    times = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):
            for name, function in variants.items():
                SPARSEMAX.sparsemax = function
                start = time.perf_counter()
                steps(args.steps // 3)
                times[name].append((time.perf_counter() - start) / (args.steps // 3))
                _, _, _, by_key = profiled(steps, 10)
                key = "_SparsemaxFunction" if function is library else "_SortFreeSparsemax"
                cpu[name].append(by_key[key].cpu_time_total / 10)
    finally:
        SPARSEMAX.sparsemax = library
    names = list(variants)
    ratios = [a / b for a, b in zip(times[names[0]], times[names[1]])]
    emit(f"\n2. Step time, {args.rounds} interleaved rounds:")
    emit("")
    emit("| sparsemax | median ms/step | median sparsemax forward CPU ms/step |")
    emit("| --- | --- | --- |")
    for name in names:
        emit(f"| {name} | {1e3 * statistics.median(times[name]):.1f} | "
              f"{statistics.median(cpu[name]) / 1e3:.2f} |")
    emit(f"\nskgates / sort-free step time per round: {', '.join(f'{r:.3f}' for r in ratios)} "
          f"(median {statistics.median(ratios):.3f})")
    emit(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_tabnet import replace_section

        command = "python benchmarks/bench_tabnet_profile.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        header = [
            "## Profile of an eager training step", "",
            f"Generated by `{command}` on "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, one torch thread: "
            "40,000 x 20 rows, n_d = n_a = 8, 3 steps, batch 1024, virtual batch 128, the "
            "estimator's loss, clipping and fused AdamW. The load average before and after is "
            "printed below (2 cores; this process counts about 1): on a shared machine absolute "
            "milliseconds drift, and the shares and the same-run ratios are the evidence.", ""]
        replace_section(Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "tabnet.md",
                        "profile", "\n".join(header + lines) + "\n" + PROFILE_FINDINGS)


if __name__ == "__main__":
    main()
