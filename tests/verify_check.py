#!/usr/bin/python3
"""verify_check.py: `aplcl verify` on a known-good and a deliberately perturbed gradient.

Run by CTest: verify_check.py APLCL NPY_FIXTURE SCRATCH_DIR. npy_fixture writes the reference
gradient of default APL for 6 x 7 logits (float32 and float16), the same with one element
([2, 3], index 17) off by 1e-3, the per-element losses, a mean-reduction gradient, and broken
files. verify must pass the good ones (exit 0), fail the perturbed one (exit 1) naming index 17
and counting exactly one element beyond tolerance, check the reduced loss, honour a looser
tolerance, read Fortran order, compare (not refuse) a dump with an infinite logit and a NaN
target by the library's rule, and refuse mismatched shapes (exit 2). Standard library only.
"""
import os
import subprocess
import sys

failures = 0


def check(cond, what, out=""):
    global failures
    if cond:
        print(f"ok   {what}")
    else:
        failures += 1
        print(f"FAIL {what}\n{out}")


def main():
    tool, fixture, scratch = sys.argv[1:4]
    d = os.path.join(scratch, "verify")
    os.makedirs(d, exist_ok=True)
    loss = float(subprocess.run([fixture, d], capture_output=True, text=True,
                                check=True).stdout)

    def verify(*args):
        p = subprocess.run([tool, "verify", "--logits", f"{d}/logits.npy", "--targets",
                            f"{d}/targets.npy", *args], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    rc, out = verify("--grad", f"{d}/grad_good.npy")
    check(rc == 0 and "PASS" in out and "0 of 42 elements beyond tolerance" in out,
          "the reference gradient passes", out)
    check("rtol 1.006e-05" in out, "the default tolerance is printed", out)
    rc, out = verify("--grad", f"{d}/grad_bad.npy")
    check(rc == 1 and "beyond tolerance at [2, 3] (index 17)" in out
          and "1 of 42 elements beyond tolerance" in out
          and "worst absolute error" in out and "(index 17)" in out.split("worst absolute")[1],
          "the perturbed gradient fails and names element 17 as the worst", out)
    rc, out = verify("--grad", f"{d}/grad_bad.npy", "--atol", "0.01")
    check(rc == 0 and "atol 0.01" in out, "a looser --atol passes it", out)
    rc, out = verify("--grad", f"{d}/grad_f16.npy")
    check(rc == 0 and "ulps of float16" in out, "a float16 gradient passes", out)
    rc, out = verify("--grad", f"{d}/grad_mean.npy", "--reduction", "mean")
    check(rc == 0, "the mean-reduction gradient passes with --reduction mean", out)
    rc, out = verify("--grad", f"{d}/grad_mean.npy")
    check(rc == 1, "and fails against the sum", out)
    rc, out = verify("--elem-loss", f"{d}/elem_good.npy", "--grad", f"{d}/grad_good.npy")
    check(rc == 0, "per-element losses pass", out)
    rc, out = verify("--loss", repr(loss))
    check(rc == 0 and "within" in out, "the reduced loss passes", out)
    rc, out = verify("--loss", repr(loss * (1 + 1e-4)))
    check(rc == 1 and "BEYOND" in out, "a reduced loss off by 1e-4 fails", out)
    rc, out = verify("--grad", f"{d}/grad_wrong_shape.npy")
    check(rc == 2 and "shape differs" in out, "a mis-shaped gradient is refused", out)
    p = subprocess.run([tool, "verify", "--logits", f"{d}/logits_fortran.npy", "--targets",
                        f"{d}/targets.npy", "--grad", f"{d}/grad_good.npy"],
                       capture_output=True, text=True)
    check(p.returncode == 0 and "0 of 42 elements beyond tolerance" in p.stdout,
          "Fortran-order logits are read in their order and pass", p.stdout + p.stderr)
    # an infinite logit and a NaN target: compared by the library's rule, reported, not refused
    p = subprocess.run([tool, "verify", "--logits", f"{d}/logits_inf.npy", "--targets",
                        f"{d}/targets_nan.npy", "--grad", f"{d}/grad_inf.npy"],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    check(p.returncode == 0 and "1 invalid targets and 1 non-finite logits" in out
          and "0 of 42 elements beyond tolerance" in out,
          "a non-finite logit and an invalid target are reported and compared", out)
    p = subprocess.run([tool, "verify", "--logits", f"{d}/logits_inf.npy", "--targets",
                        f"{d}/targets_nan.npy", "--grad", f"{d}/grad_inf_nan.npy"],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    check(p.returncode == 1 and "beyond tolerance at [1, 1] (index 8): logit inf" in out
          and "1 of 42 elements beyond tolerance" in out
          and "1 of them at a non-finite logit or an invalid target" in out,
          "an engine's NaN at the infinite logit is named, against the rule's 0", out)
    rc, out = verify("--grad", f"{d}/targets.npy")
    check(rc == 2 and "float16, float32 or float64 expected" in out,
          "an integer gradient is refused", out)
    rc, out = verify()
    check(rc == 2 and "nothing to verify" in out, "nothing to verify is a usage error", out)
    print("FAILED" if failures else "PASSED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
