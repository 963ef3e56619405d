"""The event filter StarPy pushes to Asterisk: only the events wanted cross the wire.

An application that registers handlers for a few event names still gets
every event of a busy Asterisk: each one is sent, read, parsed and dropped.
:meth:`AMIProtocol.pushEventFilter <starpy.manager.AMIProtocol.pushEventFilter>`
(or ``AMIService(pushFilter=True)`` and ``AMIPool(pushFilter=True)``, after
each login) turns the names the connection's :class:`EventDispatcher
<starpy.dispatch.EventDispatcher>` knows (a pool's: its own and the
server's) into Asterisk include filters (``Action: Filter``, Asterisk 22's
``MatchCriteria``), so that Asterisk sends only:

* the events of the registered names (in any case, as the dispatcher
  matches them: ``header(Event),method(regex)`` with a case-blind
  expression such as ``^([Hh][Aa][Nn][Gg][Uu][Pp])$``);
* ``FullyBooted``, which the readiness wait (``waitBooted``) needs;
* every event carrying an ActionID StarPy generated on this connection
  (``header(ActionID),method(starts_with)``): ``OriginateResponse`` of an
  asynchronous originate, any event :meth:`sendAction
  <starpy.manager.AMIProtocol.sendAction>` waits for with *expectEvent*.
  The events a list action answers with (``CoreShowChannel``,
  ``StatusComplete``...) are written by Asterisk as the action's reply:
  no filter applies to them.

What handlers StarPy itself registers is covered the same way: an attached
:class:`AsyncAGIDispatcher <starpy.asyncagi.AsyncAGIDispatcher>` registers ``AsyncAGIStart``,
``AsyncAGIExec``, ``AsyncAGIEnd``... on the dispatcher.  A glob (``Queue*``)
or catch-all registration (a :class:`ChannelTracker <starpy.channel.ChannelTracker>`,
metrics' event counter, ``starpy events``) wants every event: then no
filter is pushed.

Asterisk only adds filters to a session, it never removes one.  So:

* a registration made later (while connected) pushes a filter for its new
  name at once (its events sent before Asterisk reads that filter are not
  received);
* a cancelled registration leaves its filter in place until the next
  connection (its events are received and dropped, as without filter);
* a glob or catch-all registered later pushes an include-everything filter:
  the connection is unfiltered until the next one;
* each new connection (an :class:`AMIService <starpy.manager.AMIService>` reconnects)
  starts unfiltered and pushes the filter of the registrations of that
  moment.

``Action: Filter`` needs the ``system`` write class.  Without it Asterisk
answers ``Permission denied``: that is logged once (WARNING) and the
connection goes on unfiltered.  Any other refusal of one of the filters
pushes the include-everything filter, so that no wanted event is lost.
Before Asterisk 22 (no ``MatchCriteria``) the filters degrade to
include-everything too.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Protocol, Sequence, Set

from twisted.internet import defer
from twisted.python.failure import Failure

from starpy import error
from starpy.codec.ami import MAX_LINE_BYTES
from starpy.dispatch import EventDispatcher, Handle, HandleGroup

if TYPE_CHECKING:  # pragma: no cover
    from starpy.manager import AMIProtocol

__all__ = ["ALWAYS_KEPT", "CombinedRegistrations", "PushedFilter", "Registrations",
           "caselessRegex", "nameExpressions"]

log = logging.getLogger("starpy.manager")

ALWAYS_KEPT = ("FullyBooted",)
"""Event names a pushed filter always lets through, registered or not."""

_SPECIAL = frozenset(".[]()*+?{}|^$\\")
# "Filter: " and the expression must fit in one line Asterisk reads
# (MAX_LINE_BYTES leaves the CRLF out already); counted in UTF-8 bytes.
_MAX_EXPRESSION = MAX_LINE_BYTES - len("Filter: ")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def caselessRegex(name: str) -> str:
    """*name* as a POSIX extended expression matching it in any case
    (``'Hangup'`` -> ``'[Hh][Aa][Nn][Gg][Uu][Pp]'``)."""
    parts = []
    for char in name:
        if "a" <= char.lower() <= "z":
            parts.append("[%s%s]" % (char.upper(), char.lower()))
        elif char in _SPECIAL:
            parts.append("\\" + char)
        else:
            parts.append(char)
    return "".join(parts)


def nameExpressions(names: Iterable[str]) -> List[str]:
    """Expressions matching a whole ``Event`` value that is one of *names*
    (any case), each short enough for one ``Filter`` line; names in sorted
    order, each once whatever its case.

    :raises ValueError: a name too long for a line of its own.
    """
    unique = {name.lower(): name for name in sorted(names)}
    expressions: List[str] = []
    current: List[str] = []
    for key in sorted(unique):
        part = caselessRegex(unique[key])
        if _size(part) + 4 > _MAX_EXPRESSION:
            raise error.LocalProtocolError(
                "event name %r is too long for an Asterisk filter" % (unique[key],))
        if current and len("^()$") + _size("|".join(current + [part])) > _MAX_EXPRESSION:
            expressions.append("^(%s)$" % ("|".join(current),))
            current = []
        current.append(part)
    if current:
        expressions.append("^(%s)$" % ("|".join(current),))
    return expressions


class Registrations(Protocol):
    """Where a :class:`PushedFilter` reads the names wanted: an
    :class:`EventDispatcher <starpy.dispatch.EventDispatcher>`, or
    :class:`CombinedRegistrations`."""

    def registeredNames(self) -> Optional[frozenset[str]]:
        """The names wanted, or ``None`` for every event."""

    def onChange(self, observer: Callable[[Any], Any]) -> Handle:
        """Call *observer* after each change; returns a :class:`Handle
        <starpy.dispatch.Handle>` removing it."""


class CombinedRegistrations:
    """The registrations of several dispatchers as one, leaving some out:
    an :class:`AMIPool <starpy.pool.AMIPool>` server's connection wants what
    the pool's dispatcher and its own service's want, except the catch-all
    that forwards its events to the pool."""

    def __init__(self, dispatchers: Sequence[EventDispatcher], ignore: Iterable[Any] = ()) -> None:
        self.dispatchers = list(dispatchers)
        self.ignore = list(ignore)

    def registeredNames(self) -> Optional[frozenset[str]]:
        names: Set[str] = set()
        for dispatcher in self.dispatchers:
            wanted = dispatcher.registeredNames(self.ignore)
            if wanted is None:
                return None
            names.update(wanted)
        return frozenset(names)

    def onChange(self, observer: Callable[[Any], Any]) -> Handle:
        return HandleGroup(dispatcher.onChange(observer) for dispatcher in self.dispatchers)


class PushedFilter:
    """The event filter pushed on one AMI connection, kept up to date with
    its dispatcher's registrations (see the module documentation).

    :ivar filtering: Asterisk filters this connection's events (the include
        filters were accepted and no include-everything filter was pushed).
    :ivar refused: Asterisk answered ``Permission denied``.
    :ivar pushedNames: the names (lower case) of the include filters sent.
    """

    def __init__(self, ami: "AMIProtocol", registrations: Registrations,
                 refusalLevel: int = logging.WARNING) -> None:
        self.ami = ami
        self.registrations = registrations
        self.refusalLevel = refusalLevel
        self.filtering = False
        self.refused = False
        self.pushedNames: Set[str] = set()
        self._started = False  # include filters sent on this connection
        self._final = False  # refused, everything pushed, or closed
        self._observing: Optional[Handle] = None

    def start(self) -> defer.Deferred[bool]:
        """Push the filter of the current registrations and follow them; fires
        with :attr:`filtering` once Asterisk has answered (never fails)."""
        self._observing = self.registrations.onChange(self._changed)
        self.ami.whenClosed().addCallback(lambda ignored: self.stop())
        return self._update()

    def stop(self) -> None:
        """Stop following the registrations (the connection closed)."""
        self._final = True
        observing, self._observing = self._observing, None
        if observing is not None:
            observing.cancel()

    def _changed(self, registrations: object) -> None:
        self._update()

    def _update(self) -> defer.Deferred[bool]:
        if self._final:
            return defer.succeed(self.filtering)
        names = self.registrations.registeredNames()
        if names is None:
            if not self._started:
                return defer.succeed(False)  # everything wanted: nothing to push
            log.info("AMI: a registration wants every event; the event filter of this"
                     " connection now lets everything through (until it reconnects)")
            return self._pushEverything()
        wanted = {name.lower(): name for name in set(names) | set(ALWAYS_KEPT)}
        new = [name for key, name in wanted.items() if key not in self.pushedNames]
        if not new:
            return defer.succeed(self.filtering)
        try:
            expressions = nameExpressions(new)
        except ValueError as e:
            log.warning("AMI: %s; receiving every event", e)
            return self._pushEverything() if self._started else defer.succeed(False)
        self.pushedNames.update(wanted)
        sent: List[defer.Deferred[Any]] = []
        try:
            if not self._started:
                self._started = True
                prefix = self.ami.actionIDPrefix
                sent.append(self.ami.filter(prefix, header="ActionID", method="starts_with"))
            for expression in expressions:
                sent.append(self.ami.filter(expression, header="Event", method="regex"))
        except ValueError as e:  # a name no AMI line can carry (CR, LF...)
            log.warning("AMI: event filter not pushed (%s); receiving every event", e)
            if sent:
                defer.DeferredList(sent, consumeErrors=True)
            return self._pushEverything()
        return defer.DeferredList(sent, consumeErrors=True).addCallback(self._answered)

    def _answered(self, results: List[Any]) -> defer.Deferred[bool]:
        failures = [value for ok, value in results if not ok]
        if not failures:
            if not self._final:
                self.filtering = True
            return defer.succeed(self.filtering)
        failure: Failure = failures[0]
        if failure.check(error.AMIConnectionLost, error.AMITimeout):
            log.debug("AMI: event filter not pushed: %s", failure.getErrorMessage())
            self.stop()
            return defer.succeed(False)
        refusal = failure.value
        message = refusal.message if isinstance(refusal, error.AMICommandFailure) else ""
        if message.strip().lower() == "permission denied" and len(failures) == len(results):
            self.refused = True
            self.filtering = False
            log.log(self.refusalLevel, "AMI: Asterisk refused the event filter (Permission"
                    " denied: Filter needs the 'system' write class); receiving every event")
            self.stop()
            return defer.succeed(False)
        log.warning("AMI: Asterisk refused an event filter (%s); receiving every event",
                    failure.getErrorMessage())
        return self._pushEverything()

    def _pushEverything(self) -> defer.Deferred[bool]:
        self.filtering = False
        self.stop()

        def done(result: Any) -> bool:
            if isinstance(result, Failure):
                log.warning("AMI: the include-everything event filter failed too (%s)",
                            result.getErrorMessage())
            return False

        return self.ami.filter(header="Event", method="none").addBoth(done)
