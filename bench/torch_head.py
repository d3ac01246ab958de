#!/usr/bin/env python3
"""torch_head.py: peak memory and time of one training step of a linear multi-label head, three
ways (issue 18 item 3), each case in a fresh process:

  a  torch.nn.Linear + aplcl.torch.APLLoss          (the N x C logits and their gradient exist)
  b  torch.nn.Linear + the APL authors' formula in PyTorch eager (written out below)
  c  aplcl.torch.LinearAPLLoss                     (chunks of rows; no N x C tensor)

A step is forward + backward (gradients of the input, weight and bias; reduction 'mean', the
reference APL parameters) from sparse targets (K positive labels a row, a CSR pair); a and b
make them dense (bool for a, float for b) inside the step, as they must. Before timing, every
variant's loss and gradients are checked against the float64 path on a small problem.

Memory: the child process's peak resident set (VmHWM, reset through /proc/self/clear_refs after
the setup) minus its resident set after the setup (inputs, parameters, CSR targets, library and
context loaded), minus the parameters' gradients (C*D + C floats): the memory the step itself
needs above the parameters and their gradients. The child runs with glibc's mmap and trim
thresholds fixed at 128 KiB and calls malloc_trim before the baseline, so that freed memory leaves
the resident set and the peak follows the live tensors (with glibc's dynamic threshold, heap
memory freed during the setup stayed resident and the step reused it unseen: (a) at 1024 x 16 x
32768 read 126 MiB instead of its 289). A watchdog in the parent kills a case
whose resident set passes --mem-limit-gb (default: 60% of MemAvailable, at most 12 GiB) and
reports it as not fitting, so that the shared machine is not driven into swap or the OOM killer.

Run: build-python/venv/bin/python bench/torch_head.py [--shapes 8192x512x32768,4096x256x131072]
     [--variants a,b,c] [--steps 2] [--positives 5] [--json out.jsonl]
One JSON line per case on stdout (--json appends them to a file too) and a Markdown table at the
end. Not a unit test: nothing here runs in the test suite.
"""

import argparse
import ctypes
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUE_SHAPES = "8192x512x32768,4096x256x131072"


def status_kb(key, pid="self"):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) if m else 0


def mem_available_kb():
    with open("/proc/meminfo") as f:
        return int(re.search(r"^MemAvailable:\s+(\d+) kB", f.read(), re.M).group(1))


# ---- the child: one case ----

def authors_apl_mean(x, y):
    """The APL authors' module (LUMIA-Group/APL, APLLoss with its defaults, focusing weight
    computed without gradients) written out from its published definition, divided by the element
    count for 'mean'."""
    import torch

    p = torch.sigmoid(x)
    p_neg = (1 - p + 0.05).clamp(max=1)
    los_pos = y * (torch.log(p.clamp(min=1e-8)) + 1.0 * (1 - p.clamp(min=1e-8))
                   - 2.5 * 0.5 * (1 - p.clamp(min=1e-8)) ** 2)
    los_neg = (1 - y) * torch.log(p_neg.clamp(min=1e-8))
    loss = los_pos + los_neg
    with torch.no_grad():
        pt = p * y + p_neg * (1 - y)  # 1 - pt: 1 - p for positives, p_m for negatives
        w = torch.pow(1 - pt, 0.0 * y + 4.0 * (1 - y))
    loss = loss * w
    return -loss.sum() / loss.numel()


def make_variant(name, d, c, torch, apt):
    """(module with .weight/.bias, step(x, csr) -> loss)."""
    if name == "c":
        head = apt.LinearAPLLoss(d, c)
        return head, lambda x, csr: head(x, csr)
    lin = torch.nn.Linear(d, c)
    if name == "a":
        crit = apt.APLLoss(reduction="mean")

        def step(x, csr):
            return crit(lin(x), dense(csr, x.shape[0], c, torch.bool, torch))
        return lin, step

    def step_b(x, csr):
        return authors_apl_mean(lin(x), dense(csr, x.shape[0], c, torch.float32, torch))
    return lin, step_b


def dense(csr, n, c, dtype, torch):
    indptr, indices = csr
    y = torch.zeros(n * c, dtype=dtype)
    rows = torch.repeat_interleave(torch.arange(n), indptr[1:] - indptr[:-1])
    y[rows * c + indices] = 1
    return y.view(n, c)


def csr_targets(n, c, k, seed, torch):
    g = torch.Generator().manual_seed(seed)
    indices = torch.stack([torch.randperm(c, generator=g)[:k] for _ in range(n)]).reshape(-1)
    indptr = torch.arange(0, n * k + 1, k, dtype=torch.int64)
    return indptr, indices


def check(name, torch, apt):
    """The variant's loss and gradients on a small problem against the float64 path."""
    import aplcl

    torch.manual_seed(0)
    n, d, c = 37, 16, 101
    mod, step = make_variant(name, d, c, torch, apt)
    x = torch.randn(n, d, requires_grad=True)
    csr = csr_targets(n, c, 5, 1, torch)
    loss = step(x, csr)
    loss.backward()
    x64 = x.detach().double().requires_grad_(True)
    W64 = mod.weight.detach().double().requires_grad_(True)
    b64 = mod.bias.detach().double().requires_grad_(True)
    want = apt.apl_loss(torch.nn.functional.linear(x64, W64, b64),
                        dense(csr, n, c, torch.float64, torch), aplcl.Params(), "mean")
    want.backward()
    for got, ref, what in ((loss, want, "loss"), (x.grad, x64.grad, "dx"),
                           (mod.weight.grad, W64.grad, "dW"), (mod.bias.grad, b64.grad, "db")):
        err = float((got.double() - ref).abs().max() / max(float(ref.abs().max()), 1e-30))
        if not err < 1e-4:
            raise SystemExit(f"variant {name}: {what} differs from the float64 reference by "
                             f"{err:.3g} (relative): not timing wrong results")


