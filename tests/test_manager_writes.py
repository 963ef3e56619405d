"""How the AMI client writes: the actions sent while a chunk is delivered
go out together at its end, and on Twisted's own TCP transport they go
straight to the socket rather than on the reactor's next turn
(``AMIProtocol._write``)."""
from __future__ import annotations

from typing import Any, Iterator, List, cast

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from starpy import error
from starpy.codec.ami import AMIParser
from starpy.manager import AMIProtocol
from tests.deferreds import failedWith, result
from tests.tcpwire import TCPWire
from tests.wire import connect

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class CountingTransport(StringTransport):
    """A StringTransport that keeps each ``write`` apart."""

    def __init__(self) -> None:
        cast(Any, super()).__init__()  # (StringTransport carries no annotations)
        self.writes: List[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        cast(Any, super()).write(data)


def actionNames(data: bytes) -> List[str]:
    return [message["action"] for message in AMIParser(expectBanner=False).feed(data)]


def event(name: str) -> bytes:
    return b"Event: " + name.encode() + b"\r\n\r\n"


@pytest.fixture
def client() -> Iterator[tuple[AMIProtocol, CountingTransport]]:
    ami = AMIProtocol(clock=task.Clock())
    transport = connect(ami, CountingTransport())
    ami.dataReceived(BANNER)
    yield ami, transport
    ami.closeBecause(Exception("test over"))


def test_theActionsOfAChunksHandlersGoOutInOneWriteAtItsEnd(
        client: tuple[AMIProtocol, CountingTransport]) -> None:
    ami, transport = client
    seenWrites: List[int] = []

    def onEvent(protocol: Any, message: Any) -> None:
        seenWrites.append(len(transport.writes))
        ami.sendAction("Ping")
        ami.sendAction("Status", {"Channel": message["event"]})

    ami.registerEvent("*", onEvent)
    ami.dataReceived(event("One") + event("Two") + event("Three"))
    assert seenWrites == [0, 0, 0]  # nothing written while the chunk is delivered
    assert len(transport.writes) == 1
    assert actionNames(transport.writes[0]) == ["Ping", "Status"] * 3


def test_outsideAChunkEachActionIsWrittenWhenSent(
        client: tuple[AMIProtocol, CountingTransport]) -> None:
    ami, transport = client
    ami.sendAction("Ping")
    ami.sendAction("CoreStatus")
    assert [actionNames(data) for data in transport.writes] == [["Ping"], ["CoreStatus"]]


def test_linesWrittenByHandDuringAChunkKeepTheirPlace(
        client: tuple[AMIProtocol, CountingTransport]) -> None:
    ami, transport = client

    def onEvent(protocol: Any, message: Any) -> None:
        ami.sendAction("Ping")
        ami.sendLine("Action: Status")
        ami.sendLine("")
        ami.sendAction("CoreStatus")

    ami.registerEvent("Hangup", onEvent)
    ami.dataReceived(event("Hangup"))
    assert actionNames(b"".join(transport.writes)) == ["Ping", "Status", "CoreStatus"]


def test_aChunkDeliveredWhileOneIsAddsToTheSameWrite(
        client: tuple[AMIProtocol, CountingTransport]) -> None:
    """An in-memory peer can answer inside a handler: what the inner chunk's
    handlers send follows what was sent before it, in the same write."""
    ami, transport = client

    def onEvent(protocol: Any, message: Any) -> None:
        name = message["event"]
        ami.sendAction("Status", {"Channel": name})
        if name == "Outer":
            ami.dataReceived(event("Inner"))
        ami.sendAction("Status", {"Channel": name + "-after"})

    ami.registerEvent("*", onEvent)
    ami.dataReceived(event("Outer"))
    assert len(transport.writes) == 1
    channels = [m["channel"] for m in AMIParser(expectBanner=False).feed(transport.writes[0])]
    assert channels == ["Outer", "Inner", "Inner-after", "Outer-after"]


def test_anActionRefusedInAHandlerLosesNothingAlreadyHeld(
        client: tuple[AMIProtocol, CountingTransport]) -> None:
    ami, transport = client
    refused: List[Exception] = []

    def onEvent(protocol: Any, message: Any) -> None:
        ami.sendAction("Ping")
        try:
            ami.sendAction("Status", {"Channel": "bad\r\nAction: Hangup"})
        except ValueError as e:
            refused.append(e)

    ami.registerEvent("Hangup", onEvent)
    ami.dataReceived(event("Hangup"))
    assert len(refused) == 1
    assert [actionNames(data) for data in transport.writes] == [["Ping"]]


# -- on Twisted's TCP transport ------------------------------------------------


@pytest.fixture
def wired() -> Iterator[tuple[AMIProtocol, TCPWire]]:
    ami = AMIProtocol(clock=task.Clock())
    wire = TCPWire(ami)
    ami.dataReceived(BANNER)
    yield ami, wire
    wire.close()


def reply(actionID: str) -> bytes:
    return b"Response: Success\r\nActionID: " + actionID.encode() + b"\r\nPing: Pong\r\n\r\n"


def test_overTCPAnActionIsOnTheSocketWhenSent(wired: tuple[AMIProtocol, TCPWire]) -> None:
    ami, wire = wired
    pinged = ami.sendAction("Ping")
    sent = AMIParser(expectBanner=False).feed(wire.received())
    assert [m["action"] for m in sent] == ["Ping"]
    assert not wire.waitingToWrite()
    ami.dataReceived(reply(sent[0]["actionid"]))
    assert result(pinged)["ping"] == "Pong"


def test_overTCPAChunksActionsGoOutWhenItIsDelivered(wired: tuple[AMIProtocol, TCPWire]) -> None:
    ami, wire = wired
    ami.registerEvent("*", lambda protocol, message: ami.sendAction("Ping"))
    ami.dataReceived(event("One") + event("Two"))
    assert actionNames(wire.received()) == ["Ping", "Ping"]
    assert not wire.waitingToWrite()


def test_overTCPOnceASendFallsShortTwistedWritesTheRestInOrder(
        wired: tuple[AMIProtocol, TCPWire]) -> None:
    ami, wire = wired
    wire.sendOnly(10)
    ami.sendAction("Ping")
    ami.sendAction("CoreStatus")
    first = wire.received()
    assert len(first) == 10
    assert wire.waitingToWrite()
    wire.flush()
    assert actionNames(first + wire.received()) == ["Ping", "CoreStatus"]


def test_overTCPAFullSocketBufferKeepsWhatIsHeldFirst(wired: tuple[AMIProtocol, TCPWire]) -> None:
    ami, wire = wired
    before = wire.fillSocket()
    ami.sendAction("Ping")
    ami.sendAction("CoreStatus")
    data = wire.drain(before + 1)
    while not data.endswith(b"\r\n\r\n") or data.count(b"\r\n\r\n") < 2:
        data += wire.drain(1)
    assert data.startswith(b"." * before)
    assert actionNames(data[before:]) == ["Ping", "CoreStatus"]


def test_overTCPNothingHeldIsSentOnceTheConnectionIsDropped(
        wired: tuple[AMIProtocol, TCPWire]) -> None:
    """A handler sends, then drops the connection (abort): what it sent is
    left to Twisted, which writes nothing more on an aborted connection."""
    ami, wire = wired
    sent: List[Any] = []

    def onEvent(protocol: Any, message: Any) -> None:
        sent.append(ami.sendAction("Ping"))
        ami.closeBecause(Exception("enough"), abort=True)

    ami.registerEvent("Hangup", onEvent)
    ami.dataReceived(event("Hangup"))
    assert wire.received() == b""  # (the socket is closed on the reactor's turn)
    wire.reactor.advance(0)
    assert failedWith(sent[0], error.AMIConnectionLost)


def test_overTCPBytesWrittenToTheTransportByHandKeepTheirPlace(
        wired: tuple[AMIProtocol, TCPWire]) -> None:
    """Upstream-style code writing to the transport itself: what the
    protocol sends meanwhile waits behind those bytes, then goes straight to
    the socket again once Twisted has written them."""
    ami, wire = wired
    assert ami.transport is not None
    ami.transport.write(b"Action: Status\r\n\r\n")  # waits for the reactor's turn
    ami.sendAction("Ping")
    assert wire.received() == b""
    wire.flush()
    assert actionNames(wire.received()) == ["Status", "Ping"]
    assert not wire.waitingToWrite()
    ami.sendAction("CoreStatus")
    assert actionNames(wire.received()) == ["CoreStatus"]


def test_overTCPAfterStartTLSNothingGoesToTheSocketInClear(
        wired: tuple[AMIProtocol, TCPWire]) -> None:
    """TLS started on the connection after it was made: the Secret goes to
    the TLS layer, never to the socket as it is."""
    ami, wire = wired
    wire.startTLS()
    ami.sendAction("Login", {"Username": "u", "Secret": "s3cret"})
    assert wire.received() == b""
    assert actionNames(b"".join(wire.tlsLayer)) == ["Login"]


def test_overTCPNothingIsSentOnAConnectionAbortedByHand(
        wired: tuple[AMIProtocol, TCPWire]) -> None:
    """``abortConnection()`` called on the transport itself (not through
    the protocol): what is sent before the connection is lost is dropped,
    as Twisted drops it."""
    ami, wire = wired
    cast(Any, wire.transport).abortConnection()
    sent = ami.sendAction("Ping")
    assert wire.received() == b""
    wire.reactor.advance(0)
    assert failedWith(sent, error.AMIConnectionLost)


def test_overTCPAProducerRegisteredLaterGetsTheWritesBack(
        wired: tuple[AMIProtocol, TCPWire]) -> None:
    ami, wire = wired
    wire.registerProducer()
    ami.sendAction("Ping")
    assert wire.received() == b""
    assert wire.waitingToWrite()
