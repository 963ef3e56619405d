"""Tests for the FastAGI server (starpy.fastagi)."""
from __future__ import annotations

import logging
from typing import Any, Callable, List, Tuple

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, task
from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.failure import Failure

from starpy import error, fastagi
from starpy.agi import AGISession
from starpy.testing.pytest_plugin import LoggedErrors
from tests.wire import connect

from .agihelpers import FIXTURES, asteriskParseArgs, sessionTimers, transcriptExchanges

HELLO_ENV, HELLO = transcriptExchanges("fastagi-hello")
MENU_ENV, MENU = transcriptExchanges("fastagi-menu")
E555_ENV, E555 = transcriptExchanges("fastagi-555")


def env(script: str = "hello", *args: str) -> bytes:
    lines = [
        "agi_network: yes", "agi_network_script: %s" % script,
        "agi_request: agi://127.0.0.1:4573/%s" % script,
        "agi_channel: Local/100@fastagi-00000002;2", "agi_context: fastagi",
        "agi_extension: 100", "agi_priority: 2", "agi_accountcode: ",
    ]
    lines += ["agi_arg_%d: %s" % (i, a) for i, a in enumerate(args, 1)]
    return ("\n".join(lines) + "\n\n").encode()


class Server:
    """A FastAGI factory and one connection over a StringTransport."""

    def __init__(self, main: Callable[[Any], Any], **options: Any) -> None:
        self.clock = task.Clock()
        self.factory = fastagi.FastAGIFactory(main, clock=self.clock, **options)
        agi = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        assert agi is not None
        self.agi = agi
        self.transport = StringTransport()
        connect(self.agi, self.transport)

    def feed(self, data: bytes) -> None:
        self.agi.dataReceived(data)

    def take(self) -> bytes:
        value: bytes = self.transport.value()
        self.transport.clear()
        return value

    def close(self) -> None:
        self.agi.connectionLost(Failure(ConnectionError("closed")))

    def assertNothingPending(self) -> None:
        assert self.agi.commands.inFlight is None
        assert self.agi.pendingCount == 0
        assert sessionTimers(self.clock, self.factory) == []


class Recorder:
    """Runs calls in a handler and records each outcome (value or error class)."""

    def __init__(self) -> None:
        self.outcomes: List[Any] = []
        self.done = False

    async def run(self, d: "Deferred[Any]") -> Any:
        try:
            value = await d
        except error.AGIError as e:
            self.outcomes.append(type(e))
            return e
        self.outcomes.append(value)
        return value


def sameCommand(ours: bytes, asterisks: bytes) -> bool:
    """Whether Asterisk would read the same command from both lines."""
    return asteriskParseArgs(ours.decode().rstrip("\n")) == asteriskParseArgs(
        asterisks.decode().rstrip("\n"))


def replay(server: Server, environment: bytes,
           exchanges: List[Tuple[bytes, bytes]]) -> List[bytes]:
    """Feed the captured bytes; check each command we send against the capture.

    Returns the commands of the capture that we did not send (refused
    locally after hangup).
    """
    server.feed(environment)
    notSent = []
    for sent, received in exchanges:
        ours = server.take()
        if not ours:
            notSent.append(sent)
            continue
        assert ours.endswith(b"\n") and ours.count(b"\n") == 1
        assert sameCommand(ours, sent), (ours, sent)
        server.feed(received)
    return notSent


# -- replays of real Asterisk ------------------------------------------------------


