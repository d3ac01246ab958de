#!/usr/bin/env python3
"""cuda_torch.py: aplcl.torch on CUDA tensors, for bench/gpu/run.sh: correctness, then speed.

check: APLLoss (f32, bf16; u8 and float targets; sum and mean), ASLLoss and BCEWithLogitsLoss
(with pos_weight) on CUDA tensors against the same modules on CPU tensors (the OpenCL/CPU path),
on the current stream and inside torch.cuda.stream(s), and the same call twice for the same bits.
Exit 1 on any mismatch. bench: fused loss + gradient by aplcl (CUDA) beside a device copy of the
same bytes (the bandwidth yardstick: 9 B/element f32 logits + u8 targets + f32 grad, 5 B bf16),
PyTorch eager and torch.compile of the same formula (bench/peer.py), CUDA events, medians. Without
torch or CUDA it says so and exits 3 (run.sh records a SKIP).
"""
import argparse
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def check(torch, at):
    bad = 0
    g = torch.Generator().manual_seed(7)
    pw = torch.rand(300, generator=g) + 0.5
    cases = [("APLLoss f32 u8 sum", lambda d: at.APLLoss(reduction="sum"), torch.float32,
              torch.uint8),
             ("APLLoss bf16 u8 mean", lambda d: at.APLLoss(reduction="mean"), torch.bfloat16,
              torch.uint8),
             ("APLLoss f32 float mean", lambda d: at.APLLoss(reduction="mean"), torch.float32,
              torch.float32),
             ("ASLLoss f16 u8 sum", lambda d: at.ASLLoss(reduction="sum"), torch.float16,
              torch.uint8),
             ("BCEWithLogits f32 pos_weight", lambda d: at.BCEWithLogitsLoss(
                 pos_weight=pw.to(d)), torch.float32, torch.float32)]
    s = torch.cuda.Stream()
    for name, mod, dt, tdt in cases:
        x = (4 * torch.randn(257, 300, generator=g)).to(dt)
        y = (torch.rand(257, 300, generator=g) < 0.1).to(tdt)
        xc = x.clone().requires_grad_(True)
        lc = mod("cpu")(xc, y)
        lc.backward()
        results = []
        for where in ("current stream", "torch.cuda.stream(s)"):
            xg = x.cuda().requires_grad_(True)
            mg = mod("cuda")
            if where == "current stream":
                lg = mg(xg, y.cuda())
                lg.backward()
            else:
                with torch.cuda.stream(s):
                    lg = mg(xg, y.cuda())
                    lg.backward()
                torch.cuda.synchronize()
            results.append((lg.detach().cpu(), xg.grad.cpu()))
            tol = 1e-5 if dt == torch.float32 else 1e-2
            lerr = float(abs(lg.detach().float().cpu() - lc.detach().float()) /
                         max(1e-6, abs(float(lc))))
            gerr = float((xg.grad.float().cpu() - xc.grad.float()).abs().max() /
                         max(1e-6, float(xc.grad.float().abs().max())))
            ok = lerr <= tol and gerr <= tol
            bad += not ok
            print("%-32s %-22s loss rel %.2e grad rel %.2e %s"
                  % (name, where, lerr, gerr, "ok" if ok else "MISMATCH"))
        same = torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1],
                                                                         results[1][1])
        bad += not same
        print("%-32s same bits on both streams: %s" % (name, same))
    return bad


def events(torch, fn, reps):
    st = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    en = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for i in range(reps + 3):
        if i >= 3:
            st[i - 3].record()
        fn()
        if i >= 3:
            en[i - 3].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(st, en))


def bench(torch, at, shapes, reps, out):
    from peer import apl_loss_torch
    w = csv.writer(out)
    w.writerow(["what", "shape", "dtype", "median_ms", "gb_s", "ratio_to_copy"])
    comp = None
    try:
        comp = torch.compile(apl_loss_torch)
    except Exception as e:
        print("torch.compile unavailable: %s" % e, file=sys.stderr)
    loss_mod = at.APLLoss(reduction="sum")
    for shape in shapes.split(","):
        r, c = (int(v) for v in shape.split("x"))
        for dt, bpe in ((torch.float32, 9), (torch.bfloat16, 5)):
            x = (4 * torch.randn(r, c, device="cuda")).to(dt)
            y = (torch.rand(r, c, device="cuda") < 0.01).to(torch.uint8)
            n = r * c
            src = torch.empty(n * bpe // 2, dtype=torch.uint8, device="cuda")
            dst = torch.empty_like(src)
            copy_ms = events(torch, lambda: dst.copy_(src), reps)  # reads + writes bpe bytes/elt
            xg = x.clone().requires_grad_(True)

            def aplcl_call():
                xg.grad = None
                loss_mod(xg, y).backward()
            rows = [("copy", copy_ms), ("aplcl-cuda", events(torch, aplcl_call, reps))]
            xf, yf = x.float().requires_grad_(True), y.float()
            for label, fn in (("torch-eager", apl_loss_torch), ("torch-compile", comp)):
                if fn is None:
                    continue

                def peer_call(fn=fn):
                    xf.grad = None
                    fn(torch, xf, yf).backward()
                try:
                    rows.append((label, events(torch, peer_call, reps)))
                except Exception as e:
                    print("%s failed on %s: %s" % (label, shape, e), file=sys.stderr)
            for label, ms in rows:
                gbs = n * bpe / ms / 1e6
                w.writerow([label, shape, str(dt).replace("torch.", ""), "%.4f" % ms,
                            "%.1f" % gbs, "%.3f" % (copy_ms / ms)])
                out.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["check", "bench"])
    ap.add_argument("--shapes", default="4096x1000,16384x10000,1024x100000")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--csv", default="-")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("cuda_torch.py: no torch here; skipped")
        return 3
    if not torch.cuda.is_available():
        print("cuda_torch.py: torch %s has no CUDA device; skipped" % torch.__version__)
        return 3
    import aplcl.torch as at
    from aplcl import _cuda
    print("aplcl CUDA: %s on %s" % (_cuda.describe(0), torch.cuda.get_device_name(0)))
    if a.mode == "check":
        bad = check(torch, at)
        print("cuda_torch check: %s" % ("PASSED" if not bad else "%d FAILED" % bad))
        return 1 if bad else 0
    out = sys.stdout if a.csv == "-" else open(a.csv, "w", newline="")
    bench(torch, at, a.shapes, a.reps, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
