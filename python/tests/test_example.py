"""test_example.py: examples/torch_yeast.py runs end to end (a few epochs) and learns: its test
mAP beats the label-frequency baseline of yeast (0.3086, README)."""

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
