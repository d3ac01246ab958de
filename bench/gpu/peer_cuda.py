#!/usr/bin/env python3
"""peer_cuda.py: the PyTorch peer on a CUDA GPU, eager and torch.compile, for bench/gpu/run.sh.

Times forward + backward of the same APL formula as bench/peer.py (imported from there) on
inputs of the "trained" or "early" regime, with CUDA events (median of repeats after warm-up),
and writes one CSV line per variant. Without torch or without CUDA it says so and exits 0, so the
GPU script carries on. It is not a test and checks no numerics beyond the loss being finite.
"""
import argparse
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peer import apl_loss_torch  # noqa: E402  (the formula, written once)


def inputs(torch, rows, cols, regime, device):
    g = torch.Generator(device="cpu").manual_seed(1234)
    pos = torch.rand(rows, cols, generator=g) < max(0.01, min(0.5, 3.0 / cols))
    if regime == "trained":
        x = torch.where(pos, 3.0 + 2.0 * torch.randn(rows, cols, generator=g),
                        -6.0 + 2.0 * torch.randn(rows, cols, generator=g))
    else:
        x = 2.0 * torch.randn(rows, cols, generator=g)
    return x.float().to(device), pos.float().to(device)


def time_fn(torch, fn, x, y, reps):
    start = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    end = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    loss = None
    for i in range(reps + 3):  # three warm-up calls (torch.compile compiles in the first)
        x.grad = None
        if i >= 3:
            start[i - 3].record()
        loss = fn(torch, x, y)
        loss.backward()
        if i >= 3:
            end[i - 3].record()
    torch.cuda.synchronize()
    ms = [s.elapsed_time(e) for s, e in zip(start, end)]
    return statistics.median(ms), min(ms), max(ms), float(loss.detach())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="4096x1000,16384x10000,1024x100000")
    ap.add_argument("--regime", default="trained", choices=["early", "trained"])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--csv", default="-")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("peer_cuda.py: no torch here; skipped")
        return 0
    if not torch.cuda.is_available():
        print("peer_cuda.py: torch %s has no CUDA device here; skipped" % torch.__version__)
        return 0
    out = sys.stdout if a.csv == "-" else open(a.csv, "w", newline="")
    w = csv.writer(out)
    w.writerow(["peer", "device", "shape", "regime", "median_ms", "min_ms", "max_ms",
                "gelem_s", "loss"])
    variants = [("torch-eager", apl_loss_torch)]
    try:
        variants.append(("torch-compile", torch.compile(apl_loss_torch)))
    except Exception as e:  # torch < 2.0 or no compiler
        print("peer_cuda.py: torch.compile unavailable (%s)" % e, file=sys.stderr)
    name = torch.cuda.get_device_name(0)
    for shape in a.shapes.split(","):
        rows, cols = (int(v) for v in shape.split("x"))
        x, y = inputs(torch, rows, cols, a.regime, "cuda")
        x.requires_grad_(True)
        for label, fn in variants:
            try:
                med, lo, hi, loss = time_fn(torch, fn, x, y, a.reps)
            except Exception as e:
                print("peer_cuda.py: %s failed on %s: %s" % (label, shape, e), file=sys.stderr)
                continue
            w.writerow([label, name, shape, a.regime, "%.4f" % med, "%.4f" % lo, "%.4f" % hi,
                        "%.4f" % (rows * cols / med * 1e-6), "%.6g" % loss])
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