def child(args):
    import torch

    import aplcl.torch as apt

    n, d, c = (int(v) for v in args.case.split("x"))
    name = args.variant
    check(name, torch, apt)
    apt.default_context()  # opened and its programs built before the baseline
    torch.manual_seed(1)
    mod, step = make_variant(name, d, c, torch, apt)
    x = torch.randn(n, d).requires_grad_(True)
    csr = csr_targets(n, c, args.positives, 2, torch)
    param_grad_kb = (c * d + c) * 4 / 1024.0
    # freed heap memory still counts in the resident set and would be reused by the step unseen:
    # give it back first (the parent also fixes glibc's mmap threshold, see run_case)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    open("/proc/self/clear_refs", "w").write("5")  # VmHWM := VmRSS
    base_kb = status_kb("VmRSS")
    times = []
    for _ in range(args.steps):
        x.grad = mod.weight.grad = mod.bias.grad = None  # zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        loss = step(x, csr)
        loss.backward()
        times.append(time.perf_counter() - t0)
        del loss
    peak_kb = status_kb("VmHWM")
    times.sort()
    median = statistics.median(times)
    out = {"case": args.case, "variant": name, "N": n, "D": d, "C": c,
           "positives": args.positives, "steps": args.steps,
           "step_s_median": median, "step_s_min": times[0],
           "step_s_max": times[-1],
           "peak_above_params_MiB": round((peak_kb - base_kb - param_grad_kb) / 1024.0, 1),
           "baseline_MiB": round(base_kb / 1024.0, 1), "torch_threads": torch.get_num_threads(),
           "device": apt.default_context().device_name}
    print(f"RESULT {json.dumps(out)}", flush=True)


# ---- the parent: a fresh process per case, with a memory watchdog ----

def run_case(args, case, variant, limit_kb):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--case", case,
           "--variant", variant, "--steps", str(args.steps), "--positives", str(args.positives)]
    # A fixed mmap threshold: glibc otherwise raises it after freeing large blocks, so that later
    # tensors come from the heap and stay resident after being freed (reused unseen by the peak)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    peak = 0
    killed = False
    while proc.poll() is None:
        try:
            rss = status_kb("VmRSS", proc.pid)
        except (OSError, AttributeError):
            rss = 0
        peak = max(peak, rss)
        if rss > limit_kb:
            proc.kill()
            killed = True
            break
        time.sleep(0.1)
    text = proc.communicate()[0]
    if killed:
        return {"case": case, "variant": variant,
                "error": f"resident set passed the limit of {limit_kb / 2.0 ** 20:.1f} GiB"}
    m = re.search(r"^RESULT (.*)$", text, re.M)
    if proc.returncode != 0 or not m:
        return {"case": case, "variant": variant,
                "error": f"exit {proc.returncode}: {text.strip()[-400:]}"}
    return json.loads(m.group(1))


def table(results):
    lines = ["| N x D x C | variant | step time (s, median) | peak above params + grads (MiB) |"
             " vs a: time | vs a: memory |", "|---|---|---|---|---|---|"]
    label = {"a": "a: nn.Linear + aplcl APLLoss", "b": "b: nn.Linear + authors' formula (eager)",
             "c": "c: LinearAPLLoss"}
    by = {(r["case"], r["variant"]): r for r in results}
    for r in results:
        a = by.get((r["case"], "a"))
        if "error" in r:
            lines.append(f"| {r['case']} | {label[r['variant']]} | - | - | - | {r['error']} |")
            continue
        rt = rm = "-"
        if a is not None and "error" not in a and a["peak_above_params_MiB"] > 0:
            rt = f"{r['step_s_median'] / a['step_s_median']:.2f}x"
            rm = f"{100.0 * r['peak_above_params_MiB'] / a['peak_above_params_MiB']:.1f}%"
        lines.append("| %s | %s | %.2f | %.0f | %s | %s |" % (
            r["case"], label[r["variant"]], r["step_s_median"], r["peak_above_params_MiB"], rt,
            rm))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default=ISSUE_SHAPES, help="NxDxC,... (default: the issue's)")
    ap.add_argument("--variants", default="a,b,c")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--positives", type=int, default=5)
    ap.add_argument("--mem-limit-gb", type=float, default=None)
    ap.add_argument("--json", default=None, help="append the JSON lines to this file")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    limit_kb = (args.mem_limit_gb * 2 ** 20 if args.mem_limit_gb
                else min(0.6 * mem_available_kb(), 12 * 2 ** 20))
    print("# load average %s; memory limit per case %.1f GiB" % (
        " ".join(open("/proc/loadavg").read().split()[:3]), limit_kb / 2.0 ** 20), flush=True)
    results = []
    for case in args.shapes.split(","):
        for v in args.variants.split(","):
            r = run_case(args, case, v, limit_kb)
            results.append(r)
            print(json.dumps(r), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(f"{json.dumps(r)}\n")
    print(f"# load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(table(results))


if __name__ == "__main__":
    main()
