#!/usr/bin/env python3
"""peer.py: aplcl against its peers on the same inputs and machine.

Times (a) aplcl's CPU reference (aplcl_ref_compute), (b) the loss written plainly in PyTorch
(eager, float32, CPU, autograd), (c) aplcl on every OpenCL device (device buffers, and the
host-pointer path) and (d) the PyTorch module aplcl.torch.APLLoss (when the Python package
aplcl is importable, e.g. under build-python/venv/bin/python), all on one set of inputs
written by `aplcl bench --save-inputs`; checks that PyTorch's loss agrees with aplcl's; prints a
ratio table. Not a test of aplcl (that is `aplcl check` and tests/), and not a tuned PyTorch: (b)
is what a framework user would write from docs/apl-spec.md.

Run: /usr/bin/python3 bench/peer.py [--aplcl PATH] [--shape 4096x1000] [--regime trained] [--reps N]
(Debian's python3-torch lives in /usr/bin/python3; another python3 without torch skips (b).)
Exit status: 0 on success or when torch is absent, 1 on a loss disagreement or a failed aplcl run.
"""

import argparse
import csv
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# The reference APL (aplcl_params_default, docs/apl-spec.md section 3).
GAMMA_POS, GAMMA_NEG, CLIP, EPS = 0.0, 4.0, 0.05, 1e-8
ALPHA = (0.0, 1.75)  # alpha_1, alpha_2; later terms keep BCE's 1/j
BETA = ()  # no beta: BCE's 1/j throughout
LOSS_RTOL = 1e-4  # torch float32 vs aplcl


def apl_loss_torch(torch, x, y):
    """Sum APL over all elements, written from docs/apl-spec.md section 2 as a PyTorch user
    would: sigmoid, clamp, log, pow, the polynomial terms, sum. Focusing weights detached under
    torch.no_grad(), as the authors' reference does by default."""
    p = torch.sigmoid(x)
    # positive part: F+ = -ln p^ + sum_j (alpha_j - 1/j) (1 - p^)^j, p^ = max(p, eps)
    p_hat = p.clamp(min=EPS)
    f_pos = -torch.log(p_hat)
    for j, a in enumerate(ALPHA, 1):
        f_pos = f_pos + (a - 1.0 / j) * (1 - p_hat).pow(j)
    # negative part: p_m = max(p - m, 0), q = 1 - p_m, F- = -ln max(q, eps) + sum_j (...) p_m^j
    p_m = (p - CLIP).clamp(min=0) if CLIP > 0 else p
    q_hat = (1 - p_m).clamp(min=EPS)
    f_neg = -torch.log(q_hat)
    for j, b in enumerate(BETA, 1):
        f_neg = f_neg + (b - 1.0 / j) * p_m.pow(j)
    with torch.no_grad():  # detached focusing weights
        w_pos = (1 - p).pow(GAMMA_POS)
        w_neg = p_m.pow(GAMMA_NEG)
    loss = y * (w_pos * f_pos) + (1 - y) * (w_neg * f_neg)
    return loss.sum()


def closed_form_grad(np, x, y):
    """Spec section 4 with the reference defaults, float64: a check of the torch version."""
    x = x.astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-x))
    g_pos = np.where(p < EPS, 0.0, -((1 - p) ** 2) * (1 + 2.5 * p))
    pm = np.maximum(p - CLIP, 0.0)
    g_neg = np.where(p < CLIP, 0.0, p * (1 - p) * pm**4 / (1 + CLIP - p))
    return np.where(y > 0.5, g_pos, g_neg)


def run(cmd, **kw):
    """Runs a command, echoing it; returns CompletedProcess (stdout captured as text)."""
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def find_aplcl(given):
    if given:
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "..", "build", "aplcl"), shutil.which("aplcl")):
        if cand and os.access(cand, os.X_OK):
            return os.path.normpath(cand)
    sys.exit("peer.py: no aplcl tool found; build it (bash scripts/build.sh) or pass --aplcl PATH")


