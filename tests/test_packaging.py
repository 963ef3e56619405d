"""The sdist can run the whole suite; the wheel holds the package only.

Both are built here, with the build backend installed in the environment
(``--no-isolation``: no download while the tests run).
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What a checkout holds that is not the project's own source.
_NOT_SOURCE = {".git", ".venv", "build", "dist", ".mypy_cache", ".hypothesis",
               ".pytest_cache", "__pycache__"}


def _sourceFiles() -> set[str]:
    """The project's files: git's list in a checkout, else the tree on disk."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split("\n")
        return {name for name in listed if name and (ROOT / name).is_file()}
    found = set()
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and not any(part in _NOT_SOURCE or part.endswith(".egg-info")
                                      for part in relative.parts):
            found.add(relative.as_posix())
    return found - {"PKG-INFO", "setup.cfg"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
         "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = out.glob("starpy-*.tar.gz")
    (wheel,) = out.glob("starpy-*.whl")
    return sdist, wheel


def test_sdist_holds_every_source_file(built: tuple[Path, Path]) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = _sourceFiles() - {".gitignore"}
    assert wanted - names == set()
    for needed in ("LICENSE", "starpy.conf.example", "tests/__init__.py",
                   "tests/fixtures/ami-basic.raw", "examples/menu.py", ".ci/run", "dev.py"):
        assert needed in names, needed


def test_wheel_holds_the_package_only(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"starpy", metadata.split("/", 1)[0]}
    packaged = {name for name in names if name.startswith("starpy/")}
    onDisk = {path.relative_to(ROOT).as_posix() for path in (ROOT / "starpy").rglob("*.py")}
    assert onDisk <= packaged
    assert "starpy/py.typed" in packaged
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "License-Expression: BSD-3-Clause" in text
    assert "Provides-Extra: tls" in text
