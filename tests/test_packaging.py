"""The sdist can run the whole suite; the wheel holds the package only.

Both are built here, with the build backend installed in the environment
(``--no-isolation``: no download while the tests run).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Optional

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
    # The sdist, then the wheel from it (build's default), as pip builds one:
    # files left in a checkout's build/ never reach the wheel.
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = out.glob("starpy-*.tar.gz")
    (wheel,) = out.glob("starpy-*.whl")
    return sdist, wheel


def test_sdistHoldsEverySourceFile(built: tuple[Path, Path]) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = _sourceFiles() - {".gitignore"}
    assert wanted - names == set()
    for needed in ("LICENSE", "starpy.conf.example", "tests/__init__.py",
                   "tests/fixtures/ami-basic.raw", "examples/menu.py", ".ci/run", "dev.py"):
        assert needed in names, needed


def test_sdistCollectsTheWholeSuite(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Unpacked, the sdist collects every test the checkout has, without errors
    (running them all from inside a test would run this one again)."""
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):      # Python 3.10.12+ and 3.11.4+
            archive.extractall(tmp_path, filter="data")
        else:  # pragma: no cover - older patch releases; our own archive
            archive.extractall(tmp_path)
    (unpacked,) = [p for p in tmp_path.iterdir() if p.is_dir()]

    def collected(where: Path) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
             "tests"], cwd=where, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(where)})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return sorted(line for line in done.stdout.splitlines() if "::" in line)

    assert collected(unpacked) == collected(ROOT)


def test_wheelHoldsThePackageOnly(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
        entryPoints = archive.read(metadata.replace("METADATA", "entry_points.txt")).decode()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"starpy", metadata.split("/", 1)[0]}
    packaged = {name for name in names if name.startswith("starpy/")}
    onDisk = {path.relative_to(ROOT).as_posix() for path in (ROOT / "starpy").rglob("*.py")}
    assert onDisk <= packaged
    assert "starpy/py.typed" in packaged
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "License-Expression: BSD-3-Clause" in text
    assert "Provides-Extra: tls" in text
    # pytest finds only the opt-in shim; the plugin itself loads when asked.
    assert "[pytest11]\nstarpy = starpy.testing._pytest_entry" in entryPoints
    assert "[console_scripts]\nstarpy = starpy.cli:main" in entryPoints


def test_installedWheelWithoutTheTlsExtra(built: tuple[Path, Path], tmp_path: Path) -> None:
    """A plain install (no ``tls`` extra) gives one line naming the extra."""
    _, wheel = built
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True, timeout=120)
    bin = environment / ("Scripts" if sys.platform == "win32" else "bin")
    # Nothing of the checkout on the path: pip would take its starpy.egg-info
    # for an installed starpy.
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([str(bin / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, env=clean)
    assert done.returncode == 0, done.stderr[-3000:]
    conf = tmp_path / "starpy.conf"
    conf.write_text("[AMI]\nusername = starpy\nsecret = s\ntls = yes\nport = 5039\n")
    hint = "install StarPy with its tls extra: pip install 'starpy[tls]'"
    for command in (["events", "--count", "1"], ["check-config"]):
        ran = subprocess.run([str(bin / "starpy"), *command, "-c", str(conf)],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120, env=clean)
        assert ran.returncode == 3, (command, ran.stdout, ran.stderr)
        assert "Traceback" not in ran.stderr + ran.stdout
        lines = [line for line in (ran.stdout + ran.stderr).splitlines() if hint in line]
        assert len(lines) == 1, (command, ran.stdout, ran.stderr)
    script = ("from starpy import manager, error\n"
              "d = manager.AMIFactory('u', 's').login('tls:host=pbx:port=5039')\n"
              "d.addErrback(lambda f: print(f.check(error.TLSUnavailableError).__name__, "
              "f.getErrorMessage()))\n")
    ran = subprocess.run([str(bin / "python"), "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, env=clean)
    assert ran.stdout.startswith("TLSUnavailableError TLS needs pyOpenSSL"), ran
    assert hint in ran.stdout
    # The installed command finds a classic AGI handler in the current directory.
    (tmp_path / "myapp.py").write_text("def hello(agi):\n"
                                       "    return agi.verbose('from myapp').addBoth("
                                       "lambda _: agi.finish())\n")
    classic = subprocess.run([str(bin / "starpy"), "agi", "myapp:hello"], capture_output=True,
                         cwd=tmp_path, env=clean, timeout=120,
                         input=b"agi_request: myapp\nagi_channel: PJSIP/1-1\n\n200 result=1\n")
    assert classic.returncode == 0, classic.stderr
    assert classic.stdout == b'VERBOSE "from myapp"\n'


def _oldestSupportedPython() -> Optional[str]:
    """An interpreter of the oldest Python StarPy supports (3.10, as
    ``requires-python`` says), if this machine has one."""
    candidates = [shutil.which("python3.10") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python")))
    for candidate in candidates:
        if candidate and subprocess.run(
                [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 10)"],
                capture_output=True, timeout=60).returncode == 0:
            return candidate
    return None


def test_everyModuleImportsOnTheOldestSupportedPython(
        built: tuple[Path, Path], tmp_path: Path) -> None:
    """The wheel installs on Python 3.10 and every module of the package
    imports there (a pattern or an API newer than 3.10 would not), and the
    AGI environment fast path reads a block."""
    python = _oldestSupportedPython()
    if python is None:
        pytest.skip("no Python 3.10 on this machine")
    _, wheel = built
    environment = tmp_path / "venv310"
    subprocess.run([python, "-m", "venv", str(environment)], check=True, timeout=120)
    bin = environment / ("Scripts" if sys.platform == "win32" else "bin")
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([str(bin / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(wheel) + "[test]"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, env=clean)
    assert done.returncode == 0, done.stderr[-3000:]
    script = ("import importlib, pkgutil, starpy\n"
              "names = [m.name for m in pkgutil.walk_packages(starpy.__path__, 'starpy.')\n"
              "         if m.name != 'starpy.__main__']\n"
              "for name in names:\n"
              "    importlib.import_module(name)\n"
              "from starpy.codec.agi import AGIDecoder\n"
              "env = AGIDecoder().wholeEnvironment(b'agi_request: hello\\nagi_channel: P/1\\n\\n')\n"
              "print(len(names), env.variables['agi_channel'])\n")
    ran = subprocess.run([str(bin / "python"), "-c", script], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, env=clean)
    assert ran.returncode == 0, ran.stderr[-3000:]
    count, channel = ran.stdout.split()
    assert int(count) > 50 and channel == "P/1"
