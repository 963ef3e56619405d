"""FastAGI command lines go straight to a plain TCP socket, without waiting
for the reactor's next turn (``FastAGIProtocol.connectionMade``): on
Twisted's own TCP transport over a loopback socket pair (``tests.tcpwire``).
"""
from __future__ import annotations

from typing import Any, Iterator, List

import pytest
import pytest_twisted
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol

from starpy import error, fastagi
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import result
from tests.tcpwire import TCPWire
from tests.wire import connect, portNumber

from .agihelpers import transcriptExchanges

HELLO_ENV, _ = transcriptExchanges("fastagi-hello")


def session(**options: Any) -> tuple[fastagi.FastAGIProtocol, TCPWire]:
    """A FastAGI session past its environment, on Twisted's TCP transport."""
    agi = fastagi.FastAGIProtocol(clock=task.Clock())
    wire = TCPWire(agi, **options)
    agi.dataReceived(HELLO_ENV)
    return agi, wire


@pytest.fixture
def wired() -> Iterator[tuple[fastagi.FastAGIProtocol, TCPWire]]:
    agi, wire = session()
    yield agi, wire
    wire.close()


def test_aCommandLineIsOnTheSocketWhenTheCommandIsIssued(
        wired: tuple[fastagi.FastAGIProtocol, TCPWire]) -> None:
    agi, wire = wired
    answered = agi.answer()
    assert wire.received() == b"ANSWER\n"
    assert not wire.waitingToWrite()
    agi.dataReceived(b"200 result=0\n")
    assert result(answered) == 0
    value = agi.getVariable("CALLERID(num)")
    assert wire.received() == b"GET VARIABLE CALLERID(num)\n"
    agi.dataReceived(b"200 result=1 (100)\n")
    assert result(value) == "100"


def test_theRestOfALineNotSentWholeGoesFirstAndLaterLinesWaitBehindIt(
        wired: tuple[fastagi.FastAGIProtocol, TCPWire]) -> None:
    agi, wire = wired
    given = wire.sendOnly(3)
    answered = agi.answer()
    assert given == [b"ANSWER\n"]
    assert wire.received() == b"ANS"
    assert wire.waitingToWrite()  # the rest waits in Twisted's buffer
    agi.dataReceived(b"200 result=0\n")  # (as if Asterisk had read it all)
    assert result(answered) == 0
    value = agi.getVariable("X")  # behind the rest, through transport.write
    assert wire.received() == b""
    wire.flush()
    assert wire.received() == b"WER\nGET VARIABLE X\n"
    agi.dataReceived(b"200 result=1 (y)\n")
    assert result(value) == "y"
    agi.verbose("again")  # Twisted's buffer is empty: straight to the socket
    assert wire.received() == b"VERBOSE again\n"
    assert not wire.waitingToWrite()


def test_bytesTheTransportHeldBeforeTheSessionGoFirst() -> None:
    """A transport handed over with bytes still unsent (a protocol switch):
    the first command line follows them."""
    agi = fastagi.FastAGIProtocol(clock=task.Clock())
    wire = TCPWire(agi, held=b"PREFACE\n")
    try:
        agi.dataReceived(HELLO_ENV)
        agi.answer()
        assert wire.received() == b""
        wire.flush()
        assert wire.received() == b"PREFACE\nANSWER\n"
    finally:
        wire.close()


@pytest.mark.parametrize("refusal", [BlockingIOError(), ConnectionResetError()])
def test_aLineTheSocketTookNothingOfIsLeftWholeToTwisted(
        wired: tuple[fastagi.FastAGIProtocol, TCPWire], refusal: OSError) -> None:
    """A full socket buffer (EAGAIN) or an error: the whole line goes to
    ``transport.write``, which sends it (or finds the connection lost) on
    the reactor's turn."""
    agi, wire = wired
    wire.refuseNextSend(refusal)
    agi.answer()
    assert wire.received() == b""
    assert wire.waitingToWrite()
    wire.flush()
    assert wire.received() == b"ANSWER\n"


