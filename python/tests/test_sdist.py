"""test_sdist.py: the package's sources build on their own (issue 21 item 6), as an sdist must.

The python/ folder is copied without the repository around it: CMake's configure step then
refuses with a message naming vendor_c_sources.py; after vendor_c_sources.py has copied the C
sources into the copy's aplcl-src (what pyproject.toml's sdist.include puts in the sdist), the
configure step succeeds from those sources. Configure only (a few seconds): it reads every
CMakeLists.txt and glob the library build needs; the full sdist -> wheel build is the command in
docs/python.md."""

import os
import shutil
import subprocess
import sys

PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def configure(src, build):
    return subprocess.run(["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


def test_package_configures_without_the_repository(tmp_path):
    pkg = tmp_path / "aplcl-sdist"
    pkg.mkdir()
    for name in ("CMakeLists.txt", "layout.c", "pyproject.toml", "README.md"):
        shutil.copy2(os.path.join(PY, name), pkg / name)
    shutil.copytree(os.path.join(PY, "aplcl"), pkg / "aplcl",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "_layout.json"))
    r = configure(str(pkg), str(tmp_path / "b1"))
    assert r.returncode != 0 and "vendor_c_sources.py" in r.stdout, r.stdout
    v = subprocess.run([sys.executable, os.path.join(PY, "vendor_c_sources.py"), "--out",
                        str(pkg / "aplcl-src")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    assert v.returncode == 0, v.stdout
    r = configure(str(pkg), str(tmp_path / "b2"))
    assert r.returncode == 0, r.stdout
    assert f"C sources from {pkg / 'aplcl-src'}" in r.stdout, r.stdout
    with open(os.path.join(PY, "pyproject.toml")) as f:
        assert 'sdist.include = ["aplcl-src"]' in f.read()
