#!/usr/bin/env bash
# main.sh: from a fresh Debian machine to a checked, timed aplcl on the default OpenCL device.
#
# Installs dependencies, builds (Release), runs `aplcl check` (device result against the CPU
# reference) and a quick throughput run. It is not the test suite: that is scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
bash scripts/build.sh
./build/aplcl check
./build/aplcl bench --quick
