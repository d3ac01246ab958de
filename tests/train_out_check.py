#!/usr/bin/python3
"""train_out_check.py: `aplcl train --val --select best-val --out DIR` on yeast, checked.

Run by CTest: train_out_check.py APLCL DATA_DIR SCRATCH_DIR. Checks that
  - the reported epoch of every (loss, seed) is the first epoch of best validation mAP in
    curves.csv (the test set never chooses) and final.json's test mAP is the mean of the test mAP
    at those epochs;
  - the files of --out exist and parse (config.json, final.json, curves.svg as XML with three
    curves per loss, per_label_ap.csv with one row per label and run);
  - the printed final table stays aligned for a long loss name;
  - --select last reports the last epoch.
Standard library only.
"""
import csv
import json
import os
import subprocess
import sys
import xml.dom.minidom


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(tool, data, out, extra):
    cmd = [tool, "train", f"{data}/yeast-train.arff", f"{data}/yeast-test.arff", "--labels", "14",
           "--epochs", "6", "--quiet", "--seeds", "1,2", "--out", out] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def main():
    tool, data, scratch = sys.argv[1:4]
    long_name = "apl:gamma_neg=0.5,clip=0.01,alpha=1.5/0.25,beta=1.1"
    out = os.path.join(scratch, "bestval")
    text = run(tool, data, out, ["--val", "0.25", "--loss", f"bce;{long_name}"])
    if "epoch of best validation mAP" not in text:
        fail("the final table does not say it reports the best-validation epoch")
    rows = list(csv.DictReader(open(os.path.join(out, "curves.csv"))))
    final = json.load(open(os.path.join(out, "final.json")))
    json.load(open(os.path.join(out, "config.json")))
    # two losses asked for: the loop below must check two results (an empty list checked nothing)
    if [r["loss"] for r in final["results"]] != ["bce", long_name]:
        fail(f"final.json results {[r['loss'] for r in final['results']]}, want bce and the long one")
    for res in final["results"]:
        loss = res["loss"]
        chosen, tests = [], []
        for seed in ("1", "2"):
            curve = [r for r in rows if r["loss"] == loss and r["seed"] == seed]
            if len(curve) != 6:
                fail(f"{loss} seed {seed}: {len(curve)} epochs in curves.csv")
            vals = [float(r["val_map"]) for r in curve]
            best = vals.index(max(vals)) + 1
            chosen.append(best)
            tests.append(float(curve[best - 1]["test_map"]))
            if any(r["val_map"] == "" or r["train_map"] == "" for r in curve):
                fail("curves.csv lacks validation or training metrics")
        if res["chosen_epochs"] != chosen:
            fail(f"{loss}: chosen epochs {res['chosen_epochs']}, best validation {chosen}")
        if abs(res["test_map"] - sum(tests) / 2) > 1e-6:
            fail(f"{loss}: final test mAP {res['test_map']} is not the chosen epochs' {tests}")
        print(f"ok   {loss}: epochs {chosen} chosen on validation, test mAP {res['test_map']:.4f}")
    svg = xml.dom.minidom.parse(os.path.join(out, "curves.svg"))
    if len(svg.getElementsByTagName("polyline")) != 2 * 3:
        fail("curves.svg: not three curves per loss")
    ap = list(csv.DictReader(open(os.path.join(out, "per_label_ap.csv"))))
    if len(ap) != 2 * 2 * 14:
        fail(f"per_label_ap.csv: {len(ap)} rows, want 56")
    # alignment: every row of the table starts its numbers where the header's mAP column starts
    lines = text.splitlines()
    head = next(i for i, l in enumerate(lines) if l.lstrip().startswith("loss "))
    col = lines[head].index("mAP")
    for l in lines[head + 1:head + 3]:
        if not l[col:col + 2] == "0." or l[col - 1] != " ":
            fail(f"table misaligned at column {col}:\n{lines[head]}\n{l}")
    print("ok   files parse; table aligned for a", len(long_name), "character loss name")

    out = os.path.join(scratch, "last")
    text = run(tool, data, out, ["--val", "0.25", "--select", "last", "--loss", "bce"])
    final = json.load(open(os.path.join(out, "final.json")))
    if final["results"][0]["chosen_epochs"] != [6, 6] or "final epoch" not in text:
        fail(f"--select last: {final['results'][0]['chosen_epochs']}")
    print("ok   --select last reports epoch 6")
    print("PASSED")


if __name__ == "__main__":
    main()
