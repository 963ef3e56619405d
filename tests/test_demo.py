"""The demo the README's first command runs, over loopback TCP."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from typing import Any, List, Sequence

import pytest_twisted
from twisted.internet import reactor

from starpy.cli.demo import CALLERS, runDemo


def summary(text: str) -> dict[str, int]:
    return {choice: int(count) for count, choice in
            re.findall(r"^\s+(\d+)  MENU_CHOICE=(.*)$", text, re.M)}


@pytest_twisted.ensureDeferred
async def test_demoRunsAgainstTheFakeAsterisk() -> None:
    out = io.StringIO()
    status = await runDemo(reactor, out, calls=len(CALLERS))
    text = out.getvalue()
    assert status == 0
    assert "logged in (MD5 challenge), AMI version 11.0.0" in text
    assert "DBGet demo/greeting -> 'hello from StarPy'" in text
    assert "OriginateResponse: Success" in text
    assert "CoreShowChannels: 1 channel(s)" in text
    assert "No such channel" in text
    # Every caller script ends the way its description says.
    assert summary(text) == {"0": 2, "#": 1, "2 555": 1, "hangup": 1}
    assert text.index("call 1 from 5550000: the caller presses 0") < text.index("call 2 from")
    assert "    WAIT FOR DIGIT 5000                        -> 200 result=57" in text  # the 9
    assert "    STREAM FILE pm-invalid-option" in text
    assert "(AGISTATUS HANGUP)" in text
    assert text.rstrip().endswith("demo finished")


@pytest_twisted.ensureDeferred
async def test_manyCallsShowAProgressLineAndOnlyTheSummary() -> None:
    out, progress = io.StringIO(), io.StringIO()
    await runDemo(reactor, out, calls=20, concurrency=10, progress=progress)
    assert summary(out.getvalue()) == {"0": 8, "#": 4, "2 555": 4, "hangup": 4}
    assert "call 1 from" not in out.getvalue()
    assert progress.getvalue().endswith("\r  20/20 calls done\n")


def test_cliDemoEntryPoint() -> None:
    done = subprocess.run([sys.executable, "-m", "starpy", "demo", "--calls", "2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "demo finished" in done.stdout
    assert "call 2 from 5550001: the caller chooses 2 and enters extension 555#" in done.stdout


def test_cliDemoWritesNoProgressLineIntoAFile() -> None:
    """stderr is a pipe here, as when it goes to a log file: no "\\r" lines."""
    done = subprocess.run([sys.executable, "-m", "starpy", "demo", "--calls", "12",
                           "--concurrency", "6"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"\r" not in done.stderr + done.stdout    # bytes: text mode would hide it
    assert b"summary: 12 call(s)" in done.stdout


def test_cliDemoRefusesBadOptions() -> None:
    done = subprocess.run([sys.executable, "-m", "starpy", "demo", "--concurrency", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--concurrency 1 or more" in done.stderr


def _child(model: Any, index: int) -> Any:
    """The model behind option *index* of *model*, a SubMenu."""
    from starpy import menu

    option = model.options[index]
    assert isinstance(option, menu.SubMenu)
    return option.menu


def _files(prompt: Sequence[Any]) -> List[str]:
    return [element.filename for element in prompt]


def test_theAtlanticMenuIsDefinedOnce() -> None:
    """starpy.cli.demo.atlanticMenu is the one definition of the documented
    menu: the demo, the examples and the README build it from there."""
    from pathlib import Path

    from starpy import menu
    from starpy.cli import demo

    root = Path(__file__).resolve().parent.parent
    places = [root / "README.md", root / "starpy" / "cli" / "demo.py",
              *sorted((root / "examples").glob("*.py")), root / "starpy" / "menu" / "__init__.py"]
    pattern = r"""prompt=["']atlantic["']|soundFile=["'](extension|menutest-digits)["']"""
    assert [path.name for path in places if re.search(pattern, path.read_text())] == []
    assert "def atlanticMenu(" in places[1].read_text()
    for name in ("README.md", "menu.py", "menutest.py"):
        text = next(path for path in places if path.name == name).read_text()
        assert "atlanticMenu(" in text, name
    # The variants are the same menu: only prompts and the top menu's options differ.
    assert [o.option for o in demo.ATLANTIC.options] == ["0", "#", "*", "1", "2"]
    assert [o.option for o in demo.DEMO_MENU.options] == ["0", "#", "*", "1", "2"]
    assert demo.ATLANTIC.tellInvalid is False and demo.DEMO_MENU.tellInvalid is True
    assert demo.DEMO_MENU.maxRepetitions == 2 and demo.ATLANTIC.maxRepetitions == 5
    sub = _child(demo.ATLANTIC, 3)
    assert isinstance(sub, menu.Menu) and sub.tellInvalid is False
    assert [type(p).__name__ for p in sub.prompt] == ["AudioPrompt", "DigitsPrompt",
                                                       "DateTimePrompt"]


def test_atlanticMenuTakesPromptsForUpstreamsMenuTest() -> None:
    from starpy import menu
    from starpy.cli.demo import atlanticMenu

    model = atlanticMenu(prompt="menutest-toplevel", subPrompt="menutest-secondlevel",
                         digitsPrompt="menutest-digits", tellInvalid=True, timeout=3.0)
    assert model.tellInvalid is True and model.timeout == 3.0
    sub, collect = _child(model, 3), _child(model, 4)
    assert isinstance(sub, menu.Menu) and isinstance(collect, menu.CollectDigits)
    assert _files(model.prompt) == ["menutest-toplevel"]
    assert _files(sub.prompt) == ["menutest-secondlevel"]
    assert _files(collect.soundFile) == ["menutest-digits"]
    assert (collect.minDigits, collect.maxDigits) == (3, 5)
