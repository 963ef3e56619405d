"""FastAGI command lines go straight to a plain TCP socket, without waiting
for the reactor's next turn (``FastAGIProtocol.connectionMade``).

Each test builds Twisted's own TCP transport (``tcp.Connection``) over a
real loopback socket pair, with a ``MemoryReactor`` that only records which
transports wait to write: nothing runs the reactor, so a line found on the
peer's socket was sent while the command was issued.
"""
from __future__ import annotations

import socket
from typing import Any, Iterator, List, cast

import pytest
from twisted.internet import main, task, tcp
from twisted.internet.testing import MemoryReactor

from starpy import fastagi
from tests.deferreds import result
from tests.wire import connect

from .agihelpers import transcriptExchanges

HELLO_ENV, _ = transcriptExchanges("fastagi-hello")


class Wire:
    """A FastAGI session on Twisted's TCP transport, and Asterisk's end of the socket."""

    def __init__(self, tls: bool = False, producer: bool = False) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        self.peer = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
        listener.close()
        self.peer.setblocking(False)
        self.reactor = MemoryReactor()
        self.sessions: List[fastagi.FastAGIProtocol] = []
        self.agi = fastagi.FastAGIProtocol(self.sessions.append, clock=task.Clock())
        self.transport = tcp.Connection(ours, self.agi, self.reactor)
        self.transport.connected = 1
        self.tlsLayer: List[bytes] = []
        if tls:  # as startTLS() leaves it: writes go to the TLS layer
            self.transport.TLS = True
            self.transport.protocol = cast(Any, self)
        if producer:
            cast(Any, self.transport).registerProducer(self, True)
        connect(self.agi, self.transport)
        self.agi.dataReceived(HELLO_ENV)
        assert self.sessions == [self.agi]

    # the TLS layer, for the transport that has one
    def write(self, data: bytes) -> None:
        self.tlsLayer.append(data)

    # a streaming producer, for the transport that has one
    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass

    def received(self) -> bytes:
        """What Asterisk's end has read so far (nothing: ``b""``)."""
        try:
            return self.peer.recv(65536)
        except BlockingIOError:
            return b""

    def waitingToWrite(self) -> bool:
        """Whether the transport waits for the reactor to write its buffer."""
        return self.transport in self.reactor.getWriters()

    def flush(self) -> None:
        """The reactor's turn: the transport writes what the socket takes."""
        if self.waitingToWrite():
            cast(Any, self.transport).doWrite()

    def close(self) -> None:
        self.transport.socket.close()
        self.peer.close()


@pytest.fixture
def wire() -> Iterator[Wire]:
    wire = Wire()
    yield wire
    wire.close()


def test_aCommandLineIsOnTheSocketWhenTheCommandIsIssued(wire: Wire) -> None:
    answered = wire.agi.answer()
    assert wire.received() == b"ANSWER\n"
    assert not wire.waitingToWrite()
    wire.agi.dataReceived(b"200 result=0\n")
    assert result(answered) == 0
    value = wire.agi.getVariable("CALLERID(num)")
    assert wire.received() == b"GET VARIABLE CALLERID(num)\n"
    wire.agi.dataReceived(b"200 result=1 (100)\n")
    assert result(value) == "100"


def partialSend(wire: Wire, count: int) -> List[bytes]:
    """Make the transport's next ``writeSomeData`` send only *count* bytes;
    return the list of what each call was given."""
    given: List[bytes] = []
    send = wire.transport.writeSomeData

    def short(data: bytes) -> Any:
        given.append(bytes(data))
        del wire.transport.writeSomeData  # the next call is the class's again
        return send(bytes(data)[:count])

    wire.transport.writeSomeData = short  # type: ignore[method-assign]
    return given


def test_theRestOfALineNotSentWholeGoesAfterItAndSoDoesEveryLaterLine(wire: Wire) -> None:
    given = partialSend(wire, 3)
    answered = wire.agi.answer()
    assert given == [b"ANSWER\n"]
    assert wire.received() == b"ANS"
    assert wire.waitingToWrite()  # the rest waits in Twisted's buffer
    wire.flush()
    assert wire.received() == b"WER\n"
    wire.agi.dataReceived(b"200 result=0\n")
    assert result(answered) == 0
    # From now on every line goes through transport.write, in order.
    value = wire.agi.getVariable("X")
    assert wire.received() == b""
    wire.flush()
    assert wire.received() == b"GET VARIABLE X\n"
    wire.agi.dataReceived(b"200 result=1 (y)\n")
    assert result(value) == "y"


@pytest.mark.parametrize("outcome", [0, main.CONNECTION_LOST])
def test_aLineTheSocketTookNothingOfIsLeftWholeToTwisted(wire: Wire, outcome: Any) -> None:
    """A full socket buffer (``writeSomeData`` gives 0) or an error: the
    whole line goes to ``transport.write``, which sends it (or finds the
    connection lost) on the reactor's turn."""
    def refused(data: bytes) -> Any:
        del wire.transport.writeSomeData
        return outcome

    wire.transport.writeSomeData = refused  # type: ignore[method-assign]
    wire.agi.answer()
    assert wire.received() == b""
    assert wire.waitingToWrite()
    wire.flush()
    assert wire.received() == b"ANSWER\n"


def test_overTLSEveryLineGoesToTheTLSLayer() -> None:
    wire = Wire(tls=True)
    try:
        wire.agi.answer()
        assert wire.tlsLayer == [b"ANSWER\n"]
        assert wire.received() == b""
    finally:
        wire.close()


def test_withAProducerTwistedWritesEveryLine() -> None:
    wire = Wire(producer=True)
    try:
        wire.agi.answer()
        assert wire.received() == b""
        assert wire.waitingToWrite()
        wire.flush()
        assert wire.received() == b"ANSWER\n"
    finally:
        wire.close()


def test_aFullSocketBufferLeavesTheLineToTwistedAfterWhatItHolds(wire: Wire) -> None:
    """A real full socket buffer (Asterisk not reading): the line waits in
    Twisted's buffer and reaches Asterisk after the bytes before it."""
    ours = wire.transport.socket
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    wire.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    before = 0
    while True:  # what the socket and the kernel take before they refuse
        try:
            before += ours.send(b"." * 4096)
        except BlockingIOError:
            break
    answered = wire.agi.answer()
    assert wire.waitingToWrite()
    received = b""
    while wire.waitingToWrite() or len(received) < before + 7:
        received += wire.received()
        wire.flush()
    assert received == b"." * before + b"ANSWER\n"
    wire.agi.dataReceived(b"200 result=0\n")
    assert result(answered) == 0


def test_sessionsOfATransportThatIsNotTCPUseItsWrite() -> None:
    """Any other transport (a StringTransport here, a process's pipes for
    classic AGI) gets each line through its ``write``."""
    from twisted.internet.testing import StringTransport

    agi = fastagi.FastAGIProtocol(clock=task.Clock())
    transport = connect(agi, StringTransport())
    agi.dataReceived(HELLO_ENV)
    agi.answer()
    assert transport.value() == b"ANSWER\n"
