"""Connecting a protocol under test to a transport, and the port a test server
listens on, typed.

Twisted's ``BaseProtocol.makeConnection`` carries no annotations, so calling
it on a StarPy protocol is an untyped call; going through ``IProtocol``
(whose ``makeConnection`` is annotated) keeps the tests checked.
"""
from __future__ import annotations

from typing import TypeVar

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IListeningPort, IProtocol, ITransport

_Transport = TypeVar("_Transport", bound=ITransport)


def connect(protocol: IProtocol, transport: _Transport) -> _Transport:
    """Connect *protocol* to *transport* (``makeConnection``); returns *transport*."""
    protocol.makeConnection(transport)
    return transport


def portNumber(port: IListeningPort) -> int:
    """The TCP port number *port* listens on."""
    address = port.getHost()
    assert isinstance(address, (IPv4Address, IPv6Address)), address
    return address.port
