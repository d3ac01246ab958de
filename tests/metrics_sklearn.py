#!/usr/bin/python3
"""metrics_sklearn.py: train/metrics*.c against scikit-learn on random multi-label cases.

Run by CTest: metrics_sklearn.py PATH/TO/metrics_dump. Each case goes to metrics_dump on stdin;
every metric it prints must match scikit-learn's (one-error, which scikit-learn lacks, is computed
here with numpy) to 1e-9. Cases include rows with no positive, rows with every label positive,
labels with few positives, and (for every metric except AP, whose tie convention differs on
purpose: see train/metrics.h) tied scores. scikit-learn missing is a failure, not a skip: CI
installs python3-sklearn (scripts/deps.sh). The tool itself never uses scikit-learn.
"""
import subprocess
import sys

try:
    import numpy as np
    from sklearn import metrics as skm
except ImportError as e:  # a failure: CI must have it
    print(f"FAIL: scikit-learn/numpy not importable ({e}); apt-get install python3-sklearn")
    sys.exit(1)


def run_dump(tool, y, s, thr):
    rows, labels = y.shape
    text = f"{rows} {labels} {thr!r}\n" + " ".join(str(int(v)) for v in y.ravel()) + "\n"
    text += " ".join(repr(float(v)) for v in s.ravel()) + "\n"
    out = subprocess.run([tool], input=text, capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def reference(y, s, thr, with_ap):
    z = (s >= np.float32(thr)).astype(int)
    ref = {
        "hamming_loss": skm.hamming_loss(y, z),
        "ranking_loss": skm.label_ranking_loss(y, s),
        "coverage": skm.coverage_error(y, s),
        "ex_precision": skm.precision_score(y, z, average="samples", zero_division=1),
        "ex_recall": skm.recall_score(y, z, average="samples", zero_division=1),
        "ex_f1": skm.f1_score(y, z, average="samples", zero_division=1),
        "micro_f1": skm.f1_score(y, z, average="micro", zero_division=1),
        "macro_f1": skm.f1_score(y, z, average="macro", zero_division=1),
        "one_error": float(np.mean(y[np.arange(len(y)), np.argmax(s, axis=1)] == 0)),
    }
    if with_ap:
        aps = []
        for j in range(y.shape[1]):
            if y[:, j].any():
                ap = skm.average_precision_score(y[:, j], s[:, j])
                ref[f"ap_{j}"] = ap
                aps.append(ap)
        ref["map"] = float(np.mean(aps))
    return ref


def main():
    tool = sys.argv[1]
    rng = np.random.default_rng(20261130)
    failures = 0
    checked = 0
    cases = []
    for rows, labels, rate in [(40, 6, 0.3), (200, 14, 0.3), (25, 3, 0.5), (60, 30, 0.05)]:
        y = (rng.random((rows, labels)) < rate).astype(int)
        y[0, :] = 0  # a row with no positive
        y[1, :] = 1  # a row with every label positive
        y[2:4, 0] = 1  # every label has a positive (AP defined)
        for j in range(labels):
            if not y[:, j].any():
                y[5, j] = 1
        s = rng.random((rows, labels)).astype(np.float32)
        cases.append((f"{rows}x{labels} distinct scores", y, s, True))
        # scores on a coarse grid: ties within rows and columns
        cases.append((f"{rows}x{labels} tied scores", y, np.round(s * 4) / np.float32(4), False))
    for name, y, s, with_ap in cases:
        s = s.astype(np.float32)
        got = run_dump(tool, y, s, 0.5)
        ref = reference(y, s, 0.5, with_ap)
        for k, v in ref.items():
            checked += 1
            if not abs(got[k] - v) <= 1e-9:
                failures += 1
                print(f"FAIL {name}: {k} = {got[k]!r}, scikit-learn {v!r}")
        print(f"ok   {name}: {len(ref)} metrics match scikit-learn "
              f"(ranking loss {ref['ranking_loss']:.6f}, coverage {ref['coverage']:.4f})")
    print(f"{'FAILED' if failures else 'PASSED'} ({checked} comparisons, {failures} failures)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
