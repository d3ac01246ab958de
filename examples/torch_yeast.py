#!/usr/bin/env python3
"""torch_yeast.py: a small multi-label model on the shipped yeast data, trained with
aplcl.torch.APLLoss, printing the test mAP.

Reads data/yeast (MULAN ARFF: 103 numeric features, then 14 {0,1} labels; 1500 train and 917
test rows), standardises the features with the training statistics, and fits a 103-64-14 MLP
with Adam (batch 64, lr 3e-3) for 30 epochs, the loss summed over a batch as the APL authors'
module does. The mAP is the mean over labels of average precision. Not a benchmark; `aplcl train`
is the C trainer on the same data (README, "Results on yeast").

Run: build-python/venv/bin/python examples/torch_yeast.py [--epochs 30] [--seed 1] [--loss apl]
"""

import argparse
import os
import time

import numpy as np
import torch

import aplcl.torch as apt

HERE = os.path.dirname(os.path.abspath(__file__))
N_LABELS = 14


def read_arff(path):
    """(features float32 N x 103, labels float32 N x 14) of a dense MULAN ARFF file."""
    rows, in_data = [], False
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("%"):
                continue
            if in_data:
                rows.append([float(v) for v in line.split(",")])
            elif line.lower().startswith("@data"):
                in_data = True
    a = np.asarray(rows, dtype=np.float32)
    return a[:, :-N_LABELS], a[:, -N_LABELS:]


def average_precision(scores, labels):
    """Mean over labels (with at least one positive) of average precision."""
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss", choices=("apl", "asl"), default="apl")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "data", "yeast"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    xtr, ytr = read_arff(os.path.join(args.data, "yeast-train.arff"))
    xte, yte = read_arff(os.path.join(args.data, "yeast-test.arff"))
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    xtr, xte = torch.from_numpy((xtr - mu) / sd), torch.from_numpy((xte - mu) / sd)
    ytr = torch.from_numpy(ytr)

    model = torch.nn.Sequential(torch.nn.Linear(xtr.shape[1], 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, N_LABELS))
    criterion = apt.APLLoss() if args.loss == "apl" else apt.ASLLoss()  # the one changed import
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    print("aplcl %s on %s; yeast %d train / %d test rows" % (
        criterion.__class__.__name__, apt.default_context().device_name, len(xtr), len(xte)))
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        total = 0.0
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            loss = criterion(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss)
        if epoch % 10 == 0 or epoch == args.epochs:
            model.eval()
            with torch.no_grad():
                scores = torch.sigmoid(model(xte)).numpy()
            print("epoch %3d  train loss %.4f  test mAP %.4f" % (
                epoch, total / len(xtr), average_precision(scores, yte)))
    print("test mAP %.4f (%d epochs, seed %d, %.1f s)" % (
        average_precision(scores, yte), args.epochs, args.seed, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
