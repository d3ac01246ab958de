#!/usr/bin/env bash
# test.sh: the full aplcl test run, as CI does it (.ci/run).
#
# Installs dependencies, checks that an OpenCL device (PoCL at least) is visible, builds Release in
# ./build and runs every CTest test; then builds with ASan+UBSan in ./build-asan and runs the host-only tests (label "host") there.
# Device tests must run for real: a skipped test (exit 77) fails this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="$(nproc 2>/dev/null || echo 2)"

section() { printf '\n==== test.sh: %s ====\n' "$*"; }
die() {
    printf '\ntest.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# Runs ctest with the given arguments, keeping a log; fails on a failed, skipped or missing test.
# Sets ctest_summary to "passed/total".
run_ctest() {
    local log="$1"
    shift
    local rc=0
    ctest --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log" || rc=$?
    [ "$rc" -eq 0 ] || die "ctest $* (exit $rc; log: $log)"
    if grep -qE '\*\*\*Skipped|Not Run' "$log"; then
        grep -E '\*\*\*Skipped|Not Run' "$log" >&2
        die "tests were skipped (device tests must not skip here); log: $log"
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

section "Release build (./build)"
bash scripts/build.sh

section "all tests (./build)"
run_ctest build/test-log.txt --test-dir build -j2
main_summary="$ctest_summary"

section "ASan+UBSan build (./build-asan) and host tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAPLCL_SANITIZE=ON -DAPLCL_BUILD_BENCH=OFF
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_ctest build-asan/test-log.txt --test-dir build-asan -L host -j2
asan_summary="$ctest_summary"

printf '\ntest.sh: PASSED: %s tests on %s OpenCL device(s); ASan+UBSan host: %s\n' \
    "$main_summary" "$device_count" "$asan_summary"
