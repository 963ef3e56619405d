"""Routing of AMI events to registered handlers.

An :class:`EventDispatcher` holds registrations: an exact event name (any
case), a glob pattern (``Queue*``, ``Dial?egin``, ``[DH]*``) or ``None`` for
every event.  Dispatch costs a dictionary lookup per event: the handlers for
an event name are resolved once, cached, and the cache is dropped whenever a
registration is added or cancelled, so the cost does not grow with the number
of registrations that do not match.  The cache holds at most
:attr:`EventDispatcher.maxCachedNames` names (1024; Asterisk 22 has about
250 event names): when a new name would pass that, it is emptied and
refilled, so a peer sending ever new event names costs a resolution per
event, never unbounded memory.

A handler that raises is logged with its traceback and the other handlers
still run.  Handlers may cancel their own registration or any other during
dispatch; a registration cancelled during a dispatch is not called afterwards
in that dispatch.

The dispatcher of a connection kept up by :class:`AMIService
<starpy.manager.AMIService>` belongs to the service, so registrations survive
reconnection and each handler is called once per event; each connection made
by :meth:`AMIFactory.login <starpy.manager.AMIFactory.login>` starts with a
dispatcher of its own, empty.
"""
from __future__ import annotations

import fnmatch
import logging
import re
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Pattern, Tuple, Union

from twisted.internet import defer
from twisted.python.failure import Failure

from starpy._idioms import checkSeconds, notifyListener
from starpy._logfailure import logFailure

__all__ = ["EventDispatcher", "Registration", "EventHandler", "EventNames", "HandlerMonitor",
           "Handle", "HandleGroup", "observe"]

log = logging.getLogger("starpy.manager")

EventHandler = Callable[[Any, Any], Any]
"""``handler(protocol, event)``; may return a Deferred, whose failure is logged."""

EventNames = Union[str, Iterable[str], None]

_GLOB = re.compile(r"[*?\[]")


class Registration:
    """One registered handler; :meth:`cancel` removes it.

    :ivar pattern: the event name or glob as given (``None`` for all events).
    :ivar handler: the callable.
    :ivar active: false once cancelled.
    """

    __slots__ = ("pattern", "handler", "active", "_order", "_matcher", "_dispatcher", "__weakref__")

    def __init__(
        self,
        dispatcher: "EventDispatcher",
        pattern: Optional[str],
        handler: EventHandler,
        order: int,
    ) -> None:
        self._order = order
        self.pattern = pattern
        self.handler = handler
        self.active = True
        self._dispatcher: Optional[EventDispatcher] = dispatcher
        self._matcher: Optional[Pattern[str]] = None
        if pattern is not None and _GLOB.search(pattern):
            self._matcher = re.compile(fnmatch.translate(pattern.lower()))

    def matches(self, lowerName: str) -> bool:
        """Whether this registration wants events named *lowerName*."""
        if self.pattern is None:
            return True
        if self._matcher is not None:
            return self._matcher.match(lowerName) is not None
        return self.pattern.lower() == lowerName

    def cancel(self) -> None:
        """Stop delivering events to this handler (idempotent)."""
        dispatcher = self._dispatcher
        if dispatcher is not None:
            self._dispatcher = None
            self.active = False
            dispatcher._remove(self)

    def __repr__(self) -> str:
        return "<Registration %r -> %r%s>" % (
            self.pattern, self.handler, "" if self.active else " cancelled"
        )


