"""One AMI connection: :class:`AMIProtocol`.

It reads Asterisk's banner and messages (through :mod:`starpy.codec.ami`),
sends actions, hands replies to its :class:`ActionTable
<starpy.manager._actions.ActionTable>` and events to its dispatcher, logs in
and keeps the connection alive.  Upstream StarPy's other ways of sending
come from :class:`UpstreamSending <starpy.manager._upstream.UpstreamSending>`.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import socket
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Union

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure
from zope.interface import implementer

from starpy import error
from starpy._idioms import (
    OneShot,
    abortTransport,
    defaultReactor,
    directSocket,
    reasonOf,
    sendNow,
)
from starpy.amiactions import USE_DEFAULT as _USE_DEFAULT
from starpy.amiactions import AMIActions
from starpy.codec.ami import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AMICodecError,
    AMIParser,
    HeaderInput,
    Message,
    bannerVersion,
    formatAction,
)
from starpy.dispatch import EventDispatcher, EventHandler, EventNames
from starpy.interfaces import IAMIConnection
from starpy.manager._actions import ActionTable, Pending, plainPending
from starpy.manager._common import (
    DEFAULT_TIMEOUT,
    checkTimeout,
    escaped,
    log,
    loginEvents,
)
from starpy.manager._upstream import UpstreamSending
from starpy.trace import WireTracer

if TYPE_CHECKING:  # pragma: no cover
    from starpy.eventfilter import PushedFilter, Registrations


@implementer(IAMIConnection)
class AMIProtocol(UpstreamSending, AMIActions, protocol.Protocol):
    """One AMI connection: sends actions, matches replies, dispatches events.

    Usually built by :class:`AMIFactory`; after :meth:`AMIFactory.login`
    it is logged in.  The protocol keeps no call state: see
    :mod:`starpy.channel` for that.

    On Twisted's own TCP transport what the protocol sends goes to the
    socket at once, unless the transport still holds bytes unsent (then
    behind them).  What is sent while a chunk is delivered (by event
    handlers, by callbacks of actions answered in it) goes out in one write
    at the chunk's end.

    :ivar amiVersion: the version from Asterisk's banner (``'11.0.0'``), or
        ``None`` before the banner arrives.
    :ivar dispatcher: the :class:`EventDispatcher <starpy.dispatch.EventDispatcher>` of this
        connection (shared by successive connections of an
        :class:`AMIService`).
    :ivar defaultTimeout: timeout of actions sent without one, in seconds
        (``None``: no timeout).
    """

    amiVersion: Optional[str] = None
    loggedIn = False
    loggingOff = False
    """True once ``Logoff`` was sent: :meth:`AMIFactory.login` does not reconnect then."""
    serverName: Optional[str] = None
    """The server's name when the connection belongs to an
    :class:`AMIPool <starpy.pool.AMIPool>` (``None`` otherwise)."""
    eventFilter: Optional["PushedFilter"] = None
    """The :class:`PushedFilter <starpy.eventfilter.PushedFilter>` of :meth:`pushEventFilter`, if called."""

    def __init__(
        self,
        dispatcher: Optional[EventDispatcher] = None,
        clock: Optional[IReactorTime] = None,
        defaultTimeout: Optional[float] = DEFAULT_TIMEOUT,
        maxMessageSize: int = DEFAULT_MAX_MESSAGE_SIZE,
        keepalive: Optional[float] = None,
        keepaliveTimeout: Optional[float] = None,
        trace: bool = False,
    ) -> None:
        checkTimeout(defaultTimeout, "defaultTimeout")
        checkTimeout(keepalive, "keepalive")
        checkTimeout(keepaliveTimeout, "keepaliveTimeout")
        self.dispatcher = dispatcher if dispatcher is not None else EventDispatcher()
        self.tracer = WireTracer("AMI", trace)
        self.clock: IReactorTime = clock if clock is not None else defaultReactor()
        self._defaultTimeout = defaultTimeout
        self.keepalive = keepalive
        self.keepaliveTimeout = keepaliveTimeout
        self._parser = AMIParser(maxMessageSize)
        # The actions awaiting their replies, with their deadlines under one
        # timer (see starpy.manager._actions); _pending is its table.
        self._actions = ActionTable(self.clock, defaultTimeout, self._dispatchEvent)
        self._pending = self._actions.pending
        self._deadlines = self._actions.deadlines
        self._prefix = "%s-%x" % (os.getpid(), id(self) & 0xFFFFFF)
        self._counter = itertools.count(1)
        # Action name -> "Action: <name>\r\nActionID: ": the text of an
        # action without headers up to its ActionID (sendAction's fast path).
        self._heads: dict[str, str] = {}
        self._connected = False
        # What is sent while a chunk is delivered, written at its end
        # (dataReceived); whether the transport takes writes at once (_write).
        self._batch: Optional[List[bytes]] = None
        self._socket: Optional[socket.socket] = None
        self._lostReason = "not connected"
        # Set when this side decides to close: what went wrong, kept so that
        # connectionLost reports it rather than "closed cleanly".
        self._closing = False
        self._closeReason: Optional[BaseException] = None
        self._banner: OneShot[str] = OneShot()
        self._closed: OneShot[None] = OneShot()
        self._keepaliveCall: Optional[IDelayedCall] = None
        self._lines: List[str] = []  # sendLine's message being written

    # -- connection ----------------------------------------------------

    def setTrace(self, enabled: bool = True) -> None:
        """Log every line sent and received on this connection (or stop).

        See :mod:`starpy.trace`: DEBUG records on the ``starpy.wire`` logger,
        ``Secret`` and ``Key`` values masked.
        """
        self.tracer.enabled = enabled

    def connectionMade(self) -> None:
        self._connected = True
        self._socket = directSocket(self.transport)
        self.tracer.note("connected to %s" % (self.transport.getPeer() if self.transport else None,))
        log.debug("AMI connection made to %s", self.transport.getPeer() if self.transport else None)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._connected = False
        self.loggedIn = False
        cause = self._closeReason
        if cause is not None:
            self._lostReason = "connection closed by StarPy (%s)" % (cause,)
        else:
            self._lostReason = "connection lost (%s)" % (reason.getErrorMessage(),)
        self.tracer.note(self._lostReason)
        self._stopKeepalive()
        self._actions.failAll(self.connectionLostError)
        if not self._banner.done:
            # No banner, or not an AMI one: its waiters learn why.
            self._banner.fail(cause if isinstance(cause, error.AMIProtocolError)
                              else self.connectionLostError(None))
        self._closed.fire(None)
        log.info("AMI %s", self._lostReason)

    def connectionLostError(self, action: Optional[str]) -> error.AMIConnectionLost:
        """The error of *action* (or of a waiter, for ``None``) when the
        connection is gone: an :class:`AMIConnectionLost
        <starpy.error.AMIConnectionLost>` caused by the reason this side
        closed it, if it did (see :meth:`closeBecause`)."""
        lost = error.AMIConnectionLost(action, self._lostReason)
        lost.__cause__ = self._closeReason
        return lost

    def closeBecause(self, reason: BaseException, abort: bool = False) -> None:
        """Close the connection because of *reason* (dropped at once with
        *abort*), which the errors of the waiting actions then report as
        their cause; stop delivering what is received.  A second reason
        given later does not replace the first."""
        if self._closeReason is None:
            self._closeReason = reason
            self._lostReason = "connection closed by StarPy (%s)" % (reason,)
        self._closing = True
        if abort:
            abortTransport(self.transport)
        elif self.transport is not None:
            self.transport.loseConnection()

    def whenClosed(self) -> defer.Deferred[None]:
        """A Deferred that fires with ``None`` once the connection is closed."""
        return self._closed.when()

    def whenBanner(self) -> defer.Deferred[str]:
        """A Deferred firing with the AMI version once the banner has arrived.

        It fails with :class:`AMIProtocolError <starpy.error.AMIProtocolError>` when the banner
        is not AMI's (or breaks the size bound), and with
        :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>` when the connection closes
        first.
        """
        return self._banner.when()

    @property
    def pendingCount(self) -> int:
        """How many actions await their reply."""
        return len(self._pending)

    # -- receiving -----------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        # Once this side has decided to close (or the transport is closing),
        # nothing more is delivered, as with Twisted's LineOnlyReceiver.
        transport: Any = self.transport
        if self._closing or transport.disconnecting:
            return
        try:
            messages = self._parser.feed(data)
        except AMICodecError as e:
            log.error("AMI protocol error, closing the connection: %s", e)
            self.closeBecause(e)
            return
        if self.amiVersion is None and self._parser.banner is not None:
            self.tracer.received([self._parser.banner])
            self._bannerReceived(self._parser.banner)
        tracing = self.tracer.enabled
        received = self.messageReceived
        # The actions the handlers send meanwhile go out together at the
        # end, in one write (a chunk delivered inside this one, by an
        # in-memory peer, adds to the same batch).  Reference W2 with 100
        # in flight: 1.32x-1.35x of limit_twisted's CPU time before, 1.22x
        # with this batch alone, 1.17x-1.25x with the batch sent straight to
        # the socket (bench/RESULTS.md, "Writing without waiting for the reactor").
        batch = self._batch
        holder = batch is None
        if holder:
            batch = self._batch = []
        try:
            for message in messages:
                if self._closing or transport.disconnecting:
                    return
                if tracing:
                    self.tracer.received(["%s: %s" % header for header in message.headers()]
                                         + message.body + [""])
                received(message)
        finally:
            if holder:
                self._batch = None
                if batch:
                    self._write(b"".join(batch))

    def _bannerReceived(self, banner: str) -> None:
        version = bannerVersion(banner)
        if version is None:
            # Whatever answered (an SSH or HTTP server...), it is not AMI:
            # nothing, credentials least of all, is sent to it.
            refused = error.AMIProtocolError(
                "not an AMI server: it answered %s" % (escaped(banner),))
            log.warning("AMI %s; closing the connection", refused)
            self._banner.fail(refused)
            self.closeBecause(refused)
            return
        self.amiVersion = version
        self._banner.fire(version)

    def messageReceived(self, message: Message) -> None:
        """Route one message: to its pending action, to event handlers, or both."""
        if message.body and message.get("response") != "Follows":
            log.warning("AMI: skipped malformed lines %r", message.body)
        if "event" in message:
            if "actionid" in message:
                entry = self._pending.get(message["actionid"])
                if entry is not None and self._actions.event(entry, message):
                    return
            self.dispatcher.dispatch(self, message)
        elif "response" in message:
            actionID: Any = message.get("actionid")
            pending = self._pending
            entry = pending.get(actionID)  # None (no ActionID) is never a key
            if entry is None:
                log.debug("AMI: response for unknown ActionID %r dropped", actionID)
                return
            if (entry.plain and message["response"] == "Success"
                    and "eventlist" not in message):
                # The usual reply (Ping, Setvar, Originate without waiting...)
                # settled here, the table's response() and finish() inlined.
                # The deadlines are cleared only after the callbacks, which
                # usually send the next action: the timer then stays armed
                # instead of being cancelled and made again per action.
                # Measured with callgrind on bench/w2_driver.py (the reference
                # W2 workload, bench/RESULTS.md).
                entry.done = True
                del pending[entry.actionID]
                entry.deferred.callback(message)
                if not pending:
                    self._deadlines.clear()
                return
            self._actions.response(entry, message)
        else:
            log.warning("AMI: message with neither Response nor Event dropped: %r", message)

    def _dispatchEvent(self, event: Message) -> None:
        """Give *event* to the event handlers (the action table's way)."""
        self.dispatcher.dispatch(self, event)

    def _newActionID(self) -> str:
        return "%s-%d" % (self._prefix, next(self._counter))

    @property
    def actionIDPrefix(self) -> str:
        """What every ActionID this connection generates starts with."""
        return self._prefix + "-"

    # -- sending -------------------------------------------------------

    def sendAction(
        self,
        action: str,
        headers: HeaderInput = None,
        timeout: Optional[float] = _USE_DEFAULT,
        expectEvent: Optional[str] = None,
    ) -> defer.Deferred[Any]:
        """Send any AMI action; return a Deferred for its outcome.

        :param action: the action name (``'Originate'``, ``'QueueStatus'``...).
        :param headers: a mapping (a list value repeats the header) or a
            sequence of ``(name, value)`` pairs.  ``ActionID`` is added.
        :param timeout: seconds to wait for the reply (``None``: forever);
            default :attr:`defaultTimeout`.
        :param expectEvent: after a successful response, wait for the event of
            that name carrying our ActionID (e.g. ``'OriginateResponse'``)
            and fire with it.

        The Deferred fires with the response :class:`Message`; with an
        :class:`EventList` if the response opens an event list (any of
        Asterisk's list actions); or with the expected event.  It fails with
        :class:`AMICommandFailure <starpy.error.AMICommandFailure>` (``Response: Error``),
        :class:`AMIOriginateFailure <starpy.error.AMIOriginateFailure>` (expected event says
        failure), :class:`AMITimeout <starpy.error.AMITimeout>` or
        :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`.  Cancelling it forgets the
        action.

        :raises ValueError: nothing is sent when a header name or value holds
            CR, LF or NUL, or the action breaks a limit of Asterisk's reader
            (see :func:`formatAction <starpy.codec.ami.formatAction>`), or *timeout* is
            negative, NaN or infinite.
        """
        if headers or timeout is not _USE_DEFAULT or expectEvent is not None:
            return self._send(action, headers, timeout, expectEvent).deferred
        head = self._heads.get(action)
        if head is None or not self._connected or self._closing:
            return self._send(action, headers, timeout, expectEvent).deferred
        # The usual action without headers (Ping, CoreStatus...), with the
        # default timeout and a generated ActionID: _send's work without its
        # checks, which formatAction passed for this action name once, and
        # the message's text from the cached head and the ActionID that
        # _newActionID would make (its int formatted once).  Measured with
        # callgrind on bench/w2_driver.py (bench/RESULTS.md, "W2 with 100
        # in flight").
        actionID = "%s-%d" % (self._prefix, next(self._counter))
        entry = plainPending(action, actionID, self._actions)
        self._pending[actionID] = entry
        data = (head + actionID + "\r\n\r\n").encode()
        batch = self._batch  # (_write inlined for the usual action)
        if batch is not None:
            batch.append(data)
        else:
            self._write(data)
        if self.tracer.enabled:
            self.tracer.sent(data.decode().split("\r\n")[:-1])
        timeout = self._defaultTimeout
        if timeout is not None:
            entry.timeout = timeout
            self._deadlines.add(entry, timeout)
        return entry.deferred

    def _headFor(self, action: str) -> None:
        """Remember the head of *action* for :meth:`sendAction`'s fast path,
        once :func:`formatAction <starpy.codec.ami.formatAction>` accepted
        it without headers."""
        if not action.isascii() or len(action) > 100 or (
                len(action) == 6 and action.lower() == "logoff"):
            return
        if getattr(self._newActionID, "__func__", None) is not AMIProtocol._newActionID:
            return  # ActionIDs made another way (a subclass, a test): no fast path
        heads = self._heads
        if len(heads) >= 64:  # bounded: a caller inventing names costs this call
            heads.clear()
        heads[action] = "Action: %s\r\nActionID: " % (action,)

    def _write(self, data: bytes) -> None:
        """Send *data*: held while a chunk is delivered (dataReceived writes
        what was held at its end, in one go), else on Twisted's own TCP
        transport on its socket at once (``_idioms.sendNow``
        says when not), else with ``transport.write``."""
        batch = self._batch
        if batch is not None:
            batch.append(data)
            return
        handle = self._socket
        if handle is not None:
            sendNow(self.transport, handle, data)
        else:
            transport: Any = self.transport
            transport.write(data)

    def _send(
        self,
        action: str,
        headers: HeaderInput,
        timeout: Optional[float],
        expectEvent: Optional[str] = None,
        actionID: Optional[str] = None,
        stopEvent: Optional[str] = None,
        listener: Optional[Callable[[Any], Any]] = None,
        rawResponse: bool = False,
    ) -> Pending:
        """Send *action*; the returned entry's ``deferred`` gives its outcome."""
        if timeout is _USE_DEFAULT:
            timeout = self._defaultTimeout
        elif timeout is not None and not (
                (timeout.__class__ is float or timeout.__class__ is int)
                and 0.0 <= timeout < math.inf):  # a NaN fails the comparison
            checkTimeout(timeout, "timeout")
        if actionID is None:
            actionID = self._newActionID()
        elif actionID in self._pending:
            raise error.LocalProtocolError("ActionID %r is already waiting for its reply" % (actionID,))
        data = formatAction(action, headers, actionID)
        if not headers and expectEvent is None and stopEvent is None and listener is None \
                and not rawResponse and action not in self._heads:
            self._headFor(action)
        if len(action) == 6 and action.lower() == "logoff":
            self.loggingOff = True
        entry = Pending(action, actionID, expectEvent, self._actions, stopEvent, listener,
                        rawResponse)
        if not self._connected or self._closing:
            entry.done = True
            entry.deferred.errback(self.connectionLostError(action))
            return entry
        # Into the action table here, its dict and deadlines held by the
        # protocol too: no call of the table per action (measured with
        # callgrind on bench/w2_driver.py, bench/RESULTS.md).  In the table
        # before the write, which an in-memory peer may answer at once.
        self._pending[actionID] = entry
        self._write(data)
        if self.tracer.enabled:
            self.tracer.sent(data.decode("utf-8", "surrogateescape").split("\r\n")[:-1])
        if timeout is not None:
            entry.timeout = timeout
            self._deadlines.add(entry, timeout)
        return entry

    @property
    def defaultTimeout(self) -> Optional[float]:
        """Timeout of actions sent without one, in seconds (``None``: none).

        :raises ValueError: when set to a negative, NaN or infinite value.
        """
        return self._defaultTimeout

    @defaultTimeout.setter
    def defaultTimeout(self, value: Optional[float]) -> None:
        checkTimeout(value, "defaultTimeout")
        self._defaultTimeout = value
        self._actions.deadlines.usualTimeout = value

    # -- events ----------------------------------------------------------

    def registerEvent(self, event: EventNames, function: EventHandler) -> Any:
        """Call ``function(protocol, event)`` for each event named *event*.

        *event* is a name (matched in any case), a glob (``'Queue*'``), a list
        of those, or ``None`` for every event.  Returns a handle whose
        ``cancel()`` undoes this registration.
        """
        return self.dispatcher.register(event, function)

    def deregisterEvent(self, event: EventNames, function: Optional[EventHandler] = None) -> int:
        """Remove *function* for *event* (as registered; ``None``: every
        function registered for *event*); returns how many were removed."""
        return self.dispatcher.deregister(event, function)

    def pushEventFilter(self, refusalLevel: int = logging.WARNING,
                        registrations: Optional["Registrations"] = None) -> defer.Deferred[bool]:
        """Have Asterisk send this connection only the events registered for
        (and those StarPy needs), and keep that filter up to date with the
        registrations while connected: see :mod:`starpy.eventfilter`.

        The Deferred fires with ``True`` once Asterisk filters, ``False``
        when it does not (a glob or catch-all registration wants every
        event, or Asterisk refused: ``Permission denied`` without the
        ``system`` write class is logged at *refusalLevel*); it never fails.
        A second call fires with the state of the first.  *registrations*:
        where the names wanted are read (default: :attr:`dispatcher`).
        """
        if self.eventFilter is not None:
            return defer.succeed(self.eventFilter.filtering)
        from starpy.eventfilter import PushedFilter

        self.eventFilter = PushedFilter(
            self, self.dispatcher if registrations is None else registrations, refusalLevel)
        return self.eventFilter.start()

    # -- login and keepalive -------------------------------------------

    def login(
        self,
        username: Optional[str] = None,
        secret: Optional[str] = None,
        md5: bool = False,
        events: Union[bool, str, Iterable[str]] = True,
        timeout: Optional[float] = _USE_DEFAULT,
    ) -> defer.Deferred["AMIProtocol"]:
        """Log in; the Deferred fires with this protocol once accepted.

        :param username: the AMI user; *username* and *secret* default to
            those of the :class:`AMIFactory` that built this protocol (so
            upstream's ``ami.login()`` works).
        :param md5: use the ``Challenge``/MD5 ``Key`` exchange instead of
            sending the secret.
        :param events: ``True`` for all events, ``False`` for none
            (``Events: off``), or event classes such as ``'call,agent'`` or
            ``['call', 'agent']`` (sent as :meth:`AMIActions.events
            <starpy.amiactions.AMIActions.events>` sends them).

        Fails with :class:`AMIAuthenticationError <starpy.error.AMIAuthenticationError>` when Asterisk
        refuses the credentials (the connection is then closed), with
        :class:`AMIProtocolError <starpy.error.AMIProtocolError>` when the peer's banner is not
        AMI's (nothing is sent to it, and the connection is closed), or as
        :meth:`sendAction` fails.  The wait for the banner has no deadline of
        its own: :meth:`AMIFactory.login` and :class:`AMIService` set one.

        :raises ValueError: *timeout* is negative, NaN or infinite, or
            *events* names a class Asterisk does not know.
        """
        if timeout is not _USE_DEFAULT:
            checkTimeout(timeout, "timeout")
        eventMask = loginEvents(events)

        if username is None or secret is None:
            # The AMIFactory that built this protocol (upstream's ami.login()):
            # read, not imported, as the factory module imports this one.
            factory = getattr(self, "factory", None)
            known = getattr(factory, "username", None), getattr(factory, "secret", None)
            if not (isinstance(known[0], str) and isinstance(known[1], str)):
                raise TypeError("login() needs username and secret (no AMIFactory to take them from)")
            username = known[0] if username is None else username
            secret = known[1] if secret is None else secret

        def sendLogin(version: str) -> defer.Deferred[Any]:
            if md5:
                return self.sendAction(
                    "Challenge", {"AuthType": "MD5"}, timeout=timeout
                ).addCallback(withChallenge)
            headers = [("Username", username), ("Secret", secret)]
            return finish(headers)

        def withChallenge(response: Message) -> defer.Deferred[Any]:
            challenge = response.get("challenge", "")
            key = hashlib.md5((challenge + secret).encode("utf-8")).hexdigest()
            return finish([("AuthType", "MD5"), ("Username", username), ("Key", key)])

        def finish(headers: List[tuple[str, str]]) -> defer.Deferred[Any]:
            if eventMask is not None:
                headers.append(("Events", eventMask))
            return self.sendAction("Login", headers, timeout=timeout)

        def onAccepted(response: Message) -> "AMIProtocol":
            self.loggedIn = True
            log.info("AMI logged in as %s (AMI %s)", username, self.amiVersion)
            self._startKeepalive()
            return self

        def onRefused(failure: Failure) -> Failure:
            if failure.check(error.AMICommandFailure) and not failure.check(error.AMIAuthenticationError):
                failed: error.AMICommandFailure = failure.value  # type: ignore[assignment]
                # The caller gets the failure: an INFO line, not a second report.
                log.info("AMI login as %s refused: %s", username, failed.message)
                refused = error.AMIAuthenticationError(
                    failed.action, failed.message, failed.response)
                self.closeBecause(refused)
                return Failure(refused)
            return failure

        return self.whenBanner().addCallback(sendLogin).addCallbacks(onAccepted, onRefused)

    def loginChallengeResponse(self) -> defer.Deferred["AMIProtocol"]:
        """Log in with the MD5 challenge and the factory's credentials (upstream's name)."""
        return self.login(md5=True)

    def _startKeepalive(self) -> None:
        if self.keepalive and self._connected:
            self._keepaliveCall = self.clock.callLater(self.keepalive, self._sendKeepalive)

    def _stopKeepalive(self) -> None:
        call, self._keepaliveCall = self._keepaliveCall, None
        if call is not None and call.active():
            call.cancel()

    def _sendKeepalive(self) -> None:
        self._keepaliveCall = None
        wait = self.keepaliveTimeout if self.keepaliveTimeout is not None else self.keepalive

        def onPong(response: Message) -> None:
            self._startKeepalive()

        def onNoPong(failure: Failure) -> None:
            if failure.check(error.AMIConnectionLost):
                return
            log.warning("AMI keepalive failed (%s): dropping the connection",
                        failure.getErrorMessage())
            self.closeBecause(reasonOf(failure), abort=True)

        self.sendAction("Ping", timeout=wait).addCallbacks(onPong, onNoPong)

    def __repr__(self) -> str:
        return "<AMIProtocol %s%s, %d pending>" % (
            "connected" if self._connected else "closed",
            " logged in" if self.loggedIn else "",
            len(self._pending),
        )
