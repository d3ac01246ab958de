#!/usr/bin/env bash
# test.sh: the full aplcl test run, as CI does it (.ci/run).
#
# Installs dependencies, checks that an OpenCL device (PoCL at least) is visible, builds Release in
# ./build and runs every CTest test; then installs the Python package into a venv in
# ./build-python and runs its pytest tests (none may skip); then builds with ASan+UBSan (LeakSanitizer on) in ./build-asan
# and runs every test there again, the device tests included (PoCL runs inside the instrumented
# process; no leak suppressions are needed for it today); then fuzzes the ARFF reader for 60 s
# (clang + libFuzzer, ./build-fuzz).
# Device tests must run for real: a skipped test (exit 77) fails this script, except the tests
# labelled `cuda` on a machine without a CUDA driver (it says so). CTest labels run one stage
# alone: `nvrtc` (every CUDA variant through NVRTC), `oclgrind` (the GPU-shaped kernels under
# Oclgrind's race checks), `cuda` (needs a device).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="$(nproc 2>/dev/null || echo 2)"

# Each section line carries the seconds since the start, so a log gives every stage's time.
test_sh_start="$(date +%s)"
section() { printf '\n==== test.sh: %s (at %ss) ====\n' "$*" "$(($(date +%s) - test_sh_start))"; }

# Prints how many programs each test built: the files in its own kernel-cache folder
# (tests/CMakeLists.txt gives each test one). Compiling is most of the suite's time on a new
# machine (an empty PoCL cache), so this is the number to keep small.
print_programs_built() {
    local root="$1/tests/kernel-cache" d
    [ -d "$root" ] || return 0
    for d in "$root"/*/; do
        printf '%5d  %s\n' "$(find "$d" -maxdepth 1 -type f | wc -l)" "$(basename "$d")"
    done | sort -rn
    # A cache file is named by a hash of what it was built from, so the distinct names are the
    # distinct programs (the ones PoCL compiles once per machine; tests share them).
    local per_test distinct
    per_test="$(find "$root" -mindepth 2 -maxdepth 2 -type f | wc -l)"
    distinct="$(find "$root" -type f -printf '%f\n' | sort -u | wc -l)"
    echo "test.sh: $distinct distinct programs built ($per_test in the tests' folders together; $1)"
}
die() {
    printf '\ntest.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Runs ctest with the given arguments, keeping a log; fails on a failed, skipped or missing test.
# Sets ctest_summary to "passed/total".
#
# One exception, for the sanitizer build: LeakSanitizer's exit-time leak check stops every thread
# with a tracer, and now and then that tracer faults while PoCL's worker threads are winding down
# ("Tracer caught signal 11 ... LeakSanitizer has encountered a fatal error"), after the test
# itself has finished and passed its checks (seen once in test_windows_gpu_shape; it passed 12 of
# 12 reruns). Only when every failure is that crash are the failed tests run once more (log
# LOG.rerun); any other failure fails at once.
run_ctest() {
    local log="$1"
    shift
    local rc=0
    rm -f "$log.rerun"
    ctest --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log" || rc=$?
    if [ "$rc" -ne 0 ]; then
        local n_failed n_lsan
        n_failed="$(sed -n '/The following tests FAILED:/,$p' "$log" |
            grep -cE '^[[:space:]]+[0-9]+ - ' || true)"
        n_lsan="$(grep -c 'LeakSanitizer has encountered a fatal error' "$log" || true)"
        [ "$n_failed" -gt 0 ] && [ "$n_lsan" -eq "$n_failed" ] ||
            die "ctest $* (exit $rc; log: $log)"
        echo "test.sh: $n_failed test(s) hit LeakSanitizer's own tracer crash; running them again"
        rc=0
        ctest --output-on-failure "$@" --rerun-failed 2>&1 | tee "$log.rerun" || rc=$?
        [ "$rc" -eq 0 ] || die "ctest $* --rerun-failed (exit $rc; log: $log.rerun)"
    fi
    local skipped
    skipped="$(grep -hE '\*\*\*Skipped|Not Run' "$log" "$log.rerun" 2>/dev/null || true)"
    if [ -n "$skipped" ]; then
        # The one exemption: tests labelled `cuda` when this machine has no CUDA driver.
        local cuda_tests others
        cuda_tests="$(ctest "$@" -N -L '^cuda$' | sed -nE 's/^ *Test +#[0-9]+: *//p')"
        others="$(sed -nE 's/.*Test +#[0-9]+: ([^ ]+) .*/\1/p' <<<"$skipped" |
            grep -vxF -f <(printf '%s\n' "$cuda_tests") || true)"
        if [ -n "$others" ] || [ "$has_cuda_driver" = yes ]; then
            printf '%s\n' "$skipped" >&2
            die "tests were skipped (device tests must not skip here); log: $log"
        fi
        echo "test.sh: no CUDA driver here (libcuda.so.1): the cuda-labelled tests skipped:" \
            $cuda_tests
    fi
    local line
    line="$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)"
    [ -n "$line" ] || die "no ctest summary in $log"
    local total
    total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
    ctest_summary="$total/$total"
}