class EventDispatcher:
    """Registrations of event handlers and the dispatch of events to them.

    :cvar maxCachedNames: the most event names whose handlers are kept
        resolved (see the module documentation).
    """

    maxCachedNames = 1024

    monitor: Optional["HandlerMonitor"] = None
    """The :class:`HandlerMonitor` attached, or ``None`` (the default).
    :meth:`handlersFor` gives the monitor's
    :meth:`wrap <HandlerMonitor.wrap>` of each registration when one is
    attached, so that :meth:`dispatch` calls the handlers through it; the
    loop in :meth:`dispatch` is the same with or without one, and costs
    nothing more without."""

    def __init__(self) -> None:
        self._exact: Dict[str, List[Registration]] = {}
        self._patterns: List[Registration] = []
        self._cache: Dict[str, Tuple[Registration, ...]] = {}
        self._counter = 0
        self._changeObservers: List[Callable[["EventDispatcher"], Any]] = []

    def __len__(self) -> int:
        return sum(len(group) for group in self._exact.values()) + len(self._patterns)

    def register(self, names: EventNames, handler: EventHandler) -> "Registration | HandleGroup":
        """Call ``handler(protocol, event)`` for events matching *names*.

        *names* is an event name, a glob pattern, a list of those, or
        ``None`` for every event.  Returns a handle whose ``cancel()``
        removes what this call registered.
        """
        if not callable(handler):
            raise TypeError("event handler must be callable, not %r" % (handler,))
        if names is None or isinstance(names, str):
            return self._add(names, handler)
        registrations = [self._add(name, handler) for name in names]
        if not registrations:
            raise ValueError("no event names given")
        return HandleGroup(registrations)

    def _add(self, pattern: Optional[str], handler: EventHandler) -> Registration:
        if pattern is not None and (not isinstance(pattern, str) or not pattern):
            raise ValueError("event name must be a non-empty string or None, not %r" % (pattern,))
        self._counter += 1
        registration = Registration(self, pattern, handler, self._counter)
        if pattern is not None and registration._matcher is None:
            self._exact.setdefault(pattern.lower(), []).append(registration)
        else:
            self._patterns.append(registration)
        self._cache.clear()
        self._changed()
        return registration

    def _remove(self, registration: Registration) -> None:
        pattern = registration.pattern
        if pattern is not None and registration._matcher is None:
            group = self._exact.get(pattern.lower(), [])
            if registration in group:
                group.remove(registration)
                if not group:
                    del self._exact[pattern.lower()]
        elif registration in self._patterns:
            self._patterns.remove(registration)
        self._cache.clear()
        self._changed()

    def deregister(self, names: EventNames, handler: Optional[EventHandler] = None) -> int:
        """Cancel every registration of *handler* (compared with ``==``) for *names*.

        *names* as for :meth:`register`; ``None`` means the catch-all
        registrations.  *handler* ``None`` cancels every handler registered
        for *names* (upstream StarPy's meaning).  Returns how many
        registrations were cancelled.
        """
        wanted: List[Optional[str]]
        if names is None or isinstance(names, str):
            wanted = [names]
        else:
            wanted = list(names)
        found = 0
        for name in wanted:
            for registration in self._all():
                same = (
                    registration.pattern is None
                    if name is None
                    else registration.pattern is not None
                    and registration.pattern.lower() == name.lower()
                )
                if same and (handler is None or registration.handler == handler):
                    registration.cancel()
                    found += 1
        return found

    def _all(self) -> List[Registration]:
        result = [r for group in self._exact.values() for r in group]
        result.extend(self._patterns)
        return result

    def clear(self) -> None:
        """Cancel every registration."""
        for registration in self._all():
            registration.cancel()

    def registeredNames(self, ignore: Iterable[Registration] = ()) -> Optional[frozenset[str]]:
        """The event names registered for, as registered (``{'Hangup',
        'Newchannel'}``), or ``None`` when a glob or catch-all registration
        wants every event (or may).  Names are matched in any case by
        :meth:`dispatch`; two spellings of one name are both listed.
        Registrations in *ignore* are left out."""
        skipped = set(map(id, ignore))
        if any(id(registration) not in skipped for registration in self._patterns):
            return None
        return frozenset(registration.pattern for group in self._exact.values()
                         for registration in group
                         if registration.pattern is not None and id(registration) not in skipped)

    def onChange(self, observer: Callable[["EventDispatcher"], Any]) -> "Handle":
        """Call ``observer(dispatcher)`` after each registration added or
        cancelled (what :meth:`registeredNames` says may have changed);
        returns a :class:`Handle` whose ``cancel()`` removes the observer."""
        return observe(self._changeObservers, observer)

    def _changed(self) -> None:
        if not self._changeObservers:
            return
        for observer in list(self._changeObservers):
            notifyListener(log, "event registration observer", observer, self)

    def handlersFor(self, name: str) -> Tuple[Registration, ...]:
        """The registrations an event named *name* goes to, in registration
        order (each wrapped by the :attr:`monitor`, if one is attached)."""
        # The cache is keyed by the name as given (Asterisk spells each event
        # name one way), so a hit costs no lower(): on the reference W1
        # benchmark (bench/RESULTS.md) that was 10% of dispatch.
        cached = self._cache.get(name)
        if cached is None:
            lowerName = name.lower()
            found = list(self._exact.get(lowerName, ()))
            found.extend(r for r in self._patterns if r.matches(lowerName))
            if len(found) > 1:
                found.sort(key=lambda r: r._order)
            if self.monitor is not None:
                wrap = self.monitor.wrap
                found = [wrap(registration, name) for registration in found]
            if len(self._cache) >= self.maxCachedNames:
                self._cache.clear()
            cached = self._cache[name] = tuple(found)
        return cached

    def setMonitor(self, monitor: Optional["HandlerMonitor"]) -> None:
        """Call the handlers through *monitor* from the next event on
        (``None``: directly again).  :meth:`HandlerMonitor.attach` and
        :meth:`HandlerMonitor.detach` use this."""
        self.monitor = monitor
        self._cache.clear()

    def dispatch(self, protocol: object, event: Any) -> None:
        """Deliver *event* (a Message with an ``event`` key) to its handlers."""
        name = event.get("event")
        if name is None:
            return
        # handlersFor's hit, inlined: 697 to 691 M instructions over 12,000
        # reference W1 events (bench/RESULTS.md).  A HandlerMonitor wraps the
        # registrations in handlersFor, not here: this loop is the W1 hot
        # path, with or without one (bench/w1_driver.py).
        handlers = self._cache.get(name)
        if handlers is None:
            handlers = self.handlersFor(name)
        for registration in handlers:
            if not registration.active:
                continue
            try:
                result = registration.handler(protocol, event)
            except Exception:
                log.exception(
                    "AMI event handler %r failed on event %s", registration.handler, name
                )
                continue
            # (None first: isinstance of Deferred goes through ABC machinery.)
            if result is not None and isinstance(result, defer.Deferred):
                result.addErrback(_logHandlerFailure, registration.handler, name)