def test_replayHello() -> None:
    r = Recorder()
    seen: List[AGISession] = []

    async def main(agi: fastagi.FastAGIProtocol) -> None:
        seen.append(agi)
        await r.run(agi.answer())
        await r.run(agi.getVariable("CHANNEL"))
        await r.run(agi.getVariable("NOSUCHVAR"))
        await r.run(agi.getFullVariable("${CHANNEL}-${EXTEN}"))
        await r.run(agi.setVariable("FOO", "bar baz"))
        await r.run(agi.getVariable("FOO"))
        await r.run(agi.channelStatus())
        await r.run(agi.verbose("hello from fastagi", 1))
        await r.run(agi.noop())
        await r.run(agi.streamFile("hello-world"))
        await r.run(agi.streamFile("no-such-sound-file"))
        await r.run(agi.sayNumber(42))
        await r.run(agi.sayDigits("123"))
        await r.run(agi.waitForDigit(3.0))
        await r.run(agi.databaseSet("fam", "key", "val"))
        await r.run(agi.databaseGet("fam", "key"))
        await r.run(agi.databaseGet("fam", "nokey"))
        await r.run(agi.databaseDel("fam", "key"))
        await r.run(agi.execute("NoOp", "exec from agi"))
        await r.run(agi.execute("NoSuchApp", "x"))
        await r.run(agi.gosub("sub-test", "s", 1, "gosubarg"))
        await r.run(agi.getVariable("GOSUB_RETVAL"))
        await r.run(agi.sendCommand("FOO BAR"))
        usage = await r.run(agi.sendCommand("STREAM FILE"))
        assert "PLAYBACKSTATUS" in usage.usage
        await r.run(agi.sendCommand("GET DATA"))
        await r.run(agi.hangup())
        await r.run(agi.getVariable("CHANNEL"))
        await r.run(agi.answer())
        await r.run(agi.streamFile("hello-world"))
        r.done = True

    server = Server(main)
    notSent = replay(server, HELLO_ENV, HELLO)
    channel = "Local/100@fastagi-00000002;2"
    assert r.outcomes == [
        0, channel, error.AGICommandFailure, channel + "-100", 1, "bar baz", 6, 1, 0, (0, 11234),
        error.AGICommandFailure, 0, 0, 0, 1, "val", error.AGICommandFailure, 1, "0",
        error.AGICommandFailure, 0, "gosubarg-done", error.AGIInvalidCommand,
        error.AGIUsageError, error.AGIUsageError, 1, channel,
        error.AGIHangup, error.AGIHangup,
    ]
    # After the HANGUP line, ANSWER and STREAM FILE are refused locally
    # instead of costing a round trip that Asterisk answers with 511.
    assert notSent == [b"ANSWER\n", b'STREAM FILE hello-world ""\n']
    assert r.done
    agi = seen[0]
    assert agi.hungUp
    assert agi.variables["agi_arg_2"] == "arg with space"
    assert server.agi.arguments == ["arg1", "arg with space"]
    assert server.agi.scriptPath == "hello"
    # The coroutine returned: the server closes the connection.
    assert server.transport.disconnecting
    closed = server.agi.whenClosed()
    assert not closed.called
    server.close()
    assert closed.called
    server.assertNothingPending()


def test_replayHelloExactBytes() -> None:
    """All but one line are byte-identical to what the capture's client sent."""
    sentByUs: List[bytes] = []

    async def main(agi: fastagi.FastAGIProtocol) -> None:
        calls: List[Callable[[], Deferred[Any]]] = [
            lambda: agi.answer(), lambda: agi.getVariable("CHANNEL"),
            lambda: agi.getVariable("NOSUCHVAR"),
            lambda: agi.getFullVariable("${CHANNEL}-${EXTEN}"),
            lambda: agi.setVariable("FOO", "bar baz")]
        for call in calls:
            try:
                await call()
            except error.AGICommandFailure:  # NOSUCHVAR is not set
                pass

    server = Server(main)
    server.feed(HELLO_ENV)
    for _sent, received in HELLO[:5]:
        ours = server.take()
        sentByUs.append(ours)
        server.feed(received)
    assert sentByUs == [b"ANSWER\n", b"GET VARIABLE CHANNEL\n", b"GET VARIABLE NOSUCHVAR\n",
                        b"GET FULL VARIABLE ${CHANNEL}-${EXTEN}\n",
                        b'SET VARIABLE FOO "bar baz"\n']


def test_replayMenu() -> None:
    r = Recorder()

    async def main(agi: fastagi.FastAGIProtocol) -> None:
        await r.run(agi.answer())
        await r.run(agi.waitForDigit(6))
        await r.run(agi.streamFile("demo-congrats", list("0123456789") + ["*", "#"]))
        await r.run(agi.waitForDigit(6))
        await r.run(agi.waitForDigit(30))
        await r.run(agi.getVariable("CHANNEL"))
        await r.run(agi.answer())

    server = Server(main)
    notSent = replay(server, MENU_ENV, MENU)
    assert r.outcomes == [0, 49, (50, 9760), 51, error.AGICommandFailure,
                          "Local/200@fastagi-00000003;2", error.AGIHangup]
    assert notSent == [b"ANSWER\n"]
    assert server.agi.variables["agi_callerid"] == "unknown"
    assert server.agi.scriptPath == "menu"
    server.close()
    server.assertNothingPending()


