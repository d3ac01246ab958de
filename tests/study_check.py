#!/usr/bin/python3
"""study_check.py: `aplcl study` on emotions with small budgets (CI-sized), checked.

Run by CTest: study_check.py APLCL DATA_DIR SCRATCH_DIR (DATA_DIR holds emotions/).
  - the same --budget-minutes command twice (one with --progress, which must show a time
    estimate and an ETA), the calibration in a fresh folder: the first run measures and keeps it,
    the second reads it; the same plan and a byte-identical summary.json; both end within 120%
    of the budget; --plan-only prints the same plan, trains nothing, writes no files;
  - summary.json: the three losses with test metrics in range; tuned APL's validation mAP is
    not below the BCE and ASL winners' (the APL search holds them); the APL winner's source
    is one the search knows; each chosen learning rate's place on the grid's edge as the grid
    says;
  - report.md: the test table has one row per loss whose mAP is summary.json's, the learning
    rates on the grid's edge are marked, and the paired and across-data-set tables are there;
    report.svg is XML with a point per comparison;
  - --epochs 3000 --budget-minutes 0.25 --recalibrate: the plan is scaled down and its long
    rungs end within 120% of the budget too.
Standard library only.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def study(tool, data, out, extra, env=None):
    cmd = [tool, "study", f"{data}/emotions", "--out", out, "--seeds", "1,2"] + extra
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, **env) if env else None)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p, wall


PLAN = re.compile(r"plan: (\d+) candidates per APL and ASL search \(asked (\d+)\).*?(\d+) epochs "
                  r"\(asked (\d+)\).*?estimated ([0-9.]+) min")


def plan_of(p):
    m = PLAN.search(p.stdout)
    if not m:
        fail(f"no plan line:\n{p.stdout}")
    return m


def within_budget(p, wall, budget, what):
    """The budget's promise: the whole command ends within 120% of it, when its smallest plan
    fits at all (an instrumented build on a slow machine may not: the tool says so)."""
    if "the smallest plan" in p.stderr:
        print(f"skip {what}: the smallest plan does not fit {budget} min here ({wall:.1f} s)")
        return
    if wall > 1.2 * budget * 60:
        fail(f"{what} took {wall:.1f} s, more than 120% of {budget} min:\n{p.stdout}")
    print(f"ok   {what}: {wall:.1f} s ({wall / (budget * 60):.0%} of the budget)")


def main():
    tool, data, scratch = sys.argv[1:4]
    a, b, c, d = (os.path.join(scratch, f"study_{x}") for x in "abcd")
    cal = os.path.join(scratch, "study_calibration")
    shutil.rmtree(cal, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)
    budget = 0.25
    same = ["--budget-minutes", str(budget), "--bootstrap", "50", "--cache-dir", cal]
    pa, wa = study(tool, data, a, same + ["--quiet"])
    pb, wb = study(tool, data, b, same + ["--progress"])
    if "calibration measured now" not in pa.stdout or "calibration from" not in pb.stdout:
        fail(f"the first run must measure the calibration and the second read it:\n{pa.stdout}\n"
             f"{pb.stdout}")
    if "estimated" not in pa.stdout:
        fail(f"no time estimate before the start:\n{pa.stdout}")
    if "ETA" not in pb.stderr:
        fail(f"--progress shows no ETA: {pb.stderr!r}")
    if "ETA" in pa.stderr:
        fail("--quiet still draws the progress display")
    ma, mb = plan_of(pa), plan_of(pb)
    if ma.groups() != mb.groups():
        fail(f"two runs of the same command planned differently: {ma.group(0)} / {mb.group(0)}")
    ja, jb = open(f"{a}/summary.json", "rb").read(), open(f"{b}/summary.json", "rb").read()
    if ja != jb:
        fail("summary.json differs between two runs of the same --budget-minutes command")
    print(f"ok   --budget-minutes {budget} twice: the same plan ({ma.group(1)} candidates, "
          f"{ma.group(3)} epochs) and a byte-identical summary.json")
    whole = ma.group(1) == ma.group(2) and ma.group(3) == ma.group(4)
    if whole and float(ma.group(5)) > budget:
        fail(f"the plan kept every candidate and epoch although its estimate exceeds the "
             f"budget:\n{pa.stdout}")
    within_budget(pa, wa, budget, f"--budget-minutes {budget} (calibrating)")
    within_budget(pb, wb, budget, f"--budget-minutes {budget} (calibration read)")
    t0 = time.monotonic()
    pd = subprocess.run([tool, "study", f"{data}/emotions", "--seeds", "1,2", "--plan-only",
                         "--out", d] + same, capture_output=True, text=True)
    if pd.returncode != 0 or plan_of(pd).groups() != ma.groups() or os.path.exists(d):
        fail(f"--plan-only: exit {pd.returncode}, another plan or files written:\n{pd.stdout}\n"
             f"{pd.stderr}")
    print(f"ok   --plan-only: the same plan in {time.monotonic() - t0:.1f} s, no files")
    s = json.loads(ja)
    if [x["name"] for x in s["datasets"]] != ["emotions"]:
        fail(f"datasets {[x['name'] for x in s['datasets']]}")
    ds = s["datasets"][0]
    L = ds["losses"]
    if sorted(L) != ["apl", "asl", "bce"]:
        fail(f"losses {sorted(L)}")
    grid = s["protocol"]["lr_grid"]
    if len(grid) < 5 or grid != sorted(grid):
        fail(f"the default learning-rate grid {grid}")
    for name, r in L.items():
        for m in ("map", "micro_f1_05", "macro_f1_05", "micro_f1_val", "macro_f1_val",
                  "ranking_loss"):
            v = r[f"test_{m}"]
            if not 0 <= v["mean"] <= 1 or len(v["per_seed"]) != 2:
                fail(f"{name} test_{m} {v}")
        want = "lowest" if r["lr"] == grid[0] else "highest" if r["lr"] == grid[-1] else None
        if r["lr"] not in grid or r["lr_on_grid_edge"] != want:
            fail(f"{name}: lr {r['lr']}, lr_on_grid_edge {r['lr_on_grid_edge']}, grid {grid}")
    if L["apl"]["val_map"] < max(L["bce"]["val_map"], L["asl"]["val_map"]) - 1e-4:
        fail(f"tuned APL below BCE or ASL on validation: {L['apl']['val_map']} against "
             f"{L['bce']['val_map']}, {L['asl']['val_map']}")
    if L["apl"]["source"] not in ("search", "bce point", "asl point", "bce winner",
                                  "asl winner"):
        fail(f"apl source {L['apl']['source']}")
    v = ds["apl_vs_bce"]
    if not v["ci95_seeds_lo"] <= v["test_map_diff"] <= v["ci95_seeds_hi"]:
        fail(f"apl_vs_bce interval {v}")
    print("ok   summary.json: three losses, tuned APL not below BCE and ASL on validation, "
          "learning rates on the grid's edge flagged")
    md = open(f"{a}/report.md").read()
    rows = [r for r in md.splitlines() if r.startswith("| emotions")]
    if len(rows) != 4:  # three losses, one paired row
        fail(f"report.md has {len(rows)} emotions rows:\n{md}")
    for loss, row in zip(("bce", "asl", "apl"), rows):
        cells = [x.strip() for x in row.strip("|").split("|")]
        if cells[1] != loss:
            fail(f"report.md row {row}")
        got = float(re.match(r"([0-9.]+)", cells[2]).group(1))
        if abs(got - L[loss]["test_map"]["mean"]) > 6e-5:
            fail(f"report.md {loss} mAP {got}, summary.json {L[loss]['test_map']['mean']}")
        if ("of the grid)" in row) != (L[loss]["lr_on_grid_edge"] is not None):
            fail(f"report.md row {row}: the grid's edge marked wrongly")
    for heading in ("## Test results", "## Tuned APL against BCE and ASL", "## Across data sets"):
        if heading not in md:
            fail(f"report.md lacks '{heading}'")
    svg = ET.parse(f"{a}/report.svg").getroot()
    circles = [e for e in svg.iter() if e.tag.endswith("circle")]
    if len(circles) != 2:
        fail(f"report.svg has {len(circles)} points, want 2")
    print("ok   report.md and report.svg parse and agree with summary.json")
    # A plan far beyond any budget (3000 epochs) must be scaled down, on any machine, and its
    # long rungs must keep the promise too. --recalibrate: measured now, under this load.
    pc, wc = study(tool, data, c, same + ["--epochs", "3000", "--recalibrate", "--quiet"])
    m = plan_of(pc)
    if int(m.group(4)) != 3000 or (int(m.group(1)) >= 27 and int(m.group(3)) >= 3000):
        fail(f"the budget did not scale a 3000-epoch plan down:\n{pc.stdout}")
    within_budget(pc, wc, budget, f"--epochs 3000 --budget-minutes {budget} (scaled to "
                  f"{m.group(1)} candidates, {m.group(3)} epochs)")


if __name__ == "__main__":
    main()