def _logHandlerFailure(failure: Failure, handler: EventHandler, name: str) -> None:
    logFailure(log, failure, "AMI event handler %r failed on event %s", handler, name)


class HandlerMonitor:
    """Times the event handlers of the dispatchers it is attached to, and
    counts their failures.

    A handler that runs longer than *threshold* seconds blocks the reactor
    that long: it is logged (a WARNING on ``starpy.manager`` naming the
    handler and the event) at most once per handler per *interval* seconds,
    and the ``onSlow`` observers hear of every such call.  The ``onFailure``
    observers hear of every handler that raised or whose Deferred failed
    (logged as always).  Dispatchers without a monitor are not slowed at all.

    :param threshold: seconds a handler call may last.
    :param interval: seconds between two warnings about the same handler.
    :param timer: what times a call (``time.perf_counter``).
    :param clock: what spaces the warnings (``time.monotonic``).
    :ivar slowCalls: how many slow calls were seen, in all.
    """

    _MAX_REMEMBERED = 1024  # handlers whose last warning is remembered

    def __init__(self, threshold: float = 0.1, interval: float = 60.0,
                 timer: Callable[[], float] = time.perf_counter,
                 clock: Callable[[], float] = time.monotonic) -> None:
        checkSeconds(threshold, "threshold")
        checkSeconds(interval, "interval")
        self.threshold = threshold
        self.interval = interval
        self.timer = timer
        self.clock = clock
        self.slowCalls = 0
        self._warned: Dict[int, Tuple[EventHandler, float]] = {}
        self._slowObservers: List[Callable[[str, EventHandler, float], Any]] = []
        self._failureObservers: List[Callable[[str, EventHandler], Any]] = []

    def attach(self, dispatcher: "EventDispatcher") -> None:
        """Time *dispatcher*'s handlers from the next event on (other
        dispatchers are untouched).

        :raises ValueError: another monitor is attached to it.
        """
        if dispatcher.monitor is self:
            return
        if dispatcher.monitor is not None:
            raise ValueError("%r already has a monitor" % (dispatcher,))
        dispatcher.setMonitor(self)

    def detach(self, dispatcher: "EventDispatcher") -> None:
        """Stop timing *dispatcher*'s handlers (if this monitor was on it)."""
        if dispatcher.monitor is self:
            dispatcher.setMonitor(None)

    def onSlow(self, observer: Callable[[str, EventHandler, float], Any]) -> "Handle":
        """Call ``observer(eventName, handler, seconds)`` for each slow call;
        the :class:`Handle`'s ``cancel()`` removes the observer."""
        return observe(self._slowObservers, observer)

    def onFailure(self, observer: Callable[[str, EventHandler], Any]) -> "Handle":
        """Call ``observer(eventName, handler)`` for each failed handler; the
        :class:`Handle`'s ``cancel()`` removes the observer."""
        return observe(self._failureObservers, observer)

    def wrap(self, registration: Registration, name: str) -> Registration:
        """What an attached dispatcher calls for *registration* on events
        named *name*: a stand-in whose ``handler`` times the call and tells
        this monitor's observers of a failure, then lets the dispatcher log
        it as always (the stand-in's ``repr`` is the handler's, so the log
        names the application's handler)."""
        return _Monitored(registration, _TimedHandler(self, registration.handler, name))

    def _failed(self, name: str, handler: EventHandler) -> None:
        for observer in list(self._failureObservers):
            notifyListener(log, "handler failure observer", observer, name, handler)

    def _checkTime(self, seconds: float, name: str, handler: EventHandler) -> None:
        if seconds <= self.threshold:
            return
        self.slowCalls += 1
        now = self.clock()
        key = id(handler)
        last = self._warned.get(key)
        if last is None or last[0] is not handler or now - last[1] >= self.interval:
            if len(self._warned) >= self._MAX_REMEMBERED:
                self._warned.clear()
            self._warned[key] = (handler, now)
            log.warning("AMI event handler %r blocked the reactor %.3f s on event %s (threshold"
                        " %.3f s; said at most once per %g s per handler)",
                        handler, seconds, name, self.threshold, self.interval)
        for observer in list(self._slowObservers):
            notifyListener(log, "slow handler observer", observer, name, handler, seconds)