def time_torch(torch, x_np, y_np, reps, threads, loss_fn=None):
    """Forward + backward of loss_fn (default: apl_loss_torch) on CPU tensors."""
    loss_fn = loss_fn or (lambda x, y: apl_loss_torch(torch, x, y))
    torch.set_num_threads(threads)
    x = torch.from_numpy(x_np).requires_grad_(True)
    y = torch.from_numpy(y_np)
    times, loss = [], None
    for i in range(reps + 2):  # two warm-up calls
        x.grad = None
        t0 = time.perf_counter()
        loss = loss_fn(x, y)
        loss.backward()
        t1 = time.perf_counter()
        if i >= 2:
            times.append(t1 - t0)
    return times, float(loss.detach()), x.grad.numpy().copy()


def fmt_ratio(num, den):
    if num is None or den is None or den <= 0:
        return "-"
    return "%.2fx" % (num / den)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--aplcl", help="path of the aplcl tool (default: build/aplcl, then PATH)")
    ap.add_argument("--shape", default="4096x1000", help="RxC (default 4096x1000)")
    ap.add_argument("--regime", default="trained", choices=("early", "trained"))
    ap.add_argument("--reps", type=int, default=20, help="timed repeats per implementation")
    ap.add_argument("--device", help="one OpenCL device for aplcl (default: all)")
    ap.add_argument("--dtypes", default="f32", help="aplcl storage types to time (default f32)")
    ap.add_argument("--targets", default="f32,u8", help="aplcl target formats (default f32,u8)")
    ap.add_argument("--keep", metavar="DIR", help="write the inputs to DIR and keep them")
    args = ap.parse_args()
    aplcl = find_aplcl(args.aplcl)

    print("peer.py: %s %s, reference APL (sum), forward + backward; python %s (%s)"
          % (args.shape, args.regime, platform.python_version(), sys.executable))
    try:
        import numpy as np
        import torch
    except ImportError as e:
        np = torch = None
        print("peer.py: PyTorch eager skipped: %s under %s. Install Debian's python3-torch and "
              "python3-numpy and run /usr/bin/python3 bench/peer.py." % (e, sys.executable))
    apt = None
    if torch is not None:
        try:
            import aplcl.torch as apt
        except ImportError as e:
            print("peer.py: (d) aplcl.torch skipped: %s; install the package (python3 -m pip "
                  "install ./python) and run this with that Python" % e)

    tmp = None
    inputs = args.keep
    if not inputs:
        tmp = tempfile.TemporaryDirectory(prefix="aplcl-peer-")
        inputs = tmp.name
    r = run([aplcl, "bench", "--save-inputs", inputs, "--shapes", args.shape,
             "--regime", args.regime])
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        sys.exit("peer.py: aplcl bench --save-inputs failed (exit %d)" % r.returncode)
    print(r.stdout.strip())

    # (a) and (c): aplcl on every device plus the CPU reference, on the saved inputs
    cmd = [aplcl, "bench", "--load-inputs", inputs, "--csv", "-", "--reps", str(args.reps),
           "--dtypes", args.dtypes, "--targets", args.targets]
    if args.device:
        cmd += ["--device", args.device]
    r = run(cmd)
    sys.stdout.write(r.stderr)  # aplcl's human table (stdout carries the CSV)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    failed = r.returncode != 0
    if failed:
        print("peer.py: aplcl bench --load-inputs failed (exit %d)" % r.returncode)
    ref = next((row for row in rows if row["device_id"] == "cpu"), None)
    devs = [row for row in rows if row["device_id"] != "cpu" and row["checked"] == "ok"]
    n_elems = 1
    for d in args.shape.lower().split("x"):
        n_elems *= int(d)

    # (b): PyTorch eager
    torch_runs = []  # (label, times, loss, threads)
    aplcl_torch_runs = []  # the same for (d)
    if torch is not None:
        rows_n, cols_n = (int(v) for v in args.shape.lower().split("x"))
        x_np = np.fromfile(os.path.join(inputs, "logits.f32"), dtype="<f4").reshape(rows_n, cols_n)
        y_np = np.fromfile(os.path.join(inputs, "targets.u8"), dtype=np.uint8)
        y_np = y_np.reshape(rows_n, cols_n).astype(np.float32)
        default_threads = torch.get_num_threads()
        thread_counts = [default_threads]
        if (os.cpu_count() or 1) != default_threads:
            thread_counts.append(os.cpu_count())
        print("\nPyTorch %s eager, float32, CPU; torch's default thread count here: %d "
              "(os.cpu_count() %s); host wall clock per forward + backward, %d warm-up calls"
              % (torch.__version__, default_threads, os.cpu_count(), 2))
        for th in thread_counts:
            times, loss, grad = time_torch(torch, x_np, y_np, args.reps, th)
            label = "PyTorch %s eager f32, %d thread%s%s" % (
                torch.__version__, th, "" if th == 1 else "s",
                " (default)" if th == default_threads else "")
            torch_runs.append((label, times, loss, th))
            gref = closed_form_grad(np, x_np, y_np)
            gerr = np.abs(grad - gref) / np.maximum(np.abs(gref), 1e-7)
            print("%s: median %.3f ms, loss %.9g; gradient vs spec section 4 closed form: "
                  "worst rel err %.2e" % (label, 1e3 * statistics.median(times), loss,
                                          float(gerr.max())))
        # (d) after every (b): once OpenCL (PoCL's worker threads) has run in this process, the
        # eager runs would share the cores with it
        for th in thread_counts if apt is not None else []:
            a_times, a_loss, _ = time_torch(torch, x_np, y_np, args.reps, th, apt.APLLoss())
            a_label = "aplcl.torch.APLLoss f32, %d thread%s" % (th, "" if th == 1 else "s")
            aplcl_torch_runs.append((a_label, a_times, a_loss, th))
            print("%s: median %.3f ms, loss %.9g (%s)" % (
                a_label, 1e3 * statistics.median(a_times), a_loss,
                apt.default_context().device_name))
        torch.set_num_threads(default_threads)

    # loss agreement
    if torch_runs:
        tloss = torch_runs[0][2]
        print("\nloss agreement (PyTorch float32 vs each, tolerance %.0e relative):" % LOSS_RTOL)
        for row in ([ref] if ref else []) + devs:
            other = float(row["loss"])
            rel = abs(tloss - other) / max(abs(other), 1e-30)
            ok = rel <= LOSS_RTOL
            failed |= not ok
            label = ("CPU reference" if row["device_id"] == "cpu" else
                     "aplcl %s %s/%s" % (row["device_id"], row["dtype"], row["targets"]))
            print("  %-28s loss %.9g  rel %.2e  %s" % (label, other, rel,
                                                       "ok" if ok else "DISAGREE"))
        for label, _, other, _ in aplcl_torch_runs:
            rel = abs(tloss - other) / max(abs(other), 1e-30)
            failed |= rel > LOSS_RTOL
            print("  %-28s loss %.9g  rel %.2e  %s" % (label[:28], other, rel,
                                                       "ok" if rel <= LOSS_RTOL else "DISAGREE"))

    # ratio table: a peer's median time / this row's median time (higher = this row faster)
    peers = []  # (column heading, median ms)
    for _, times, _, th in torch_runs:
        peers.append(("vs torch %dt" % th, statistics.median(times) * 1e3))
    t_ref = float(ref["median_ms"]) if ref and ref["median_ms"] else None
    if t_ref:
        peers.append(("vs CPU ref", t_ref))
    table = []
    if t_ref:
        table.append(("(a) CPU reference: aplcl_ref_compute, double, 1 thread", t_ref))
    for label, times, _, _ in torch_runs:
        table.append(("(b) " + label, statistics.median(times) * 1e3))
    for row in devs:
        host = "+host" if row.get("timing") == "host-ptr" else ""
        table.append(("(c) aplcl %s %s/%s%s: %s" % (row["device_id"], row["dtype"],
                                                    row["targets"], host, row["device"]),
                      float(row["median_ms"])))
    for label, times, _, _ in aplcl_torch_runs:
        table.append(("(d) " + label, statistics.median(times) * 1e3))
    print("\n%-64s %10s %8s" % ("implementation", "median_ms", "Gelem/s")
          + "".join(" %11s" % h for h, _ in peers))
    for label, ms in table:
        print("%-64s %10.3f %8.3f" % (label[:64], ms, n_elems / (ms * 1e-3) * 1e-9)
              + "".join(" %11s" % fmt_ratio(t, ms) for _, t in peers))
    print("(ratios: the peer's median time / this row's median time; > 1: this row is faster)")
    if tmp:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
