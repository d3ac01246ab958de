#!/usr/bin/python3
"""study_stats_scipy.py: `aplcl study`'s statistics (train/study_stats.c, study_thresh.c) against
SciPy, NumPy and scikit-learn on fixed inputs.

Run by CTest: study_stats_scipy.py STUDY_STATS_DUMP. Each case is sent to the dump program, whose
answer must match SciPy's to 1e-9 (relative): Student-t quantiles, chi-square tails, the paired
95% interval (scipy.stats.t.interval), the sign test (binomtest), the Wilcoxon signed-rank test
(exact without ties, the normal approximation with ties and zeros), percentiles (numpy),
ranks (rankdata), the Friedman test (friedmanchisquare) and the per-label thresholds (each
label's F1 at the chosen threshold is the best any threshold reaches; micro/macro-F1 as
sklearn's f1_score with zero_division=1).
"""
import subprocess
import sys

import numpy as np
import scipy.stats as st
from sklearn.metrics import f1_score

TOL = 1e-9


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def close(got, want, what):
    got, want = np.asarray(got, float), np.asarray(want, float)
    if got.shape != want.shape or not np.allclose(got, want, rtol=TOL, atol=1e-12, equal_nan=True):
        fail(f"{what}: got {got.tolist()}, want {want.tolist()}")
    print(f"ok   {what}: {np.round(got, 6).tolist()}")


def main():
    dump = sys.argv[1]
    cases, checks = [], []

    def case(line, check):
        cases.append(line)
        checks.append(check)

    for p, df in [(0.975, 1), (0.975, 2), (0.975, 3), (0.975, 6), (0.975, 30), (0.025, 2),
                  (0.9, 4.5)]:
        case(f"t 2 {p} {df}", lambda o, p=p, df=df: close(float(o), st.t.ppf(p, df),
                                                           f"t.ppf({p}, {df})"))
    for x, df in [(0.5, 2), (5.99, 2), (3.2, 1), (12.0, 5), (40.0, 3)]:
        case(f"chi2 2 {x} {df}", lambda o, x=x, df=df: close(float(o), st.chi2.sf(x, df),
                                                             f"chi2.sf({x}, {df})"))
    a = [0.611, 0.634, 0.622, 0.651, 0.603]
    b = [0.602, 0.611, 0.631, 0.622, 0.599]

    def ci(o):
        d = np.subtract(a, b)
        lo, hi = st.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=st.sem(d))
        close([float(x) for x in o.split()], [d.mean(), lo, hi], "paired 95% t interval")
    case(f"ci {len(a)} " + " ".join(map(str, a + b)), ci)
    for d in ([0.01, -0.02, 0.03, 0.0, 0.05, 0.04, -0.01], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
              [-0.01, 0.02, -0.03, 0.0, 0.0]):
        def sign(o, d=d):
            w, l, t, p = o.split()
            nw, nl = sum(x > 0 for x in d), sum(x < 0 for x in d)
            if (int(w), int(l), int(t)) != (nw, nl, len(d) - nw - nl):
                fail(f"sign test counts {o} for {d}")
            close(float(p), st.binomtest(nw, nw + nl).pvalue, f"sign test {d}")
        case(f"sign {len(d)} " + " ".join(map(str, d)), sign)
    for d, method in (([0.012, -0.031, 0.027, 0.044, 0.005, -0.002, 0.019], "exact"),
                      ([0.3, -0.1, 0.2, 0.25, 0.4, 0.15], "exact"),
                      ([0.01, 0.01, -0.02, 0.03, 0.0, 0.03, -0.01, 0.05], "approx"),
                      ([0.5, -0.5, 0.25, 0.25, 0.75, 1.0, -0.25], "approx")):
        def wil(o, d=d, method=method):
            s, p, exact = o.split()
            if int(exact) != (method == "exact"):
                fail(f"wilcoxon {d}: exact flag {exact}, want {method}")
            r = st.wilcoxon(d, method=method)
            close([float(s), float(p)], [r.statistic, r.pvalue], f"wilcoxon ({method}) {d}")
        case(f"wilcoxon {len(d)} " + " ".join(map(str, d)), wil)
    x = [0.3, -0.2, 0.5, 0.1, 0.9, 0.0, 0.45]
    for q in (0.025, 0.5, 0.975):
        case(f"quantile {len(x)} " + " ".join(map(str, x)) + f" {q}",
             lambda o, q=q: close(float(o), np.percentile(x, 100 * q), f"percentile {q}"))
    r = [0.5, 0.7, 0.5, 0.1, 0.7, 0.7]
    case(f"rank {len(r)} " + " ".join(map(str, r)),
         lambda o: close([float(v) for v in o.split()], st.rankdata(-np.array(r)), "rankdata"))
    scores = np.array([[0.45, 0.44, 0.46], [0.62, 0.60, 0.62], [0.71, 0.73, 0.70],
                       [0.30, 0.28, 0.29], [0.52, 0.55, 0.51], [0.81, 0.80, 0.80],
                       [0.40, 0.41, 0.39]])

    def fried(o):
        v = [float(t) for t in o.split()]
        ranks = np.mean([st.rankdata(-row) for row in scores], axis=0)
        chi2, p = st.friedmanchisquare(*scores.T)
        cd = 2.343 * np.sqrt(3 * 4 / (6 * len(scores)))  # Demsar 2006: q_0.05 for k = 3
        close(v, list(ranks) + [chi2, p, cd], "average ranks, Friedman, Nemenyi CD")
    case(f"friedman {scores.size} " + " ".join(map(str, scores.ravel())) + " 3", fried)
    rng = np.random.default_rng(5)
    rows, labels = 40, 4
    s = rng.normal(size=(rows, labels)).astype(np.float32)
    y = (rng.random((rows, labels)) < [0.3, 0.1, 0.5, 0.0]).astype(int)
    s[:5, 0] = s[5:10, 0]  # tied scores

    def thresh(o):
        v = [float(t) for t in o.split()]
        t, mi, ma = np.array(v[:labels], dtype=np.float32), v[labels], v[labels + 1]
        for c in range(labels):
            cand = list(np.unique(s[:, c])) + [np.inf]
            best = max(f1_score(y[:, c], s[:, c] >= u, zero_division=1) for u in cand)
            got = f1_score(y[:, c], s[:, c] >= t[c], zero_division=1)
            if y[:, c].sum() and abs(got - best) > 1e-12:
                fail(f"label {c}: F1 {got} at threshold {t[c]}, best {best}")
        pred = s >= t
        close([mi, ma], [f1_score(y, pred, average="micro", zero_division=1),
                         f1_score(y, pred, average="macro", zero_division=1)],
              "per-label thresholds: best F1 per label; micro/macro F1")
    case(f"thresh 2 {rows} {labels} " + " ".join(f"{x:.9g}" for x in s.ravel()) + " "
         + " ".join(map(str, y.ravel())), thresh)
    p = subprocess.run([dump], input="\n".join(cases) + "\n", capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"study_stats_dump exited {p.returncode}: {p.stderr}")
    out = p.stdout.strip().split("\n")
    if len(out) != len(cases):
        fail(f"{len(out)} answers for {len(cases)} cases:\n{p.stdout}")
    for o, check in zip(out, checks):
        check(o)
    print(f"all {len(cases)} cases match")


if __name__ == "__main__":
    main()
