"""Twisted's own TCP transport under a protocol being tested, without a
running reactor.

:class:`TCPWire` puts a ``tcp.Connection`` over a real loopback socket
pair, with a ``MemoryReactorClock`` that only records which transports wait to
write.  As nothing runs the reactor, bytes found on the peer's socket were
sent by the call that wrote them; bytes still in Twisted's buffer go out
when the test takes the reactor's turn (:meth:`TCPWire.flush`).
"""
from __future__ import annotations

import socket
from typing import Any, Callable, List, Optional, cast

from twisted.internet import tcp
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IProtocol
from twisted.internet.testing import MemoryReactorClock

from tests.wire import connect


class ScriptedSocket:
    """The socket a :class:`LoopbackConnection` hands out (``getHandle()``):
    the real one, whose next ``send`` a test can script."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.script: Optional[Callable[[bytes], int]] = None
        self.given: List[bytes] = []  # what each scripted send was given

    def send(self, data: bytes) -> int:
        script, self.script = self.script, None
        if script is None:
            return self.real.send(data)
        self.given.append(bytes(data))
        return script(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class LoopbackConnection(tcp.Connection):
    """``tcp.Connection`` with the addresses its server and client
    subclasses give (which need a listening port or a connector), whose
    ``getHandle()`` is a :class:`ScriptedSocket`."""

    handle: ScriptedSocket

    def getHandle(self) -> Any:
        return self.handle

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", *self.socket.getsockname())

    def getPeer(self) -> IPv4Address:
        return IPv4Address("TCP", *self.socket.getpeername())


def withoutAttribute(name: str) -> type[LoopbackConnection]:
    """A :class:`LoopbackConnection` on which *name* cannot be read."""
    class Without(LoopbackConnection):
        def __getattribute__(self, attribute: str) -> Any:
            if attribute == name:
                raise AttributeError(attribute)
            return super().__getattribute__(attribute)

    return Without


class TCPWire:
    """*protocol* on a ``tcp.Connection``, and the peer's end of its socket.

    :param tls: the transport as ``startTLS()`` leaves it: what is written
        goes to its TLS layer (here :attr:`tlsLayer`).
    :param producer: a streaming producer registered on the transport.
    :param held: bytes the transport holds unsent when the protocol connects.
    :param drop: the name of an attribute the transport lacks (as in
        another version of Twisted).
    """

    def __init__(self, protocol: IProtocol, tls: bool = False, producer: bool = False,
                 held: bytes = b"", drop: Optional[str] = None) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        self.peer = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
        listener.close()
        self.peer.setblocking(False)
        self.reactor = MemoryReactorClock()
        kind = LoopbackConnection if drop is None else withoutAttribute(drop)
        self.transport = kind(ours, protocol, self.reactor)
        self.transport.handle = self.handle = ScriptedSocket(ours)
        self.transport.connected = 1
        self.tlsLayer: List[bytes] = []
        if tls:
            self.startTLS()
        if producer:
            self.registerProducer()
        if held:
            cast(Any, self.transport).write(held)
        connect(protocol, self.transport)

    def startTLS(self) -> None:
        """What ``startTLS()`` leaves: writes go to the TLS layer
        (:attr:`tlsLayer` here)."""
        self.transport.TLS = True
        self.transport.protocol = cast(Any, self)

    def registerProducer(self) -> None:
        """Register a streaming producer (this object) on the transport."""
        cast(Any, self.transport).registerProducer(self, True)

    # the TLS layer, for a transport that has one
    def write(self, data: bytes) -> None:
        self.tlsLayer.append(data)

    # a streaming producer, for a transport that has one
    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass

    def received(self) -> bytes:
        """What the peer can read now (nothing: ``b""``)."""
        try:
            return self.peer.recv(1 << 20)
        except BlockingIOError:
            return b""

    def waitingToWrite(self) -> bool:
        """Whether the transport waits for the reactor to write its buffer."""
        return self.transport in self.reactor.getWriters()

    def flush(self) -> None:
        """The reactor's turn: the transport writes what the socket takes."""
        if self.waitingToWrite():
            cast(Any, self.transport).doWrite()

    def sendOnly(self, count: int) -> List[bytes]:
        """Make the next direct ``send`` on the socket take only the first
        *count* bytes it is given; return the list of what it was given."""
        self.handle.script = lambda data: self.handle.real.send(data[:count])
        return self.handle.given

    def refuseNextSend(self, refusal: OSError) -> None:
        """Make the next direct ``send`` on the socket raise *refusal*
        (``BlockingIOError``: a full buffer; another: a failing connection)."""
        def refuse(data: bytes) -> int:
            raise refusal

        self.handle.script = refuse

    def fillSocket(self) -> int:
        """Fill the socket's buffers with dots, as a peer that stops reading
        leaves them; return how many were taken."""
        ours = self.transport.socket
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        taken = 0
        while True:
            try:
                taken += ours.send(b"." * 4096)
            except BlockingIOError:
                return taken

    def drain(self, size: int) -> bytes:
        """Read until *size* bytes arrived, taking the reactor's turns meanwhile."""
        received = b""
        while len(received) < size:
            received += self.received()
            self.flush()
        return received

    def close(self) -> None:
        ours = getattr(self.transport, "socket", None)  # (gone once the connection is lost)
        if ours is not None:
            ours.close()
        self.peer.close()
