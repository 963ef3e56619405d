"""The README's runnable snippets run."""
from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def section(title: str) -> str:
    start = README.index("## " + title)
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def pythonBlocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_amiSectionExampleRuns() -> None:
    (code,) = [b for b in pythonBlocks(section("AMI: the Asterisk Manager Interface"))
               if "task.react" in b]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "AMI 11.0.0"
    assert "Asterisk 22.10.1 built by" in lines[1]
    assert lines[2] == "hello"
    assert lines[3] == "0 CoreShowChannelsComplete"
    assert lines[4].startswith("hangup of Local/100@fastagi-")
    assert lines[5] == "refused: No such channel"


def test_readmeBeginsWithTheTwoCommands() -> None:
    first = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert first == ["python3 dev.py demo", "python3 dev.py test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "python3 dev.py test"


def test_debuggingSectionExampleRuns() -> None:
    (code,) = pythonBlocks(section("Debugging: wire traces and failure reports"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    log = done.stderr
    assert "starpy.wire DEBUG AGI#" in log and ">> ANSWER" in log and "<< 200 result=0" in log
    assert "starpy.fastagi ERROR AGI handler failed on PJSIP/caller-00000001" in log
    assert "AGIInvalidCommand" in log
    assert "  >> NO SUCH COMMAND\n  << 510 Invalid or unknown command" in log


def test_utilapplicationSectionExampleRuns(tmp_path: Path) -> None:
    (code,) = pythonBlocks(section("UtilApplication and starpy.conf"))
    environment = {key: value for key, value in __import__("os").environ.items()
                   if key != "STARPY_CONF"}
    environment["HOME"] = str(tmp_path)          # no ~/.starpy.conf, no ./starpy.conf
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=str(tmp_path), env=environment)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "GREETED = yes\n"


def test_starpyCommandSectionListsEveryExitCode() -> None:
    from starpy import cli

    text = section("The starpy command")
    for code in cli.EXIT_CODES:
        name = [n for n in cli.__all__ if n.startswith("EXIT_") and n != "EXIT_CODES"
                and getattr(cli, n) == code][0]
        assert "| %d | `%s` |" % (code, name) in text
    for sub in ("serve", "events", "action", "originate", "check-config"):
        assert "starpy %s" % sub in text
    assert "hagi://" in section("Scaling out") and "--workers" in section("Scaling out")


def test_limitsSectionVariablesExamplePrintsWhatItSays() -> None:
    text = section("Limits Asterisk imposes")
    part = text[text.index("### Variables and application arguments"):]
    (code,) = [b for b in pythonBlocks(part) if "variableAssignment" in b]
    printed = part.split("prints\n\n```\n", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed


def test_severalServersSectionExampleRuns() -> None:
    (code,) = pythonBlocks(section("Several Asterisk servers"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == ["lyon: stopped -> connecting", "lyon: connecting -> booting",
                         "lyon: booting -> loggedIn"]
    assert lines[3] == "hangups: [('lyon', '1700000000.1'), ('paris', '1700000000.1')]"
    assert lines[4:] == [
        "paris says Pong", "calls on the last one: 0",
        "lyon: loggedIn -> down", "lyon: down -> connecting", "lyon: connecting -> booting",
        "lyon: booting -> loggedIn", "lyon is back: Pong loggedIn", "lyon: loggedIn -> stopped"]


def test_metricsSectionExamplePrintsWhatItSays() -> None:
    text = section("Metrics")
    (code,) = pythonBlocks(text)
    done = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = re.findall(r"It prints the counters after that traffic:\n\n```\n(.*?)```", text,
                         re.S)[0]
    assert done.stdout == printed


def test_contentsListsEverySectionInOrder() -> None:
    headings = [line[3:] for line in README.splitlines() if line.startswith("## ")]
    contents = section("Contents")
    listed = re.findall(r"^- \[(.*?)\]\(#(.*?)\)$", contents, re.M)
    assert [title for title, _ in listed] == [h for h in headings if h != "Contents"]
    for title, anchor in listed:
        expected = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        assert anchor == expected, title


def test_fastagiLoggerShowsSessionsAndTheWireLoggerTheCommands(
        caplog: pytest.LogCaptureFixture) -> None:
    """What the FastAGI section says of logging: ``starpy.fastagi`` at DEBUG
    tells of sessions, not of commands; ``starpy.wire`` shows the commands
    of a session whose trace is on."""
    from twisted.internet.task import Clock

    from starpy import fastagi
    from starpy.testing.agi import SimulatedChannel, placeCallInMemory

    text = section("FastAGI")
    assert "`starpy.wire` logger, at DEBUG" in text
    assert "shows each command sent" not in text

    def run(trace: bool) -> List[logging.LogRecord]:
        async def handler(agi: Any) -> None:
            agi.setTrace(trace)
            await agi.answer()
            await agi.setVariable("STEP", "two")

        caplog.clear()
        clock = Clock()
        placeCallInMemory(fastagi.FastAGIFactory(handler, clock=clock), SimulatedChannel(),
                          clock).runUntilFinished()
        return [r for r in caplog.records if r.name in ("starpy.fastagi", "starpy.wire")]

    with caplog.at_level(logging.DEBUG, logger="starpy"):
        untraced = run(trace=False)
        traced = run(trace=True)
    session = [r.getMessage() for r in untraced if r.name == "starpy.fastagi"]
    assert session == ["PJSIP/caller-00000001: environment read, script ''",
                       "PJSIP/caller-00000001: connection closed"]
    assert not [r for r in untraced if r.name == "starpy.wire"]
    assert not any("ANSWER" in r.getMessage() for r in untraced + traced
                   if r.name == "starpy.fastagi")
    wire = [re.sub(r"^AGI#\d+ ", "", r.getMessage()) for r in traced if r.name == "starpy.wire"]
    assert wire == [">> ANSWER", "<< 200 result=0", ">> SET VARIABLE STEP two",
                    "<< 200 result=1"]


def test_classicAGILogsGoToStderrAndVerboseAddsDebug() -> None:
    """``starpy agi``: logs on stderr (stdout is Asterisk's), ``-v`` for debug."""
    environment = (b"agi_request: hello.sh\nagi_channel: PJSIP/1000-00000001\n"
                   b"agi_context: default\nagi_extension: 100\nagi_priority: 2\n\n")
    root = Path(__file__).resolve().parent.parent
    quiet = subprocess.run([sys.executable, "-m", "starpy", "agi", "tests.agiscripts:broken"],
                           input=environment, capture_output=True, timeout=120, cwd=str(root))
    verbose = subprocess.run(
        [sys.executable, "-m", "starpy", "agi", "-v", "tests.agiscripts:broken"],
        input=environment, capture_output=True, timeout=120, cwd=str(root))
    assert "Logs go to stderr (`-v` for debug), since stdout is Asterisk's" in section(
        "Classic AGI").replace("\n", " ")
    for done in (quiet, verbose):
        assert done.returncode == 1
        assert done.stdout == b""
        assert b"ERROR" in done.stderr and b"RuntimeError: broken handler" in done.stderr
    assert b" DEBUG " not in quiet.stderr and b" DEBUG " in verbose.stderr
