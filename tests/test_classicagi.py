"""Tests for classic AGI over stdin/stdout (starpy.classicagi and ``starpy agi``)."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import pytest
from twisted.internet import task
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import cli, error
from starpy.classicagi import ClassicAGIProtocol
from starpy.fastagi import FastAGIProtocol
from tests.wire import connect

ROOT = Path(__file__).parent.parent

CLASSIC_ENV = (
    b"agi_request: /var/lib/asterisk/agi-bin/hello.sh\n"
    b"agi_channel: PJSIP/1000-00000001\n"
    b"agi_language: en\n"
    b"agi_context: default\n"
    b"agi_extension: 100\n"
    b"agi_priority: 2\n"
    b"agi_arg_1: one\n"
    b"agi_arg_2: two words\n"
    b"\n"
)


class Script:
    """A ``python -m starpy agi HANDLER`` child talking through pipes."""

    def __init__(self, handler: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "starpy", "agi", handler],
            cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.buffer = b""

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def readLine(self, timeout: float = 20.0) -> bytes:
        """The next line the script wrote, without newline; b'' at EOF."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "script wrote no line; stderr: %r" % (self.stderr(),)
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    line, self.buffer = self.buffer, b""
                    return line
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def stderr(self) -> bytes:
        if self.process.poll() is None:
            return b"(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=20)
        finally:
            for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
                if pipe is not None:
                    pipe.close()


def test_helloThroughPipes() -> None:
    script = Script("tests.agiscripts:hello")
    try:
        script.send(CLASSIC_ENV)
        assert script.readLine() == b"ANSWER"
        script.send(b"200 result=0\n")
        assert script.readLine() == b"GET VARIABLE CHANNEL"
        script.send(b"200 result=1 (PJSIP/1000-00000001)\n")
        assert script.readLine() == b"STREAM FILE hello-world #"
        script.send(b"200 result=35 endpos=1200\n")
        assert script.readLine() == (
            b"VERBOSE \"got PJSIP/1000-00000001 # 1200 ['one', 'two words']\"")
        script.send(b"200 result=1\n")
        # The handler returned: the script closes stdout and exits.
        assert script.readLine() == b""
    finally:
        status = script.wait()
    assert status == 0


def test_hangupLineThroughPipes() -> None:
    script = Script("tests.agiscripts:hangupAware")
    try:
        script.send(CLASSIC_ENV)
        assert script.readLine() == b"ANSWER"
        script.send(b"200 result=0\nHANGUP\n")
        assert script.readLine() == b"GET VARIABLE X"
        script.send(b"200 result=1 (x)\n")
        assert script.readLine() == b"VERBOSE hungUp=True"
        script.send(b"200 result=1\n")
        assert script.readLine() == b"VERBOSE refused"
        script.send(b"200 result=1\n")
        assert script.readLine() == b""
    finally:
        status = script.wait()
    assert status == 0


def test_sighupThroughPipes() -> None:
    script = Script("tests.agiscripts:hangupAware")
    try:
        script.send(CLASSIC_ENV)
        assert script.readLine() == b"ANSWER"
        script.process.send_signal(signal.SIGHUP)
        script.send(b"200 result=0\n")
        assert script.readLine() == b"GET VARIABLE X"
        script.send(b"200 result=1 (x)\n")
        assert script.readLine() == b"VERBOSE hungUp=True"
        script.send(b"200 result=1\n")
        assert script.readLine() == b"VERBOSE refused"
        script.send(b"200 result=1\n")
        assert script.readLine() == b""
    finally:
        status = script.wait()
    assert status == 0


def test_brokenHandlerExitsWithFailure() -> None:
    script = Script("tests.agiscripts:broken")
    try:
        script.send(CLASSIC_ENV)
        assert script.readLine() == b""
    finally:
        status = script.wait()
        assert script.process.stderr is not None
    assert status == 1


def test_stdinClosedEndsScript() -> None:
    script = Script("tests.agiscripts:hello")
    try:
        script.send(CLASSIC_ENV)
        assert script.readLine() == b"ANSWER"
        assert script.process.stdin is not None
        script.process.stdin.close()
        assert script.readLine() == b""
    finally:
        status = script.wait()
    assert status == 1


def test_badHandlerSpec(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["agi", "nocolon"]) == cli.EXIT_USAGE
    assert cli.main(["agi", "tests.no_such_module:main"]) == cli.EXIT_USAGE
    assert cli.main(["agi", "tests.agiscripts:nope"]) == cli.EXIT_USAGE
    assert "cannot load tests.agiscripts:nope" in capsys.readouterr().err


def test_protocolSighupAndScriptPath() -> None:
    seen: List[FastAGIProtocol] = []
    agi = ClassicAGIProtocol(seen.append, task.Clock())
    transport = StringTransport()
    connect(agi, transport)
    agi.dataReceived(CLASSIC_ENV)
    assert seen == [agi]
    assert agi.scriptPath == "/var/lib/asterisk/agi-bin/hello.sh"
    assert agi.arguments == ["one", "two words"]
    agi.signalHangup()
    assert agi.hungUp
    failures: List[object] = []
    agi.answer().addErrback(lambda f: failures.append(f.type))
    assert failures == [error.AGIHangup]
    assert transport.value() == b""


def test_stdinClosedFailsTheCommandNamingStdin() -> None:
    """A classic AGI command cut off says stdin closed, not a FastAGI connection."""
    seen: List[FastAGIProtocol] = []
    agi = ClassicAGIProtocol(seen.append, task.Clock())
    connect(agi, StringTransport())
    agi.dataReceived(CLASSIC_ENV)
    failures: List[Optional[BaseException]] = []
    agi.answer().addErrback(lambda f: failures.append(f.value))
    agi.connectionLost(Failure(ConnectionDone()))
    [failure] = failures
    assert isinstance(failure, error.AGIHangup)
    assert "stdin before the reply" in str(failure)
    assert "FastAGI" not in str(failure)
