#!/usr/bin/env python3
"""Run StarPy's demo or its test suite from a fresh checkout.

    python3 dev.py demo [demo options]   # the demo, needs no Asterisk
    python3 dev.py test [pytest options] # ruff, mypy --strict (package, tests, examples),
                                         # the API reference, pytest
    python3 dev.py docs                  # the API reference, in build/apidocs/

Creates (or reuses) a virtual environment in ``.venv`` next to this file and
installs StarPy into it, editable, with its test dependencies.  The install is
redone only when ``pyproject.toml`` changes.  Needs nothing but Python 3.10+.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
STAMP = VENV / ".starpy-installed"


def _python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _ensureEnvironment() -> Path:
    if sys.version_info < (3, 10):
        sys.exit("StarPy needs Python 3.10 or newer; this is %s" % sys.version.split()[0])
    wanted = hashlib.sha256((HERE / "pyproject.toml").read_bytes()).hexdigest()
    python = _python()
    if not python.exists():
        print("dev.py: creating virtual environment in %s" % VENV, file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("dev.py: installing starpy[test] into %s" % VENV, file=sys.stderr)
        subprocess.check_call(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-e", "%s[test]" % HERE]
        )
        STAMP.write_text(wanted)
    return python


def _apiReference(python: Path) -> int:
    """Build the API reference with pydoctor; any warning (a broken
    cross-reference, a docstring that does not parse) fails it."""
    status = subprocess.call([
        str(python), "-m", "pydoctor", "--quiet", "--warnings-as-errors",
        "--docformat=restructuredtext", "--project-name=StarPy",
        "--html-output=%s" % (HERE / "build" / "apidocs"), "starpy"])
    if status != 0:
        print("dev.py: the API reference has warnings (pydoctor, above)", file=sys.stderr)
    return status


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "docs"):
        print(__doc__, file=sys.stderr)
        return 2
    python = _ensureEnvironment()
    os.chdir(HERE)
    if argv[0] == "demo":
        return subprocess.call([str(python), "-m", "starpy", "demo", *argv[1:]])
    if argv[0] == "docs":
        status = _apiReference(python)
        if status == 0:
            print("dev.py: open %s" % (HERE / "build" / "apidocs" / "index.html",))
        return status
    lintStatus = subprocess.call([str(python), "-m", "ruff", "check", "."])
    if lintStatus != 0:
        print("dev.py: ruff found problems (above)", file=sys.stderr)
    status = subprocess.call([str(python), "-m", "mypy", "--strict", "starpy"])
    status = subprocess.call([str(python), "-m", "mypy", "--strict", "tests"]) or status
    # The examples are type-checked apart: their helper modules (_run, _fake)
    # are top-level modules of their own directory.
    status = subprocess.call([str(python), "-m", "mypy", "--strict", "examples"]) or status
    if status != 0:
        print("dev.py: mypy --strict failed", file=sys.stderr)
    docsStatus = _apiReference(python)
    testStatus = subprocess.call([str(python), "-m", "pytest", *argv[1:]])
    return lintStatus or status or docsStatus or testStatus


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
