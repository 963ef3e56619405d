"""starpy.testing.memory: the one in-memory connection of the fakes and the tests."""
from __future__ import annotations

from typing import Any, List, Optional

import pytest
from twisted.internet import error as netError
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import (
    IConsumer,
    IPullProducer,
    IPushProducer,
    IStreamClientEndpoint,
    ITransport,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from zope.interface import implementer
from zope.interface.verify import verifyObject

from starpy.testing import memory
from starpy.testing.memory import MemoryConnection, MemoryEndpoint, RecordingPeer
from tests.deferreds import failure, result


class Side(Protocol):
    """Records what happens to it; optionally answers every chunk."""

    def __init__(self, name: str, events: List[str], answer: Optional[bytes] = None) -> None:
        self.name = name
        self.events = events
        self.answer = answer
        self.data = b""
        self.reason: Optional[Failure] = None

    def connectionMade(self) -> None:
        self.events.append("%s made" % (self.name,))

    def dataReceived(self, data: bytes) -> None:
        self.events.append("%s got %r" % (self.name, data))
        self.data += data
        if self.answer is not None:
            assert self.transport is not None
            self.transport.write(self.answer)

    def connectionLost(self, reason: Failure = netError.ConnectionDone) -> None:  # type: ignore[assignment]
        self.events.append("%s lost" % (self.name,))
        self.reason = reason


def pair(**kw: Any) -> tuple[MemoryConnection, Side, Side, List[str]]:
    events: List[str] = []
    server, client = Side("server", events), Side("client", events)
    return MemoryConnection(server, client, **kw), server, client, events


def test_bytesMoveOnlyOnFlushBothWays() -> None:
    connection, server, client, events = pair()
    assert events == ["server made", "client made"]  # the accepting side first
    assert client.transport is not None and server.transport is not None
    client.transport.write(b"hello")
    server.transport.write(b"banner")
    assert server.data == client.data == b""
    assert connection.clientTransport.value() == b"hello"
    assert connection.flush() is True
    assert (server.data, client.data) == (b"hello", b"banner")
    assert connection.clientTransport.value() == connection.serverTransport.value() == b""
    assert connection.flush() is False  # nothing left: quiet


def test_flushGoesOnUntilBothSidesAreQuiet() -> None:
    events: List[str] = []

    class PingPong(Side):
        def dataReceived(self, data: bytes) -> None:
            super().dataReceived(data)
            if len(data) < 4:
                assert self.transport is not None
                self.transport.write(data + b"+")

    server, client = PingPong("server", events), PingPong("client", events)
    connection = MemoryConnection(server, client)
    assert client.transport is not None
    client.transport.write(b"a")
    connection.flush()
    assert (server.data, client.data) == (b"aa++", b"a+a+++")
    assert events[2:] == ["server got b'a'", "client got b'a+'", "server got b'a++'",
                          "client got b'a+++'"]


def test_sidesThatNeverGetQuietAreStopped() -> None:
    events: List[str] = []
    server, client = Side("server", events, answer=b"x"), Side("client", events, answer=b"y")
    connection = MemoryConnection(server, client, maxRounds=50)
    assert client.transport is not None
    client.transport.write(b"start")
    with pytest.raises(RuntimeError, match="still busy after 50 rounds"):
        connection.flush()
    assert len(events) <= 2 + 2 * 50  # each round delivers both ways, then it stops


@pytest.mark.parametrize("closer", ["client", "server"])
def test_loseConnectionDeliversWhatWasWrittenThenCloses(closer: str) -> None:
    connection, server, client, events = pair()
    side = client if closer == "client" else server
    other = server if side is client else client
    assert side.transport is not None
    side.transport.write(b"last words")
    side.transport.loseConnection()
    side.transport.write(b"dropped")  # nothing is sent after loseConnection
    assert not connection.closed
    connection.flush()
    assert other.data == b"last words"
    assert connection.closed
    assert events[-2:] == ["client lost", "server lost"]  # the client first
    for protocol in (server, client):
        assert protocol.reason is not None and protocol.reason.check(netError.ConnectionDone)
    assert connection.clientTransport.disconnected and connection.serverTransport.disconnected
    side.transport.write(b"after the close")
    assert connection.flush() is False


@pytest.mark.parametrize("aborter", ["client", "server"])
def test_abortConnectionDeliversNothingMoreAndReportsWhoAborted(aborter: str) -> None:
    connection, server, client, events = pair()
    side = client if aborter == "client" else server
    other = server if side is client else client
    assert side.transport is not None and other.transport is not None
    side.transport.write(b"never sent")
    other.transport.write(b"never read")
    (connection.clientTransport if side is client else connection.serverTransport).abortConnection()
    connection.flush()
    assert server.data == client.data == b""
    assert side.reason is not None and side.reason.check(netError.ConnectionAborted)
    assert other.reason is not None and other.reason.check(netError.ConnectionLost)
    assert not other.reason.check(netError.ConnectionAborted)
    assert "got" not in " ".join(events)
    assert events[-2:] == ["client lost", "server lost"]


def test_writingTextIsRefused() -> None:
    connection, server, client, events = pair()
    assert client.transport is not None
    with pytest.raises(TypeError, match="bytes, not str"):
        client.transport.write("text")  # type: ignore[arg-type]
    assert connection.clientTransport.value() == b""


def test_aSideThatWritesWithoutFlushIsStoppedAtTheBound() -> None:
    connection, server, client, events = pair(maxBuffer=100)
    assert client.transport is not None
    client.transport.write(b"x" * 100)
    with pytest.raises(BufferError, match="maxBuffer=100"):
        client.transport.write(b"y")
    assert connection.clientTransport.value() == b"x" * 100  # what was accepted is kept
    connection.flush()
    assert server.data == b"x" * 100
    client.transport.write(b"y" * 100)  # room again after the flush
    with pytest.raises(ValueError):
        MemoryConnection(Protocol(), Protocol(), maxBuffer=0)


def test_recordingPeerIsBoundedToo() -> None:
    peer = RecordingPeer(maxReceived=10)
    peer.dataReceived(b"0123456789")
    with pytest.raises(BufferError, match="maxReceived=10"):
        peer.dataReceived(b"!")
    assert peer.take() == b"0123456789" and peer.received == bytearray()


@implementer(IPushProducer)
class Streaming:
    def __init__(self) -> None:
        self.calls: List[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def test_aStreamingProducerIsPausedWhileTooMuchWaits() -> None:
    connection, server, client, events = pair()
    transport = connection.clientTransport
    producer = Streaming()
    transport.registerProducer(producer, True)
    transport.write(b"x" * memory.HIGH_WATER)
    assert producer.calls == []
    transport.write(b"x")
    transport.write(b"x")
    assert producer.calls == ["pause"]
    connection.flush()
    assert producer.calls == ["pause", "resume"]
    transport.loseConnection()
    connection.flush()
    assert producer.calls == ["pause", "resume", "stop"] and transport.producer is None


def test_aPullProducerIsAskedForMoreWhileNothingWaits() -> None:
    connection, server, client, events = pair()
    transport = connection.clientTransport

    @implementer(IPullProducer)
    class Pull:
        chunks = [b"one", b"two"]

        def resumeProducing(self) -> None:
            if self.chunks:
                transport.write(self.chunks.pop(0))
            else:
                transport.unregisterProducer()

        def stopProducing(self) -> None:
            pass

    transport.registerProducer(Pull(), False)
    with pytest.raises(RuntimeError, match="registered already"):
        transport.registerProducer(Pull(), False)
    connection.flush()
    assert server.data == b"onetwo" and transport.producer is None


def test_theClockRunsWhatIsDueNowOnEachRound() -> None:
    clock = Clock()
    connection, server, client, events = pair(clock=clock)
    assert client.transport is not None
    clock.callLater(0, client.transport.write, b"later")
    clock.callLater(1, client.transport.write, b"not yet")
    connection.flush()
    assert server.data == b"later"
    assert [call.getTime() for call in clock.getDelayedCalls()] == [1.0]


def test_immediateDeliversAsWritten() -> None:
    connection, server, client, events = pair(immediate=True)
    assert client.transport is not None
    client.transport.write(b"now")
    assert server.data == b"now"
    client.transport.loseConnection()
    assert connection.closed and server.reason is not None


def test_aFlushFromInsideAProtocolLeavesTheWorkToTheRunningFlush() -> None:
    events: List[str] = []
    holder: List[MemoryConnection] = []

    class Reentrant(Side):
        def dataReceived(self, data: bytes) -> None:
            super().dataReceived(data)
            assert self.transport is not None
            self.transport.write(b"reply")
            assert holder[0].flush() is False

    server, client = Reentrant("server", events), Side("client", events)
    connection = MemoryConnection(server, client)
    holder.append(connection)
    assert client.transport is not None
    client.transport.write(b"ask")
    assert connection.flush() is True
    assert client.data == b"reply"


def test_theTransportsAndTheEndpointProvideTheirInterfaces() -> None:
    connection, server, client, events = pair()
    for transport in (connection.clientTransport, connection.serverTransport):
        assert verifyObject(ITransport, transport) and verifyObject(IConsumer, transport)
    assert verifyObject(IStreamClientEndpoint, MemoryEndpoint())


def test_theServerIsToldOfTheCloseEvenIfTheClientRaises() -> None:
    events: List[str] = []

    class Raising(Side):
        def connectionLost(self, reason: Failure = netError.ConnectionDone) -> None:  # type: ignore[assignment]
            super().connectionLost(reason)
            raise RuntimeError("broken client")

    server, client = Side("server", events), Raising("client", events)
    connection = MemoryConnection(server, client)
    connection.serverTransport.loseConnection()
    with pytest.raises(RuntimeError, match="broken client"):
        connection.flush()
    assert events[-2:] == ["client lost", "server lost"] and connection.closed


def test_addresses() -> None:
    connection, server, client, events = pair()
    clientAddress = connection.clientTransport.getHost()
    assert isinstance(clientAddress, IPv4Address) and clientAddress.port >= 40001
    assert connection.serverTransport.getPeer() == clientAddress
    assert connection.clientTransport.getPeer() == connection.serverTransport.getHost() == \
        IPv4Address("TCP", "127.0.0.1", 0)
    other = MemoryConnection(Protocol(), Protocol())
    assert other.clientTransport.getHost() != clientAddress  # a fresh port each


def test_endpointConnectsToTheServerFactoryAndFlushesTheGreeting() -> None:
    events: List[str] = []

    class Greeter(Side):
        def connectionMade(self) -> None:
            super().connectionMade()
            assert self.transport is not None
            self.transport.write(b"welcome")

    endpoint = MemoryEndpoint(Factory.forProtocol(lambda: Greeter("server", events)))
    client: Side = result(endpoint.connect(Factory.forProtocol(lambda: Side("client", events))))
    assert client.data == b"welcome"
    (connection,) = endpoint.connections
    assert connection.client is client and endpoint.attempts == 1
    assert client.transport is not None
    client.transport.write(b"thanks")
    assert endpoint.pump() is True
    assert connection.server.data == b"thanks"  # type: ignore[attr-defined]


def test_endpointRefusesOnDemand() -> None:
    endpoint = MemoryEndpoint()
    factory = Factory.forProtocol(Protocol)
    endpoint.refuse = 2
    assert failure(endpoint.connect(factory)).check(netError.ConnectionRefusedError)
    assert failure(endpoint.connect(factory)).check(netError.ConnectionRefusedError)
    result(endpoint.connect(factory))
    endpoint.refuse = True
    for _ in range(3):
        assert failure(endpoint.connect(factory)).check(netError.ConnectionRefusedError)
    assert endpoint.attempts == 6 and len(endpoint.connections) == 1


def test_endpointWithoutServerGivesARecordingPeerToPlayByHand() -> None:
    endpoint = MemoryEndpoint()
    client = result(endpoint.connect(Factory.forProtocol(lambda: Side("client", []))))
    (connection,) = endpoint.connections
    peer = connection.server
    assert isinstance(peer, RecordingPeer)
    client.transport.write(b"request")
    peer.send(b"response")
    connection.flush()
    assert peer.take() == b"request" and client.data == b"response"
    connection.serverTransport.abortConnection()
    connection.flush()
    assert peer.reason is not None and peer.reason.check(netError.ConnectionAborted)
    assert client.reason is not None and client.reason.check(netError.ConnectionLost)


def test_noFakeImportsTwistedsPrivateIosim() -> None:
    from pathlib import Path

    root = Path(memory.__file__).resolve().parent.parent
    users = [str(path) for path in root.rglob("*.py") if "iosim" in path.read_text()]
    assert users == []