def test_replay555() -> None:
    r = Recorder()

    async def main(agi: fastagi.FastAGIProtocol) -> None:
        await r.run(agi.getVariable("EXTEN"))

    server = Server(main)
    assert replay(server, E555_ENV, E555) == []
    assert r.outcomes == ["555"]
    assert server.agi.arguments == []
    assert server.agi.scriptPath == "555"
    assert server.transport.disconnecting


def test_rawCaptureInOddChunks() -> None:
    """The whole raw byte stream, cut into 7-byte chunks, drives the same session."""
    raw = (FIXTURES / "fastagi-menu.raw").read_bytes()
    r = Recorder()

    async def main(agi: fastagi.FastAGIProtocol) -> None:
        await r.run(agi.answer())
        await r.run(agi.waitForDigit(6))
        await r.run(agi.streamFile("demo-congrats", "0123456789*#"))
        await r.run(agi.waitForDigit(6))
        await r.run(agi.waitForDigit(30))
        await r.run(agi.getVariable("CHANNEL"))

    server = Server(main)
    for i in range(0, len(raw), 7):
        server.feed(raw[i:i + 7])
    assert r.outcomes == [0, 49, (50, 9760), 51, error.AGICommandFailure,
                          "Local/200@fastagi-00000003;2"]
    assert server.transport.disconnecting


# -- one command in flight, interleavings --------------------------------------------


def started(main: Callable[[Any], Any] = lambda agi: None, script: str = "hello") -> Server:
    server = Server(main)
    server.feed(env(script))
    return server


def test_oneCommandInFlightRestQueued() -> None:
    server = started()
    agi = server.agi
    a = agi.answer()
    b = agi.getVariable("A")
    c = agi.streamFile("x")
    assert server.take() == b"ANSWER\n"
    server.feed(b"200 result=0\n")
    assert server.take() == b"GET VARIABLE A\n"
    server.feed(b"200 result=1 (a)\n")
    assert server.take() == b'STREAM FILE x ""\n'
    server.feed(b"200 result=0 endpos=5\n")
    got: List[Any] = []
    for d in (a, b, c):
        d.addCallback(got.append)
    assert got == [0, "a", (0, 5)]
    server.assertNothingPending()


def collect(*ds: "Deferred[Any]") -> List[Any]:
    out: List[Any] = []
    for d in ds:
        d.addBoth(lambda v: out.append(type(v.value) if isinstance(v, Failure) else v))
    return out


def test_interimHangupAndUsageKeepResultsAligned() -> None:
    server = started()
    agi = server.agi
    ds: List[Deferred[Any]] = [agi.gosub("sub-test", "s", 1), agi.sendCommand("STREAM FILE"),
          agi.sendCommand("FOO BAR"), agi.getVariable("X"), agi.noop(), agi.getVariable("Y")]
    out = collect(*ds)
    server.feed(b"100 result=0 Trying...\n")
    assert out == []
    server.feed(b"HANGUP\n")
    assert out == [] and agi.hungUp
    server.feed(b"200 result=0 Gosub complete\n")
    assert out == [0]
    server.feed(b"520-Invalid command syntax.  Proper usage follows:\nUsage (a) 200 result=1\n"
                b"HANGUP\n520 End of proper usage.\n")
    assert out == [0, error.AGIUsageError]
    server.feed(b"510 Invalid or unknown command\n200 result=1 (x)\nHANGUP\n200 result=0\n")
    assert out == [0, error.AGIUsageError, error.AGIInvalidCommand, "x", 0]
    server.feed(b"200 result=1 (y)\n")
    assert out == [0, error.AGIUsageError, error.AGIInvalidCommand, "x", 0, "y"]
    written = server.take().decode().splitlines()
    assert written == ["GOSUB sub-test s 1", "STREAM FILE", "FOO BAR", "GET VARIABLE X",
                       "NOOP", "GET VARIABLE Y"]
    server.assertNothingPending()


def test_hangupWithNothingPendingAndStrayReply(caplog: pytest.LogCaptureFixture) -> None:
    server = started()
    server.feed(b"HANGUP\n")
    assert server.agi.hungUp
    with caplog.at_level(logging.WARNING, logger="starpy.fastagi"):
        server.feed(b"200 result=0\n")
    assert "no command waiting" in caplog.text
    d = server.agi.getVariable("A")
    assert server.take() == b"GET VARIABLE A\n"
    server.feed(b"200 result=1 (ok)\n")
    assert collect(d) == ["ok"]


