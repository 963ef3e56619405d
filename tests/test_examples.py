"""Smoke tests: every example runs against the built-in fake Asterisk."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args],
                          capture_output=True, text=True, timeout=120)


def test_amicommand_prints_cli_output() -> None:
    done = run("amicommand.py", "--fake", "core show version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Asterisk 22.10.1 built by")


def test_amicommand_reports_unknown_cli_command() -> None:
    done = run("amicommand.py", "--fake", "no such thing")
    assert done.returncode == 1
    assert "No such command 'no such thing'" in done.stderr


def test_asyncagi_originates_and_plays_a_menu_on_the_fake() -> None:
    done = run("asyncagi.py", "--fake")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["call up on Local/300@asyncagi-00000001;1",
                                        "pressed 2", "back to the dialplan"]