section "dependencies"
bash scripts/deps.sh

section "OpenCL devices"
if ! clinfo_out="$(clinfo -l 2>&1)"; then
    printf '%s\n' "$clinfo_out" >&2
    die "clinfo -l failed; is an ICD installed (ls /etc/OpenCL/vendors)?"
fi
printf '%s\n' "$clinfo_out"
if ! grep -q 'Device #' <<<"$clinfo_out"; then
    die "no OpenCL device visible (clinfo -l lists none). Device tests must not skip: install \
pocl-opencl-icd (scripts/deps.sh does) and check /etc/OpenCL/vendors"
fi
device_count="$(grep -c 'Device #' <<<"$clinfo_out")"

section "CUDA: driver and NVRTC"
# libcuda.so.1 decides whether the cuda-labelled tests must run (run_ctest). The oldest NVRTC at
# hand builds the embedded cubins: the nvidia-cuda-nvrtc-cu12 wheel in ./build-nvrtc when pip can
# install it, else the toolkit's (cmake/cuda.cmake). The three builds share one per-compile cubin
# cache, so the variants compile once.
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then has_cuda_driver=yes; else has_cuda_driver=no; fi
echo "CUDA driver (libcuda.so.1): $has_cuda_driver"
if [ ! -x build-nvrtc/venv/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages build-nvrtc/venv
fi
build-nvrtc/venv/bin/python -m pip install --quiet nvidia-cuda-nvrtc-cu12 ||
    echo "test.sh: nvidia-cuda-nvrtc-cu12 not installable here: the toolkit's NVRTC builds the cubins"
nvrtc12="$(ls build-nvrtc/venv/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12 \
    2>/dev/null | head -n 1 || true)"
# Read by the build (cmake/cuda.cmake, the build tool aplcl_cubin_gen) and by the tools and tests,
# which map it to aplcl_cuda_options.nvrtc_library (common/tool_util.c); the library reads no such
# variable.
[ -n "$nvrtc12" ] && export APLCL_NVRTC_LIBRARY="$PWD/$nvrtc12"
export APLCL_CUBIN_CACHE_DIR="$PWD/build/cubin-cache"
echo "NVRTC for the embedded cubins: ${APLCL_NVRTC_LIBRARY:-(cmake/cuda.cmake finds one)}"

section "formatting (clang-format, .clang-format)"
format_files=(include/*.h src/*.c src/*.h src/cuda/*.c src/cuda/*.h host/*.c cli/*.c cli/*.h common/*.c common/*.h
    cases/*.c cases/*.h mpi/*.c mpi/*.h train/*.c train/*.h bench/*.c bench/*.h tests/*.c tests/*.h
    tests/fuzz/*.c tests/consumer/*.c examples/*.c)
clang-format --dry-run --Werror "${format_files[@]}" ||
    die "formatting differs from .clang-format; run: clang-format -i ${format_files[*]}"
echo "${#format_files[@]} files formatted as .clang-format says"

section "Release build (./build)"
bash scripts/build.sh -DAPLCL_REQUIRE_MPI=ON # the MPI tests must run, not vanish

section "ABI (./build-abi): abidiff against abi/libaplcl.abi"
bash scripts/abi_check.sh ||
    die "the ABI check failed (above); bump APLCL_VERSION_MAJOR or keep the ABI"

section "all tests (./build)"
# The GPU-side checks that need no GPU (labels nvrtc and oclgrind: every CUDA variant through
# NVRTC, the GPU-shaped kernels under Oclgrind) are a stage of their own below, so this stage's
# time is the library's and the tools' tests alone.
gpu_labels='^(nvrtc|oclgrind)$'
run_ctest build/test-log.txt --test-dir build -j2 -LE "$gpu_labels"
main_summary="$ctest_summary"
print_programs_built build

section "GPU checks without a GPU (./build): NVRTC compiles, Oclgrind race checks"
run_ctest build/test-log-gpu.txt --test-dir build -j2 -L "$gpu_labels"
gpu_summary="$ctest_summary"

section "Python package (./build-python): pip install ./python into a venv, pytest"
# Debian's /usr/bin/python3 is externally managed: a venv that sees its numpy, pyopencl, torch and
# pytest (--system-site-packages). pip builds the package from ./python (scikit-build-core, fetched
# by pip's build isolation, compiles the C library from this tree). A skipped test fails here too.
rm -rf build-python
/usr/bin/python3 -m venv --system-site-packages build-python/venv
build-python/venv/bin/python -m pip install --quiet ./python ||
    die "pip install ./python failed (the log above; needs scikit-build-core from PyPI)"
py_rc=0
(cd build-python && venv/bin/python -m pytest -rs ../python/tests 2>&1) |
    tee build-python/pytest-log.txt || py_rc=$?
[ "$py_rc" -eq 0 ] || die "pytest failed (exit $py_rc; log: build-python/pytest-log.txt)"
py_line="$(grep -E '^=+ .*(passed|failed).* in [0-9.]+s' build-python/pytest-log.txt | tail -n 1)"
[ -n "$py_line" ] || die "no pytest summary in build-python/pytest-log.txt"
if grep -qE '[0-9]+ (skipped|xfailed|deselected)' <<<"$py_line"; then
    die "Python tests were skipped ($py_line); they must run here"
fi
py_summary="$(sed -E 's/^=+ (.*) in [0-9.]+s.*/\1/' <<<"$py_line")"

section "ASan+UBSan build (./build-asan): every test, device tests included"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAPLCL_SANITIZE=ON -DAPLCL_REQUIRE_MPI=ON
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Not the nvrtc and oclgrind stages: they check kernels (NVRTC does not even run inside an ASan
# process); the host code they drive ran above and runs here through the other tests.
run_ctest build-asan/test-log.txt --test-dir build-asan -j2 -LE "$gpu_labels"
asan_summary="$ctest_summary"

section "fuzz: fuzz_arff (clang, libFuzzer, ASan+UBSan) for 60 s (./build-fuzz)"
# A scratch copy of the corpus: libFuzzer adds inputs to its corpus folder, and CI must not write
# into the repository. Crash inputs land in build-fuzz/ (artifact_prefix).
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAPLCL_FUZZ=ON -DAPLCL_BUILD_BENCH=OFF
cmake --build build-fuzz --target fuzz_arff -j"$jobs"
fuzz_corpus="$(mktemp -d)"
cp tests/fuzz/corpus/* "$fuzz_corpus"/
fuzz_rc=0
./build-fuzz/fuzz_arff -max_total_time=60 -rss_limit_mb=2048 -timeout=10 \
    -dict=tests/fuzz/arff.dict -artifact_prefix=build-fuzz/ -print_final_stats=1 \
    "$fuzz_corpus" >build-fuzz/fuzz-log.txt 2>&1 || fuzz_rc=$?
rm -rf "$fuzz_corpus"
tail -n 25 build-fuzz/fuzz-log.txt
[ "$fuzz_rc" -eq 0 ] || die "fuzz_arff failed (exit $fuzz_rc; log: build-fuzz/fuzz-log.txt; \
input: build-fuzz/crash-* etc.). Fix train/arff.c and add the input to tests/fuzz/regressions/"
fuzz_summary="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' \
    build-fuzz/fuzz-log.txt) inputs"

section "done"
printf '\ntest.sh: PASSED: %s tests on %s OpenCL device(s); NVRTC+Oclgrind: %s; Python: %s; ASan+UBSan: %s; fuzz: %s\n' \
    "$main_summary" "$device_count" "$gpu_summary" "$py_summary" "$asan_summary" "$fuzz_summary"
