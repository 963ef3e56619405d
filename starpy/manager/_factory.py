"""Upstream StarPy's way to connect: :class:`AMIFactory`, its credentials,
its endpoints, and :meth:`AMIFactory.login`, which reconnects as upstream's
``ReconnectingClientFactory`` did, run by an :class:`AMIService
<starpy.manager.AMIService>`."""
from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Tuple, Union

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.python.failure import Failure

from starpy import error
from starpy._idioms import defaultReactor, notifyListener
from starpy._tls import isTLSDescription, requireTLS
from starpy.codec.ami import DEFAULT_MAX_MESSAGE_SIZE
from starpy.manager._common import DEFAULT_TIMEOUT, checkTimeout, log, loginEvents
from starpy.manager._protocol import AMIProtocol
from starpy.manager._service import AMIService


class AMIFactory(protocol.Factory):
    """Builds AMI connections, logs them in, and logs in again after a drop.

    :param username: the AMI user (``[username]`` in manager.conf).
    :param secret: its secret; never logged nor shown in ``repr``.
    :param id: kept for upstream compatibility, unused.
    :param plaintext_login: upstream's spelling of the login form:
        ``False`` is ``md5=True``; ``None`` (default): as *md5* says.
    :param on_reconnect: ``on_reconnect(loginDeferred)``, called each time a
        connection made by :meth:`login` is lost and the factory reconnects;
        *loginDeferred* fires with the next logged-in :class:`AMIProtocol`
        (or fails with that attempt's
        :class:`AMIAuthenticationError <starpy.error.AMIAuthenticationError>`).
    :param md5: log in with the MD5 challenge instead of the plain secret
        (the primary spelling; *plaintext_login* is its upstream alias).
    :param events: ``True`` (all), ``False`` (none) or event classes
        (``'call,agent'`` or ``['call', 'agent']``; checked here).
    :param timeout: default timeout of each action, in seconds (``None``: none).
    :param keepalive: if set, send ``Ping`` after this many idle seconds and
        drop the connection when no ``Pong`` comes within *keepaliveTimeout*
        (default: *keepalive*), so that it is made again.
    :param maxMessageSize: bound on one received message, bytes (1 MiB).
    :param trace: log every line of each new connection (see
        :meth:`AMIProtocol.setTrace`).
    :param reactor: the reactor (default: the global one), also the clock.

    The reconnection of :meth:`login` is upstream's ``ReconnectingClientFactory``
    behaviour (:meth:`stopTrying`, :meth:`resetDelay`, :attr:`initialDelay`,
    :attr:`factor`, :attr:`maxDelay`), run by an :class:`AMIService`, which
    is the recommended form for new code.
    """

    protocol = AMIProtocol

    initialDelay = 1.0
    """Seconds before the first reconnection attempt."""
    factor = 1.5
    """Each further attempt waits this much longer."""
    maxDelay = 30.0
    """Longest wait between attempts, seconds."""

    def __init__(
        self,
        username: str,
        secret: str,
        id: Optional[str] = None,
        plaintext_login: Optional[bool] = None,
        on_reconnect: Optional[Callable[[defer.Deferred[AMIProtocol]], Any]] = None,
        *,
        md5: bool = False,
        events: Union[bool, str, Iterable[str]] = True,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        keepalive: Optional[float] = None,
        keepaliveTimeout: Optional[float] = None,
        maxMessageSize: int = DEFAULT_MAX_MESSAGE_SIZE,
        trace: bool = False,
        reactor: Any = None,
    ) -> None:
        if plaintext_login is not None:
            if md5 and plaintext_login:
                raise ValueError("AMIFactory: md5=True contradicts plaintext_login=True")
            md5 = not plaintext_login
        if on_reconnect is not None and not callable(on_reconnect):
            raise TypeError("on_reconnect must be callable, not %r" % (on_reconnect,))
        for value, what in ((timeout, "timeout"), (keepalive, "keepalive"),
                            (keepaliveTimeout, "keepaliveTimeout")):
            checkTimeout(value, what)
        self.username = username
        self.trace = trace
        self._secret = secret
        self.id = id
        self.md5 = md5
        self.on_reconnect = on_reconnect
        loginEvents(events)  # refused here rather than at each login
        self.events = events
        self.timeout = timeout
        self.keepalive = keepalive
        self.keepaliveTimeout = keepaliveTimeout
        self.maxMessageSize = maxMessageSize
        self.reactor = reactor
        self.continueTrying = True
        self.delay = self.initialDelay
        self.loginDefer: Optional[defer.Deferred[AMIProtocol]] = None
        self._services: List[AMIService] = []

    @property
    def secret(self) -> str:
        """The AMI secret (kept out of ``repr``)."""
        return self._secret

    @property
    def plaintext_login(self) -> bool:
        """Upstream's name: ``not md5``."""
        return not self.md5

    def __repr__(self) -> str:
        return "<AMIFactory user=%r md5=%r>" % (self.username, self.md5)

    def getReactor(self) -> Any:
        """The reactor given, or the global one: the clock and the
        connector of this factory's connections and services."""
        return self.reactor if self.reactor is not None else defaultReactor()

    def buildProtocol(self, addr: Any) -> AMIProtocol:
        ami = self.protocol(
            clock=self.getReactor(),
            defaultTimeout=self.timeout,
            maxMessageSize=self.maxMessageSize,
            keepalive=self.keepalive,
            keepaliveTimeout=self.keepaliveTimeout,
            trace=self.trace,
        )
        ami.factory = self
        return ami

    def loginProtocol(self, ami: AMIProtocol) -> defer.Deferred[AMIProtocol]:
        """Log *ami* (connected, built by this factory) in with our credentials."""
        return ami.login(self.username, self._secret, md5=self.md5, events=self.events)

    def endpoint(self, host: str = "127.0.0.1", port: int = 5038,
                 timeout: float = 5.0,
                 bindAddress: Union[Tuple[str, int], str, None] = None) -> IStreamClientEndpoint:
        """The client endpoint for *host* and *port*.

        *host* may instead be a Twisted endpoint description, such as
        ``'tls:host=pbx.example.com:port=5039'`` or ``'unix:/run/ami.sock'``;
        *port* is then ignored.  *bindAddress* is the local ``(host, port)``
        to connect from (a host alone means any port).

        :raises ValueError: *bindAddress* with a description string (write
            ``bindAddress=`` into the description instead).
        :raises ~starpy.error.TLSUnavailableError: for a ``tls:`` description
            when Twisted cannot do TLS here (StarPy's ``tls`` extra is
            missing).
        """
        from twisted.internet.endpoints import HostnameEndpoint, clientFromString

        reactor = self.getReactor()
        endpoint: IStreamClientEndpoint
        if ":" in host and host.split(":", 1)[0] in ("tcp", "tls", "ssl", "unix", "tcp6"):
            if bindAddress is not None:
                raise ValueError("bindAddress does not apply to the endpoint description %r;"
                                 " put bindAddress= into it" % (host,))
            if isTLSDescription(host):
                requireTLS()
            endpoint = clientFromString(reactor, host)
        else:
            if isinstance(bindAddress, str):
                bindAddress = (bindAddress, 0)
            endpoint = HostnameEndpoint(reactor, host, port, timeout=timeout,
                                        bindAddress=bindAddress)
        return endpoint

    def login(
        self,
        ip: str = "127.0.0.1",
        port: int = 5038,
        timeout: float = 5.0,
        bindAddress: Union[Tuple[str, int], str, None] = None,
        endpoint: Optional[IStreamClientEndpoint] = None,
    ) -> defer.Deferred[AMIProtocol]:
        """Connect and log in; fires with the logged-in :class:`AMIProtocol`.

        :param ip: host name or address, or an endpoint description string
            (``'tls:host=pbx:port=5039'``), see :meth:`endpoint`.
        :param timeout: seconds for connecting and logging in together.
        :param bindAddress: local ``(host, port)`` to connect from.
        :param endpoint: an endpoint to use instead of *ip* and *port*.

        Fails with :class:`AMIAuthenticationError <starpy.error.AMIAuthenticationError>` on wrong
        credentials, :class:`AMITimeout <starpy.error.AMITimeout>` when the whole login
        takes longer than *timeout*, or the connection error; nothing is
        retried then.  It fails before connecting with
        :class:`TLSUnavailableError <starpy.error.TLSUnavailableError>` for TLS without StarPy's
        ``tls`` extra.  Once logged in, a lost connection is made again with
        backoff and logged in again, *on_reconnect* told (as upstream's
        ``ReconnectingClientFactory``), until :meth:`stopTrying` or the
        protocol's ``logoff()``.  Each new connection starts without event
        registrations, as upstream; an :class:`AMIService` keeps them.
        """
        reactor = self.getReactor()
        try:
            target = (endpoint if endpoint is not None
                      else self.endpoint(ip, port, timeout, bindAddress))
        except error.TLSUnavailableError:
            return defer.fail()
        self.continueTrying = True
        self.resetDelay()
        service = AMIService(self, target, retryPolicy=self._nextDelay, clock=reactor,
                             keepRegistrations=False)
        self._services.append(service)
        first: defer.Deferred[AMIProtocol] = defer.Deferred(lambda d: self._stop(service))
        self.loginDefer = first
        pending: List[defer.Deferred[AMIProtocol]] = [first]

        def fail(failure: Failure) -> None:
            if pending:
                waiter = pending.pop()
                if waiter is first:
                    self._stop(service)  # the first attempt failed: no retry
                if not waiter.called:
                    waiter.errback(failure)

        def onLogin(ami: AMIProtocol) -> None:
            self.resetDelay()
            ami.whenClosed().addCallback(lambda ignored: lost(ami))
            if pending and not pending[-1].called:
                pending.pop().callback(ami)

        def onLoginFailed(ami: AMIProtocol, failure: Failure) -> None:
            if pending and pending[0] is not first:
                ami.whenClosed().addCallback(lambda ignored: lost(ami))
            fail(failure)

        def lost(ami: AMIProtocol) -> None:
            if service not in self._services:
                return
            if not self.continueTrying or ami.loggingOff:
                self._stop(service)
                return
            log.info("AMI connection lost, reconnecting")
            again: defer.Deferred[AMIProtocol] = defer.Deferred()
            self.loginDefer = again
            del pending[:]
            pending.append(again)
            if self.on_reconnect is None:
                again.addErrback(lambda failure: None)  # AMIService logged it
            else:
                notifyListener(log, "AMI on_reconnect", self.on_reconnect, again)

        def onTimeout(result: Any, t: float) -> Failure:
            return Failure(error.AMITimeout("Login", timeout))

        service.onLogin(onLogin)
        service.onLoginFailed(onLoginFailed)
        service.whenConnected(failAfterFailures=1).addErrback(fail)
        service.startService()
        first.addTimeout(timeout, reactor, onTimeoutCancel=onTimeout)
        return first

    def _nextDelay(self, attempt: int) -> float:
        delay = self.delay
        self.delay = min(self.delay * self.factor, self.maxDelay)
        return delay

    def _stop(self, service: "AMIService") -> None:
        if service in self._services:
            self._services.remove(service)
            # Not from within the service's own connection callbacks: its
            # state machine refuses to be re-entered.
            service.stopSoon()

    def resetDelay(self) -> None:
        """Make the next reconnection wait :attr:`initialDelay` again
        (done after each successful login)."""
        self.delay = self.initialDelay

    def stopTrying(self) -> None:
        """Stop reconnecting: a connection being made is dropped, a
        logged-in one is kept but not made again once lost."""
        self.continueTrying = False
        for service in list(self._services):
            if service.protocol is None:
                self._stop(service)
