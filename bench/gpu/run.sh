#!/usr/bin/env bash
# run.sh: the GPU measurement, prepared for a session that is lent the device machine.
#
# Run from the repository root through the device tool, e.g. run(command="bash bench/gpu/run.sh",
# timeout_s=480). Makes OpenCL usable there (shared/device/setup-opencl.sh), builds the tool,
# runs `aplcl check` and `aplcl bench` on the first device whose name matches $APLCL_GPU
# (default "nvidia"; any device when none matches, so the script can be tried on PoCL), then the
# PyTorch CUDA peers, and writes everything to $OUT (default ./gpu-out). Each step's failure is
# recorded and the next step still runs; the exit status is that of `aplcl check`.
# BENCH_SHAPES and HEAD_SHAPE shrink the cases (for a trial on a CPU).
# Status: run on PoCL only so far (this project has not yet been lent a GPU).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
log() { printf '== %s\n' "$*" | tee -a "$OUT/steps.txt"; }

for s in ../shared/device/setup-opencl.sh shared/device/setup-opencl.sh; do
    if [ -f "$s" ]; then
        log "source $s"
        # shellcheck disable=SC1090
        source "$s" >"$OUT/setup.txt" 2>&1 || log "setup-opencl failed (see setup.txt)"
        break
    fi
done
command -v cmake >/dev/null || log "cmake missing: the build below will fail"

log "build"
if ! { cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DAPLCL_BUILD_TESTS=OFF &&
    cmake --build build-gpu -j"$(nproc)"; } >"$OUT/build.txt" 2>&1; then
    log "build failed (see build.txt)"
    exit 1
fi
tool=./build-gpu/aplcl
"$tool" devices >"$OUT/devices.txt" 2>&1
dev=${APLCL_GPU:-nvidia}
if ! grep -qi "$dev" "$OUT/devices.txt"; then
    log "no device matching '$dev'; using the default device"
    dev=""
fi
devarg=()
[ -n "$dev" ] && devarg=(--device "$dev")

log "aplcl check ${devarg[*]}"
"$tool" check "${devarg[@]}" >"$OUT/check.txt" 2>&1
check_rc=$?
tail -n 1 "$OUT/check.txt" | tee -a "$OUT/steps.txt"

log "aplcl bench ${devarg[*]}"
"$tool" bench "${devarg[@]}" --shapes "${BENCH_SHAPES:-4096x1000,16384x10000,1024x100000}" \
    --dtypes f32,bf16 --targets u8,csr --csv "$OUT/bench.csv" >"$OUT/bench.txt" 2>&1 ||
    log "bench failed (see bench.txt)"

log "aplcl bench head ${devarg[*]}"
"$tool" bench head "${devarg[@]}" --shape "${HEAD_SHAPE:-32768x512x8192}" --reps 3 --csv "$OUT/head.csv" \
    >"$OUT/head.txt" 2>&1 || log "bench head failed (see head.txt)"

log "PyTorch CUDA peers"
python3 bench/gpu/peer_cuda.py --shapes "${BENCH_SHAPES:-4096x1000,16384x10000,1024x100000}" \
    --csv "$OUT/peer_cuda.csv" >"$OUT/peer_cuda.txt" 2>&1 ||
    log "peer_cuda failed (see peer_cuda.txt)"
log "done; files in $OUT"
exit $check_rc
