"""The Asterisk Manager Interface (AMI) client.

Typical use::

    from starpy import manager

    factory = manager.AMIFactory('starpy', 'starpy-secret')
    d = factory.login('127.0.0.1', 5038)        # or 'tls:host=pbx:port=5039'

    def onLogin(ami):
        ami.registerEvent('Hangup', onHangup)    # handler(ami, event)
        return ami.coreShowChannels()             # [response, events..., complete]

Every action returns a Deferred.  It fires with the response
(:class:`Message <starpy.codec.ami.Message>`, a dict with lower-case keys), or, for
list actions (``EventList: start``), with an :class:`EventList`: the
response, the item events and the closing event, as upstream StarPy's lists.
It fails with :class:`AMICommandFailure <starpy.error.AMICommandFailure>` on
``Response: Error``, :class:`AMITimeout <starpy.error.AMITimeout>` after its timeout and
:class:`AMIConnectionLost <starpy.error.AMIConnectionLost>` when the connection goes.

Replies are matched to actions by ActionID, never by arrival order.
"""
from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import math
import os
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from twisted.application.service import Service
from twisted.internet import defer, protocol
from twisted.internet.interfaces import IDelayedCall, IReactorTime, IStreamClientEndpoint
from twisted.python.failure import Failure
from zope.interface import implementer

from starpy import error
from starpy._tls import isTLSDescription, requireTLS
from starpy.amiactions import USE_DEFAULT as _USE_DEFAULT
from starpy.amiactions import AMIActions, eventClassList
from starpy.codec.ami import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_ACTION_HEADERS,
    MAX_LINE_BYTES,
    AMICodecError,
    AMIParser,
    HeaderInput,
    Message,
    bannerVersion,
    formatAction,
)
from starpy.dispatch import EventDispatcher, EventHandler, EventNames, Handle, observe
from starpy.interfaces import IAMIConnection, IAMISession
from starpy.trace import WireTracer

if TYPE_CHECKING:  # pragma: no cover
    from starpy.eventfilter import PushedFilter, Registrations

__all__ = [
    "AMIProtocol",
    "AMIFactory",
    "AMIService",
    "EventList",
    "deferredErrorResp",
    "Message",
    "DEFAULT_TIMEOUT",
    "log",
]

log = logging.getLogger("starpy.manager")

DEFAULT_TIMEOUT = 30.0
"""Default timeout of an action, in seconds."""

DEFAULT_BOOT_TIMEOUT = 30.0
"""Default bound, in seconds, on the wait for ``FullyBooted`` after a login
(:class:`AMIService` with ``waitBooted``, :class:`AMIPool <starpy.pool.AMIPool>`)."""

DEFAULT_LOGIN_TIMEOUT = 10.0
"""Default deadline of :class:`AMIService` for the banner and the login of
each connection, in seconds."""


