"""test_example.py: the examples run end to end (a few epochs) and learn. torch_yeast.py: its test
mAP beats the label-frequency baseline of yeast (0.3086, README); torch_xmc.py: see below."""

import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_torch_yeast_learns():
    script = os.path.join(ROOT, "examples", "torch_yeast.py")
    r = subprocess.run([sys.executable, script, "--epochs", "5"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    assert r.returncode == 0, r.stdout
    m = re.search(r"^test mAP ([0-9.]+) \(5 epochs", r.stdout, re.M)
    assert m, r.stdout
    assert float(m.group(1)) > 0.40, r.stdout


def test_torch_xmc_learns():
    # examples/torch_xmc.py on enron (data/ or the shared data folder beside the clone; a clone
    # without it falls back to data/yeast), 4 epochs: the fused head learns (well above the
    # label-frequency baseline), and its BCE preset gives the same mAP as nn.Linear +
    # BCEWithLogitsLoss trained from the same seed
    script = os.path.join(ROOT, "examples", "torch_xmc.py")
    r = subprocess.run([sys.executable, script, "--epochs", "4"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    assert r.returncode == 0, r.stdout
    base = float(re.search(r"^label-frequency baseline test mAP ([0-9.]+)", r.stdout, re.M)[1])
    apl = float(re.search(r"^LinearAPLLoss \(APL\)\s+test mAP ([0-9.]+)", r.stdout, re.M)[1])
    fbce = float(re.search(r"^LinearAPLLoss \(BCE preset\)\s+test mAP ([0-9.]+)", r.stdout,
                           re.M)[1])
    tbce = float(re.search(r"^nn.Linear \+ BCEWithLogitsLoss\s+test mAP ([0-9.]+)", r.stdout,
                           re.M)[1])
    assert apl > base + 0.05, r.stdout
    assert abs(fbce - tbce) < 0.005, r.stdout
