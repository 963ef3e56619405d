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


def test_menu_serves_the_documented_menus_to_scripted_calls() -> None:
    done = run("menu.py", "--fake")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "call 1 presses 0: MENU_CHOICE=0",
        "call 2 presses 2, then 5 5 5 #: MENU_CHOICE=2 555",
        "call 3 presses 1, * to come back, then #: MENU_CHOICE=#",
        "call 4 presses 9, then hangs up: MENU_CHOICE=hangup",
    ]
    source = (EXAMPLES / "menu.py").read_text()
    assert "exten => 200,n,AGI(agi://127.0.0.1:4573/menu)" in source
