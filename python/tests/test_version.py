"""test_version.py: the version is written once, in include/aplcl.h, and the package follows it.

aplcl.__version__ (the linked library's) and the installed distribution's metadata version (which
scikit-build-core's regex provider read from the header at build time) must both equal the
APLCL_VERSION_MAJOR/MINOR/PATCH lines of the repository's header."""

import importlib.metadata
import pathlib
import re

import aplcl

HEADER = pathlib.Path(__file__).resolve().parents[2] / "include" / "aplcl.h"


def header_version():
    text = HEADER.read_text(encoding="utf-8")
    parts = [re.search(rf"^#define APLCL_VERSION_{p} +(\d+)", text, re.M) for p in
             ("MAJOR", "MINOR", "PATCH")]
    assert all(parts), "APLCL_VERSION_MAJOR/MINOR/PATCH not found in include/aplcl.h"
    return ".".join(m.group(1) for m in parts)


def test_version_follows_the_header():
    assert aplcl.__version__ == header_version()
    assert importlib.metadata.version("aplcl") == header_version()
