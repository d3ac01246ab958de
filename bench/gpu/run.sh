#!/usr/bin/env bash
# run.sh: the GPU run, prepared for a session that is lent the device machine (one H100, 8 min).
#
# Run from the repository root through the device tool, carrying the cubins built here (the GPU
# machines have the NVIDIA driver but no NVRTC):
#   run(command="bash bench/gpu/run.sh", timeout_s=500,
#       carry=["build/aplcl_cuda_cubins.c", "build/aplcl_cuda_cubins.c.bin"])
# Steps, each with its own time limit, each recorded as PASS/FAIL/SKIP in $OUT/steps.txt (the
# next step runs either way), the CUDA ones first: the driver (nvidia-smi, first), OpenCL setup
# (shared/device/setup-opencl.sh), the build (tests on; the carried cubins via APLCL_CUBIN_BLOB),
# the `cuda` CTest tests, `aplcl check --cuda 0` (every case of the OpenCL check, through
# aplcl_cuda_compute_io, against the CPU reference) and `aplcl bench --cuda 0` (CUDA events,
# against a cuMemcpyDtoDAsync of the same run), compute-sanitizer racecheck and memcheck over
# test_cuda (when compute-sanitizer is there), the Python package (assembled here, no network),
# aplcl.torch on CUDA tensors against the CPU result (cuda_torch.py check), aplcl CUDA vs a device
# copy vs PyTorch eager and torch.compile at 4096x1000, 16384x10000, 1024x100000 in f32 and bf16
# (cuda_torch.py bench), then `aplcl check --quick` and `aplcl bench` on the OpenCL GPU (the same
# bench cases as on CUDA) and the PyTorch peers (peer_cuda.py). Everything goes to $OUT (default
# ./gpu-out).
# Each step's limit is cut to what is left of BUDGET_S (default 450 s, build included); a step with
# no time left is recorded as SKIP, as is one that exits 3 (nothing to run on: no torch, no CUDA),
# except the CUDA steps of the aplcl tool and CTest, where "no CUDA device" is a FAIL: this run is
# for a GPU.
# Exit status: 0 when every step that ran passed.
# Status: written and tried on a machine without a GPU only (docs/cuda.md); never run on one.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
failed=0
deadline=$(($(date +%s) + ${BUDGET_S:-450})) # the whole run, build included, within 8 minutes
log() { printf '== %s\n' "$*" | tee -a "$OUT/steps.txt"; }
# step NAME SECONDS LOGFILE CMD...: runs CMD with a time limit, records PASS/FAIL (exit status)
step() {
    local name=$1 secs=$2 file=$3 t0 rc left
    shift 3
    t0=$(date +%s)
    left=$((deadline - t0))
    [ "$secs" -gt "$left" ] && secs=$left
    if [ "$secs" -lt 5 ]; then
        log "SKIP $name (no time left in the ${BUDGET_S:-450} s budget)"
        return 1
    fi
    timeout "$secs" "$@" >"$OUT/$file" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        log "PASS $name ($(($(date +%s) - t0)) s; $file)"
    elif [ "$rc" -eq 3 ] && [ -z "${need_device:-}" ]; then # nothing to run on (why: in $file)
        log "SKIP $name ($(tail -n 1 "$OUT/$file"))"
    elif [ "$rc" -eq 3 ]; then # cuda_step: this run is for a GPU, so no device is a failure
        log "FAIL $name (exit 3, no CUDA device seen: $(tail -n 1 "$OUT/$file"))"
        failed=1
    else
        log "FAIL $name (exit $rc$([ "$rc" -eq 124 ] && echo ', timed out'); $(($(date +%s) - t0)) s; $file)"
        failed=1
    fi
    return "$rc"
}
shapes=${BENCH_SHAPES:-4096x1000,16384x10000,1024x100000}
# The cases `aplcl bench` times on both backends, the same for comparison: the issue's goal cases,
# f32 and bf16 logits with u8 targets (9 and 5 bytes an element), the trained regime (sparse
# positives, as late in training). Six cases a backend: each is checked against the CPU reference
# first, which dominates the time of the two large shapes (sparse targets: `aplcl check`).
bench_args=(--shapes "$shapes" --regime trained --dtypes "f32,bf16" --targets u8)
# cuda_step NAME SECONDS LOGFILE CMD...: step, where exit 3 (no CUDA device seen) is a FAIL
cuda_step() { need_device=1 step "$@"; }
# the first Python that has torch ($PYTHON, python3, Debian's), else plain python3
py=python3
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done

