#!/usr/bin/env bash
# main.sh: from a fresh Debian machine to a multi-label classifier trained with APL on the device.
#
# Installs dependencies, builds (Release), checks the device against the CPU reference
# (`aplcl check --quick`), then trains on the yeast data set (MULAN, 14 labels) with APL, ASL and
# BCE side by side and prints the test mAP / F1 table. About a minute on a 2-core CPU with PoCL.
# It is not the test suite: that is scripts/test.sh. Extra arguments go to `aplcl train`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
bash scripts/build.sh
./build/aplcl check --quick | tail -n 1
./build/aplcl train data/yeast/yeast-train.arff data/yeast/yeast-test.arff --labels 14 \
    --loss apl,asl,bce --epochs 30 --seeds 1,2,3 "$@"
