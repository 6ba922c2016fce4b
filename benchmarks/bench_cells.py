"""Forward + backward time of the numpy reference cells against torch on the CPU, side by side in one run.

    .venv/bin/python benchmarks/bench_cells.py            # prints the table and writes benchmarks/README.md "## Cells"
    .venv/bin/python benchmarks/bench_cells.py --no-write # prints only

For each cell (RNN, GRU, LSTM) and dtype (float32, float64), at (B, T, D, H) = (32, 100, 64, 128):
- numpy: ``*_forward`` then ``*_backward`` with an upstream gradient on every hidden state (many-to-many);
- torch: ``nn.RNN/GRU/LSTM(batch_first=True)`` forward then ``out.backward(dh)`` (autograd), with gradients
  requested for the input and the initial state too, so both compute the same set of gradients.
Each measurement is the median of ``--repeats`` runs after one warm-up run, numpy and torch interleaved so
that load from other processes on the machine hits both alike. GFLOP/s counts the matrix products only:
forward 2 B T G H (D + H), backward twice that (input, state and two weight gradients), G = 1, 3, 4.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from rnn_helpers.gru import gru_backward, gru_forward
from rnn_helpers.initialization import init_params
from rnn_helpers.lstm import lstm_backward, lstm_forward
from rnn_helpers.simple_rnn import rnn_backward, rnn_forward
from rnn_helpers.torch_bridge import module_from_params

B, T, D, H = 32, 100, 64, 128
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
README = Path(__file__).with_name("README.md")


def numpy_step(kind, x, h0, c0, p, dh):
    if kind == "rnn":
        _, cache = rnn_forward(x, h0, **p)
        return rnn_backward(dh, cache)
    if kind == "gru":
        _, cache = gru_forward(x, h0, **p)
        return gru_backward(dh, cache)
    _, _, cache = lstm_forward(x, h0, c0, **p)
    return lstm_backward(dh, cache)


def torch_step(kind, module, x, h0, c0, dh):
    module.zero_grad(set_to_none=True)
    x.grad = h0.grad = None
    if kind == "lstm":
        c0.grad = None
        out, _ = module(x, (h0, c0))
    else:
        out, _ = module(x, h0)
    out.backward(dh)


def bench(kind, dtype, repeats, rng):
    p = init_params(kind, D, H, rng=rng, dtype=dtype)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    c0 = rng.standard_normal((B, H)).astype(dtype)
    dh = rng.standard_normal((B, T, H)).astype(dtype)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    module = module_from_params(kind, **p, dtype=tdt)
    tx = torch.tensor(x, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    tc0 = torch.tensor(c0[None], requires_grad=True)
    tdh = torch.tensor(dh)
    numpy_step(kind, x, h0, c0, p, dh)           # warm-up (BLAS threads, page faults)
    torch_step(kind, module, tx, th0, tc0, tdh)
    t_np, t_torch = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        numpy_step(kind, x, h0, c0, p, dh)
        t_np.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_step(kind, module, tx, th0, tc0, tdh)
        t_torch.append(time.perf_counter() - start)
    a, b = statistics.median(t_np), statistics.median(t_torch)
    flops = 6 * B * T * GATES[kind] * H * (D + H)
    return a, b, flops / a / 1e9, flops / b / 1e9


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/README.md alone")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for kind in ("rnn", "gru", "lstm"):
        for dtype in (np.float32, np.float64):
            a, b, ga, gb = bench(kind, dtype, args.repeats, rng)
            rows.append(f"| {kind.upper()} | {np.dtype(dtype).name} | {a * 1e3:.1f} | {b * 1e3:.1f} | {a / b:.2f} "
                        f"| {ga:.1f} | {gb:.1f} |")
            print(rows[-1], flush=True)
    table = "\n".join([
        "| cell | dtype | numpy fwd+bwd (ms) | torch fwd+bwd (ms) | ratio numpy/torch | numpy GFLOP/s | torch GFLOP/s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    machine = (f"{os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {cpu_model()}; "
               f"Python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__} "
               f"(torch threads {torch.get_num_threads()})")
    section = f"""## Cells

Forward + backward of the numpy reference (`rnn_helpers.simple_rnn/gru/lstm`, upstream gradient on every
hidden state) against `torch.nn.RNN/GRU/LSTM` forward + autograd backward on the CPU, measured side by side
in one run of `benchmarks/bench_cells.py` at (B, T, D, H) = ({B}, {T}, {D}, {H}); median of {args.repeats} runs
each, numpy and torch interleaved. Ratio < 1 means numpy is faster. GFLOP/s counts the matrix products only
(6 B T G H (D + H) per forward + backward).

Machine: {machine}. The machine was shared with other jobs while this ran (one run, not repeated),
so absolute times are noisy; the ratios are the comparison.

{table}
"""
    print()
    print(machine)
    if not args.no_write:
        text = README.read_text() if README.exists() else "# Benchmarks\n"
        pattern = re.compile(r"^## Cells\n.*?(?=^## |\Z)", re.S | re.M)
        text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
        README.write_text(text)
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
