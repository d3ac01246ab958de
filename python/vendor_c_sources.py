#!/usr/bin/env python3
"""vendor_c_sources.py: copies the C library's sources into python/aplcl-src, so that an sdist of
the Python package builds on its own, without the repository around it.

python/CMakeLists.txt builds the C library from the repository root when it is there (a clone:
`pip install ./python`) and from aplcl-src otherwise (an unpacked sdist). pyproject.toml puts
aplcl-src into the sdist (sdist.include; the folder is git-ignored). What is copied: every file
git tracks, except the folders the library build does not read (python, data, docs, tests, bench,
scripts, .ci). Not a build step of its own: run it before making an sdist.

    python3 python/vendor_c_sources.py                      # writes python/aplcl-src
    python3 -m build --sdist python                         # or any PEP 517 front end
    python3 python/vendor_c_sources.py --out DIR             # elsewhere (the tests do this)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SKIP_TOP = {"python", "data", "docs", "tests", "bench", "scripts", ".ci", ".github"}


def tracked_files(root: str) -> list[str]:
    """The repository's files as git lists them (committed or staged), else every file under
    root outside build folders and .git."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        return [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(root):
            rel = os.path.relpath(d, root)
            dirs[:] = [x for x in dirs if x != ".git" and not x.startswith("build")]
            files += [os.path.normpath(os.path.join(rel, n)) for n in names]
        return files


def vendor(out: str, root: str = ROOT) -> int:
    if not os.path.isfile(os.path.join(root, "include", "aplcl.h")):
        raise SystemExit(f"vendor_c_sources.py: no include/aplcl.h under {root}")
    if os.path.exists(out):
        shutil.rmtree(out)
    n = 0
    for rel in tracked_files(root):
        top = rel.split("/", 1)[0]
        if top in SKIP_TOP or not os.path.isfile(os.path.join(root, rel)):
            continue
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(root, rel), dst)
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "aplcl-src"))
    args = ap.parse_args()
    n = vendor(args.out)
    print(f"vendor_c_sources.py: {n} files into {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