class _TimedHandler:
    """A handler called through a :class:`HandlerMonitor`."""

    __slots__ = ("monitor", "handler", "name")

    def __init__(self, monitor: HandlerMonitor, handler: EventHandler, name: str) -> None:
        self.monitor = monitor
        self.handler = handler
        self.name = name

    def __call__(self, protocol: object, event: Any) -> Any:
        monitor, handler, name = self.monitor, self.handler, self.name
        started = monitor.timer()
        try:
            result = handler(protocol, event)
        except Exception:
            monitor._checkTime(monitor.timer() - started, name, handler)
            monitor._failed(name, handler)
            raise  # logged by the dispatcher
        monitor._checkTime(monitor.timer() - started, name, handler)
        if isinstance(result, defer.Deferred):
            result.addErrback(self._deferredFailed)
        return result

    def _deferredFailed(self, failure: Failure) -> Failure:
        self.monitor._failed(self.name, self.handler)
        return failure  # logged by the dispatcher's errback

    def __repr__(self) -> str:
        return repr(self.handler)


class _Monitored(Registration):
    """A registration as a monitored dispatcher sees it: its handler is
    timed, and it is active as long as the registration is."""

    __slots__ = ("registration",)

    def __init__(self, registration: Registration, handler: _TimedHandler) -> None:
        # Registration's own __init__ is not wanted: nothing is registered.
        self.registration = registration
        self.handler = handler
        self.pattern = registration.pattern

    # Read through to the registration, so that one cancelled during a
    # dispatch is skipped in that dispatch, as without a monitor.
    @property
    def active(self) -> bool:  # type: ignore[override]
        return self.registration.active

    def cancel(self) -> None:
        self.registration.cancel()


class Handle:
    """What a registration of StarPy returns: :meth:`cancel` undoes it.

    ``onLogin``, ``onLoginFailed``, ``handleCallsFor``, ``handleScript``,
    the pool's and the metrics' observers return one; event registrations
    (:class:`Registration`) and call subscriptions are the same kind of
    object: each has ``cancel()``.  Cancelling twice does nothing more.
    Calling the handle cancels it too, so that code written when these
    registrations returned a plain function keeps working.

    :ivar active: false once cancelled.
    """

    def __init__(self, undo: Callable[[], object]) -> None:
        self._undo: Optional[Callable[[], object]] = undo
        self.active = True

    def cancel(self) -> None:
        """Undo the registration (idempotent)."""
        undo, self._undo = self._undo, None
        if undo is not None:
            self.active = False
            undo()

    def __call__(self) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return "<Handle%s>" % ("" if self.active else " cancelled",)


class HandleGroup(Handle):
    """Several registrations made by one call, undone together: what
    :meth:`EventDispatcher.register` returns for a list of names, and what
    any StarPy object making several registrations at once may return.

    :ivar handles: the registrations (anything with ``cancel()``), emptied
        once cancelled.
    """

    def __init__(self, handles: Iterable[Any]) -> None:
        self.handles: List[Any] = list(handles)
        super().__init__(self._cancelAll)

    @property
    def registrations(self) -> List[Any]:
        """The same as :attr:`handles` (this group's first name)."""
        return self.handles

    def _cancelAll(self) -> None:
        handles, self.handles = self.handles, []
        for handle in handles:
            handle.cancel()

    def __repr__(self) -> str:
        return "<HandleGroup of %d%s>" % (len(self.handles), "" if self.active else " cancelled")


def observe(observers: List[Any], observer: Any) -> Handle:
    """Add *observer* to *observers*; the returned :class:`Handle`'s
    ``cancel()`` removes it (StarPy's observer registrations all work so)."""
    observers.append(observer)

    def remove() -> None:
        if observer in observers:
            observers.remove(observer)

    return Handle(remove)

