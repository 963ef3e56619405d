"""The fake AMI server in memory: a client connected, or logged in, without
sockets, through :mod:`starpy.testing.memory`.

Private to :mod:`starpy.testing.ami`, which re-exports the public names.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress, IProtocolFactory
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from starpy.testing import memory
from starpy.testing.ami._factory import FakeAMIServerFactory
from starpy.testing.memory import MemoryConnection

if TYPE_CHECKING:  # pragma: no cover
    from starpy.manager import AMIFactory, AMIProtocol

#: Where the fake AMI server listens in memory (Asterisk's AMI port).
SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 5038)


def connectInMemory(server: FakeAMIServerFactory, client: Any) -> MemoryConnection:
    """Connect a client to *server* in memory; the banner is delivered.

    *client* is a protocol factory (such as :class:`starpy.manager.AMIFactory`)
    or a protocol.  Call :meth:`MemoryConnection.flush
    <starpy.testing.memory.MemoryConnection.flush>` to move bytes.

    :raises ValueError: a factory built no protocol.
    """
    clientAddress = memory.nextClientAddress()
    clientProtocol = (client.buildProtocol(clientAddress) if IProtocolFactory.providedBy(client)
                      else client)
    session = server.buildProtocol(clientAddress)
    if clientProtocol is None or session is None:
        raise ValueError("no protocol to connect: the factory built none")
    connection = MemoryConnection(session, clientProtocol, clientAddress, SERVER_ADDRESS)
    connection.flush()
    return connection


class MemoryEndpoint(memory.MemoryEndpoint):
    """A client endpoint (``IStreamClientEndpoint``) that connects to *server*
    in memory: give it to :class:`AMIService <starpy.manager.AMIService>` or a
    pool to test reconnection without sockets.

    It is :class:`starpy.testing.memory.MemoryEndpoint` with the server at
    the AMI port 5038: ``connections``, ``refuse``, ``pump()``.
    """

    def __init__(self, server: FakeAMIServerFactory, serverAddress: Optional[IAddress] = None,
                 clock: Optional[Clock] = None) -> None:
        super().__init__(server, serverAddress or SERVER_ADDRESS, clock)
        self.server = server


def loginInMemory(server: FakeAMIServerFactory,
                  client: "AMIFactory") -> Tuple["AMIProtocol", MemoryConnection]:
    """Connect *client* (an :class:`AMIFactory <starpy.manager.AMIFactory>`) to *server*
    in memory and log it in; returns ``(logged-in protocol, connection)``.

    :raises starpy.error.AMIError: the login's failure (e.g.
        :class:`AMIAuthenticationError <starpy.error.AMIAuthenticationError>`;
        but a refused login only fails after the server's clock has advanced
        1 s: use :func:`connectInMemory` for that).
    :raises RuntimeError: if the login did not finish without the clock
        moving.
    """
    connection = connectInMemory(server, client)
    ami: "AMIProtocol" = connection.client  # type: ignore[assignment]
    results: List[Any] = []
    client.loginProtocol(ami).addBoth(results.append)
    connection.flush()
    if not results:
        raise RuntimeError("AMI login did not complete in memory (is the clock needed?)")
    if isinstance(results[0], Failure):
        results[0].raiseException()
    protocolLoggedIn: "AMIProtocol" = results[0]
    return protocolLoggedIn, connection