def test_aFullSocketBufferLeavesTheLineToTwistedAfterWhatItHolds(
        wired: tuple[fastagi.FastAGIProtocol, TCPWire]) -> None:
    """A real full socket buffer (Asterisk not reading): the line waits in
    Twisted's buffer and reaches Asterisk after the bytes before it."""
    agi, wire = wired
    before = wire.fillSocket()
    answered = agi.answer()
    assert wire.waitingToWrite()
    assert wire.drain(before + 7) == b"." * before + b"ANSWER\n"
    agi.dataReceived(b"200 result=0\n")
    assert result(answered) == 0


def test_overTLSEveryLineGoesToTheTLSLayer() -> None:
    agi, wire = session(tls=True)
    try:
        agi.answer()
        assert wire.tlsLayer == [b"ANSWER\n"]
        assert wire.received() == b""
    finally:
        wire.close()


def test_afterStartTLSEveryLineGoesToTheTLSLayer(
        wired: tuple[fastagi.FastAGIProtocol, TCPWire]) -> None:
    agi, wire = wired
    wire.startTLS()
    agi.answer()
    assert wire.tlsLayer == [b"ANSWER\n"]
    assert wire.received() == b""


def test_aTwistedWithoutTheStateReadBeforeEachSendGetsNoDirectSends() -> None:
    """``_idioms.sendNow`` reads private state of Twisted's transport (its
    buffer, the abort); a transport without it is written the usual way."""
    agi = fastagi.FastAGIProtocol(clock=task.Clock())
    wire = TCPWire(agi, drop="_aborting")
    try:
        agi.dataReceived(HELLO_ENV)
        agi.answer()
        assert wire.received() == b""
        assert wire.waitingToWrite()
    finally:
        wire.close()


def test_withAProducerTwistedWritesEveryLine() -> None:
    agi, wire = session(producer=True)
    try:
        agi.answer()
        assert wire.received() == b""
        assert wire.waitingToWrite()
        wire.flush()
        assert wire.received() == b"ANSWER\n"
    finally:
        wire.close()


def test_sessionsOfATransportThatIsNotTCPUseItsWrite() -> None:
    """Any other transport (a StringTransport here, a process's pipes for
    classic AGI) gets each line through its ``write``."""
    from twisted.internet.testing import StringTransport

    agi = fastagi.FastAGIProtocol(clock=task.Clock())
    transport = connect(agi, StringTransport())
    agi.dataReceived(HELLO_ENV)
    agi.answer()
    assert transport.value() == b"ANSWER\n"


@pytest_twisted.inlineCallbacks
def test_overRealTCPACallerWhoLeavesMidCallFailsTheCommandsQuietly(
        loggedErrors: LoggedErrors) -> Any:
    """The peer answers one command, then closes its socket: the commands
    written straight to the dead socket fail with AGIHangup, and nothing is
    logged as an error (Twisted finds the lost connection, as before)."""
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    outcomes: List[Any] = []
    done: Deferred[None] = Deferred()

    async def call(agi: fastagi.FastAGIProtocol) -> None:
        outcomes.append(await agi.answer())
        for _ in range(3):  # after the peer left: each fails, none hangs
            try:
                await agi.getVariable("X")
            except error.AGIHangup:
                outcomes.append("hangup")
        done.callback(None)

    class LeavingAsterisk(Protocol):
        def connectionMade(self) -> None:
            assert self.transport is not None
            self.transport.write(HELLO_ENV)

        def dataReceived(self, data: bytes) -> None:
            assert self.transport is not None
            self.transport.write(b"200 result=0\n")
            self.transport.loseConnection()

    port = yield fastagi.listenFastAGI(fastagi.FastAGIFactory(call, clock=reactor), 0,
                                       reactor=reactor)
    try:
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
        yield connectProtocol(endpoint, LeavingAsterisk())
        yield done
    finally:
        yield port.stopListening()
    assert outcomes == [0, "hangup", "hangup", "hangup"]
    assert loggedErrors.flush() == []
