"""The FastAGI example and the README's FastAGI and classic AGI sections."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

from twisted.internet.task import Clock

from starpy import fastagi

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index("\n## " + title + "\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_hellofastagiSelftest() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "hellofastagi.py"),
                           "--selftest"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    commands = [line.split("<<")[0].strip() for line in done.stdout.splitlines()
                if line.startswith("  >> ")]
    assert commands[0] == ">> ANSWER"
    assert commands[2:] == [">> WAIT FOR DIGIT 5000", '>> SAY DIGITS 2 ""',
                            '>> STREAM FILE vm-goodbye ""', ">> HANGUP"]
    assert done.stdout.splitlines()[-1] == "selftest passed"
    assert "arguments ['arg1']" in done.stderr


def test_readmeFastAGISection() -> None:
    text = section("FastAGI")
    assert "exten => 100,n,AGI(agi://127.0.0.1:4573/hello,arg1)" in text
    assert "examples/hellofastagi.py" in text
    assert "python -m starpy agi module:function" in section("Classic AGI")


def test_readmeHandlerRunsAgainstTheFakeCaller() -> None:
    """The README's handler, run on a simulated call (caller presses 2)."""
    from starpy.testing.agi import SimulatedChannel, placeCallInMemory, spacedDigits

    (code,) = [b for b in re.findall(r"```python\n(.*?)```", section("FastAGI"), re.S)
               if "async def hello" in b]
    code = code.split("\nasync def main", 1)[0]
    namespace: Dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    channel = SimulatedChannel(
        request="agi://127.0.0.1:4573/hello", arguments=["arg1"],
        sounds={"vm-goodbye": 1.0}, dtmf=spacedDigits("2", start=0.0),
    )
    clock = Clock()
    call = placeCallInMemory(fastagi.FastAGIFactory(namespace["hello"], clock=clock),
                             channel, clock)
    transcript = call.runUntilFinished()
    commands = [c.decode().split(" ")[:2] for c in transcript.commands()]
    assert commands[0] == ["ANSWER"]
    assert commands[1] == ["SAY", "DATETIME"]
    assert ["SET", "VARIABLE"] in commands
    assert channel.variables["RESULT"] == "said goodbye"
    assert clock.getDelayedCalls() == []
