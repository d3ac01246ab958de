#!/usr/bin/env python3
"""torch_xmc.py: a bag-of-words linear multi-label classifier trained with
aplcl.torch.LinearAPLLoss (the fused linear + APL head), beside torch.nn.Linear +
torch.nn.BCEWithLogitsLoss, printing each one's test mAP.

Reads a MULAN data set (default: enron, the largest text set in ../shared/data: 1123 train / 579
test e-mails, 1001 binary word features, 53 labels; any MULAN ARFF pair and label XML works,
sparse or dense), takes its labels by the names the XML lists (they are not the ARFF's last
attributes in XML order), and passes them to LinearAPLLoss as lists of label indices (sparse
targets: no dense N x C target tensor). Both models: one linear layer on log(1 + count) features
(standardised ones for numeric data), Adam (lr 1e-2, batch 64, weight decay 1e-4), the same
seed and epochs. Without enron it falls back to the repository's data/yeast. The mAP is the mean
over labels with a test positive of average precision; the label-frequency baseline scores every
row by the training frequencies. Not a benchmark (bench/torch_head.py is).

Run: build-python/venv/bin/python examples/torch_xmc.py [--epochs 30] [--seed 1]
     [--data DIR] [--name STEM]
"""

import argparse
import os
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import torch

import aplcl
import aplcl.torch as apt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# where the MULAN sets live: the repository's data/, or the shared folder beside the clone (or
# beside the folder of worktrees); $APLCL_DATA names another
DATA_DIRS = [os.environ.get("APLCL_DATA", ""), os.path.join(ROOT, "data"),
             os.path.join(ROOT, "..", "shared", "data"), os.path.join(ROOT, "..", "..", "shared",
                                                                     "data")]


def default_data():
    """enron where a data folder has it, else the repository's own yeast (dense numeric features,
    14 labels: a clone without the shared folder still runs the example)."""
    for name in ("enron", "yeast"):
        for d in DATA_DIRS:
            if d and os.path.isfile(os.path.join(d, name, f"{name}.xml")):
                return os.path.normpath(os.path.join(d, name))
    return None


def read_labels(xml_path):
    """The label attribute names of a MULAN label file, in file order."""
    root = ET.parse(xml_path).getroot()
    return [e.get("name") for e in root.iter() if e.tag.endswith("label") and e.get("name")]


def _unquote(name):
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        return name[1:-1]
    return name


def read_arff(path, label_names):
    """(features float32 N x F, labels float32 N x L) of a MULAN ARFF file (dense or sparse rows;
    numeric or {0,1} attributes), the labels in label_names order."""
    names, rows, in_data = [], [], False
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("%"):
                continue
            if in_data:
                rows.append(line)
                continue
            low = line.lower()
            if low.startswith("@attribute"):
                m = re.match(r"@attribute\s+('[^']*'|\"[^\"]*\"|\S+)\s+(.*)$", line, re.I)
                names.append(_unquote(m.group(1)))
            elif low.startswith("@data"):
                in_data = True
    col = {n: i for i, n in enumerate(names)}
    missing = [n for n in label_names if n not in col]
    if missing:
        raise SystemExit(f"{path}: label attributes {missing} of the XML are not in the ARFF")
    a = np.zeros((len(rows), len(names)), np.float32)
    for r, line in enumerate(rows):
        if line.startswith("{"):
            for item in line.strip("{}").split(","):
                if item.strip():
                    k, v = item.split()
                    a[r, int(k)] = float(v)
        else:
            a[r] = [float(v) for v in line.split(",")]
    lab = [col[n] for n in label_names]
    feat = [i for i in range(len(names)) if i not in set(lab)]
    return a[:, feat], a[:, lab]


def average_precision(scores, labels):
    """Mean over labels with at least one positive of average precision."""
    aps = []
    for c in range(labels.shape[1]):
        pos = labels[:, c] > 0.5
        if not pos.any():
            continue
        order = np.argsort(-scores[:, c], kind="stable")
        hits = pos[order]
        precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append(float(precision_at[hits].mean()))
    return float(np.mean(aps))


def train(make, xtr, ytr_lists, ytr, xte, yte, args, seed_offset=0):
    """Trains the model make() returns ((module, loss(x, rows) -> tensor, scores(x))); returns
    its test mAP and seconds."""
    torch.manual_seed(args.seed + seed_offset)
    module, loss_of, scores_of = make()
    opt = torch.optim.Adam(module.parameters(), lr=args.lr, weight_decay=1e-4)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            loss = loss_of(xtr[idx], idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        return average_precision(scores_of(xte).numpy(), yte), secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="a MULAN data folder (default: enron, looked "
                    "for in $APLCL_DATA, data/, ../shared/data; else data/yeast)")
    ap.add_argument("--name", default=None, help="file stem (default: the folder's name)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    args = ap.parse_args()
    args.data = args.data or default_data()
    if args.data is None:
        raise SystemExit("torch_xmc.py: no enron or yeast data found in %s; give --data"
                         % ", ".join(d for d in DATA_DIRS if d))
    name = args.name or os.path.basename(os.path.normpath(args.data))
    labels = read_labels(os.path.join(args.data, f"{name}.xml"))
    xtr, ytr = read_arff(os.path.join(args.data, f"{name}-train.arff"), labels)
    xte, yte = read_arff(os.path.join(args.data, f"{name}-test.arff"), labels)
    if (xtr >= 0).all() and (xte >= 0).all():  # counts or 0/1 words
        xtr, xte = np.log1p(xtr), np.log1p(xte)
    else:  # numeric features: standardised with the training statistics
        mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    xtr, xte = torch.from_numpy(xtr), torch.from_numpy(xte)
    ytr_t = torch.from_numpy(ytr)
    ytr_lists = [np.flatnonzero(r > 0.5).tolist() for r in ytr]  # sparse targets
    d, c = xtr.shape[1], len(labels)
    print(f"{name}: {len(xtr)} train / {len(xte)} test rows, {d} features, {c} labels; aplcl on "
          f"{apt.default_context().device_name}")
    freq = ytr.mean(0)
    base = average_precision(np.tile(freq, (len(yte), 1)), yte)
    print(f"label-frequency baseline test mAP {base:.4f}")

    def fused():
        head = apt.LinearAPLLoss(d, c, reduction="mean")  # the reference APL parameters
        return (head, lambda x, idx: head(x, [ytr_lists[i] for i in idx.tolist()]),
                lambda x: head.logits(x))

    def fused_bce():
        head = apt.LinearAPLLoss(d, c, params=aplcl.Params.bce(), reduction="mean")
        return (head, lambda x, idx: head(x, [ytr_lists[i] for i in idx.tolist()]),
                lambda x: head.logits(x))

    def linear_bce():
        lin = torch.nn.Linear(d, c)
        crit = torch.nn.BCEWithLogitsLoss()
        return lin, lambda x, idx: crit(lin(x), ytr_t[idx]), lin

    for label, make in (("LinearAPLLoss (APL)", fused), ("LinearAPLLoss (BCE preset)", fused_bce),
                        ("nn.Linear + BCEWithLogitsLoss", linear_bce)):
        m, secs = train(make, xtr, ytr_lists, ytr, xte, yte, args)
        print(f"{label:<30} test mAP {m:.4f} ({args.epochs} epochs, seed {args.seed}, "
              f"{secs:.1f} s)")


if __name__ == "__main__":
    main()
