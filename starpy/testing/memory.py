"""One in-memory connection: two protocols joined by a pair of transports.

Every fake of :mod:`starpy.testing` connects through it (the fake AMI
server's :func:`connectInMemory <starpy.testing.ami.connectInMemory>`, the
fake AGI caller's :func:`placeCallInMemory
<starpy.testing.agi.placeCallInMemory>`, the AsyncAGI fake), and so do
StarPy's own tests: a test of an application can use it the same way.

:class:`MemoryConnection` joins a client protocol and a server protocol.
What one side writes waits in its :class:`MemoryTransport` until
:meth:`MemoryConnection.flush` delivers it, so no protocol runs inside
another's ``write()``, and a test decides when bytes move::

    connection = MemoryConnection(serverProtocol, clientProtocol)
    clientProtocol.sendSomething()
    connection.flush()            # both ways, until both sides are quiet

A side closes with ``transport.loseConnection()`` (what it wrote before
is delivered first, then both sides get ``connectionLost`` with
``ConnectionDone``) or ``transport.abortConnection()`` (nothing more is
delivered; the side that aborted gets ``ConnectionAborted``, the other
``ConnectionLost``).  Both happen at the next :meth:`flush
<MemoryConnection.flush>`, the client's ``connectionLost`` first.

:class:`MemoryEndpoint` is a client endpoint that hands out such
connections to the protocols of a server factory (a fake Asterisk), for
code that connects through an endpoint (:class:`AMIService
<starpy.manager.AMIService>`, a pool).  Without a server factory its far
ends are :class:`RecordingPeer` protocols that a test plays by hand.

Everything is synchronous and deterministic: nothing moves until
:meth:`flush <MemoryConnection.flush>`, and nothing uses a reactor (give a
``task.Clock`` to also run the calls due now on each round).  Nothing grows
without bound: a side that writes more than *maxBuffer* bytes without a
flush gets ``BufferError``, and a flush that never gets quiet (two sides
answering each other for ever) raises ``RuntimeError`` after *maxRounds*
rounds.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable, Iterator, List, Optional, Union

from twisted.internet import defer
from twisted.internet import error as netError
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import (
    IAddress,
    IConsumer,
    IProducer,
    IProtocol,
    IProtocolFactory,
    IPullProducer,
    IPushProducer,
    IStreamClientEndpoint,
    ITransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from zope.interface import implementer

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "DEFAULT_MAX_ROUNDS",
    "MemoryConnection",
    "MemoryEndpoint",
    "MemoryTransport",
    "RecordingPeer",
    "nextClientAddress",
]

#: The most bytes one side may write between two flushes (16 MiB).
DEFAULT_MAX_BUFFER = 16 * 1024 * 1024

#: The most rounds of one :meth:`MemoryConnection.flush` before it gives up.
DEFAULT_MAX_ROUNDS = 10000

#: Bytes waiting in a transport above which its streaming producer is paused.
HIGH_WATER = 64 * 1024

_ports: Iterator[int] = itertools.count(40001)


def nextClientAddress() -> IPv4Address:
    """A fresh client address: ``127.0.0.1`` and the next port from 40001
    (what the connecting side of each new connection gets by default)."""
    return IPv4Address("TCP", "127.0.0.1", next(_ports))


@implementer(ITransport, IConsumer)
class MemoryTransport:
    """One side's end of a :class:`MemoryConnection`: what its protocol
    writes waits here until the connection is flushed.

    It has what Twisted's TCP transport has and tests use: ``write``,
    ``writeSequence``, ``loseConnection``, ``abortConnection``, ``getHost``,
    ``getPeer``, producer registration (a streaming producer is paused
    while more than 64 KiB wait, and resumed once they are delivered).

    :ivar protocol: the protocol this is the transport of.
    :ivar disconnecting: this side asked to close (or the connection closed).
    :ivar disconnected: ``connectionLost`` has been delivered.
    :ivar aborted: this side closed with ``abortConnection()``.
    """

    def __init__(self, connection: "MemoryConnection", protocol: IProtocol,
                 host: IAddress, peer: IAddress) -> None:
        self.protocol = protocol
        self.disconnecting = False
        self.disconnected = False
        self.aborted = False
        self.producer: Optional[IProducer] = None
        self.streaming = False
        self._paused = False
        self._connection = connection
        self._buffer = bytearray()
        self._host = host
        self._peer = peer

    def __repr__(self) -> str:
        return "<MemoryTransport of %r, %d bytes waiting%s>" % (
            self.protocol, len(self._buffer),
            " closed" if self.disconnected else " closing" if self.disconnecting else "")

    # -- ITransport

    def write(self, data: bytes) -> None:
        """Queue *data* for the other side; dropped once this side closes.

        :raises TypeError: *data* is not bytes.
        :raises BufferError: more than the connection's ``maxBuffer`` bytes
            would wait (nobody flushes, or a side floods the other).
        """
        if data.__class__ is not bytes and not isinstance(data, (bytearray, memoryview)):
            raise TypeError("a transport writes bytes, not %s" % (type(data).__name__,))
        if self.disconnecting:
            return
        buffer, connection = self._buffer, self._connection
        buffer += data
        if len(buffer) > connection.maxBuffer:
            waiting = len(buffer)
            del buffer[waiting - len(data):]  # what was accepted before stays
            raise BufferError(
                "in-memory connection: %d bytes would wait unflushed, over maxBuffer=%d"
                " (call flush())" % (waiting, connection.maxBuffer))
        if self.producer is not None:
            self._pauseIfFull()
        if connection.immediate:
            connection.flush()

    def _pauseIfFull(self) -> None:
        producer = self.producer
        if (self.streaming and not self._paused and IPushProducer.providedBy(producer)
                and len(self._buffer) > HIGH_WATER):
            self._paused = True
            producer.pauseProducing()

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Queue each chunk of *data*, as :meth:`write`."""
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """Close once what this side wrote is delivered (at the next flush)."""
        if self.disconnecting:
            return
        self.disconnecting = True
        self._connection._written()

    def abortConnection(self) -> None:
        """Close now: nothing more is delivered either way (at the next flush
        both sides get ``connectionLost``)."""
        if self.disconnected:
            return
        self.disconnecting = True
        self.aborted = True
        del self._buffer[:]
        self._connection._written()

    def getHost(self) -> IAddress:
        """This side's address."""
        return self._host

    def getPeer(self) -> IAddress:
        """The other side's address."""
        return self._peer

    # -- IConsumer

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Register a producer: a streaming one is paused while more than
        64 KiB wait; a pull one is asked for more on each flush round while
        nothing waits."""
        if self.producer is not None:
            raise RuntimeError("a producer is registered already: %r" % (self.producer,))
        self.producer = producer
        self.streaming = bool(streaming)
        self._paused = False

    def unregisterProducer(self) -> None:
        """Forget the producer."""
        self.producer = None
        self._paused = False

    # -- what a test reads

    def value(self) -> bytes:
        """The bytes written and not yet delivered (a test that plays the
        other side itself reads them here, as with ``StringTransport``)."""
        return bytes(self._buffer)

    def clear(self) -> None:
        """Drop the bytes written and not yet delivered."""
        del self._buffer[:]

    # -- the connection's side

    def _take(self) -> bytes:
        data = bytes(self._buffer)
        del self._buffer[:]
        if self._paused and self.producer is not None:
            self._paused = False
            if IPushProducer.providedBy(self.producer):
                self.producer.resumeProducing()
        return data

    def _pull(self) -> bool:
        """Ask a pull producer for more; whether one was asked."""
        producer = self.producer
        if (producer is None or self.streaming or self._buffer or self.disconnecting
                or not IPullProducer.providedBy(producer)):
            return False
        producer.resumeProducing()
        return True

    def _lost(self, reason: Failure) -> None:
        self.disconnecting = self.disconnected = True
        del self._buffer[:]
        producer, self.producer = self.producer, None
        if producer is not None:
            producer.stopProducing()
        self.protocol.connectionLost(reason)


class MemoryConnection:
    """A server protocol and a client protocol joined in memory.

    Both protocols are connected at once (the server's first, as a
    listening port accepts before the connecting side hears of it).
    Bytes move only when :meth:`flush` is called, unless *immediate*.

    :param server: the accepting side's protocol.
    :param client: the connecting side's protocol.
    :param clientAddress: what the client's ``getHost()`` (the server's
        ``getPeer()``) returns; default ``127.0.0.1`` and a fresh port.
    :param serverAddress: what the server's ``getHost()`` returns; default
        ``127.0.0.1`` port 0.
    :param clock: a ``task.Clock`` whose calls due now (``advance(0)``) run
        on each round of a flush, as a reactor would run them between reads.
    :param maxBuffer: the most bytes one side may have waiting.
    :param maxRounds: the most rounds of one flush.
    :param immediate: deliver at once on every write and close (the
        writer's ``write()`` returns after the other side handled the
        bytes), for a far end that only records what it receives.

    :ivar client: the client protocol.
    :ivar server: the server protocol.
    :ivar clientTransport: the client's :class:`MemoryTransport`.
    :ivar serverTransport: the server's :class:`MemoryTransport`.
    :ivar closed: both sides have been told the connection is lost.
    """

    def __init__(self, server: IProtocol, client: IProtocol,
                 clientAddress: Optional[IAddress] = None,
                 serverAddress: Optional[IAddress] = None,
                 clock: Optional[Clock] = None,
                 maxBuffer: int = DEFAULT_MAX_BUFFER,
                 maxRounds: int = DEFAULT_MAX_ROUNDS,
                 immediate: bool = False) -> None:
        if maxBuffer < 1 or maxRounds < 1:
            raise ValueError("maxBuffer and maxRounds must be positive, not %r and %r"
                             % (maxBuffer, maxRounds))
        if clientAddress is None:
            clientAddress = nextClientAddress()
        if serverAddress is None:
            serverAddress = IPv4Address("TCP", "127.0.0.1", 0)
        self.client = client
        self.server = server
        self.clock = clock
        self.maxBuffer = maxBuffer
        self.maxRounds = maxRounds
        self.immediate = immediate
        self.closed = False
        self._flushing = False
        self.clientTransport = MemoryTransport(self, client, clientAddress, serverAddress)
        self.serverTransport = MemoryTransport(self, server, serverAddress, clientAddress)
        server.makeConnection(self.serverTransport)
        client.makeConnection(self.clientTransport)

    def __repr__(self) -> str:
        return "<MemoryConnection %r <-> %r%s>" % (
            self.client, self.server, " closed" if self.closed else "")

    def flush(self) -> bool:
        """Deliver what was written, both ways, until both sides are quiet;
        then close the connection if a side asked to.

        A call from inside a protocol that a flush is running returns at
        once (the running flush goes on until quiet).

        :returns: whether anything was delivered or closed.
        :raises RuntimeError: the sides were still not quiet after
            ``maxRounds`` rounds.
        """
        if self._flushing:
            return False
        self._flushing = True
        try:
            moved = False
            for _ in range(self.maxRounds):
                if self.clock is not None:
                    self.clock.advance(0)
                if not self._round():
                    return moved
                moved = True
            raise RuntimeError("in-memory connection still busy after %d rounds: do the"
                               " two sides answer each other for ever?" % (self.maxRounds,))
        finally:
            self._flushing = False

    def _round(self) -> bool:
        if self.closed:
            return False
        client, server = self.clientTransport, self.serverTransport
        if client.aborted or server.aborted:
            self._close()
            return True
        progress = False
        for source, target in ((client, server), (server, client)):
            if source._buffer:
                data = source._take()
                if not target.disconnected:
                    target.protocol.dataReceived(data)
                progress = True
        if progress:
            return True
        if client.disconnecting or server.disconnecting:
            self._close()
            return True
        if client.producer is None and server.producer is None:
            return False
        return client._pull() | server._pull()

    def _close(self) -> None:
        self.closed = True
        client, server = self.clientTransport, self.serverTransport
        if client.aborted or server.aborted:
            def reason(end: MemoryTransport) -> Failure:
                if end.aborted:
                    return Failure(netError.ConnectionAborted())
                return Failure(netError.ConnectionLost("connection reset by the other side"))
            clientReason, serverReason = reason(client), reason(server)
        else:
            clientReason = serverReason = Failure(netError.ConnectionDone("closed"))
        try:
            client._lost(clientReason)
        finally:
            server._lost(serverReason)

    def _written(self) -> None:
        if self.immediate:
            self.flush()


class RecordingPeer(Protocol):
    """A far end that a test plays by hand: it keeps what it receives.

    :ivar received: the bytes received and not yet taken.
    :ivar reason: the ``connectionLost`` reason, once the connection closed.
    :ivar maxReceived: the most bytes kept untaken; more raise ``BufferError``.
    """

    def __init__(self, maxReceived: int = DEFAULT_MAX_BUFFER) -> None:
        self.received = bytearray()
        self.reason: Optional[Failure] = None
        self.maxReceived = maxReceived

    def dataReceived(self, data: bytes) -> None:
        if len(self.received) + len(data) > self.maxReceived:
            raise BufferError("RecordingPeer: %d bytes untaken, over maxReceived=%d"
                              % (len(self.received) + len(data), self.maxReceived))
        self.received += data

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.reason = reason

    def take(self) -> bytes:
        """The bytes received so far, forgotten here."""
        data = bytes(self.received)
        del self.received[:]
        return data

    def send(self, data: bytes) -> None:
        """Write *data* to the other side (delivered at the next flush)."""
        assert self.transport is not None, "RecordingPeer.send() before the connection"
        self.transport.write(data)


def _refused(why: str) -> netError.ConnectionRefusedError:
    """The error a TCP endpoint gives for a refused connection."""
    return netError.ConnectionRefusedError(why)  # type: ignore[no-untyped-call]



@implementer(IStreamClientEndpoint)
class MemoryEndpoint:
    """A client endpoint whose connections are :class:`MemoryConnection`
    objects to protocols of *serverFactory* (a
    :class:`FakeAMIServerFactory <starpy.testing.ami.FakeAMIServerFactory>`,
    a ``FastAGIFactory``...), or, without one, to a fresh
    :class:`RecordingPeer` each.

    :meth:`connect` flushes the new connection once (a server's greeting is
    delivered) before its Deferred fires.

    :param serverAddress: the server side's address (default port 0).
    :param clock: given to each connection (see :class:`MemoryConnection`).

    :ivar connections: every connection made, oldest first.
    :ivar refuse: ``True`` refuses every attempt (with Twisted's
        ``ConnectionRefusedError``, as a TCP endpoint does) until set back
        to ``False``; a number *N* refuses the next *N*.
    :ivar attempts: how many times :meth:`connect` was called.
    """

    def __init__(self, serverFactory: Optional[IProtocolFactory] = None,
                 serverAddress: Optional[IAddress] = None,
                 clock: Optional[Clock] = None) -> None:
        self.serverFactory = serverFactory
        self.serverAddress = serverAddress
        self.clock = clock
        self.connections: List[MemoryConnection] = []
        self.refuse: Union[bool, int] = False
        self.attempts = 0

    def connect(self, protocolFactory: IProtocolFactory) -> defer.Deferred[Any]:
        """Connect a protocol of *protocolFactory*; fires with it, or fails
        with ``ConnectionRefusedError`` (refused, or the server factory
        built no protocol) or ``twisted.internet.error.ConnectError`` (the
        client factory built none)."""
        self.attempts += 1
        if self.refuse is True:
            return defer.fail(_refused("the in-memory server refuses"))
        if self.refuse:
            self.refuse -= 1
            return defer.fail(_refused("the in-memory server refuses"))
        clientAddress = nextClientAddress()
        client = protocolFactory.buildProtocol(clientAddress)
        if client is None:
            return defer.fail(netError.ConnectError(  # type: ignore[no-untyped-call]
                string="the client factory built no protocol"))
        server: Optional[IProtocol]
        if self.serverFactory is None:
            server = RecordingPeer()
        else:
            server = self.serverFactory.buildProtocol(clientAddress)
        if server is None:
            return defer.fail(_refused("the server factory built no protocol"))
        connection = MemoryConnection(server, client, clientAddress, self.serverAddress,
                                      clock=self.clock)
        self.connections.append(connection)
        connection.flush()
        return defer.succeed(client)

    def pump(self) -> bool:
        """Flush every open connection; whether anything moved."""
        moved = False
        for connection in self.connections:
            if not connection.closed:
                moved = connection.flush() or moved
        return moved
