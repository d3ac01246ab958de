#!/usr/bin/env bash
# build.sh: configures and builds aplcl in ./build (Release). Extra arguments go to CMake's
# configure step, e.g. `bash scripts/build.sh -DAPLCL_BUILD_SHARED=OFF`.
# It installs nothing; run scripts/deps.sh first on a fresh machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$jobs"