def test_deadChannelReply() -> None:
    server = started()
    d = server.agi.answer()
    server.feed(b"511 Command Not Permitted on a dead channel or intercept routine\n")
    assert collect(d) == [error.AGIDeadChannel]
    assert server.agi.hungUp


def test_cancelQueuedCommand() -> None:
    server = started()
    agi = server.agi
    a = agi.answer()
    b = agi.streamFile("x")
    c = agi.noop()
    b.cancel()
    out = collect(a, b, c)
    assert out == [defer.CancelledError]
    server.feed(b"200 result=0\n")
    assert server.take() == b"ANSWER\nNOOP\n"
    server.feed(b"200 result=0\n")
    assert out == [defer.CancelledError, 0, 0]


def test_cancelInFlightCommandDropsItsReply() -> None:
    server = started()
    agi = server.agi
    a = agi.waitForDigit(10)
    b = agi.noop()
    a.cancel()
    out = collect(a, b)
    server.feed(b"200 result=49\n")
    server.feed(b"200 result=0\n")
    assert out == [defer.CancelledError, 0]
    assert server.take() == b"WAIT FOR DIGIT 10000\nNOOP\n"


def test_connectionLostFailsPendingWithHangup() -> None:
    server = started()
    a = server.agi.answer()
    b = server.agi.noop()
    out = collect(a, b)
    server.close()
    assert out == [error.AGIHangup, error.AGIHangup]
    assert server.agi.closed
    assert collect(server.agi.noop()) == [error.AGIHangup]
    server.assertNothingPending()


def test_lineTooLongDropsConnection(loggedErrors: LoggedErrors) -> None:
    server = Server(lambda agi: None, maxLineLength=64)
    server.feed(env())
    d = server.agi.noop()
    server.feed(b"200 result=1 (" + b"x" * 100)
    assert collect(d) == [error.AGIHangup]
    assert server.transport.disconnecting
    assert loggedErrors.flush(match="protocol error, dropping the connection: line longer than 64")


def test_environmentBounded(loggedErrors: LoggedErrors) -> None:
    called: List[Any] = []
    server = Server(called.append, maxEnvironmentLines=5)
    server.feed(b"".join(b"agi_x%d: y\n" % i for i in range(6)))
    assert server.transport.disconnecting
    assert called == []
    assert loggedErrors.flush(match="protocol error, dropping the connection: environment block"
                              " longer than 5 lines")


def test_finishIsIdempotentAndDataAfterCloseIgnored() -> None:
    server = started()
    server.agi.finish()
    server.agi.finish()
    assert server.transport.disconnecting
    server.close()
    server.agi.finish()
    server.feed(b"200 result=0\n")


# -- hangup at every step of a scripted session ------------------------------------------

SCRIPT_REPLIES = [b"200 result=0\n", b"200 result=1 (v)\n", b"200 result=0 endpos=10\n",
                  None, b"200 result=49\n", b"200 result=1\n"]


async def scripted(agi: fastagi.FastAGIProtocol) -> None:
    await agi.answer()
    await agi.getVariable("X")
    await agi.streamFile("hello-world", "#")
    await agi.wait(1.5)
    await agi.waitForDigit(5)
    await agi.setVariable("DONE", "yes")


def driveScript(steps: int, how: str) -> Tuple[Server, List[str]]:
    errors: List[str] = []
    main_done: List[Any] = []

    def main(agi: fastagi.FastAGIProtocol) -> Deferred[None]:
        d = Deferred.fromCoroutine(scripted(agi))

        def record(outcome: Any) -> Any:
            main_done.append(outcome)
            return outcome

        return d.addBoth(record)

    server = Server(main)
    server.feed(env())
    for reply in SCRIPT_REPLIES[:steps]:
        if reply is None:
            server.clock.advance(1.5)
        else:
            server.take()
            server.feed(reply)
    if how == "close":
        server.close()
    elif how == "hangup-line":
        server.feed(b"HANGUP\n")
        # Asterisk still answers the command in flight (with -1, as in the menu
        # capture; the dead-safe SET VARIABLE normally).
        inFlight = server.agi.commands.inFlight
        if inFlight is not None:
            if inFlight.line.startswith("SET VARIABLE"):
                server.feed(b"200 result=1\n")
            else:
                server.feed(b"200 result=-1\n")
        server.clock.advance(2)
        # The handler ends by itself (a refused command) and the server hangs up.
        assert server.transport.disconnecting
        server.close()
    assert main_done, "handler still running"
    result = main_done[0]
    if isinstance(result, Failure):
        assert result.type is not None
        errors.append(result.type.__name__)
    return server, errors


