"""An AMI connection kept up: :class:`AMIService`, a Twisted service built on
``ClientService`` that logs each connection in, bounds the login, waits for
``FullyBooted`` if asked, and keeps the event registrations across
reconnections."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Union

from twisted.application.service import Service
from twisted.internet import defer, protocol
from twisted.internet.interfaces import IDelayedCall, IReactorTime, IStreamClientEndpoint
from twisted.python.failure import Failure
from zope.interface import implementer

from starpy import error
from starpy._idioms import Waiters, abortTransport, notifyListener, reasonOf
from starpy.codec.ami import Message
from starpy.dispatch import EventDispatcher, EventHandler, EventNames, Handle, observe
from starpy.interfaces import IAMISession
from starpy.manager._common import (
    DEFAULT_BOOT_TIMEOUT,
    DEFAULT_LOGIN_TIMEOUT,
    checkTimeout,
    log,
)
from starpy.manager._protocol import AMIProtocol

if TYPE_CHECKING:  # pragma: no cover
    from starpy.eventfilter import Registrations
    from starpy.manager._factory import AMIFactory


class _SharedDispatcherFactory(protocol.Factory):
    """Wraps an AMIFactory so that successive connections share one dispatcher."""

    def __init__(self, factory: AMIFactory, dispatcher: EventDispatcher) -> None:
        self.factory = factory
        self.dispatcher = dispatcher

    def buildProtocol(self, addr: Any) -> AMIProtocol:
        ami = self.factory.buildProtocol(addr)
        ami.dispatcher = self.dispatcher
        return ami


@implementer(IAMISession)
class AMIService(Service):
    """An AMI connection kept up: reconnects with backoff and logs in again.

    A Twisted service (``IService``): ``setServiceParent(application)``
    starts it with the application, or call :meth:`startService` and
    :meth:`stopService` directly.

    Built on Twisted's ``ClientService``.  Event registrations made on the
    service, or on any protocol it produced, are kept across reconnections
    (each handler is still called once per event).

    A login goes through these steps, each observable: the connection (the
    ``ClientService``), the login itself (refused or timed out:
    :meth:`onLoginFailed` observers), the event filter pushed (with
    *pushFilter*), the wait for ``FullyBooted`` (with *waitBooted*:
    :meth:`onBooting` observers hear that it starts, a connection lost
    meanwhile is a failed login), and then the login counts
    (:meth:`onLogin` observers, :meth:`whenLoggedIn`; :attr:`booted` says
    whether ``FullyBooted`` ended the wait).  :class:`AMIPool
    <starpy.pool.AMIPool>` builds its servers' states on these.

    :param factory: the :class:`AMIFactory` with the credentials.
    :param endpoint: an endpoint, or a string as for :meth:`AMIFactory.login`
        (``'pbx.example.com'`` with *port*, or ``'tls:host=pbx:port=5039'``).
    :param retryPolicy: ``retryPolicy(failedAttempts) -> seconds``; default
        exponential backoff capped at 30 s
        (``twisted.application.internet.backoffPolicy``).
    :param clock: the clock (default: the factory's reactor).
    :param keepRegistrations: ``False``: each connection starts with no event
        registrations (what :meth:`AMIFactory.login` does, as upstream).
    :param loginTimeout: deadline, in seconds, for each connection to send
        its banner and accept the login (default
        :data:`DEFAULT_LOGIN_TIMEOUT`, 10 s; ``None``: none).  Past it the
        connection is closed and the service retries with backoff, as after
        a refused login: a server that accepts TCP and never answers, or
        answers slowly, is not waited for forever.
    :param waitBooted: after each (re)login, wait for Asterisk's
        ``FullyBooted`` event (at most *bootTimeout* seconds) before the
        login counts (:meth:`whenLoggedIn`, :meth:`onLogin` observers): an
        Asterisk still loading its modules may fail actions in odd ways.
        Off by default here: an AMI user without the ``system`` read class
        never receives ``FullyBooted`` (each login would then wait the whole
        *bootTimeout*), and :meth:`AMIFactory.login` keeps upstream's
        timing.  :class:`AMIPool <starpy.pool.AMIPool>` turns it on by default.
    :param bootTimeout: the bound on that wait, seconds (then the login
        counts anyway, with a warning); :data:`DEFAULT_BOOT_TIMEOUT`;
        ``None``: no bound (the login counts only once ``FullyBooted``
        arrives).
    :param pushFilter: after each login, push an event filter so that
        Asterisk sends only the events registered for (and those StarPy
        needs): :meth:`AMIProtocol.pushEventFilter`, :mod:`starpy.eventfilter`.
        Needs the ``system`` write class (else logged once, and unfiltered).
    :param filterRegistrations: which registrations that filter follows:
        ``filterRegistrations(protocol)``, called at each push, returns a
        :class:`Registrations <starpy.eventfilter.Registrations>` (such as a
        :class:`CombinedRegistrations <starpy.eventfilter.CombinedRegistrations>`
        of several dispatchers); ``None`` (the default): the protocol's own
        dispatcher.

    A peer whose banner is not AMI's (an SSH or HTTP server on the port) is
    sent nothing: the attempt fails at once with
    :class:`AMIProtocolError <starpy.error.AMIProtocolError>` (logged, with what answered) and
    the service retries with backoff.

    Use ``startService()``/``stopService()`` or add it to an application.
    """

    def __init__(
        self,
        factory: AMIFactory,
        endpoint: Union[str, IStreamClientEndpoint] = "127.0.0.1",
        port: int = 5038,
        retryPolicy: Optional[Callable[[int], float]] = None,
        clock: Optional[IReactorTime] = None,
        keepRegistrations: bool = True,
        loginTimeout: Optional[float] = DEFAULT_LOGIN_TIMEOUT,
        waitBooted: bool = False,
        bootTimeout: Optional[float] = DEFAULT_BOOT_TIMEOUT,
        pushFilter: bool = False,
        filterRegistrations: Optional[Callable[[AMIProtocol], Registrations]] = None,
    ) -> None:
        from twisted.application.internet import ClientService, backoffPolicy

        checkTimeout(loginTimeout, "loginTimeout")
        checkTimeout(bootTimeout, "bootTimeout")
        self.loginTimeout = loginTimeout
        self.waitBooted = waitBooted
        self.bootTimeout = bootTimeout
        self.pushFilter = pushFilter
        self.filterRegistrations = filterRegistrations
        self._filterRefused = False
        self._booted = False
        self._bootObservers: List[Callable[[AMIProtocol], Any]] = []
        self.factory = factory
        self.dispatcher = EventDispatcher()
        self._observers: List[Callable[[AMIProtocol], Any]] = []
        self._failureObservers: List[Callable[[AMIProtocol, Failure], Any]] = []
        self._loggedIn: Waiters[AMIProtocol] = Waiters()
        self._current: Optional[AMIProtocol] = None
        self._loginFailures = 0
        # Set once the service is stopping (or told it will be): a refused
        # login is then not retried, so not logged as an error to retry.
        self._stopping = False
        policy = retryPolicy or backoffPolicy(maxDelay=30.0)
        target = factory.endpoint(endpoint, port) if isinstance(endpoint, str) else endpoint
        # A refused login closes the connection; ClientService then counts a
        # fresh attempt, so the backoff also counts consecutive login failures.
        if clock is None:
            clock = factory.getReactor()
        self._clock: IReactorTime = clock
        self._service = ClientService(
            target,
            _SharedDispatcherFactory(factory, self.dispatcher) if keepRegistrations else factory,
            retryPolicy=lambda attempt: policy(attempt + self._loginFailures),
            clock=self._clock,
            prepareConnection=self._prepare,
        )

    def _prepare(self, connection: Any) -> defer.Deferred[Optional[Failure]]:
        # ClientService hands us a proxy; the proxy forwards to the protocol.
        ami: AMIProtocol = getattr(connection, "_protocol", connection)
        self._booted = False

        def onLogin(ami: AMIProtocol) -> None:
            self._loginFailures = 0
            self._current = ami
            for observer in list(self._observers):
                notifyListener(log, "AMI login observer", observer, ami)
            self._loggedIn.fire(ami)

        def onFailure(failure: Failure) -> Optional[Failure]:
            if failure.check(defer.CancelledError):
                # The service is stopping and gave this attempt up: it must
                # not hear of this connection's end (its state machine,
                # already stopped, would raise).
                if hasattr(connection, "_lostNotification"):
                    connection._lostNotification = lambda reason: None
                abortTransport(ami.transport)
                return failure
            # Not returned as a failure: ClientService would keep the socket
            # open.  Closing it makes the service wait and retry.
            self._loginFailures += 1
            ami.closeBecause(reasonOf(failure), abort=True)
            for failureObserver in list(self._failureObservers):
                notifyListener(log, "AMI login failure observer", failureObserver, ami, failure)
            # After the observers: one of them may have stopped the service
            # (AMIFactory.login hands a first failure to its caller and stops).
            if self._stopping:
                log.info("AMI login failed, not retrying: %s", failure.getErrorMessage())
            else:
                log.error("AMI login failed, will retry: %s", failure.getErrorMessage())
            return None

        def onDeadline(result: Any, timeout: float) -> Failure:
            what = "banner and login" if ami.amiVersion is None else "login"
            return Failure(error.AMITimeout("AMI %s" % (what,), timeout))

        attempt = self.factory.loginProtocol(ami)
        if self.loginTimeout is not None:
            attempt.addTimeout(self.loginTimeout, self._clock, onTimeoutCancel=onDeadline)
        if self.pushFilter:
            attempt.addCallback(self._pushFilter)
        if self.waitBooted:
            attempt.addCallback(self._whenBooted)
        return attempt.addCallbacks(onLogin, onFailure)

    def _pushFilter(self, ami: AMIProtocol) -> AMIProtocol:
        """Push the event filter (not waited for: Asterisk reads the actions
        of a session in order); a refusal is logged once per service."""

        def pushed(filtering: bool) -> None:
            if ami.eventFilter is not None and ami.eventFilter.refused:
                self._filterRefused = True

        level = logging.DEBUG if self._filterRefused else logging.WARNING
        registrations = (None if self.filterRegistrations is None
                         else self.filterRegistrations(ami))
        ami.pushEventFilter(level, registrations).addCallback(pushed)
        return ami

    def _whenBooted(self, ami: AMIProtocol) -> defer.Deferred[AMIProtocol]:
        """Fires with *ami* once it receives ``FullyBooted`` (then
        :attr:`booted` is true) or *bootTimeout* passes; fails with
        AMIConnectionLost if the connection goes first.  The :meth:`onBooting`
        observers are told once the wait is set up."""
        timer: List[IDelayedCall] = []

        def cleanUp() -> None:
            handle.cancel()
            if timer and timer[0].active():
                timer[0].cancel()

        booted: defer.Deferred[AMIProtocol] = defer.Deferred(lambda d: cleanUp())

        def onBooted(protocol: Any, event: Message) -> None:
            if protocol is ami and not booted.called:
                cleanUp()
                self._booted = True
                booted.callback(ami)

        def onTimeout() -> None:
            handle.cancel()
            where = "" if ami.serverName is None else " server %s" % (ami.serverName,)
            log.warning("AMI%s: no FullyBooted within %s s of the login; going on (does the "
                        "AMI user have the 'system' read class?)", where, self.bootTimeout)
            booted.callback(ami)

        def onClosed(ignored: object) -> None:
            if not booted.called:
                cleanUp()
                booted.errback(ami.connectionLostError("FullyBooted"))

        handle = ami.dispatcher.register("FullyBooted", onBooted)
        if self.bootTimeout is not None:
            timer.append(self._clock.callLater(self.bootTimeout, onTimeout))
        ami.whenClosed().addCallback(onClosed)
        if not booted.called:
            for observer in list(self._bootObservers):
                notifyListener(log, "AMI booting observer", observer, ami)
        return booted

    def startService(self) -> None:
        """Start connecting (and reconnecting)."""
        Service.startService(self)
        self._stopping = False
        self._service.startService()

    def stopService(self) -> defer.Deferred[None]:
        """Stop reconnecting and close the current connection.

        Deferreds from :meth:`whenLoggedIn` still waiting fail with
        :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`.
        """
        Service.stopService(self)
        self._stopping = True
        self._loggedIn.fail(error.AMIConnectionLost(None, "service stopped"))
        stopped: defer.Deferred[None] = self._service.stopService()
        return stopped

    def stopSoon(self) -> None:
        """Stop at the clock's next turn, and retry no login meanwhile.

        For code running inside the service's own connection callbacks (a
        login observer), where Twisted's ``ClientService`` refuses to be
        stopped at once.
        """
        self._stopping = True
        self._clock.callLater(0, self.stopService)

    def whenConnected(self, failAfterFailures: Optional[int] = None) -> defer.Deferred[Any]:
        """The Deferred of ``ClientService.whenConnected``: it fires with the
        connected protocol once connected (before the login), or fails after
        *failAfterFailures* failed connection attempts in a row."""
        return self._service.whenConnected(failAfterFailures=failAfterFailures)

    @property
    def clock(self) -> IReactorTime:
        """The clock the service (and its connections) run on."""
        return self._clock

    @property
    def protocol(self) -> Optional[AMIProtocol]:
        """The current logged-in protocol, or ``None`` while disconnected."""
        ami = self._current
        if ami is not None and not ami.loggedIn:
            return None
        return ami

    def whenLoggedIn(self) -> defer.Deferred[AMIProtocol]:
        """A Deferred firing with the current logged-in protocol, or the next one.

        Cancelling it stops the wait; it fails with :class:`AMIConnectionLost
        <starpy.error.AMIConnectionLost>` when the service stops first.
        """
        current = self.protocol
        if current is not None:
            return defer.succeed(current)
        return self._loggedIn.wait()

    def onLogin(self, observer: Callable[[AMIProtocol], Any]) -> Handle:
        """Call ``observer(protocol)`` after each successful (re)login.

        :return: a :class:`Handle <starpy.dispatch.Handle>`; ``cancel()``
            removes the observer.
        """
        return observe(self._observers, observer)

    @property
    def booted(self) -> bool:
        """Whether the last login's wait for ``FullyBooted`` (*waitBooted*)
        ended with ``FullyBooted``: ``False`` while it waits, when the wait
        ended by *bootTimeout*, and without *waitBooted*.  A ``FullyBooted``
        arriving after the wait ended changes nothing: this tells how the
        login came to count (read it in an :meth:`onLogin` observer)."""
        return self._booted

    def onBooting(self, observer: Callable[[AMIProtocol], Any]) -> Handle:
        """Call ``observer(protocol)`` when a login (with *waitBooted*) starts
        waiting for ``FullyBooted``: logged in, its event filter pushed, not
        counting yet.  The wait then ends in the :meth:`onLogin` observers
        (:attr:`booted` tells whether by ``FullyBooted`` or by *bootTimeout*)
        or, the connection lost first, in the :meth:`onLoginFailed` ones
        (or in neither if the service stops first).

        :return: a :class:`Handle <starpy.dispatch.Handle>`; ``cancel()``
            removes the observer.
        """
        return observe(self._bootObservers, observer)

    def onLoginFailed(self, observer: Callable[[AMIProtocol, Failure], Any]) -> Handle:
        """Call ``observer(protocol, failure)`` after each failed login attempt
        (refused, timed out...; the connection is then being dropped).

        :return: a :class:`Handle <starpy.dispatch.Handle>`; ``cancel()``
            removes the observer.
        """
        return observe(self._failureObservers, observer)

    def registerEvent(self, event: EventNames, function: EventHandler) -> Any:
        """As :meth:`AMIProtocol.registerEvent`, kept across reconnections."""
        return self.dispatcher.register(event, function)

    def deregisterEvent(self, event: EventNames, function: Optional[EventHandler] = None) -> int:
        """As :meth:`AMIProtocol.deregisterEvent`."""
        return self.dispatcher.deregister(event, function)
