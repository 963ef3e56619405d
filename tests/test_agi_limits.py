"""What StarPy refuses to send over AGI, and how it fails on what it reads (issue 11).

Asterisk's own reader is modelled in :mod:`tests.asteriskagi`; the fake
Asterisk of :mod:`starpy.testing.agi` models the same line split.
"""
from __future__ import annotations

import logging
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport

from starpy import asyncagi, error, fastagi, menu
from starpy.agi import AGISession
from starpy.codec import agi as codec
from starpy.codec.ami import Message
from starpy.testing.agi import SimulatedChannel, placeCallInMemory
from starpy.testing.appargs import separateAppArguments
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failure, result, unfired
from tests.wire import connect

from .agihelpers import sessionTimers
from .asteriskagi import commandLines, parseArguments, readCommands

ROOT = Path(__file__).parent.parent


def env(version: Optional[str] = "22.10.1") -> bytes:
    lines = ["agi_network: yes", "agi_network_script: t", "agi_request: agi://127.0.0.1/t",
             "agi_channel: Local/100@fastagi-00000002;2", "agi_context: fastagi",
             "agi_extension: 100", "agi_priority: 2"]
    if version is not None:
        lines.append("agi_version: %s" % (version,))
    return ("\n".join(lines) + "\n\n").encode()


class KeepAliveTransport(StringTransport):
    """A StringTransport that, like a TCP transport, has setTcpKeepAlive."""

    keepAlive: Optional[bool] = None

    def setTcpKeepAlive(self, enabled: bool) -> None:
        self.keepAlive = enabled


class Session:
    """A FastAGI connection on a StringTransport, its environment read."""

    def __init__(self, version: Optional[str] = "22.10.1",
                 handler: Optional[Callable[[Any], Any]] = None, **options: Any) -> None:
        self.clock = task.Clock()
        self.sessions: List[fastagi.FastAGIProtocol] = []

        def main(agi: fastagi.FastAGIProtocol) -> Any:
            self.sessions.append(agi)
            return handler(agi) if handler is not None else None

        self.factory = fastagi.FastAGIFactory(main, clock=self.clock, **options)
        agi = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        assert agi is not None
        self.agi = agi
        self.transport = KeepAliveTransport()
        connect(agi, self.transport)
        if version != "no environment":
            agi.dataReceived(env(version))

    def take(self) -> bytes:
        value: bytes = self.transport.value()
        self.transport.clear()
        return value


# -- 1: command lines Asterisk would split --------------------------------------------


@pytest.mark.parametrize("version, limit", [
    ("22.10.1", 8191), ("22.6.0", 8191), ("21.11.0", 8191), ("20.16.0", 8191),
    ("23.0.0-rc1", 8191), ("certified-22.8-cert1", 8191),
    ("22.5.2", 2047), ("21.10.2", 2047), ("20.15.2", 2047), ("certified-20.7-cert11", 2047),
    ("certified/18.9-cert4", 2047), ("1.8.32.3", 2047), ("GIT-master-1a2b3c", 2047),
    ("", 2047), (None, 2047),
])
def test_lineLimitFollowsAgiVersion(version: Optional[str], limit: int) -> None:
    assert codec.maxCommandBytes(version) == limit
    session = Session(version)
    room = limit - len(b"NOOP \n")
    fits = session.agi.sendCommand("NOOP", "y" * room)
    sent = session.take()
    assert len(sent) == limit
    assert commandLines(sent, limit + 1) == [b"NOOP " + b"y" * room]
    session.agi.dataReceived(b"200 result=0\n")
    assert result(fits).code == 200
    tooLong = session.agi.sendCommand("NOOP", "y" * (room + 1))
    reason = failure(tooLong)
    assert reason.check(ValueError)
    assert "too long" in str(reason.value) and str(limit) in str(reason.value)
    assert session.take() == b""
    assert session.agi.pendingCount == 0