@pytest.mark.parametrize("how", ["close", "hangup-line"])
@pytest.mark.parametrize("steps", range(len(SCRIPT_REPLIES) + 1))
def test_hangupAtEveryStepLeavesNothingPending(steps: int, how: str,
                                               loggedErrors: LoggedErrors) -> None:
    server, errors = driveScript(steps, how)
    server.assertNothingPending()
    assert server.agi.closed
    logged = loggedErrors.flush(match="AGI handler failed")
    if steps == len(SCRIPT_REPLIES) or (steps == len(SCRIPT_REPLIES) - 1 and how == "hangup-line"):
        # All done, or only the dead-safe SET VARIABLE left, which still runs.
        assert errors == []
        assert logged == []
    else:
        assert errors and errors[0] in ("AGIHangup", "AGICommandFailure")
        [report] = logged
        assert "Traceback" in report.text and errors[0] in report.text


# -- handlers ----------------------------------------------------------------------------


def test_plainValueHandlerLeavesSessionOpen() -> None:
    got: List[Any] = []
    server = started(lambda agi: got.append(agi))
    assert got == [server.agi]
    assert not server.transport.disconnecting


def test_deferredHandlerFinishesWhenDone() -> None:
    gate: Deferred[None] = Deferred()
    server = started(lambda agi: gate)
    assert not server.transport.disconnecting
    gate.callback(None)
    assert server.transport.disconnecting


@pytest.mark.parametrize("kind", ["sync", "deferred", "async"])
def test_handlerFailureLoggedAndFinished(kind: str, loggedErrors: LoggedErrors) -> None:
    def syncMain(agi: Any) -> None:
        raise RuntimeError("sync boom")

    def deferredMain(agi: Any) -> Deferred[None]:
        return defer.fail(RuntimeError("deferred boom"))

    async def asyncMain(agi: Any) -> None:
        await agi.answer()
        raise RuntimeError("async boom")

    main = {"sync": syncMain, "deferred": deferredMain, "async": asyncMain}[kind]
    server = started(main)
    if kind == "async":
        server.feed(b"200 result=0\n")
    assert server.transport.disconnecting
    [logged] = loggedErrors.flush(match="RuntimeError: %s boom" % (kind,))
    assert "Traceback" in logged.text
    assert logged.message.startswith("AGI handler failed on Local/100@fastagi-00000002;2")
    server.close()
    server.assertNothingPending()


# -- routing, allowlist, listening ------------------------------------------------------------


def test_router() -> None:
    calls: List[Tuple[str, Any]] = []
    router = fastagi.FastAGIRouter({"/hello": lambda agi: calls.append(("hello", agi.arguments))},
                                   default=lambda agi: calls.append(("default", agi.scriptPath)))
    router.route("menu/", lambda agi: calls.append(("menu", agi.scriptQuery)))
    for script in ["hello", "menu?lang=fr&x=1", "other"]:
        server = Server(router)
        server.feed(env(script, "a b"))
    assert calls == [("hello", ["a b"]), ("menu", {"lang": ["fr"], "x": ["1"]}),
                     ("default", "other")]


def test_routerWithoutDefaultFinishes(caplog: pytest.LogCaptureFixture) -> None:
    router = fastagi.FastAGIRouter()
    with caplog.at_level(logging.WARNING, logger="starpy.fastagi"):
        server = Server(router)
        server.feed(env("nowhere"))
    assert server.transport.disconnecting
    assert "no handler for script 'nowhere'" in caplog.text


def test_allowedClients(caplog: pytest.LogCaptureFixture) -> None:
    factory = fastagi.FastAGIFactory(lambda agi: None, allowedClients=["10.0.0.5", "192.168.1.0/24"],
                                     clock=task.Clock())
    assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.5", 1)) is not None
    assert factory.buildProtocol(IPv4Address("TCP", "192.168.1.77", 1)) is not None
    assert factory.buildProtocol(UNIXAddress(b"/tmp/x")) is not None
    with caplog.at_level(logging.WARNING, logger="starpy.fastagi"):
        assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.6", 1)) is None
    assert "refused FastAGI connection" in caplog.text and "10.0.0.6" in caplog.text
    everyone = fastagi.FastAGIFactory(lambda agi: None)
    assert everyone.buildProtocol(IPv4Address("TCP", "8.8.8.8", 1)) is not None


