"""The demo the README's first command runs, over loopback TCP."""
from __future__ import annotations

import io
import subprocess
import sys
import pytest_twisted
from twisted.internet import reactor

from starpy.demo import runDemo


@pytest_twisted.ensureDeferred
async def test_demo_runs_against_the_fake_asterisk() -> None:
    out = io.StringIO()
    status = await runDemo(reactor, out, calls=3)
    text = out.getvalue()
    assert status == 0
    assert "logged in (MD5 challenge), AMI version 11.0.0" in text
    assert "DBGet demo/greeting -> 'hello from StarPy'" in text
    assert "OriginateResponse: Success" in text
    assert "CoreShowChannels: 1 channel(s)" in text
    assert "No such channel" in text
    assert text.count("    ANSWER ") == 3
    assert "SAY DIGITS 102" in text
    assert text.rstrip().endswith("demo finished")


def test_cli_demo_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "starpy", "demo", "--calls", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "demo finished" in done.stdout
    assert "call 1 from 5550000" in done.stdout
