"""Forward + backward time of ``skgates.nn.TailDropout`` against ``torch.nn.Dropout``.

Both layers run in training mode on the same tensor, in the same process,
alternating, eager and under ``torch.compile``; the table reports the median
of ``--repeats`` timed steps (after warm-up) and the ratio TailDropout /
Dropout (below 1 = TailDropout is faster). One step is
``layer(x).sum().backward()`` on a fresh ``x.grad``.

Usage::

    python benchmarks/bench_taildropout.py                 # writes docs/benchmarks/taildropout.md
    python benchmarks/bench_taildropout.py --no-compile    # eager only
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from skgates.nn import TailDropout

ROOT = Path(__file__).resolve().parent.parent
N_THREADS = 1
# (shape, batch_dim, dropout_dim)
CASES = [
    ((256, 64), 0, -1),
    ((4096, 512), 0, -1),
    ((64, 128, 256), [0, 1], -1),  # a mask per time step and sequence
    ((32, 64, 28, 28), 0, 1),  # a mask per image, shared by its pixels
]


def time_step(layer, x, repeats, warmup=3):
    """Median seconds of ``layer(x).sum().backward()``."""
    times = []
    for i in range(warmup + repeats):
        x.grad = None
        start = time.perf_counter()
        layer(x).sum().backward()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(repeats, compile_too):
    rows = []
    modes = ["eager", "compiled"] if compile_too else ["eager"]
    for shape, batch_dim, dropout_dim in CASES:
        x = torch.randn(shape, requires_grad=True)
        for mode in modes:
            tail = TailDropout(0.5, batch_dim=batch_dim, dropout_dim=dropout_dim).train()
            drop = torch.nn.Dropout(0.5).train()
            if mode == "compiled":
                try:
                    tail, drop = torch.compile(tail), torch.compile(drop)
                    time_step(tail, x, 1)
                    time_step(drop, x, 1)
                except Exception as error:  # noqa: BLE001 - report, do not crash
                    rows.append((shape, mode, None, None, f"compile failed: {type(error).__name__}"))
                    continue
            t_tail = time_step(tail, x, repeats)
            t_drop = time_step(drop, x, repeats)
            rows.append((shape, mode, t_tail, t_drop, ""))
            print(f"{str(shape):20s} {mode:8s} TailDropout {t_tail * 1e3:8.3f} ms  "
                  f"Dropout {t_drop * 1e3:8.3f} ms  ratio {t_tail / t_drop:.2f}", flush=True)
    return rows


def render(rows, args):
    lines = [
        "# TailDropout vs nn.Dropout: forward + backward time",
        "",
        "Produced by `benchmarks/bench_taildropout.py`; median of "
        f"{args.repeats} steps `layer(x).sum().backward()` after 3 warm-up steps, p=0.5, "
        "training mode, both layers on the same tensor in the same run.",
        "",
        "| shape | batch_dim, dropout_dim | mode | TailDropout (ms) | nn.Dropout (ms) | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    dims = {shape: (b, d) for shape, b, d in CASES}
    for shape, mode, t_tail, t_drop, note in rows:
        b, d = dims[shape]
        if t_tail is None:
            lines.append(f"| {shape} | {b}, {d} | {mode} | {note} | | |")
        else:
            lines.append(f"| {shape} | {b}, {d} | {mode} | {t_tail * 1e3:.3f} | {t_drop * 1e3:.3f} | "
                         f"{t_tail / t_drop:.2f} |")
    lines += [
        "",
        f"- date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
        f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"torch threads: {N_THREADS}, torch {torch.__version__}, Python {platform.python_version()}",
        f"- command: `python {' '.join(sys.argv)}`",
        f"- load average while running (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
        "on a 2-core machine shared with other jobs: absolute times drift, compare the ratios",
        "- TailDropout draws one random number per mask (row), Dropout one per element; "
        "TailDropout does not rescale.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--no-compile", action="store_true", help="eager mode only")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks" / "taildropout.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(N_THREADS)
    torch.manual_seed(0)
    rows = run(args.repeats, not args.no_compile)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(rows, args))


if __name__ == "__main__":
    main()