def test_listenDefaultsToLoopback() -> None:
    from twisted.internet.testing import MemoryReactor

    reactor = MemoryReactor()
    factory = fastagi.FastAGIFactory(lambda agi: None)
    d = fastagi.listenFastAGI(factory, 4573, reactor=reactor)
    assert d.called
    port, usedFactory, backlog, interface = reactor.tcpServers[0]
    assert (port, usedFactory, interface) == (4573, factory, "127.0.0.1")
    assert backlog == fastagi.DEFAULT_BACKLOG == 1024  # survives bursts of calls
    fastagi.listenFastAGI(factory, 4574, interface="::1", reactor=reactor)
    assert reactor.tcpServers[1][3] == "::1"


def test_inSequenceIsExported() -> None:
    from starpy.agi import InSequence

    assert fastagi.InSequence is InSequence
    assert fastagi.log.name == "starpy.fastagi"


# -- end to end over loopback TCP --------------------------------------------------------------


class FakeAsterisk(LineOnlyReceiver):
    """A tiny Asterisk side: sends an environment, answers a fixed script."""

    delimiter = b"\n"

    def __init__(self, replies: dict[bytes, bytes]) -> None:
        self.replies = replies
        self.received: List[bytes] = []
        self.closed: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(env("hello", "arg1", "arg with space"))

    def lineReceived(self, line: bytes) -> None:
        self.received.append(line)
        assert self.transport is not None
        self.transport.write(self.replies.get(line, b"510 Invalid or unknown command\n"))

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.closed.callback(None)


def test_aTransportWithoutTheDisconnectingFlagIsRead() -> None:
    """dataReceived reads ``transport.disconnecting`` where there is one; a
    transport without it (a minimal ITransport) is read all the same, one
    that is disconnecting is not read any more."""
    class Bare:
        def __init__(self) -> None:
            self.written: List[bytes] = []

        def write(self, data: bytes) -> None:
            self.written.append(data)

        def loseConnection(self) -> None:
            pass

    sessions: List[Any] = []
    agi = fastagi.FastAGIProtocol(sessions.append, clock=task.Clock())
    bare = Bare()
    connect(agi, bare)  # type: ignore[type-var]
    agi.dataReceived(env())
    assert sessions == [agi]
    out: List[Any] = []
    agi.answer().addBoth(out.append)
    agi.dataReceived(b"200 result=0\n")
    assert bare.written == [b"ANSWER\n"] and out == [0]
    closing = StringTransport()
    agi = fastagi.FastAGIProtocol(sessions.append, clock=task.Clock())
    connect(agi, closing)
    closing.disconnecting = True
    agi.dataReceived(env())
    assert sessions == [sessions[0]]


@pytest_twisted.inlineCallbacks
def test_endToEndLoopback() -> Any:
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    outcomes: List[Any] = []
    sessionsClosed: List[Any] = []

    async def hello(agi: fastagi.FastAGIProtocol) -> None:
        outcomes.append(agi.arguments)
        outcomes.append(await agi.answer())
        outcomes.append(await agi.streamFile("hello-world", "#"))
        try:
            await agi.sendCommand("FOO BAR")
        except error.AGIInvalidCommand:
            outcomes.append("510")
        outcomes.append(await agi.getVariable("FOO"))
        outcomes.append(agi.hungUp)
        agi.whenClosed().addCallback(sessionsClosed.append)

    router = fastagi.FastAGIRouter({"hello": hello})
    port = yield fastagi.listenFastAGI(fastagi.FastAGIFactory(router, clock=reactor), 0,
                                       reactor=reactor)
    try:
        asterisk = FakeAsterisk({
            b"ANSWER": b"200 result=0\n",
            b'STREAM FILE hello-world #': b"200 result=35 endpos=800\n",
            b"GET VARIABLE FOO": b"HANGUP\n200 result=1 (bar baz)\n",
        })
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        yield connectProtocol(endpoint, asterisk)
        yield asterisk.closed
    finally:
        yield port.stopListening()
    assert outcomes == [["arg1", "arg with space"], 0, (35, 800), "510", "bar baz", True]
    assert asterisk.received == [b"ANSWER", b"STREAM FILE hello-world #", b"FOO BAR",
                                 b"GET VARIABLE FOO"]
    assert sessionsClosed == [None]
