#!/usr/bin/env bash
# abi_check.sh: the library's ABI against the stored one (abi/libaplcl.abi), with libabigail.
#
# Builds libaplcl with debug information (./build-abi; the flags change no ABI), describes its
# exported ABI with abidw (public headers only; types private to the library, as the opaque
# aplcl_ctx's layout, dropped) and compares it with abidiff. A change that breaks
# the ABI (a function or type removed or changed) fails the run unless the SONAME changed too
# (APLCL_VERSION_MAJOR in include/aplcl.h). Additions pass. After a deliberate change, refresh the
# stored file:  bash scripts/abi_check.sh --update   (and commit abi/libaplcl.abi).
# Needs abigail-tools (scripts/deps.sh). Not run by CTest; scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
stored=abi/libaplcl.abi
cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPLCL_BUILD_TESTS=OFF \
    -DAPLCL_BUILD_BENCH=OFF -DAPLCL_WITH_MPI=OFF >/dev/null
cmake --build build-abi --target aplcl -j"${JOBS:-2}" >/dev/null
lib="$(readlink -f build-abi/libaplcl.so)"
current=build-abi/libaplcl.abi
abidw --no-corpus-path --headers-dir include --drop-private-types --out-file "$current" "$lib"
if [ "${1:-}" = "--update" ]; then
    mkdir -p abi
    cp "$current" "$stored"
    echo "abi_check.sh: $stored updated from $lib"
    exit 0
fi
[ -f "$stored" ] || { echo "abi_check.sh: no $stored; run with --update" >&2; exit 1; }
soname_of() { sed -nE 's/.*soname=.([^"'\'']*).*/\1/p' "$1" | head -n 1; }
rc=0
abidiff --no-added-syms --suppressions abi/suppressions.txt "$stored" "$current" || rc=$?
# abidiff's exit status is a bit field: 4 = an ABI change, 8 = an incompatible one. Both fail:
# a changed public struct (aplcl_io, say) is only "a change" to abidiff, yet it breaks callers.
# The opaque types' insides are suppressed (abi/suppressions.txt); added functions do not count.
if (( rc & 12 )); then
    if [ "$(soname_of "$stored")" != "$(soname_of "$current")" ]; then
        echo "abi_check.sh: ABI change with a new SONAME ($(soname_of "$stored") ->" \
            "$(soname_of "$current")): refresh $stored (--update)"
        exit 0
    fi
    echo "abi_check.sh: FAILED: the ABI changed without a SONAME bump" \
        "(APLCL_VERSION_MAJOR in include/aplcl.h); see abidiff's report above" >&2
    exit 1
fi
(( rc & 3 )) && { echo "abi_check.sh: abidiff failed to run (exit $rc)" >&2; exit 1; }
echo "abi_check.sh: ABI compatible with $stored ($(soname_of "$current"))"
