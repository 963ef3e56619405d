"""Smoke tests: every example runs against the built-in fake Asterisk."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(script: str, *args: str, env: Optional[Dict[str, str]] = None,
        cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_amicommandPrintsCliOutput() -> None:
    done = run("amicommand.py", "--fake", "core show version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Asterisk 22.10.1 built by")


def test_amicommandReportsUnknownCliCommand() -> None:
    done = run("amicommand.py", "--fake", "no such thing")
    assert done.returncode == 1
    assert "No such command 'no such thing'" in done.stderr


def test_asyncagiOriginatesAndPlaysAMenuOnTheFake() -> None:
    done = run("asyncagi.py", "--fake")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["call up on Local/300@asyncagi-00000001;1",
                                        "pressed 2", "back to the dialplan"]


def test_menuServesTheDocumentedMenusToScriptedCalls() -> None:
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


# -- the examples ported from upstream StarPy, each in its --fake mode ----------------------


def fake(script: str, *args: str) -> str:
    done = run(script, "--fake", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hellofastagiFakeAlias() -> None:
    assert fake("hellofastagi.py").splitlines()[-1] == "selftest passed"


def test_hellofastagiappSaysTheTimeForExtensionS() -> None:
    lines = fake("hellofastagiapp.py").splitlines()
    assert lines[0].startswith("  >> SAY DATETIME ")
    assert lines[-1] == "  (call ended: SUCCESS)"


def test_getvariablePrintsEnvironmentAndVariables() -> None:
    out = fake("getvariable.py")
    assert "  agi_context: getvariable\n" in out
    assert "  'CALLERID(num)' -- '1000'\n" in out
    assert "  'FAVOURITE' -- 'blue'\n" in out
    assert "  'NO_SUCH_VARIABLE' -- UNDEFINED\n" in out


def test_fastagisetvariableRoundTripsQuotes() -> None:
    out = fake("fastagisetvariable.py")
    assert "Retrieved value 'That\"2set'" in out
    assert "SET VARIABLE \"this\\\"toset\" \"That\\\"2set\"" in out
    assert out.rstrip().endswith("channel variable 'this\"toset' is now 'That\"2set'")


def test_readingdigitsReadsThreeWaysAndCounts() -> None:
    out = fake("readingdigits.py")
    assert "call 1: waitForDigit '7', choice '2', getData '45'\n" in out
    assert "call 2: waitForDigit '1', choice '3', getData '9' (timed out)\n" in out
    assert ">> SAY NUMBER 2 *" in out


def test_timestampAnnouncesThenBeeps() -> None:
    out = fake("timestamp.py", "--ahead", "0.6")
    commands = [line.split("<<")[0].strip() for line in out.splitlines() if ">>" in line]
    assert [c.split()[1:3] for c in commands] == [
        ["STREAM", "FILE"], ["SAY", "DATETIME"], ["STREAM", "FILE"]]
    assert commands[0].endswith("at-tone-time-exactly \"\"")
    assert commands[1].endswith(" HM") and commands[2].endswith("beep \"\"")


def test_timestampappUsesSecondsAndThanks() -> None:
    out = fake("timestampapp.py")
    assert '" HMS' in out and "STREAM FILE thank-you-for-calling" in out
    assert out.startswith("announced ")


def test_connecttoivrReportsAnswerAndFailure() -> None:
    assert fake("connecttoivr.py", "PJSIP/100").startswith(
        "PJSIP/100-00000001 connected to outgoing,s,1: Success, uniqueid ")
    done = run("connecttoivr.py", "--fake", "PJSIP/busy")
    assert done.returncode == 1
    assert done.stdout == "PJSIP/busy did not answer (reason 0)\n"


def test_priexhaustionCountsChannelsAndWarns() -> None:
    assert fake("priexhaustion.py").splitlines() == [
        "+ PJSIP/100-00000001: 1 channel open",
        "+ DAHDI/1-1: 2 channels open",
        "+ DAHDI/2-1: 3 channels open  WARNING: over the threshold of 2",
        "+ DAHDI/3-1: 4 channels open  WARNING: over the threshold of 2",
        "- DAHDI/1-1: 3 channels open",
        "- PJSIP/100-00000001: 2 channels open",
    ]


def test_calldurationcallbackCallsBackWithTheDuration() -> None:
    out = fake("calldurationcallback.py")
    lines = out.splitlines()
    assert lines[1] == "  >> GET DATA your-account 5000 7             << 200 result=1234"
    assert "callback: originate PJSIP/alice -> callduration,100000" in lines
    assert "call to account 1234 took 0 minute(s) 0 second(s)" in lines
    assert ">> STREAM FILE seconds" in out
    assert lines[-1] == "reported: True"


def test_menutestRunsTheMenuTestOnScriptedCalls() -> None:
    lines = fake("menutest.py").splitlines()
    assert lines[0].startswith("menu test server on 127.0.0.1:")
    assert lines[0].endswith("; 9 scripted calls in memory")
    results = [line for line in lines[1:] if not line.startswith("    played: ")]
    assert results == [
        "call 1 presses 0: MENUTEST_RESULT=0",
        "call 2 presses 1, then # in the second level: MENUTEST_RESULT=1 #",
        "call 3 presses 1, * to come back, then 0: MENUTEST_RESULT=0",
        "call 4 presses 2, then enters 4 5 6 #: MENUTEST_RESULT=2 456",
        "call 5 presses 2, enters 1 2 # (too short), then 7 8 9 0 #: MENUTEST_RESULT=2 7890",
        "call 6 presses 5 (invalid, told so), then #: MENUTEST_RESULT=#",
        "call 7 presses * to leave the menu: MENUTEST_RESULT=exit",
        "call 8 presses nothing at all: MENUTEST_RESULT=none",
        "call 9 hangs up during the first prompt: MENUTEST_RESULT=hangup",
    ]
    assert "    played: menutest-toplevel, menutest-secondlevel, menutest-toplevel" in lines
    assert "    played: menutest-toplevel, pm-invalid-option, menutest-toplevel" in lines
    assert lines.count("    played: " + ", ".join(["menutest-toplevel"] * 6)) == 1
    source = (EXAMPLES / "menutest.py").read_text()
    assert "exten => s,1,Answer()" in source
    assert "same => n,AGI(agi://127.0.0.1:4573)" in source


# -- ordinary errors against a real Asterisk: one line, no traceback -------------------------


def closedPort() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def withoutConfig(tmp_path: Path, **extra: str) -> Dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("STARPY_CONF", "AMI_SECRET")}
    environment["HOME"] = str(tmp_path)        # no ~/.starpy.conf, and cwd has none
    environment.update(extra)
    return environment


@pytest.mark.parametrize("script, args, extra, status, words", [
    ("amicommand.py", ["core show version"], {}, 2,
     "amicommand.py: set AMI_SECRET to the secret of AMI user 'starpy'"),
    ("amicommand.py", ["--port", "PORT", "core show version"], {"AMI_SECRET": "s"}, 1,
     "amicommand.py: Connection was refused"),
    ("asyncagi.py", ["--port", "PORT"], {"AMI_SECRET": "s"}, 1,
     "asyncagi.py: Connection was refused"),
    ("connecttoivr.py", ["PJSIP/100"], {}, 1,
     "connecttoivr.py: [AMI] username: not set: add it to starpy.conf to use the AMI"),
    ("priexhaustion.py", [], {}, 1,
     "priexhaustion.py: [AMI] username: not set: add it to starpy.conf to use the AMI"),
])
def test_ordinaryErrorsAreOneLine(tmp_path: Path, script: str, args: list[str],
                                      extra: Dict[str, str], status: int, words: str) -> None:
    port = str(closedPort())
    done = run(script, *[port if a == "PORT" else a for a in args],
               env=withoutConfig(tmp_path, **extra), cwd=tmp_path)
    assert done.returncode == status, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(words), done.stderr
    assert "Traceback" not in done.stderr


def test_aPortInUseIsOneLine(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        done = run("readingdigits.py", "--port", port, env=withoutConfig(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("readingdigits.py: Couldn't listen on 127.0.0.1:%s" % port)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
