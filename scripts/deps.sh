#!/usr/bin/env bash
# deps.sh: installs the Debian packages aplcl needs to build and test, if any is missing.
#
# Idempotent: does nothing (no apt-get update) when everything is already installed. Runs apt-get
# as root, or through sudo when not root. Debian/Ubuntu only; it does not install GPU drivers.
set -euo pipefail

packages=(
    build-essential    # gcc, make, libc headers (and libasan/libubsan for the sanitizer build)
    cmake              # 3.16 or newer
    pkg-config         # the consumer test checks aplcl.pc
    ocl-icd-opencl-dev # libOpenCL.so (the ICD loader) and OpenCL.pc
    opencl-c-headers   # CL/cl.h
    pocl-opencl-icd    # a CPU OpenCL device, so device tests run everywhere
    clinfo             # scripts/test.sh checks that a device is visible
    libclblast-dev     # benchmarks compare against CLBlast where it is available
    clang              # scripts/test.sh builds the libFuzzer target (tests/fuzz) with clang
    clang-format       # scripts/test.sh checks the C sources against .clang-format
    libclang-rt-dev    # libFuzzer and the sanitizer runtimes for the default clang
    python3-sklearn    # tests/metrics_sklearn.py checks the trainer's metrics against scikit-learn
    python3-scipy      # tests/study_stats_scipy.py checks `aplcl study`'s statistics against SciPy
    python3-venv       # scripts/test.sh installs the Python package into a venv (build-python/)
    python3-pip        # ... with pip, which fetches scikit-build-core (the build backend)
    python3-numpy      # the Python package's arrays
    python3-pyopencl   # its pyopencl front end and tests
    python3-torch      # aplcl.torch and its tests (CPU build)
    python3-pytest     # the Python tests
    abigail-tools      # abidw, abidiff: the ABI check (scripts/abi_check.sh, abi/libaplcl.abi)
    ninja-build        # scikit-build-core's CMake generator (it would fetch ninja from PyPI else)
    libopenmpi-dev     # MPI: parallel training, the sharded-head benchmark and example
    openmpi-bin        # mpirun, which the parallel tests run
    oclgrind           # the oclgrind CTest stage: GPU-shaped kernels under its race and API checks
)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps.sh: all ${#packages[@]} packages already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: missing packages (${missing[*]}) and no apt-get here; install them by hand" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
else
    echo "deps.sh: missing packages (${missing[*]}); run as root or install sudo" >&2
    exit 1
fi

echo "deps.sh: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