def _checkTimeout(value: Any, what: str) -> None:
    """Refuse a timeout that is not ``None`` nor a finite number >= 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number of seconds or None, not %r" % (what, value))
    if not math.isfinite(value) or value < 0:
        raise ValueError("%s must be a finite number of seconds >= 0 (or None for no "
                         "timeout), not %r" % (what, value))


def _loginEvents(events: Union[bool, str, Iterable[str]]) -> Optional[str]:
    """The ``Events`` header of a login (``None``: none, every event)."""
    if events is True:
        return None
    if events is False:
        return "off"
    return eventClassList(events)


def _reasonOf(failure: Failure) -> BaseException:
    return failure.value if failure.value is not None else Exception(failure.getErrorMessage())


def _escaped(text: str, limit: int = 100) -> str:
    """*text* (as received, maybe with surrogate-escaped bytes) shown safely:
    non-printable bytes escaped, at most *limit* bytes, quoted."""
    raw = text.encode("utf-8", "surrogateescape")
    shown = repr(raw[:limit])[1:]
    return shown + ("..." if len(raw) > limit else "")


def _reactor() -> Any:
    from twisted.internet import reactor

    return reactor


def _abort(transport: Any) -> None:
    """Drop *transport* now (``abortConnection`` where the transport has it)."""
    if transport is None:
        return
    abort = getattr(transport, "abortConnection", None)
    if abort is not None:
        abort()
    else:
        transport.loseConnection()


class EventList(List[Message]):
    """What a list action fires with: ``[response, item, ..., complete]``.

    The same list upstream StarPy gave: the response that opened the list
    first, then the item events in order, then the event that closed it, so
    a list without items still holds two messages.

    :ivar response: the response that opened the list (``self[0]``).
    :ivar complete: the event that closed it (``self[-1]``: ``StatusComplete``,
        ``CoreShowChannelsComplete``...).
    """

    def __init__(self, items: List[Message], response: Message, complete: Message) -> None:
        super().__init__([response])
        self.extend(items)
        self.append(complete)
        self.response = response
        self.complete = complete

    @property
    def events(self) -> List[Message]:
        """The item events alone, without the response and the closing event."""
        return self[1:-1]

    def __repr__(self) -> str:
        return "<EventList of %d events, closed by %s>" % (len(self) - 2, self.complete.get("event"))


class deferredErrorResp(defer.Deferred[Any]):
    """The Deferred of :meth:`AMIProtocol.sendDeferred` (upstream's name).

    :meth:`registerError` adds a function called with a ``Response: Error``
    reply before the Deferred fires with it.
    """

    _errorRespCallback: Optional[Callable[[Message], Any]] = None

    def registerError(self, function: Callable[[Message], Any]) -> None:
        """Call ``function(response)`` if the reply says ``Response: Error``."""
        self._errorRespCallback = function


class _Pending:
    """What the protocol remembers of one action until it completes."""

    __slots__ = ("action", "actionID", "deferred", "state", "response", "items", "early",
                 "expectEvent", "owner", "done", "timeout", "deadline", "stopEvent",
                 "listener", "rawResponse")

    WAITING, COLLECTING, AWAITING_EVENT = range(3)

    def __init__(self, action: str, actionID: str, expectEvent: Optional[str],
                 owner: "AMIProtocol", stopEvent: Optional[str] = None,
                 listener: Optional[Callable[[Any], Any]] = None,
                 rawResponse: bool = False) -> None:
        self.action = action
        self.actionID = actionID
        self.owner = owner
        self.deferred: defer.Deferred[Any] = defer.Deferred(self._cancel)
        self.state = self.WAITING
        self.response: Optional[Message] = None
        # The events of a list, made when the list opens.
        self.items: Optional[List[Message]] = None
        self.early: Optional[List[Message]] = None
        self.expectEvent = expectEvent.lower() if expectEvent else None
        self.done = False
        self.timeout = 0.0
        # When the action times out, if its timeout is the connection's
        # usual one (see AMIProtocol._addDeadline); else None.
        self.deadline: Optional[float] = None
        # Upstream's forms: collect until the event named stopEvent
        # (collectDeferred), tell listener of every message with our ActionID
        # (sendMessage's responseCallback), fire with the response whatever it
        # says (sendDeferred).
        self.stopEvent = stopEvent.lower() if stopEvent else None
        self.listener = listener
        self.rawResponse = rawResponse

    def _cancel(self, deferred: defer.Deferred[Any]) -> None:
        self.owner._forget(self)


@implementer(IAMIConnection)
class AMIProtocol(AMIActions, protocol.Protocol):
    """One AMI connection: sends actions, matches replies, dispatches events.

    Usually built by :class:`AMIFactory`; after :meth:`AMIFactory.login`
    it is logged in.  The protocol keeps no call state: see
    :mod:`starpy.channel` for that.

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
        _checkTimeout(defaultTimeout, "defaultTimeout")
        _checkTimeout(keepalive, "keepalive")
        _checkTimeout(keepaliveTimeout, "keepaliveTimeout")
        self.dispatcher = dispatcher if dispatcher is not None else EventDispatcher()
        self.tracer = WireTracer("AMI", trace)
        self.clock: IReactorTime = clock if clock is not None else _reactor()
        self._defaultTimeout = defaultTimeout
        self.keepalive = keepalive
        self.keepaliveTimeout = keepaliveTimeout
        self._parser = AMIParser(maxMessageSize)
        self._pending: Dict[str, _Pending] = {}
        self._prefix = "%s-%x" % (os.getpid(), id(self) & 0xFFFFFF)
        self._counter = itertools.count(1)
        self._connected = False
        self._lostReason = "not connected"
        # Set when this side decides to close: what went wrong, kept so that
        # connectionLost reports it rather than "closed cleanly".
        self._closing = False
        self._closeReason: Optional[BaseException] = None
        self._bannerError: Optional[error.AMIProtocolError] = None
        self._bannerWaiters: List[defer.Deferred[str]] = []
        self._keepaliveCall: Optional[IDelayedCall] = None
        self._closedWaiters: List[defer.Deferred[None]] = []
        self._everConnected = False
        self._lines: List[str] = []  # sendLine's message being written
        self._maxMessageSize = maxMessageSize  # bounds it as received messages are
        # Timeouts: one heap of (deadline, sequence, entry) and one timer for
        # the earliest deadline, instead of a delayed call per action.
        # Answered entries stay in the heap until they reach its top or the
        # heap is compacted (when they outnumber the pending actions), so its
        # size stays proportional to what is pending, whatever the timeouts.
        #
        # Actions sent with the usual timeout (_fifoTimeout, the default
        # timeout) skip the heap: their deadlines grow in the order they are
        # sent, which is also the order of self._pending (a dict keeps its
        # insertion order), so _expire finds the expired ones at the front
        # of self._pending and an answer costs nothing more than its
        # removal from there.  Measured with callgrind on the reference W2
        # workload (bench/RESULTS.md): the heap cost 7,700 instructions per
        # action of 100 in flight, a quarter of the gap to the floor.
        self._deadlines: List[Tuple[float, int, _Pending]] = []
        self._sequence = itertools.count()
        self._timer: Optional[IDelayedCall] = None
        self._timerTime = 0.0
        self._fifoTimeout = defaultTimeout
        self._lastDeadline = -math.inf

    # -- connection ----------------------------------------------------

    def setTrace(self, enabled: bool = True) -> None:
        """Log every line sent and received on this connection (or stop).

        See :mod:`starpy.trace`: DEBUG records on the ``starpy.wire`` logger,
        ``Secret`` and ``Key`` values masked.
        """
        self.tracer.enabled = enabled

    def connectionMade(self) -> None:
        self._connected = True
        self._everConnected = True
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
        self._stopTimer()
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            entry.deferred.errback(self._lost(entry.action))
        waiters, self._bannerWaiters = self._bannerWaiters, []
        for waiter in waiters:
            if isinstance(cause, error.AMIProtocolError):
                waiter.errback(cause)  # no banner, or not an AMI one
            else:
                waiter.errback(self._lost(None))
        closedWaiters, self._closedWaiters = self._closedWaiters, []
        for closedWaiter in closedWaiters:
            closedWaiter.callback(None)
        log.info("AMI %s", self._lostReason)

    def _lost(self, action: Optional[str]) -> error.AMIConnectionLost:
        """The error of *action* (or of a waiter) when the connection is gone:
        caused by the reason this side closed it, if it did."""
        lost = error.AMIConnectionLost(action, self._lostReason)
        lost.__cause__ = self._closeReason
        return lost

    def _close(self, reason: BaseException, abort: bool = False) -> None:
        """Close the connection because of *reason*, which the errors of the
        waiting actions then report; stop delivering what is received."""
        if self._closeReason is None:
            self._closeReason = reason
            self._lostReason = "connection closed by StarPy (%s)" % (reason,)
        self._closing = True
        if abort:
            _abort(self.transport)
        elif self.transport is not None:
            self.transport.loseConnection()

    def whenClosed(self) -> defer.Deferred[None]:
        """A Deferred that fires with ``None`` once the connection is closed."""
        if self._everConnected and not self._connected:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred(self._closedWaiters.remove)
        self._closedWaiters.append(waiter)
        return waiter

    def whenBanner(self) -> defer.Deferred[str]:
        """A Deferred firing with the AMI version once the banner has arrived.

        It fails with :class:`AMIProtocolError <starpy.error.AMIProtocolError>` when the banner
        is not AMI's (or breaks the size bound), and with
        :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>` when the connection closes
        first.
        """
        if self.amiVersion is not None:
            return defer.succeed(self.amiVersion)
        if self._bannerError is not None:
            return defer.fail(self._bannerError)
        if not self._connected and self._everConnected:
            return defer.fail(self._lost(None))
        waiter: defer.Deferred[str] = defer.Deferred(self._bannerWaiters.remove)
        self._bannerWaiters.append(waiter)
        return waiter

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
            self._close(e)
            return
        if self.amiVersion is None and self._parser.banner is not None:
            self.tracer.received([self._parser.banner])
            self._bannerReceived(self._parser.banner)
        tracing = self.tracer.enabled
        received = self.messageReceived
        for message in messages:
            if self._closing or transport.disconnecting:
                return
            if tracing:
                self.tracer.received(["%s: %s" % header for header in message.headers()]
                                     + message.body + [""])
            received(message)

    def _bannerReceived(self, banner: str) -> None:
        version = bannerVersion(banner)
        if version is None:
            # Whatever answered (an SSH or HTTP server...), it is not AMI:
            # nothing, credentials least of all, is sent to it.
            self._bannerError = error.AMIProtocolError(
                "not an AMI server: it answered %s" % (_escaped(banner),))
            log.warning("AMI %s; closing the connection", self._bannerError)
            self._close(self._bannerError)
            waiters, self._bannerWaiters = self._bannerWaiters, []
            for waiter in waiters:
                waiter.errback(self._bannerError)
            return
        self.amiVersion = version
        waiters, self._bannerWaiters = self._bannerWaiters, []
        for waiter in waiters:
            waiter.callback(version)

    def messageReceived(self, message: Message) -> None:
        """Route one message: to its pending action, to event handlers, or both."""
        if message.body and message.get("response") != "Follows":
            log.warning("AMI: skipped malformed lines %r", message.body)
        if "event" in message:
            if "actionid" in message:
                entry = self._pending.get(message["actionid"])
                if entry is not None and self._eventForAction(entry, message):
                    return
            self.dispatcher.dispatch(self, message)
        elif "response" in message:
            actionID = message.get("actionid")
            entry = self._pending.get(actionID) if actionID is not None else None
            if entry is None:
                log.debug("AMI: response for unknown ActionID %r dropped", actionID)
                return
            self._responseForAction(entry, message)
        else:
            log.warning("AMI: message with neither Response nor Event dropped: %r", message)

    def _responseForAction(self, entry: _Pending, response: Message) -> None:
        if entry.state != _Pending.WAITING:
            log.warning("AMI: second response for %s dropped: %r", entry.action, response)
            return
        entry.response = response
        status = response["response"]
        if (status == "Success" and entry.expectEvent is None and entry.stopEvent is None
                and entry.listener is None and entry.early is None
                and "eventlist" not in response):
            # The usual reply (Ping, Setvar, Originate without waiting...),
            # settled in one step (_finish and _forget inlined): measured
            # with callgrind on the reference W2 workload (bench/RESULTS.md),
            # 2,700 instructions less per action.
            entry.done = True
            pending = self._pending
            if pending.get(entry.actionID) is entry:
                del pending[entry.actionID]
            if not pending and self._timer is not None:
                self._stopTimer()
            entry.deferred.callback(response)
            return
        if entry.listener is not None:
            self._tell(entry, response)
        if entry.rawResponse:
            # sendDeferred: the first reply is the result, whatever it says;
            # what follows it (a list's events) goes to the event handlers.
            self._finish(entry, response)
            for event in entry.early or ():
                self.dispatcher.dispatch(self, event)
            entry.early = None
            return
        if status == "Error" or (status != "Success" and status.lower() == "error"):
            self._finish(entry, Failure(error.AMICommandFailure(
                entry.action, response.get("message", ""), response)))
            # Events that carried this ActionID while we waited are still events.
            for event in entry.early or ():
                self.dispatcher.dispatch(self, event)
            entry.early = None
            return
        eventList = response.get("eventlist")
        if entry.stopEvent is not None or (eventList is not None and eventList.lower() == "start"):
            entry.state = _Pending.COLLECTING
        elif entry.expectEvent is not None:
            entry.state = _Pending.AWAITING_EVENT
        else:
            self._finish(entry, response)
        if entry.early is None:
            return
        early, entry.early = entry.early, None
        for event in early:
            if entry.state == _Pending.WAITING or not self._eventForAction(entry, event):
                self.dispatcher.dispatch(self, event)

    def _eventForAction(self, entry: _Pending, event: Message) -> bool:
        """Give *event* to its action; true if the action consumed it."""
        if entry.state == _Pending.WAITING:
            if entry.early is None:
                entry.early = []
            entry.early.append(event)
            return True
        if entry.state == _Pending.COLLECTING:
            if entry.listener is not None:
                self._tell(entry, event)
            last = event.get("eventlist", "").lower() == "complete" or (
                entry.stopEvent is not None and event["event"].lower() == entry.stopEvent)
            if last:
                assert entry.response is not None
                self._finish(entry, EventList(entry.items or [], entry.response, event))
            elif entry.items is None:
                entry.items = [event]
            else:
                entry.items.append(event)
            return True
        if entry.state == _Pending.AWAITING_EVENT and event["event"].lower() == entry.expectEvent:
            if entry.listener is not None:
                self._tell(entry, event)
            if event.get("response", "").lower() == "success":
                self._finish(entry, event)
            else:
                reason = event.get("reason", "")
                self._finish(entry, Failure(error.AMIOriginateFailure(
                    entry.action, event.get("response", "Failure"), event,
                    int(reason) if reason.lstrip("-").isdigit() else None)))
        return False

    def _tell(self, entry: _Pending, message: Any) -> None:
        """Give *message* to the entry's ``responseCallback`` (sendMessage)."""
        assert entry.listener is not None
        try:
            entry.listener(message)
        except Exception:
            log.exception("AMI responseCallback %r of %s failed", entry.listener, entry.action)

    def _forget(self, entry: _Pending) -> None:
        entry.done = True
        if self._pending.get(entry.actionID) is entry:
            del self._pending[entry.actionID]
        if not self._pending and self._timer is not None:
            self._stopTimer()

    def _finish(self, entry: _Pending, result: Any) -> None:
        self._forget(entry)
        if isinstance(result, Failure):
            entry.deferred.errback(result)
        else:
            entry.deferred.callback(result)

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
        return self._send(action, headers, timeout, expectEvent).deferred

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
    ) -> _Pending:
        """Send *action*; the returned entry's ``deferred`` gives its outcome."""
        if timeout is _USE_DEFAULT:
            timeout = self._defaultTimeout
        elif timeout is not None and not (
                (timeout.__class__ is float or timeout.__class__ is int)
                and 0.0 <= timeout < math.inf):  # a NaN fails the comparison
            _checkTimeout(timeout, "timeout")
        if actionID is None:
            actionID = self._newActionID()
        elif actionID in self._pending:
            raise ValueError("ActionID %r is already waiting for its reply" % (actionID,))
        data = formatAction(action, headers, actionID)
        if len(action) == 6 and action.lower() == "logoff":
            self.loggingOff = True
        entry = _Pending(action, actionID, expectEvent, self, stopEvent, listener, rawResponse)
        if not self._connected or self._closing:
            entry.done = True
            entry.deferred.errback(self._lost(action))
            return entry
        self._pending[actionID] = entry
        transport: Any = self.transport
        transport.write(data)
        if self.tracer.enabled:
            self.tracer.sent(data.decode("utf-8", "surrogateescape").split("\r\n")[:-1])
        if timeout is not None:
            self._addDeadline(entry, timeout)
        return entry

    @property
    def defaultTimeout(self) -> Optional[float]:
        """Timeout of actions sent without one, in seconds (``None``: none).

        :raises ValueError: when set to a negative, NaN or infinite value.
        """
        return self._defaultTimeout

    @defaultTimeout.setter
    def defaultTimeout(self, value: Optional[float]) -> None:
        _checkTimeout(value, "defaultTimeout")
        self._defaultTimeout = value
        if value != self._fifoTimeout:
            # The actions waiting with the old usual timeout move to the heap,
            # so the new one starts an ordered run of its own.
            for entry in self._pending.values():
                deadline = entry.deadline
                if deadline is not None:
                    entry.deadline = None
                    heapq.heappush(self._deadlines, (deadline, next(self._sequence), entry))
            self._fifoTimeout = value
            self._lastDeadline = -math.inf

    # -- timeouts ------------------------------------------------------

    def _addDeadline(self, entry: _Pending, timeout: float) -> None:
        entry.timeout = timeout
        deadline = self.clock.seconds() + timeout
        if timeout == self._fifoTimeout and deadline >= self._lastDeadline:
            # The usual case: in deadline order in self._pending (see __init__).
            entry.deadline = self._lastDeadline = deadline
            if self._timer is None:
                self._timer = self.clock.callLater(timeout, self._expire)
                self._timerTime = deadline
            elif deadline < self._timerTime:
                self._timer.reset(timeout)
                self._timerTime = deadline
            return
        heap = self._deadlines
        while heap and heap[0][2].done:
            heapq.heappop(heap)  # answered already
        heapq.heappush(heap, (deadline, next(self._sequence), entry))
        if len(heap) > 64 and len(heap) > 2 * len(self._pending):
            # Answered entries outnumber the pending ones: drop them all, so
            # the heap stays proportional to what is pending (amortized O(1)
            # per action, as each compaction at least halves the heap).
            heap[:] = [item for item in heap if not item[2].done]
            heapq.heapify(heap)
        if self._timer is None:
            self._timer = self.clock.callLater(timeout, self._expire)
            self._timerTime = deadline
        elif deadline < self._timerTime:
            self._timer.reset(timeout)
            self._timerTime = deadline

    def _stopTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
        self._deadlines.clear()
        self._lastDeadline = -math.inf

    def _expire(self) -> None:
        self._timer = None
        now = self.clock.seconds()
        heap = self._deadlines
        expired: List[_Pending] = []
        # The actions of the usual timeout, oldest first (see __init__).
        nextDeadline: Optional[float] = None
        for entry in self._pending.values():
            deadline = entry.deadline
            if deadline is None:
                continue  # no timeout, or on the heap
            if deadline > now:
                nextDeadline = deadline
                break
            expired.append(entry)
        while heap:
            deadline, _, entry = heap[0]
            if entry.done:
                heapq.heappop(heap)
            elif deadline <= now:
                heapq.heappop(heap)
                expired.append(entry)
            else:
                break
        for entry in expired:
            if not entry.done:
                self._finish(entry, Failure(error.AMITimeout(entry.action, entry.timeout)))
        if not self._pending:
            heap.clear()
            return
        earliest = heap[0][0] if heap else math.inf
        if nextDeadline is not None and nextDeadline < earliest:
            earliest = nextDeadline
        if earliest == math.inf:
            return
        # The callbacks above may have sent actions, and so set a timer for
        # their own deadline, which may be later than this one.
        if self._timer is None:
            self._timer = self.clock.callLater(max(0.0, earliest - now), self._expire)
            self._timerTime = earliest
        elif earliest < self._timerTime:
            self._timer.reset(max(0.0, earliest - now))
            self._timerTime = earliest

    # -- upstream StarPy's sending helpers ------------------------------

    def generateActionId(self) -> str:
        """A new ActionID, unique on this connection (and across processes)."""
        return self._newActionID()

    def _splitMessage(self, message: Union[Mapping[str, Any], Iterable[Any]]
                      ) -> Tuple[str, List[Tuple[str, Any]], Optional[str]]:
        """``(action, headers, actionID or None)`` of an upstream-style message:
        a dict, or a sequence of ``(name, value)`` pairs, holding ``Action``."""
        pairs = list(message.items()) if isinstance(message, Mapping) else list(message)
        action: Optional[str] = None
        actionID: Optional[str] = None
        headers: List[Tuple[str, Any]] = []
        for pair in pairs:
            name, value = pair
            if not isinstance(name, str):
                raise TypeError("AMI header name must be a string, not %r" % (name,))
            if name.lower() == "action":
                action = str(value)
            elif name.lower() == "actionid":
                actionID = str(value)
            else:
                headers.append((name, value))
        if action is None:
            raise ValueError("message has no Action header: %r" % (sorted(n for n, v in headers),))
        return action, headers, actionID

    def sendMessage(
        self,
        message: Union[Mapping[str, Any], Iterable[Any]],
        responseCallback: Optional[Callable[[Any], Any]] = None,
        timeout: Optional[float] = _USE_DEFAULT,
    ) -> str:
        """Send *message* (upstream StarPy's form); return its ActionID at once.

        :param message: a dict, or a sequence of ``(name, value)`` pairs,
            holding an ``Action`` header (any case) and optionally an
            ``ActionID``, kept if given.
        :param responseCallback: called with each message carrying the
            ActionID, in order: the response (also ``Response: Error``), then,
            if it opens an event list, each event of the list up to and with
            the closing one.  If the connection drops or no reply comes within
            *timeout*, it is called once with the exception
            (:class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`,
            :class:`AMITimeout <starpy.error.AMITimeout>`), as upstream called it with
            ``ConnectionDone``.  An exception it raises is logged.

        :raises ValueError: no ``Action`` header, an ActionID still waiting
            for its reply, or CR/LF in a header; nothing is sent.
        """
        action, headers, actionID = self._splitMessage(message)
        entry = self._send(action, headers, timeout, actionID=actionID, listener=responseCallback)

        def onFailure(failure: Failure) -> None:
            if responseCallback is not None and not failure.check(error.AMICommandFailure):
                try:
                    responseCallback(failure.value)
                except Exception:
                    log.exception("AMI responseCallback %r failed", responseCallback)

        entry.deferred.addErrback(onFailure)
        return entry.actionID

    def sendDeferred(self, message: Union[Mapping[str, Any], Iterable[Any]],
                     timeout: Optional[float] = _USE_DEFAULT) -> deferredErrorResp:
        """Send *message* (as :meth:`sendMessage`); fire with the response.

        Upstream's low-level form: the Deferred fires with the first reply
        carrying the ActionID, whatever it says (``Response: Error``
        included: chain :meth:`errorUnlessResponse` to check it); a list
        action's events then go to the event handlers.  It fails with
        :class:`AMITimeout <starpy.error.AMITimeout>` or
        :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`.  See :meth:`sendAction` for
        the checked, list-collecting form.
        """
        action, headers, actionID = self._splitMessage(message)
        entry = self._send(action, headers, timeout, actionID=actionID, rawResponse=True)
        result = deferredErrorResp(lambda d: entry.deferred.cancel())

        def onResponse(response: Message) -> None:
            result.callback(self.checkErrorResponse(response, entry.actionID, result))

        entry.deferred.addCallbacks(onResponse, result.errback)
        return result

    def checkErrorResponse(self, result: Any, actionid: Optional[str] = None,
                           df: Optional[defer.Deferred[Any]] = None) -> Any:
        """Call the function registered with ``df.registerError`` if *result*
        is a ``Response: Error`` reply; return *result* unchanged."""
        function = getattr(df, "_errorRespCallback", None)
        if function is not None and isinstance(result, Mapping) \
                and str(result.get("response", "")).lower() == "error":
            function(result)
        return result

    def errorUnlessResponse(self, message: Any, expected: str = "Success") -> Any:
        """Return *message*, or raise unless its ``Response`` is *expected*.

        :raises ~starpy.error.AMICommandFailure: *message* is a reply whose
            ``Response`` is not *expected* (case aside); its ``message`` is
            Asterisk's ``Message`` header.  Anything but a mapping (a list
            from :meth:`collectDeferred`) is returned unchanged.
        """
        if isinstance(message, Mapping):
            response = str(message.get("response", ""))
            if response.lower() != expected.lower():
                raise error.AMICommandFailure(
                    str(message.get("action", "") or "action"),
                    str(message.get("message", "") or "Response: %s" % (response,)), message)
        return message

    def collectDeferred(self, message: Union[Mapping[str, Any], Iterable[Any]], stopEvent: str,
                        timeout: Optional[float] = _USE_DEFAULT) -> defer.Deferred[EventList]:
        """Send *message* and collect every reply up to the event *stopEvent*.

        Fires with an :class:`EventList`: the response, the events carrying
        the ActionID, then the *stopEvent* event (its name matched in any
        case) or the event that says ``EventList: Complete``, whichever
        comes first (upstream waited for *stopEvent* alone).  Fails with
        :class:`AMICommandFailure <starpy.error.AMICommandFailure>` on ``Response: Error``, or as
        :meth:`sendAction` does.
        """
        action, headers, actionID = self._splitMessage(message)
        return self._send(action, headers, timeout, actionID=actionID,
                          stopEvent=stopEvent).deferred

    def action(self, action: str, **headers: Any) -> defer.Deferred[Message]:
        """Send any action with *headers* as keyword arguments (upstream's form).

        Fires with the response once it says ``Success`` (for a list action,
        the response alone: its events go to the event handlers); fails
        with :class:`AMICommandFailure <starpy.error.AMICommandFailure>` otherwise.
        ``ami.action('QueueSummary', Queue='sales')``.
        """
        message: Dict[str, Any] = dict(headers)
        message["Action"] = action
        d: defer.Deferred[Message] = self.sendDeferred(message)
        return d.addCallback(self._checkedFor, action)

    def _checkedFor(self, response: Message, action: str) -> Message:
        try:
            result: Message = self.errorUnlessResponse(response)
        except error.AMICommandFailure as failure:
            failure.action = action
            raise
        return result

    def sendLine(self, line: Union[bytes, str]) -> None:
        """Send one line of an action written by hand (upstream's form).

        ``ami.sendLine('Action: Ping')`` then ``ami.sendLine('')``: lines are
        held until the blank line that ends the message, and the message
        then goes out whole, so it never mixes with an action sent
        meanwhile.  The reply is not tracked (use :meth:`sendMessage`).

        :raises ValueError: the line holds CR, LF or NUL, is not ``Name:
            value``, is longer than Asterisk reads (:data:`MAX_LINE_BYTES
            <starpy.codec.ami.MAX_LINE_BYTES>` bytes) or would make more
            header lines than Asterisk takes (128) or a message longer than
            the protocol's message size bound, or its value starts with a
            blank Asterisk would drop; the line is refused, lines already
            given are kept.
        :raises ~starpy.error.AMIConnectionLost: the connection is closed
            (or closing).
        """
        text = line.decode("utf-8", "surrogateescape") if isinstance(line, bytes) else line
        if "\r" in text or "\n" in text:
            raise ValueError("AMI line %r holds a CR or LF" % (text,))
        if not self._connected or self._closing:
            raise error.AMIConnectionLost(None, self._lostReason)
        if text:
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                raise ValueError("AMI line %r is not 'Name: value'" % (text,))
            # Asterisk's reader limits, as formatAction applies them.
            if "\x00" in text:
                raise ValueError("AMI line for header %r holds a NUL character" % (name,))
            if len(text.encode("utf-8", "surrogateescape")) > MAX_LINE_BYTES:
                raise ValueError("AMI line for header %r is longer than the %d bytes "
                                 "Asterisk reads" % (name, MAX_LINE_BYTES))
            if len(self._lines) >= MAX_ACTION_HEADERS:
                raise ValueError("AMI message written with sendLine would have more than "
                                 "the %d header lines Asterisk reads" % (MAX_ACTION_HEADERS,))
            # Asterisk skips the blanks at the start of a value: a second one
            # after the colon's space would be dropped.
            given = value[1:] if value.startswith(" ") else value
            if given[:1] and given[:1] <= " ":
                raise ValueError("AMI line for header %r: its value starts with a space or "
                                 "control character, which Asterisk drops" % (name,))
            size = sum(len(held.encode("utf-8", "surrogateescape")) + 2 for held in self._lines)
            if size + len(text.encode("utf-8", "surrogateescape")) + 2 > self._maxMessageSize:
                raise ValueError("AMI message written with sendLine exceeds %d bytes"
                                 % (self._maxMessageSize,))
            self._lines.append(text)
            return
        lines, self._lines = self._lines, []
        if not lines:
            return
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        assert self.transport is not None
        self.transport.write(data)
        if self.tracer.enabled:
            self.tracer.sent(lines + [""])

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
            _checkTimeout(timeout, "timeout")
        eventMask = _loginEvents(events)

        if username is None or secret is None:
            factory = getattr(self, "factory", None)
            if not isinstance(factory, AMIFactory):
                raise TypeError("login() needs username and secret (no AMIFactory to take them from)")
            username = factory.username if username is None else username
            secret = factory.secret if secret is None else secret

        def sendLogin(version: str) -> defer.Deferred[Any]:
            headers: List[tuple[str, str]] = []
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
                self._close(refused)
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
            self._close(_reasonOf(failure), abort=True)

        self.sendAction("Ping", timeout=wait).addCallbacks(onPong, onNoPong)

    def __repr__(self) -> str:
        return "<AMIProtocol %s%s, %d pending>" % (
            "connected" if self._connected else "closed",
            " logged in" if self.loggedIn else "",
            len(self._pending),
        )


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
            _checkTimeout(value, what)
        self.username = username
        self.trace = trace
        self._secret = secret
        self.id = id
        self.md5 = md5
        self.on_reconnect = on_reconnect
        _loginEvents(events)  # refused here rather than at each login
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

    def _getReactor(self) -> Any:
        return self.reactor if self.reactor is not None else _reactor()

    def buildProtocol(self, addr: Any) -> AMIProtocol:
        ami = self.protocol(
            clock=self._getReactor(),
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

        reactor = self._getReactor()
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
        reactor = self._getReactor()
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
                try:
                    self.on_reconnect(again)
                except Exception:
                    log.exception("AMI on_reconnect %r failed", self.on_reconnect)

        def onTimeout(result: Any, t: float) -> Failure:
            return Failure(error.AMITimeout("Login", timeout))

        service.onLogin(onLogin)
        service.onLoginFailed(onLoginFailed)
        service._service.whenConnected(failAfterFailures=1).addErrback(fail)
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
            service._stopping = True
            # Not from within the service's own connection callbacks: its
            # state machine refuses to be re-entered.
            self._getReactor().callLater(0, service.stopService)

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
        counts anyway, with a warning); :data:`DEFAULT_BOOT_TIMEOUT`.
    :param pushFilter: after each login, push an event filter so that
        Asterisk sends only the events registered for (and those StarPy
        needs): :meth:`AMIProtocol.pushEventFilter`, :mod:`starpy.eventfilter`.
        Needs the ``system`` write class (else logged once, and unfiltered).

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
        bootTimeout: float = DEFAULT_BOOT_TIMEOUT,
        pushFilter: bool = False,
    ) -> None:
        from twisted.application.internet import ClientService, backoffPolicy

        _checkTimeout(loginTimeout, "loginTimeout")
        _checkTimeout(bootTimeout, "bootTimeout")
        self.loginTimeout = loginTimeout
        self.waitBooted = waitBooted
        self.bootTimeout = bootTimeout
        self.pushFilter = pushFilter
        self._filterRefused = False
        self.factory = factory
        self.dispatcher = EventDispatcher()
        self._observers: List[Callable[[AMIProtocol], Any]] = []
        self._failureObservers: List[Callable[[AMIProtocol, Failure], Any]] = []
        self._waiters: List[defer.Deferred[AMIProtocol]] = []
        self._current: Optional[AMIProtocol] = None
        self._loginFailures = 0
        # Set once the service is stopping (or told it will be): a refused
        # login is then not retried, so not logged as an error to retry.
        self._stopping = False
        policy = retryPolicy or backoffPolicy(maxDelay=30.0)
        target = factory.endpoint(endpoint, port) if isinstance(endpoint, str) else endpoint
        # A refused login closes the connection; ClientService then counts a
        # fresh attempt, so the backoff also counts consecutive login failures.
        self._clock: IReactorTime = clock if clock is not None else factory._getReactor()
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

        def onLogin(ami: AMIProtocol) -> None:
            self._loginFailures = 0
            self._current = ami
            for observer in list(self._observers):
                try:
                    observer(ami)
                except Exception:
                    log.exception("AMI login observer %r failed", observer)
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(ami)

        def onFailure(failure: Failure) -> Optional[Failure]:
            if failure.check(defer.CancelledError):
                # The service is stopping and gave this attempt up: it must
                # not hear of this connection's end (its state machine,
                # already stopped, would raise).
                if hasattr(connection, "_lostNotification"):
                    connection._lostNotification = lambda reason: None
                _abort(ami.transport)
                return failure
            # Not returned as a failure: ClientService would keep the socket
            # open.  Closing it makes the service wait and retry.
            self._loginFailures += 1
            ami._close(_reasonOf(failure), abort=True)
            for observer in list(self._failureObservers):
                try:
                    observer(ami, failure)
                except Exception:
                    log.exception("AMI login failure observer %r failed", observer)
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
        ami.pushEventFilter(level).addCallback(pushed)
        return ami

    def _whenBooted(self, ami: AMIProtocol) -> defer.Deferred[AMIProtocol]:
        """Fires with *ami* once it receives ``FullyBooted`` or *bootTimeout*
        passes; fails with AMIConnectionLost if the connection goes first."""
        timer: List[IDelayedCall] = []

        def cleanUp() -> None:
            handle.cancel()
            if timer and timer[0].active():
                timer[0].cancel()

        booted: defer.Deferred[AMIProtocol] = defer.Deferred(lambda d: cleanUp())

        def onBooted(protocol: Any, event: Message) -> None:
            if protocol is ami and not booted.called:
                cleanUp()
                booted.callback(ami)

        def onTimeout() -> None:
            handle.cancel()
            log.warning("AMI: no FullyBooted within %s s of the login; going on (does the "
                        "AMI user have the 'system' read class?)", self.bootTimeout)
            booted.callback(ami)

        def onClosed(ignored: object) -> None:
            if not booted.called:
                cleanUp()
                booted.errback(ami._lost("FullyBooted"))

        handle = ami.dispatcher.register("FullyBooted", onBooted)
        timer.append(self._clock.callLater(self.bootTimeout, onTimeout))
        ami.whenClosed().addCallback(onClosed)
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
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(error.AMIConnectionLost(None, "service stopped"))
        stopped: defer.Deferred[None] = self._service.stopService()
        return stopped

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
        """A Deferred firing with the current logged-in protocol, or the next one."""
        current = self.protocol
        if current is not None:
            return defer.succeed(current)
        waiter: defer.Deferred[AMIProtocol] = defer.Deferred()
        self._waiters.append(waiter)
        return waiter

    def onLogin(self, observer: Callable[[AMIProtocol], Any]) -> Handle:
        """Call ``observer(protocol)`` after each successful (re)login.

        :return: a :class:`Handle <starpy.dispatch.Handle>`; ``cancel()``
            removes the observer.
        """
        return observe(self._observers, observer)

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
