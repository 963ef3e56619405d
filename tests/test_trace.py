"""Wire tracing and readable dumps (debugging aids)."""
from __future__ import annotations

import logging
from typing import Any

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from starpy import manager
from starpy.codec.ami import AMIParser
from starpy.trace import WireTracer, redactLine
from tests.wire import connect


def connected(**kw: Any) -> tuple[manager.AMIProtocol, StringTransport]:
    ami = manager.AMIProtocol(clock=task.Clock(), **kw)
    transport = StringTransport()
    connect(ami, transport)
    return ami, transport


def wireLines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "starpy.wire"]


def test_offByDefault(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "starpy.wire"):
        ami, transport = connected()
        ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
        ami.ping()
    assert wireLines(caplog) == []


def test_everyLineBothWaysWithSecretsMasked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "starpy.wire"):
        ami, transport = connected(trace=True)
        ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
        ami.login("starpy", "hunter2-secret")
        (login,) = AMIParser(expectBanner=False).feed(transport.value())
        ami.dataReceived(b"Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n"
                         % login["actionid"].encode())
    lines = wireLines(caplog)
    name = ami.tracer.name
    assert name.startswith("AMI#")
    assert "%s << Asterisk Call Manager/11.0.0" % name in lines
    assert "%s >> Action: Login" % name in lines
    assert "%s >> Username: starpy" % name in lines
    assert "%s >> Secret: ********" % name in lines
    assert "%s << Message: Authentication accepted" % name in lines
    assert "hunter2-secret" not in caplog.text


def test_switchableAtRunTime(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "starpy.wire"):
        ami, transport = connected()
        ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
        ami.setTrace(True)
        ami.sendAction("Ping")
        ami.setTrace(False)
        ami.sendAction("CoreStatus")
    lines = wireLines(caplog)
    assert any(line.endswith(">> Action: Ping") for line in lines)
    assert not any("CoreStatus" in line for line in lines)


def test_factoryTurnsTracingOnForNewConnections() -> None:
    factory = manager.AMIFactory("u", "s", trace=True, reactor=task.Clock())
    assert factory.buildProtocol(None).tracer.enabled


@pytest.mark.parametrize("line, expected", [
    ("Secret: abc", "Secret: ********"),
    ("KEY:abc", "KEY: ********"),
    ("Keyboard: abc", "Keyboard: abc"),
    ("Output: Secret: abc", "Output: Secret: abc"),
])
def test_redaction(line: str, expected: str) -> None:
    assert redactLine(line) == expected


def test_tracerNamesAreUnique() -> None:
    assert WireTracer("AGI").name != WireTracer("AGI").name


def test_readableDumpOfAMessage() -> None:
    (message,) = AMIParser(expectBanner=False).feed(
        b"Action: Login\r\nUsername: u\r\nSecret: pw\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n")
    assert message.dump() == "Action: Login\nUsername: u\nSecret: ********\nVariable: A=1\nVariable: B=2"


# -- AGI side ------------------------------------------------------------------------

from twisted.internet.task import Clock  # noqa: E402

from starpy import fastagi  # noqa: E402
from starpy.testing.agi import SimulatedChannel, placeCallInMemory  # noqa: E402
from starpy.testing.pytest_plugin import LoggedErrors  # noqa: E402


def test_agiTraceLogsBothDirections(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(agi: fastagi.FastAGIProtocol) -> None:
        agi.setTrace(True)
        await agi.answer()
        await agi.getVariable("CHANNEL")
        agi.setTrace(False)
        await agi.noop()

    with caplog.at_level(logging.DEBUG, "starpy.wire"):
        call = placeCallInMemory(fastagi.FastAGIFactory(handler), SimulatedChannel(
            name="PJSIP/trace-1"), Clock())
        call.runUntilFinished()
    lines = [line.split(" ", 1)[1] for line in wireLines(caplog)]
    assert lines == [">> ANSWER", "<< 200 result=0", ">> GET VARIABLE CHANNEL",
                     "<< 200 result=1 (PJSIP/trace-1)"]


def test_agiFailureReportHasTracebackEnvironmentAndLastCommands(
        loggedErrors: LoggedErrors) -> None:
    async def handler(agi: fastagi.FastAGIProtocol) -> None:
        await agi.answer()
        await agi.setVariable("STEP", "two")
        await agi.sendCommand("FOO", "BAR")  # 510: fails the handler

    call = placeCallInMemory(fastagi.FastAGIFactory(handler), SimulatedChannel(
        name="PJSIP/broken-7", callerId="5551234", extension="42"), Clock())
    call.runUntilFinished()
    errors = loggedErrors.flush()
    assert len(errors) == 1  # one log entry tells the whole story
    report = errors[0].message
    assert report.startswith("AGI handler failed on PJSIP/broken-7")
    assert "Traceback" in report and "AGIInvalidCommand" in report
    assert "  agi_callerid: 5551234" in report and "  agi_extension: 42" in report
    assert report.index(">> ANSWER") < report.index('>> SET VARIABLE STEP two') < report.index(">> FOO BAR")
    assert "<< 510 Invalid or unknown command" in report


def test_agiHistoryIsBounded() -> None:
    sessions: list[fastagi.FastAGIProtocol] = []

    async def handler(agi: fastagi.FastAGIProtocol) -> None:
        sessions.append(agi)
        for index in range(50):
            await agi.verbose("step %d" % index)

    call = placeCallInMemory(fastagi.FastAGIFactory(handler), SimulatedChannel(), Clock())
    transcript = call.runUntilFinished()
    assert len(transcript.commands()) == 50
    (agi,) = sessions
    assert len(agi.history) == agi.HISTORY_LENGTH == 20
    assert agi.history[0][0] == 'VERBOSE "step 30"'
    assert agi.history[-1] == ('VERBOSE "step 49"', "200 result=1")
