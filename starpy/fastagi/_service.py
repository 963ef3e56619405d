"""Listening for FastAGI: the listen queue, :func:`listenFastAGI` and
:class:`FastAGIService` (private: ``starpy.fastagi`` re-exports them)."""
from __future__ import annotations

from typing import (
    Any,
    Dict,
    Optional,
    cast,
)

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IReactorTCP,
)
from twisted.python.failure import Failure

from starpy._idioms import Waiters, defaultReactor
from starpy.fastagi._common import log
from starpy.fastagi._factory import FastAGIFactory

DEFAULT_BACKLOG = 1024
"""Default length of the FastAGI listen queue (:func:`listenFastAGI`,
``[FastAGI] backlog``, ``starpy serve --backlog``).

Asterisk gives up on a FastAGI connection that is not accepted within
about 2 seconds (``MAX_AGI_CONNECT``): its caller gets no IVR.  With a
queue of 50, 2,000 calls set up 300 at a time, in a process that also
followed a busy AMI connection, lost calls that way; with 1,024 all of
them were served.  The operating system caps the value
(``net.core.somaxconn`` on Linux, 4,096 since 5.4, 128 before)."""


def listenFastAGI(
    factory: FastAGIFactory,
    port: int = 4573,
    interface: str = "127.0.0.1",
    reactor: Optional[IReactorTCP] = None,
    backlog: int = DEFAULT_BACKLOG,
) -> Deferred[IListeningPort]:
    """Listen for Asterisk on *interface* (loopback by default) and *port*.

    Use ``interface=""`` (all IPv4) or an address to listen elsewhere, and
    give the factory ``allowedClients`` then: FastAGI has no authentication.
    For TLS or UNIX sockets, use a Twisted endpoint with the factory.

    :param port: the TCP port; 0 picks any free one (read it back from the
        listening port).
    :param backlog: how many connections may wait to be accepted
        (:data:`DEFAULT_BACKLOG`: survives bursts of calls).
    :return: a Deferred firing with the listening port, an
        ``twisted.internet.interfaces.IListeningPort``:
        ``port.getHost().port`` is the port number (the one chosen for
        ``port=0``), ``port.stopListening()`` stops accepting calls (calls in
        progress go on) and returns a Deferred.  The Deferred fails with
        ``twisted.internet.error.CannotListenError`` when the port is
        taken or the address is not the host's.
    """
    from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint

    if reactor is None:
        reactor = cast(IReactorTCP, defaultReactor())
    if ":" in interface:
        endpoint: Any = TCP6ServerEndpoint(reactor, port, backlog, interface)
    else:
        endpoint = TCP4ServerEndpoint(reactor, port, backlog, interface)
    return cast("Deferred[IListeningPort]", endpoint.listen(factory))


class FastAGIService(Service):
    """A FastAGI server as a Twisted service: listens while it runs.

    ``FastAGIService(FastAGIFactory(main), 4573).setServiceParent(application)``
    serves calls as long as the application runs.  Stopping it stops
    listening, then finishes the calls in progress (its Deferred waits for
    them).  The arguments are :func:`listenFastAGI`'s (*backlog* ``None``:
    its default).
    """

    def __init__(self, factory: FastAGIFactory, port: int = 4573,
                 interface: str = "127.0.0.1", reactor: Optional[IReactorTCP] = None,
                 backlog: Optional[int] = None) -> None:
        self.factory = factory
        self.port = port
        self.interface = interface
        self.reactor = reactor
        self.backlog = backlog
        self._listeningPort: Optional[IListeningPort] = None
        self._failure: Optional[Failure] = None
        self._started: Optional[Deferred[None]] = None
        self._waiters: Waiters[IListeningPort] = Waiters()

    def startService(self) -> None:
        """Start listening.  A failure (the port is taken...) is logged at
        ERROR, and :meth:`whenListening` fails with it."""
        Service.startService(self)
        self._failure = None
        options: Dict[str, Any] = {} if self.backlog is None else {"backlog": self.backlog}
        self._started = listenFastAGI(self.factory, self.port, self.interface, self.reactor,
                                      **options).addCallbacks(self._listened, self._notListening)

    def _listened(self, port: IListeningPort) -> None:
        self._listeningPort = port
        self._waiters.fire(port)

    def _notListening(self, reason: Failure) -> None:
        log.error("FastAGI service cannot listen on %s:%d: %s", self.interface or "*",
                  self.port, reason.getErrorMessage())
        self._failure = reason
        self._waiters.fail(reason)

    def whenListening(self) -> Deferred[IListeningPort]:
        """A new Deferred firing with the listening port once the service
        listens; it fails if the service could not listen, or is not running.
        Cancelling it stops waiting."""
        if self._listeningPort is not None:
            return defer.succeed(self._listeningPort)
        if self._failure is not None:
            return defer.fail(self._failure)
        if not self.running:
            return defer.fail(RuntimeError("the FastAGI service is not running"))
        return self._waiters.wait()

    def stopService(self) -> Deferred[None]:
        """Stop listening, then finish the calls in progress; fires once all
        their connections are closed."""
        Service.stopService(self)
        started, self._started = self._started, None

        def stop(ignored: object) -> Any:
            port, self._listeningPort = self._listeningPort, None
            return port.stopListening() if port is not None else None

        stopping: Deferred[Any] = started if started is not None else defer.succeed(None)
        return stopping.addCallback(stop).addCallback(lambda ignored: self.factory.finishAll())