if command -v nvidia-smi >/dev/null; then
    log "driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 2 | tr '\n' ' ')"
else
    log "driver: nvidia-smi not found"
fi
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || log "SKIP nvidia-smi (not found)"

for s in ../shared/device/setup-opencl.sh shared/device/setup-opencl.sh; do
    if [ -f "$s" ]; then
        # shellcheck disable=SC1090
        if source "$s" >"$OUT/setup.txt" 2>&1; then
            log "PASS setup-opencl ($s)"
        else
            log "FAIL setup-opencl (see setup.txt)"
        fi
        break
    fi
done

blob=()
if [ -f build/aplcl_cuda_cubins.c ] && [ -f build/aplcl_cuda_cubins.c.bin ]; then
    blob=(-DAPLCL_CUBIN_BLOB="$PWD/build/aplcl_cuda_cubins.c")
    log "cubins: carried build/aplcl_cuda_cubins.c"
else
    log "cubins: none carried; the CUDA path needs NVRTC at run time here"
fi
step build 180 build.txt bash -c "cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release \
    -DAPLCL_BUILD_TESTS=ON ${blob[*]} && cmake --build build-gpu -j$(nproc)" || {
    log "build failed: nothing else can run"
    exit 1
}
tool=./build-gpu/aplcl
"$tool" devices >"$OUT/devices.txt" 2>&1
dev=${APLCL_GPU:-nvidia}
devarg=(--device "$dev")
grep -qi "$dev" "$OUT/devices.txt" || { log "no OpenCL device matching '$dev': default device"; devarg=(); }

step "ctest -L cuda" 40 ctest-cuda.txt ctest --test-dir build-gpu -L '^cuda$' --output-on-failure
grep -q 'Skipped' "$OUT/ctest-cuda.txt" && { log "FAIL the cuda tests skipped: no device seen"; failed=1; }
cuda_step "aplcl check --cuda 0" 60 check-cuda.txt "$tool" check --cuda 0
cuda_step "aplcl bench --cuda 0" 75 bench-cuda.txt "$tool" bench --cuda 0 "${bench_args[@]}" \
    --csv "$OUT/bench-cuda.csv"

san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ -n "$san" ]; then
    step "compute-sanitizer racecheck test_cuda" 40 sanitizer-racecheck.txt \
        "$san" --tool racecheck --error-exitcode 1 ./build-gpu/test_cuda
    step "compute-sanitizer memcheck test_cuda" 40 sanitizer-memcheck.txt \
        "$san" --tool memcheck --error-exitcode 1 ./build-gpu/test_cuda
else
    log "SKIP compute-sanitizer (not on this machine)"
fi

# The Python package without pip or network: build-gpu's library and the header layout
# (python/layout.c, as python/CMakeLists.txt writes it) in a package folder made by hand.
pkg="$PWD/build-gpu/pypkg"
if step "python package (by hand)" 30 python-build.txt bash -c \
    "rm -rf '$pkg' && mkdir -p '$pkg' && cp -r python/aplcl '$pkg/' && \
     cc -Iinclude python/layout.c -o build-gpu/aplcl_layout -lOpenCL && \
     build-gpu/aplcl_layout '$pkg/aplcl/_layout.json' && \
     cp -L build-gpu/libaplcl.so '$pkg/aplcl/libaplcl.so'"; then
    export PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}"
    step "aplcl.torch CUDA vs CPU (cuda_torch.py check)" 40 cuda-torch-check.txt \
        "$py" bench/gpu/cuda_torch.py check
    step "aplcl CUDA vs copy, eager, compile (cuda_torch.py bench)" 90 cuda-torch-bench.txt \
        "$py" bench/gpu/cuda_torch.py bench --shapes "$shapes" --csv "$OUT/cuda_torch.csv"
fi
step "aplcl check --quick (OpenCL) ${devarg[*]}" 60 check.txt "$tool" check --quick "${devarg[@]}"
step "aplcl bench (OpenCL) ${devarg[*]}" 75 bench.txt "$tool" bench "${devarg[@]}" \
    "${bench_args[@]}" --csv "$OUT/bench.csv"
step "PyTorch CUDA peers (peer_cuda.py)" 60 peer_cuda.txt \
    "$py" bench/gpu/peer_cuda.py --shapes "$shapes" --csv "$OUT/peer_cuda.csv"
log "done ($([ "$failed" -eq 0 ] && echo 'every step passed' || echo 'some steps FAILED')); files in $OUT"
exit $failed
