"""The servers of an AMI pool, their states, and the pool itself (private:
``starpy.pool`` re-exports every name)."""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Union

import attrs
from twisted.application import service
from twisted.internet import defer
from twisted.internet.interfaces import (
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from starpy import error, manager
from starpy._idioms import Waiters, checkSeconds, notifyListener, reasonOf
from starpy.amiactions import USE_DEFAULT as _USE_DEFAULT
from starpy.codec.ami import HeaderInput, Message
from starpy.dispatch import EventDispatcher, EventHandler, EventNames, Handle, observe
from starpy.error import NoServerReady
from starpy.eventfilter import CombinedRegistrations
from starpy.interfaces import IAMIEventSource
from starpy.manager import AMIFactory, AMIProtocol, AMIService

log = logging.getLogger("starpy.pool")

CONNECTING = "connecting"
"""Connecting or logging in (also again after :data:`DOWN`)."""
BOOTING = "booting"
"""Logged in, waiting for ``FullyBooted``."""
LOGGED_IN = "loggedIn"
"""Logged in and booted: actions are sent to it."""
DOWN = "down"
"""The connection failed, was lost or the login refused; retrying."""
STOPPED = "stopped"
"""Not started, stopped, or removed from the pool."""

DEFAULT_BOOT_TIMEOUT = manager.DEFAULT_BOOT_TIMEOUT
"""Seconds a pool waits for ``FullyBooted`` after a login (30)."""

Chooser = Callable[[List[str]], str]
"""``chooser(readyServerNames) -> name``: picks the server of an action."""

StateObserver = Callable[["ServerStatus", str], Any]
"""``observer(newStatus, previousState)``."""


@attrs.frozen
class ServerStatus:
    """One server's state, as :meth:`AMIPool.status` gives it.

    :ivar name: the server's name in the pool.
    :ivar state: :data:`CONNECTING`, :data:`BOOTING`, :data:`LOGGED_IN`,
        :data:`DOWN` or :data:`STOPPED`.
    :ivar lastError: the last error (a failed connection, a refused login,
        a lost connection), kept while reconnecting; ``None`` if none yet.
    :ivar since: the clock's time of the last change of state.
    :ivar booted: whether ``FullyBooted`` arrived since the last login
        (false while booting, and after the wait for it timed out).
    """

    name: str
    state: str
    lastError: Optional[BaseException]
    since: float
    booted: bool


class _ObservedEndpoint:
    """Wraps a server's endpoint to tell the pool of each connection attempt."""

    def __init__(self, endpoint: IStreamClientEndpoint, server: "PoolServer") -> None:
        self._endpoint = endpoint
        self._server = server

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        self._server._connecting()
        d: defer.Deferred[Any] = self._endpoint.connect(factory)
        d.addErrback(self._failed)
        return d

    def _failed(self, failure: Failure) -> Failure:
        if not failure.check(defer.CancelledError):
            self._server._down(reasonOf(failure))
        return failure


class PoolServer(service.Service):
    """One server of an :class:`AMIPool`: its :class:`AMIService` and state.

    Built by :meth:`AMIPool.addServer`.

    The :class:`AMIService <starpy.manager.AMIService>` does the work (the
    login, the event filter, the wait for ``FullyBooted``); this keeps the
    server's state from what it tells (:meth:`AMIService.onBooting
    <starpy.manager.AMIService.onBooting>`, ``onLogin``, ``onLoginFailed``,
    :attr:`AMIService.booted <starpy.manager.AMIService.booted>`) and
    forwards its events to the pool.

    :ivar name: the server's name (also each protocol's ``serverName``).
    :ivar amiService: the :class:`AMIService <starpy.manager.AMIService>`.
    """

    def __init__(self, pool: "AMIPool", name: str, factory: AMIFactory,
                 endpoint: Union[str, IStreamClientEndpoint], port: int,
                 retryPolicy: Optional[Callable[[int], float]],
                 waitBooted: bool, bootTimeout: float, pushFilter: bool = False) -> None:
        self.setName(name)  # type: ignore[no-untyped-call]
        self.name: str = name
        self._pool = pool
        self.clock: IReactorTime = pool._clockFor(factory)
        target = factory.endpoint(endpoint, port) if isinstance(endpoint, str) else endpoint
        self.amiService = AMIService(factory, _ObservedEndpoint(target, self),  # type: ignore[arg-type]
                                     retryPolicy=retryPolicy, clock=self.clock,
                                     waitBooted=waitBooted, bootTimeout=bootTimeout,
                                     pushFilter=pushFilter,
                                     filterRegistrations=self._filterRegistrations)
        self._state = STOPPED
        self._lastError: Optional[BaseException] = None
        self._since = self.clock.seconds()
        self._booted = False
        self._current: Optional[AMIProtocol] = None
        self._awaitingBoot: Optional[AMIProtocol] = None  # the protocol waiting for FullyBooted
        self._waiters: Waiters[AMIProtocol] = Waiters()
        self.amiService.onBooting(self._booting)
        self.amiService.onLogin(self._loggedIn)
        self.amiService.onLoginFailed(self._loginFailed)
        self._forwarding = self.amiService.registerEvent(None, self._forward)

    def __repr__(self) -> str:
        return "<PoolServer %r %s>" % (self.name, self._state)

    # -- settings (those of the AMIService) --------------------------------

    @property
    def waitBooted(self) -> bool:
        """Whether a login waits for ``FullyBooted`` (from the next login on
        when set)."""
        return self.amiService.waitBooted

    @waitBooted.setter
    def waitBooted(self, value: bool) -> None:
        self.amiService.waitBooted = value

    @property
    def bootTimeout(self) -> Optional[float]:
        """The bound on that wait, seconds."""
        return self.amiService.bootTimeout

    @bootTimeout.setter
    def bootTimeout(self, value: float) -> None:
        checkSeconds(value, "bootTimeout")
        self.amiService.bootTimeout = value

    @property
    def pushFilter(self) -> bool:
        """Whether each login pushes an event filter of the names registered
        on the pool and on this server."""
        return self.amiService.pushFilter

    @pushFilter.setter
    def pushFilter(self, value: bool) -> None:
        self.amiService.pushFilter = value

    # -- state -------------------------------------------------------------

    @property
    def state(self) -> str:
        """The current state (see :class:`ServerStatus`)."""
        return self._state

    @property
    def status(self) -> ServerStatus:
        """The current :class:`ServerStatus`."""
        return ServerStatus(self.name, self._state, self._lastError, self._since, self._booted)

    @property
    def protocol(self) -> Optional[AMIProtocol]:
        """The logged-in and booted protocol, or ``None``."""
        ami = self._current
        if self._state != LOGGED_IN or ami is None or not ami.loggedIn:
            return None
        return ami

    def _setState(self, state: str, lastError: Optional[BaseException] = None) -> None:
        if lastError is not None:
            self._lastError = lastError
        if state == self._state and lastError is None:
            return
        previous, self._state = self._state, state
        self._since = self.clock.seconds()
        if state == LOGGED_IN:
            ami = self._current
            assert ami is not None
            self._waiters.fire(ami)
        self._pool._stateChanged(self.status, previous)

    def _connecting(self) -> None:
        if self.running:
            self._setState(CONNECTING)

    def _down(self, reason: BaseException) -> None:
        if self.running:
            self._setState(DOWN, reason)

    def _filterRegistrations(self, ami: AMIProtocol) -> CombinedRegistrations:
        # What the pool's handlers and this server's want; the catch-all
        # forwarding to the pool is not a want of its own.
        return CombinedRegistrations(
            [self._pool.dispatcher, self.amiService.dispatcher], ignore=[self._forwarding])

    def _booting(self, ami: AMIProtocol) -> None:
        ami.serverName = self.name
        self._booted = False
        self._awaitingBoot = ami
        self._setState(BOOTING)

    def _loggedIn(self, ami: AMIProtocol) -> None:
        ami.serverName = self.name
        self._current = ami
        self._awaitingBoot = None
        self._booted = self.amiService.booted
        ami.whenClosed().addCallback(self._closed, ami)
        self._setState(LOGGED_IN)

    def _loginFailed(self, ami: AMIProtocol, failure: Failure) -> None:
        self._awaitingBoot = None
        self._down(reasonOf(failure))

    def _closed(self, ignored: object, ami: AMIProtocol) -> None:
        if ami is not self._current:
            return
        self._current = None
        self._booted = False
        self._down(error.AMIConnectionLost(None, "connection to %s lost" % (self.name,)))

    def _forward(self, ami: AMIProtocol, event: Message) -> None:
        if ami is self._awaitingBoot and event.get("event", "").lower() == "fullybooted":
            # The AMIService's own handler, called after this one, ends the
            # wait: the pool's handlers then find the server logged in, as
            # the event says.
            self.amiService.whenLoggedIn().addCallback(
                lambda ignored: self._pool.dispatcher.dispatch(ami, event))
            return
        self._pool.dispatcher.dispatch(ami, event)

    # -- waiting -----------------------------------------------------------

    def whenReady(self, timeout: Optional[float] = None) -> defer.Deferred[AMIProtocol]:
        """See :meth:`AMIPool.whenReady`."""
        current = self.protocol
        if current is not None:
            return defer.succeed(current)
        if not self.running:
            return defer.fail(NoServerReady(None, "server %s is not running" % (self.name,)))
        waiter = self._waiters.wait()
        if timeout is not None:
            name = self.name

            def timedOut(result: object, seconds: float) -> Failure:
                return Failure(error.AMITimeout("login of %s" % (name,), seconds))

            waiter.addTimeout(timeout, self.clock, onTimeoutCancel=timedOut)
        return waiter

    # -- IService ----------------------------------------------------------

    def startService(self) -> None:
        service.Service.startService(self)
        self._setState(CONNECTING)
        self.amiService.startService()

    def stopService(self) -> defer.Deferred[None]:
        service.Service.stopService(self)
        self._current = None
        self._booted = False
        self._waiters.fail(NoServerReady(None, "server %s stopped" % (self.name,)))
        self._setState(STOPPED)
        return self.amiService.stopService()


@implementer(IAMIEventSource)
class AMIPool(service.MultiService):
    """AMI connections to named Asterisk servers, started and stopped as one
    service (see the module's documentation).

    :param clock: the clock for boot and wait timeouts (default: each
        server's factory reactor).
    :param waitBooted: whether a server counts as logged in only once
        ``FullyBooted`` arrived (or *bootTimeout* passed); default on.
    :param bootTimeout: the bound on that wait, seconds.
    :param pushFilter: after each login, push to that server an event filter
        of the names registered on the pool (and on the server's own
        :class:`AMIService <starpy.manager.AMIService>`), as
        ``AMIService(pushFilter=True)`` does (:mod:`starpy.eventfilter`);
        default off.

    :ivar dispatcher: the pool's :class:`EventDispatcher <starpy.dispatch.EventDispatcher>`,
        which every server's events reach.
    """

    def __init__(self, clock: Optional[IReactorTime] = None, waitBooted: bool = True,
                 bootTimeout: float = DEFAULT_BOOT_TIMEOUT, pushFilter: bool = False) -> None:
        service.MultiService.__init__(self)
        checkSeconds(bootTimeout, "bootTimeout")
        self.clock = clock
        self.waitBooted = waitBooted
        self.bootTimeout = bootTimeout
        self.pushFilter = pushFilter
        self.dispatcher = EventDispatcher()
        self._servers: Dict[str, PoolServer] = {}
        self._stateObservers: List[StateObserver] = []

    def startService(self) -> None:
        """Start every server's connection (and those added later)."""
        service.MultiService.startService(self)

    def stopService(self) -> defer.Deferred[None]:
        """Stop every server; fires once their connections are closed.
        Waiting :meth:`whenReady` Deferreds fail with :class:`NoServerReady`."""
        stopped: defer.Deferred[None] = service.MultiService.stopService(self)
        return stopped

    def _clockFor(self, factory: AMIFactory) -> IReactorTime:
        if self.clock is not None:
            return self.clock
        clock: IReactorTime = factory.getReactor()
        return clock

    def __repr__(self) -> str:
        return "<AMIPool %s>" % (", ".join("%s=%s" % (name, server.state)
                                           for name, server in self._servers.items()),)

    # -- servers -----------------------------------------------------------

    def addServer(
        self,
        name: str,
        factory: AMIFactory,
        endpoint: Union[str, IStreamClientEndpoint] = "127.0.0.1",
        port: int = 5038,
        retryPolicy: Optional[Callable[[int], float]] = None,
        waitBooted: Optional[bool] = None,
        bootTimeout: Optional[float] = None,
        pushFilter: Optional[bool] = None,
    ) -> PoolServer:
        """Add the server *name*: logged in with *factory*'s credentials at
        *endpoint* (as for :class:`AMIService <starpy.manager.AMIService>`).  It starts
        connecting at once if the pool is running.

        *waitBooted*, *bootTimeout* and *pushFilter* default to the pool's.

        :raises TypeError: *name* is not a string, *factory* not an
            :class:`AMIFactory <starpy.manager.AMIFactory>`.
        :raises ValueError: *name* is empty or already in the pool, or
            *bootTimeout* is not a finite number >= 0.
        """
        if not isinstance(name, str):
            raise TypeError("server name must be a string, not %r" % (name,))
        if not name:
            raise ValueError("server name must not be empty")
        if name in self._servers:
            raise ValueError("server %r is already in the pool" % (name,))
        if not isinstance(factory, AMIFactory):
            raise TypeError("factory must be an AMIFactory, not %r" % (factory,))
        if bootTimeout is not None:
            checkSeconds(bootTimeout, "bootTimeout")
        server = PoolServer(self, name, factory, endpoint, port, retryPolicy,
                            self.waitBooted if waitBooted is None else waitBooted,
                            self.bootTimeout if bootTimeout is None else bootTimeout,
                            self.pushFilter if pushFilter is None else pushFilter)
        self._servers[name] = server
        server.setServiceParent(self)  # type: ignore[no-untyped-call]
        return server

    def removeServer(self, name: str) -> defer.Deferred[None]:
        """Stop and forget the server *name*; fires once its connection is
        closed.  Its waiting :meth:`whenReady` Deferreds fail with
        :class:`NoServerReady`.

        :raises KeyError: no such server.
        """
        server = self._servers.pop(name)
        stopped = server.disownServiceParent()  # type: ignore[no-untyped-call]
        return stopped if isinstance(stopped, defer.Deferred) else defer.succeed(None)

    def servers(self) -> List[str]:
        """The servers' names, in the order they were added."""
        return list(self._servers)

    def server(self, name: str) -> PoolServer:
        """The :class:`PoolServer` *name*.

        :raises KeyError: no such server.
        """
        return self._servers[name]

    def status(self, name: str) -> ServerStatus:
        """The :class:`ServerStatus` of server *name* (:raises KeyError:)."""
        return self._servers[name].status

    def statuses(self) -> Dict[str, ServerStatus]:
        """Every server's :class:`ServerStatus`, by name."""
        return {name: server.status for name, server in self._servers.items()}

    def protocol(self, name: str) -> Optional[AMIProtocol]:
        """Server *name*'s logged-in (and booted) protocol, or ``None``."""
        return self._servers[name].protocol

    def readyServers(self) -> List[str]:
        """The names of the servers logged in (and booted), in order."""
        return [name for name, server in self._servers.items() if server.protocol is not None]

    # -- state observers ---------------------------------------------------

    def onStateChange(self, observer: StateObserver) -> Handle:
        """Call ``observer(status, previousState)`` on each change of a
        server's state (or of its last error).  Returns a handle whose
        ``cancel()`` removes the observer."""
        if not callable(observer):
            raise TypeError("observer must be callable, not %r" % (observer,))
        return observe(self._stateObservers, observer)

    def _stateChanged(self, status: ServerStatus, previous: str) -> None:
        log.info("AMI server %s: %s -> %s%s", status.name, previous, status.state,
                 "" if status.lastError is None or status.state != DOWN
                 else " (%s)" % (status.lastError,))
        for observer in list(self._stateObservers):
            notifyListener(log, "AMI pool state observer", observer, status, previous)

    # -- waiting -----------------------------------------------------------

    def whenReady(self, name: str, timeout: Optional[float] = None) -> defer.Deferred[AMIProtocol]:
        """A Deferred firing with server *name*'s protocol once it is logged in
        (and booted): at once if it is.

        Fails with :class:`AMITimeout <starpy.error.AMITimeout>` after *timeout* seconds
        (``None``: no bound), with :class:`NoServerReady` if the server is not
        running or is stopped or removed first.

        :raises KeyError: no such server.
        """
        if timeout is not None:
            checkSeconds(timeout, "timeout")
        return self._servers[name].whenReady(timeout)

    def whenAllLoggedIn(self, timeout: Optional[float] = None
                        ) -> defer.Deferred[Dict[str, AMIProtocol]]:
        """A Deferred firing with ``{name: protocol}`` once every server now in
        the pool is logged in (and booted).

        Fails as :meth:`whenReady` does for the first server that fails
        (with :class:`AMITimeout <starpy.error.AMITimeout>` after *timeout* seconds).
        """
        if timeout is not None:
            checkSeconds(timeout, "timeout")
        names = list(self._servers)
        waiters = [self._servers[name].whenReady(timeout) for name in names]
        gathered: defer.Deferred[List[AMIProtocol]] = defer.gatherResults(
            waiters, consumeErrors=True)

        def named(protocols: List[AMIProtocol]) -> Dict[str, AMIProtocol]:
            return dict(zip(names, protocols, strict=True))

        def firstError(failure: Failure) -> Failure:
            for waiter in waiters:  # the others are not waited for any more
                if not waiter.called:
                    waiter.cancel()
            if failure.check(defer.FirstError):
                inner: Failure = failure.value.subFailure  # type: ignore[union-attr]
                return inner
            return failure

        return gathered.addCallbacks(named, firstError)

    # -- actions -----------------------------------------------------------

    def _choose(self, server: Union[str, Chooser], action: Optional[str]) -> PoolServer:
        if isinstance(server, str):
            try:
                return self._servers[server]
            except KeyError:
                raise KeyError("no server %r in the pool" % (server,)) from None
        if not callable(server):
            raise TypeError("server must be a name or a chooser function, not %r" % (server,))
        ready = self.readyServers()
        if not ready:
            raise NoServerReady(action, "no server of the pool is logged in")
        chosen = server(ready)
        if chosen not in ready:
            raise ValueError("chooser %r picked %r, not one of the ready servers %r"
                             % (server, chosen, ready))
        return self._servers[chosen]

    def call(self, server: Union[str, Chooser], function: Callable[..., Any], *args: Any,
             wait: Optional[float] = None, **kwargs: Any) -> defer.Deferred[Any]:
        """Call ``function(protocol, *args, **kwargs)`` with the chosen
        server's protocol; the Deferred fires with its result.

        *server* is a name, or ``chooser(readyNames) -> name``.  A named
        server not logged in yet is waited for, at most *wait* seconds
        (``None``: not at all, fail at once with :class:`NoServerReady`).
        For example ``pool.call('pbx1', AMIProtocol.originate, 'PJSIP/100',
        context='default', exten='200', priority='1')``.
        """
        if wait is not None:
            checkSeconds(wait, "wait")
        try:
            chosen = self._choose(server, None)
        except Exception:
            return defer.fail()
        ami = chosen.protocol
        if ami is not None:
            return defer.maybeDeferred(function, ami, *args, **kwargs)
        if wait is None:
            return defer.fail(NoServerReady(None, "server %s is %s" % (chosen.name, chosen.state)))
        return chosen.whenReady(wait).addCallback(
            lambda ami: function(ami, *args, **kwargs))

    def sendAction(self, server: Union[str, Chooser], action: str, headers: HeaderInput = None,
                   timeout: Optional[float] = _USE_DEFAULT,
                   wait: Optional[float] = None) -> defer.Deferred[Message]:
        """Send *action* to the chosen server, as
        :meth:`AMIProtocol.sendAction <starpy.manager.AMIProtocol.sendAction>`;
        *server* and *wait* as for :meth:`call`.

        :raises KeyError: (in the Deferred) no server of that name.
        """
        def send(ami: AMIProtocol) -> defer.Deferred[Message]:
            return ami.sendAction(action, headers, timeout)

        return self.call(server, send, wait=wait)

    # -- events ------------------------------------------------------------

    def registerEvent(self, event: EventNames, function: EventHandler) -> Any:
        """Call ``function(protocol, event)`` for each event named *event*
        from any server of the pool (also those added later);
        ``protocol.serverName`` says which.  *event* as for
        :meth:`AMIProtocol.registerEvent
        <starpy.manager.AMIProtocol.registerEvent>`.  Returns a handle whose
        ``cancel()`` undoes this registration."""
        return self.dispatcher.register(event, function)

    def deregisterEvent(self, event: EventNames, function: Optional[EventHandler] = None) -> int:
        """As :meth:`AMIProtocol.deregisterEvent
        <starpy.manager.AMIProtocol.deregisterEvent>`."""
        return self.dispatcher.deregister(event, function)