def test_bytesAreCountedEncoded() -> None:
    session = Session("20.7.0")
    room = 2047 - len(b"NOOP \n")
    # "é" is two bytes: half as many characters fill the line.
    assert failure(session.agi.sendCommand("NOOP", "é" * (room // 2 + 1))).check(ValueError)
    assert session.take() == b""
    session.agi.sendCommand("NOOP", "é" * (room // 2))
    assert len(session.take()) == 2047 - room % 2


def test_rawCommandLinesAreCheckedToo() -> None:
    session = Session("20.7.0")
    for line in ["NOOP " + "x" * 2042, "NOOP a\nEXEC Set X=1", "NOOP a\rb", "NOOP a\x00b",
                 "NOOP \ud800"]:
        assert failure(session.agi.sendCommandLine(line)).check(ValueError)
    assert session.take() == b""
    assert session.agi.pendingCount == 0


def test_queuedCommandIsCheckedBeforeQueueing() -> None:
    session = Session("22.10.1")
    first = session.agi.noop()
    session.take()
    refused = session.agi.setVariable("V", "x" * 9000)
    assert failure(refused).check(ValueError)
    later = session.agi.noop()
    session.agi.dataReceived(b"200 result=0\n")
    assert result(first) == 0
    assert session.take() == b"NOOP\n"  # the refused one never reaches the queue
    session.agi.dataReceived(b"200 result=0\n")
    assert result(later) == 0


INJECTED_VALUE_PREFIX = 'SET VARIABLE V "'


def injectionValue(buffer: int) -> str:
    """A value whose line crosses byte buffer-1 exactly where an EXEC starts."""
    return "x" * (buffer - 1 - len(INJECTED_VALUE_PREFIX)) + "EXEC Set INJECTED=1"


@pytest.mark.parametrize("version, buffer", [("22.10.1", 8192), ("20.7.0", 2048)])
def test_fakeAsteriskShowsTheInjectionAndTheGuardRefusesIt(version: str, buffer: int) -> None:
    clock = task.Clock()
    sessions: List[fastagi.FastAGIProtocol] = []
    factory = fastagi.FastAGIFactory(sessions.append, clock=clock)
    channel = SimulatedChannel(version=version)
    call = placeCallInMemory(factory, channel, clock)
    call.flush()
    (agi,) = sessions
    value = injectionValue(buffer)

    # Guarded: refused, nothing sent, nothing run.
    assert failure(agi.setVariable("V", value)).check(ValueError)
    call.flush()
    assert call.transcript.commands() == []
    assert "INJECTED" not in channel.variables and "V" not in channel.variables

    # The guard bypassed (the same line written raw): the fake, like
    # Asterisk, runs the tail as a command of its own.
    raw = codec.formatCommand("SET VARIABLE", "V", value).encode() + b"\n"
    assert agi.transport is not None
    agi.transport.write(raw)
    call.flush()
    assert channel.variables["INJECTED"] == "1"
    assert [line[:20] for line in call.transcript.commands()] == [
        b'SET VARIABLE V "xxxx', b'EXEC Set INJECTED=1"']


def test_longestAcceptedLineIsOneCommandForTheFake() -> None:
    clock = task.Clock()
    sessions: List[fastagi.FastAGIProtocol] = []
    channel = SimulatedChannel(version="22.10.1")
    call = placeCallInMemory(fastagi.FastAGIFactory(sessions.append, clock=clock), channel,
                             clock)
    call.flush()
    (agi,) = sessions
    value = "v " * ((8191 - len(b'SET VARIABLE V ""\n')) // 2)
    d = agi.setVariable("V", value)
    call.flush()
    assert result(d) == 1
    assert channel.variables["V"] == value
    assert len(call.transcript.commands()) == 1


def test_tooManyWordsRefused() -> None:
    with pytest.raises(ValueError, match="127"):
        codec.formatCommand("EXEC", *(["a"] * 127))
    assert len(parseArguments(codec.formatCommand("EXEC", *(["a"] * 126)).encode())) == 127


class StubDispatcher:
    def __init__(self) -> None:
        self.commands: dict[str, Any] = {}
        self.count = 0

    def trackCommand(self, session: Any) -> str:
        self.count += 1
        self.commands["c%d" % (self.count,)] = session
        return "c%d" % (self.count,)


class StubAMI:
    def __init__(self) -> None:
        self.actions: List[Any] = []

    def sendAction(self, name: str, headers: Any) -> "Deferred[Any]":
        self.actions.append((name, headers))
        return Deferred()


def test_asyncAGICommandMustFitOneAMILine() -> None:
    ami = StubAMI()
    start = Message([("Event", "AsyncAGIStart"), ("Channel", "Local/300@a-1;2")])
    session = asyncagi.AsyncAGISession(
        StubDispatcher(), ami, start,  # type: ignore[arg-type]
        {"agi_channel": "Local/300@a-1;2", "agi_version": "22.10.1"}, task.Clock())
    room = 1024 - len(b"Command: \r\n")
    line = "NOOP " + "z" * (room - len("NOOP "))
    session.sendCommandLine(line)
    assert ami.actions[-1][1][1] == ("Command", line)
    assert len(b"Command: " + line.encode() + b"\r\n") == 1024
    assert session.commands.replyArrived(codec.parseReplyText("200 result=0"))  # answered
    reason = failure(session.sendCommandLine(line + "z"))
    assert reason.check(ValueError)
    assert "1024" in str(reason.value) and "AMI" in str(reason.value)
    assert failure(session.verbose("é" * 510)).check(ValueError)  # 1020 bytes
    assert failure(session.noop("a\x00b")).check(ValueError)
    assert len(ami.actions) == 1


# -- 4: the property: what StarPy writes is what Asterisk reads, or refused --------------

SPECIAL = st.sampled_from(list(' "\\\t=\'\r\n\x00,;|$') + ["é", "€", "😀", "\udc80", "\ud800"])
CHARS = st.one_of(SPECIAL, st.characters(blacklist_categories=()))
SHORT = st.text(CHARS, max_size=30)
LONG = st.builds(lambda unit, count: unit * count, st.text(CHARS, min_size=1, max_size=4),
                 st.integers(min_value=0, max_value=4200))
NEAR_LIMIT = st.builds(lambda unit, count: unit * count, st.text(CHARS, min_size=1, max_size=1),
                       st.one_of(st.integers(2020, 2060), st.integers(8160, 8200)))
VALUES = st.one_of(SHORT, SHORT, LONG, NEAR_LIMIT, st.integers(-10**12, 10**12))
VERSIONS = st.sampled_from(["22.10.1", "20.7.0", "certified-22.8-cert2", "oops", None])


def _refusable(command: str, arguments: List[Any], limit: int) -> bool:
    """Whether Asterisk could not read the arguments back: then StarPy must refuse."""
    texts = [a if isinstance(a, str) else str(a) for a in arguments]
    if any(ch in text for text in texts for ch in "\r\n\x00"):
        return True
    try:
        quoted = command + "".join(" " + codec.quoteArgument(a) for a in arguments)
        return len(quoted.encode("utf-8", "surrogateescape")) + 1 > limit
    except UnicodeEncodeError:
        return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(["VERBOSE", "SET VARIABLE", "DATABASE PUT", "EXEC"]),
       arguments=st.lists(VALUES, min_size=1, max_size=4), version=VERSIONS)
def test_whatIsWrittenIsReadBackExactlyOrRefused(command: str, arguments: List[Any],
                                                 version: Optional[str]) -> None:
    session = Session(version)
    d = session.agi.sendCommand(command, *arguments)
    written = session.take()
    limit = codec.maxCommandBytes(version)
    if written == b"":
        reason = failure(d)
        assert reason.check(ValueError), reason
        assert _refusable(command, arguments, limit)
        return
    unfired(d)
    commands = readCommands(written, limit + 1)
    assert commands == [command.split() + [a if isinstance(a, str) else str(a)
                                           for a in arguments]]
    assert written.endswith(b"\n") and len(written) <= limit


@settings(max_examples=300, deadline=None)
@given(value=VALUES, version=VERSIONS)
def test_setVariableValueArrivesExactlyOrIsRefused(value: Any, version: Optional[str]) -> None:
    session = Session(version)
    d = session.agi.setVariable("NAME", value)
    written = session.take()
    limit = codec.maxCommandBytes(version)
    if not written:
        assert failure(d).check(ValueError)
        assert _refusable("SET VARIABLE", ["NAME", value], limit)
        return
    expected = value if isinstance(value, str) else str(value)
    assert readCommands(written, limit + 1) == [["SET", "VARIABLE", "NAME", expected]]


# -- 8: nothing is sent after finish() --------------------------------------------------------


def test_commandAfterFinishFailsAtOnceAndSendsNothing() -> None:
    session = Session()
    agi = session.agi
    inFlight = agi.answer()
    queued = agi.noop()
    assert session.take() == b"ANSWER\n"
    agi.finish()
    assert session.transport.disconnecting
    assert failure(queued).check(error.AGIHangup)
    late = agi.getVariable("X")
    assert failure(late).check(error.AGIHangup)
    assert failure(agi.sendCommandLine("NOOP")).check(error.AGIHangup)
    # A reply arriving while closing is not read, and sends nothing either.
    agi.dataReceived(b"200 result=0\n")
    assert session.take() == b""
    unfired(inFlight)
    agi.connectionLost()
    assert failure(inFlight).check(error.AGIHangup)
    assert ("GET VARIABLE X", "(not sent: the AGI session has ended)") in agi.history


# -- 11: command timeout and keepalive --------------------------------------------------------


def test_keepAliveOnAcceptedConnections() -> None:
    assert Session().transport.keepAlive is True
    assert Session(tcpKeepAlive=False).transport.keepAlive is None


def test_commandTimeoutIsOffByDefault() -> None:
    session = Session()
    d = session.agi.waitForDigit(-1)
    session.clock.advance(86400)
    unfired(d)
    assert session.clock.getDelayedCalls() == []


def test_commandTimeoutFailsTheCommandAndDropsTheConnection() -> None:
    session = Session(commandTimeout=5.0)
    agi = session.agi
    first = agi.answer()
    queued = agi.noop()
    session.clock.advance(4.9)
    unfired(first)
    session.clock.advance(0.1)
    reason = failure(first)
    assert reason.check(error.AGICommandTimeout)
    assert isinstance(reason.value, error.AGICommandFailure)
    assert failure(queued).check(error.AGIHangup)
    assert session.transport.disconnected
    assert agi.closed
    assert session.take() == b"ANSWER\n"
    assert failure(agi.noop()).check(error.AGIHangup)
    assert sessionTimers(session.clock, session.factory) == []


def test_commandTimeoutCountsFromEachCommandsOwnStart() -> None:
    session = Session(commandTimeout=5.0)
    agi = session.agi
    first = agi.answer()
    session.clock.advance(3)
    agi.dataReceived(b"200 result=0\n")
    assert result(first) == 0
    second = agi.noop()
    session.clock.advance(4.9)  # 7.9 s after the first: the second has 0.1 s left
    unfired(second)
    session.clock.advance(0.1)
    assert failure(second).check(error.AGICommandTimeout)


def test_commandTimeoutUsesOneTimerNotOnePerCommand() -> None:
    session = Session(commandTimeout=10.0)
    agi = session.agi
    calls = []
    original = session.clock.callLater

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(args[0])
        return original(*args, **kw)

    session.clock.callLater = counting  # type: ignore[method-assign]
    for _ in range(2000):
        d = agi.noop()
        session.clock.advance(0.01)
        agi.dataReceived(b"200 result=0\n")
        assert result(d) == 0
    # 20 simulated seconds: the one timer was re-armed about twice, not 2000 times.
    assert len(calls) <= 4
    assert len(session.clock.getDelayedCalls()) <= 1


def test_commandTimeoutPerSessionAndValidated() -> None:
    session = Session()
    agi = session.agi
    d = agi.answer()
    agi.commandTimeout = 2
    session.clock.advance(2)
    assert failure(d).check(error.AGICommandTimeout)
    for bad in (0, -1, math.nan):
        with pytest.raises(ValueError):
            Session().agi.commandTimeout = bad
        with pytest.raises(ValueError):
            fastagi.FastAGIFactory(lambda agi: None, commandTimeout=bad)


def test_commandTimeoutRefusedTheSameWayBySessionAndFactory() -> None:
    cases: List[Tuple[Any, type]] = [(True, TypeError), ("5", TypeError), (math.inf, ValueError)]
    for bad, kind in cases:
        with pytest.raises(kind):
            Session().agi.commandTimeout = bad
        with pytest.raises(kind):  # at once, not at each connection
            fastagi.FastAGIFactory(lambda agi: None, commandTimeout=bad)


# -- 12: nothing delivered once closing --------------------------------------------------------


def test_nothingDeliveredAfterTheHandlerClosesMidChunk() -> None:
    session = Session("no environment", handler=lambda agi: agi.finish())
    session.agi.dataReceived(env() + b"HANGUP\n200 result=0\n")
    assert session.sessions == [session.agi]
    assert not session.agi.hungUp


def test_nothingDeliveredOnceTheTransportIsDisconnecting() -> None:
    def handler(agi: Any) -> None:
        agi.transport.loseConnection()

    session = Session("no environment", handler=handler)
    session.agi.dataReceived(env() + b"HANGUP\n")
    assert not session.agi.hungUp
    session.agi.dataReceived(b"HANGUP\n")
    assert not session.agi.hungUp


# -- 13: bad times and numbers ------------------------------------------------------------------


def test_waitRefusesNegativeAndNaN() -> None:
    session = Session()
    for bad in (-1, -0.5, math.nan):
        assert failure(session.agi.wait(bad)).check(ValueError)
    assert sessionTimers(session.clock, session.factory) == []
    d = session.agi.wait(0)
    session.clock.advance(0)
    assert result(d) == 0


@pytest.mark.parametrize("call", [
    lambda agi: agi.waitForDigit(math.nan),
    lambda agi: agi.waitForDigit(math.inf),
    lambda agi: agi.getData("x", math.nan),
    lambda agi: agi.getOption("x", "1", math.inf),
    lambda agi: agi.receiveChar(math.nan),
    lambda agi: agi.setAutoHangup(math.nan),
    lambda agi: agi.setAutoHangup(math.inf),
    lambda agi: agi.controlStreamFile("x", "", skip=math.nan),
    lambda agi: agi.sendCommand("NOOP", math.nan),
    lambda agi: agi.sayDateTime(math.nan),
    lambda agi: agi.sayTime(math.inf),
])
def test_nonFiniteNumbersRefusedBeforeSending(call: Callable[[AGISession], Any]) -> None:
    """Refused with ValueError, raised at once or as the Deferred's failure."""
    session = Session()
    try:
        d = call(session.agi)
    except ValueError as e:
        message = str(e)
    else:
        reason = failure(d)
        assert reason.check(ValueError)
        message = str(reason.value)
    assert "finite" in message
    assert session.take() == b""


def test_negativeDigitTimeoutStillMeansForever() -> None:
    session = Session()
    session.agi.waitForDigit(-1)
    assert session.take() == b"WAIT FOR DIGIT -1\n"


# -- 14: malformed replies -------------------------------------------------------------------

MALFORMED = [
    (lambda agi: agi.answer(), "200 result=abc"),
    (lambda agi: agi.answer(), "200"),
    (lambda agi: agi.answer(), "200 result="),
    (lambda agi: agi.sendCommand("NOOP"), "200"),
    (lambda agi: agi.channelStatus(), "200 result=six"),
    (lambda agi: agi.waitForDigit(1), "200 result=x"),
    (lambda agi: agi.getOption("f", "1"), "200 result=49 endpos=abc"),
    (lambda agi: agi.streamFile("f"), "200 result=0 endpos=abc"),
    (lambda agi: agi.streamFile("f"), "200 result=abc endpos=0"),
    (lambda agi: agi.controlStreamFile("f"), "200 result=0 endpos=1.5"),
    (lambda agi: agi.sayNumber(5), "200 result=five"),
]


@pytest.mark.parametrize("call, reply", MALFORMED)
def test_malformedRepliesFailWithAGIReplyError(call: Callable[[AGISession], Any],
                                                 reply: str) -> None:
    session = Session()
    d = call(session.agi)
    line = session.take().decode().rstrip("\n")
    session.agi.dataReceived(reply.encode() + b"\n")
    reason = failure(d)
    assert reason.check(error.AGIReplyError), reason
    assert isinstance(reason.value, error.AGIError)
    assert isinstance(reason.value, error.AGIProtocolError)
    assert isinstance(reason.value, error.AGIReplyError)
    # The command is named when the reply is checked with it; conversions
    # chained after sendCommand know only the reply.
    assert reason.value.command in (line, None)
    assert reason.value.reply == reply
    assert reply in str(reason.value)
    # The session goes on.
    after = session.agi.noop()
    session.agi.dataReceived(b"200 result=0\n")
    assert result(after) == 0


def test_resultAsIntRaisesAGIReplyError() -> None:
    with pytest.raises(error.AGIReplyError):
        codec.parseReplyLine("200 result=abc").resultAsInt()
    with pytest.raises(ValueError):  # still a ValueError, as before
        codec.parseReplyLine("200").resultAsInt()


# -- 18: IPv4-mapped clients -----------------------------------------------------------------


@pytest.mark.parametrize("host, allowed, expected", [
    ("::ffff:127.0.0.1", ["127.0.0.1"], True),
    ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),
    ("::ffff:10.1.2.3", ["192.168.0.0/16"], False),
    ("127.0.0.1", ["::ffff:127.0.0.1"], True),
    ("10.1.2.3", ["::ffff:10.0.0.0/104"], True),
    ("::1", ["127.0.0.1"], False),
    ("127.0.0.1", ["::1"], False),
    ("::1", ["::1"], True),
    ("2001:db8::ffff:127.0.0.1", ["127.0.0.1"], False),
])
def test_ipv4MappedAddressesMatch(host: str, allowed: List[str], expected: bool) -> None:
    factory = fastagi.FastAGIFactory(lambda agi: None, allowedClients=allowed)
    address = (IPv6Address("TCP", host, 4000) if ":" in host
               else IPv4Address("TCP", host, 4000))
    assert factory.isAllowed(address) is expected
    assert (factory.buildProtocol(address) is not None) is expected


# -- 19: the password's replies are masked -----------------------------------------------


def test_passwordDigitsNeverReachTheFailureReport(caplog: pytest.LogCaptureFixture,
                                                   loggedErrors: LoggedErrors) -> None:
    caplog.set_level(logging.DEBUG)
    clock = task.Clock()
    model = menu.CollectPassword(expected="4321")

    async def handler(agi: AGISession) -> None:
        agi.setTrace(True)
        entered = await model(agi)
        assert entered == [(model, "4321")]
        await agi.getVariable("AFTER")
        raise RuntimeError("handler fails after the password")

    channel = SimulatedChannel(dtmf=[(0.5, "4"), (1.0, "3"), (1.5, "2"), (2.0, "1"),
                                     (2.5, "#")], variables={"AFTER": "kept"},
                               sounds={"agent-pass": 2.0})
    call = placeCallInMemory(fastagi.FastAGIFactory(handler, clock=clock), channel, clock)
    call.runUntilFinished()
    [logged] = loggedErrors.flush(match="handler fails after the password")
    reports = [r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR and "handler failed" in r.getMessage()]
    assert len(reports) == 1
    report = reports[0]
    assert report in logged.text
    history = report.split("Last ", 1)[1]
    for code in (ord(d) for d in "4321#"):
        assert "result=%d" % (code,) not in caplog.text
    assert "4321" not in history
    assert "STREAM FILE agent-pass" in history  # the commands stay visible
    assert "(reply hidden)" in history
    assert "<< 200 result=1 (kept)" in history  # later history intact


# -- 20: classic AGI without an environment ------------------------------------------------


@pytest.mark.parametrize("stdin, why", [
    (b"", "stdin is empty"),
    (b"hello there\n\n", "not an AGI environment"),
    (b"key: value\n\n", "not an AGI environment"),
    (b"agi_request: x\nagi_channel: y\n", "ended before the AGI environment was complete"),
])
def test_classicAGIWithoutEnvironmentExitsNonZero(stdin: bytes, why: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "starpy", "agi", "tests.agiscripts:hello"], cwd=str(ROOT),
        input=stdin, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == b""
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert why in lines[0] and "handler did not run" in lines[0]


def test_classicAGIWithEnvironmentStillExitsZero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "starpy", "agi", "tests.agiscripts:finishAtOnce"],
        cwd=str(ROOT), input=b"agi_request: x\nagi_channel: y\n\n", capture_output=True,
        timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""



# -- application arguments inside EXEC and GOSUB ---------------------------------------


def sentAppArguments(session: Session, raw: bool) -> List[str]:
    """The arguments the application of the command just written gets: the
    line split as res_agi.c's parse_args does, then its last word as the
    application splits its data (raw: Gosub; standard: Playback, Dial...)."""
    (line,) = session.take().splitlines()
    data = parseArguments(line)[-1].encode("utf-8", "surrogateescape")
    return [piece.decode("utf-8", "surrogateescape")
            for piece in separateAppArguments(data, 64, removeChars=not raw)]


def test_gosubArgumentsReachTheSubroutineEachWholeOrAreRefused() -> None:
    session = Session()
    agi = session.agi
    agi.gosub("sub", "s", 1, "a b", "M(x,y)", 42)
    assert sentAppArguments(session, raw=True) == ["a b", "M(x,y)", "42"]
    agi.dataReceived(b"200 result=0 Gosub complete\n")
    for bad in ["a,b", 'say "hi"', "back\\slash", "open(", "[x,y"]:
        reason = failure(agi.gosub("sub", "s", 1, "fine", bad))
        assert reason.check(ValueError) and "Gosub argument 2" in reason.getErrorMessage()
    assert session.take() == b""


def test_severalExecOptionsReachTheApplicationEachWholeOrAreRefused() -> None:
    session = Session()
    agi = session.agi
    agi.execute("Dial", "PJSIP/1&PJSIP/2", "20", "M(macro^a,b)")
    assert sentAppArguments(session, raw=False) == ["PJSIP/1&PJSIP/2", "20", "M(macro^a,b)"]
    agi.dataReceived(b"200 result=0\n")
    reason = failure(agi.execute("Dial", "PJSIP/1,PJSIP/2", "20"))
    assert reason.check(ValueError) and "Dial option 1" in reason.getErrorMessage()
    assert session.take() == b""
    agi.execute("Set", "X=a,b")  # one option: the application's whole data, as given
    (line,) = session.take().splitlines()
    assert parseArguments(line) == ["EXEC", "Set", "X=a,b"]


def test_playbackFileNameReachesPlaybackWhole() -> None:
    session = Session()
    agi = session.agi
    for name, doAnswer, expected in [
            ("my,file", 0, ["my,file", "noanswer"]), ('say "hi"', 1, ['say "hi"']),
            ("a\\b(c", -1, ["a\\b(c", "skip"]), ("one&two", 1, ["one&two"])]:
        agi.playback(name, doAnswer)
        assert sentAppArguments(session, raw=False) == expected
        agi.dataReceived(b"200 result=0\n")
    assert failure(agi.playback("bad\nname")).check(ValueError)
    assert session.take() == b""
