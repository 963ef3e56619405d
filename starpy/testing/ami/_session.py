"""One AMI session of the fake server: reading actions, answering them in
order, writing responses and events, logging in.

Private to :mod:`starpy.testing.ami`, which re-exports the public names.
"""
from __future__ import annotations

import collections
import hashlib
import logging
from typing import TYPE_CHECKING, Any, Callable, Deque, List, Optional, Sequence

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IDelayedCall
from twisted.python.failure import Failure

from starpy._idioms import abortTransport
from starpy.codec.ami import AMICodecError, AMIParser, Message, formatMessage
from starpy.testing._amidefaults import DEFAULT_ACTIONS
from starpy.testing._amifilter import SessionFilters
from starpy.testing.ami._builtins import BUILTIN_ACTIONS
from starpy.testing.ami._model import (
    EVENT_CLASSES,
    PRE_AUTH,
    PRIVILEGES,
    ActionError,
    FakeAMIUser,
    Headers,
    ListReply,
    Pairs,
    Reply,
    Script,
    address,
    eventClasses,
    eventMask,
    eventTime,
    headerPairs,
)

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami._factory import FakeAMIServerFactory

log = logging.getLogger("starpy.testing.ami")

#: ``handler(session, action)``: an answer the fake gives without a script.
ActionHandler = Callable[["FakeAMIServerProtocol", Message], Optional["defer.Deferred[Any]"]]


class FakeAMIServerProtocol(protocol.Protocol):
    """One AMI session of the fake server.

    Actions of one session are handled one at a time, in order, as Asterisk
    does (a script that returns a Deferred holds the next ones back).

    :ivar received: every action received, in order (:class:`Message`,
        whose repr masks ``Secret`` and ``Key``).
    :ivar user: the logged-in :class:`FakeAMIUser`, or ``None``.
    :ivar eventsOn: whether the session receives events.
    :ivar sessionID: the ``SessionID`` of its security events.
    :ivar closing: the server has closed (or is closing) the session.
    """

    factory: "FakeAMIServerFactory"

    def __init__(self) -> None:
        self.received: List[Message] = []
        self.user: Optional[FakeAMIUser] = None
        self.eventsOn = True
        self.eventClasses: Optional[frozenset[str]] = None
        self.filters = SessionFilters()
        self.sessionID = "0x%x" % (id(self),)
        self.connected = False
        self.closing = False
        self.startTime = 0.0
        self._challenge: Optional[str] = None
        self._parser: Optional[AMIParser] = None
        self._queue: Deque[Message] = collections.deque()
        self._busy = False
        self._delayed: List[IDelayedCall] = []
        #: While a ``WaitEvent`` runs: where the events go instead of the wire.
        self.eventWaiter: Optional[Callable[[Pairs], None]] = None

    @property
    def loggedIn(self) -> bool:
        """Whether the session has logged in."""
        return self.user is not None

    def __repr__(self) -> str:
        return "<FakeAMIServerProtocol %s user=%s%s>" % (
            self.sessionID, self.user.username if self.user else None,
            "" if self.connected else " closed")

    # -- connection ----------------------------------------------------

    def connectionMade(self) -> None:
        self.connected = True
        self.startTime = self.factory.clock.seconds()
        self._parser = AMIParser(self.factory.maxMessageSize, expectBanner=False)
        self.factory.sessionOpened(self)
        assert self.transport is not None
        self.transport.write(("Asterisk Call Manager/%s\r\n" % (self.factory.amiVersion,)).encode())

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.connected = False
        self._queue.clear()
        for call in self._delayed:
            if call.active():
                call.cancel()
        self._delayed = []
        self.factory.sessionClosed(self)
        log.debug("fake AMI session %s closed: %s", self.sessionID, reason.getErrorMessage())

    def disconnect(self, abort: bool = False) -> None:
        """Close this session (cleanly, or at once with *abort*); nothing
        more is read or sent."""
        if self.transport is None or not self.connected:
            return
        self.closing = True
        self._queue.clear()
        if abort:
            abortTransport(self.transport)
        else:
            self.transport.loseConnection()

    def callLater(self, delay: float, f: Callable[..., Any], *args: Any) -> IDelayedCall:
        """Run ``f(*args)`` after *delay* seconds on the server's clock,
        unless the session has closed by then."""

        def run() -> None:
            self._delayed.remove(call)
            if self.connected:
                f(*args)

        call = self.factory.clock.callLater(delay, run)
        self._delayed.append(call)
        return call

    # -- receiving -----------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._parser is None or not self.connected or self.closing:
            return
        try:
            messages = self._parser.feed(data)
        except AMICodecError as e:
            log.error("fake AMI session %s: %s; closing it", self.sessionID, e)
            self.disconnect(abort=True)
            return
        self._queue.extend(messages)
        self._runQueue()

    def _runQueue(self) -> None:
        while self._queue and not self._busy and self.connected and not self.closing:
            message = self._queue.popleft()
            self.received.append(message)
            self.factory.received.append(message)
            log.debug("fake AMI session %s received %r", self.sessionID, message)
            self._busy = True
            try:
                d = self._handle(message)
            except Exception:
                self.factory.scriptFailed(Failure(), message)
                d = None
            if d is not None and not d.called:
                d.addErrback(self.factory.scriptFailed, message)
                d.addBoth(self._ready)
                return
            self._busy = False

    def _ready(self, ignored: object) -> None:
        self._busy = False
        self._runQueue()

    def _handle(self, action: Message) -> Optional[defer.Deferred[Any]]:
        name = action.get("action")
        if name is None or not name.strip():
            self.respondError(action, "Missing action in request")
            if self.loggedIn:
                self._badFormat("NONE")
            return None
        lower = name.strip().lower()
        if self.user is None and lower not in PRE_AUTH:
            self.respondError(action, "Permission denied")
            return None
        script = self.factory.scriptFor(lower)
        builtin = self._builtin(lower)
        if script is None and builtin is None and lower not in PRIVILEGES:
            self.respondError(action, "Invalid/unknown command: %s. Use Action: ListCommands"
                              " to show available commands." % (name,))
            self._badFormat(name)
            return None
        if self.user is not None and not self.user.mayWrite(self.factory.privilegeOf(lower)):
            self.respondError(action, "Permission denied")
            return None
        if script is not None:
            return self._reply(action, script)
        if builtin is None:
            log.warning("fake AMI: action %s has no script", name)
            self.respondError(action, "Action %s is not scripted in the fake AMI server" % (name,))
            return None
        return builtin(self, action)

    def _builtin(self, lower: str) -> Optional[ActionHandler]:
        own = _SESSION_ACTIONS.get(lower)
        if own is not None:
            return own
        return BUILTIN_ACTIONS.get(lower) or DEFAULT_ACTIONS.get(lower)

    def defaultAnswer(self, action: Message) -> Optional[defer.Deferred[Any]]:
        """Answer *action* as the fake does when no script is set (its
        built-in answer, as Asterisk 22's), for a script that adds to it.

        :returns: ``None``, or a Deferred that fires when the answer is sent.
        :raises KeyError: the fake has no built-in answer for the action.
        """
        name = (action.get("action") or "").strip().lower()
        builtin = self._builtin(name)
        if builtin is None:
            raise KeyError("the fake AMI server has no built-in answer to %r" % (name,))
        return builtin(self, action)

    def _reply(self, action: Message, script: Script) -> Optional[defer.Deferred[Any]]:
        result: Any = script
        if callable(script):
            try:
                result = script(self, action)
            except ActionError as e:
                result = e
        if isinstance(result, defer.Deferred):
            def done(value: Any) -> None:
                if self.connected:
                    self._send(action, value)

            def failed(failure: Failure) -> Optional[Failure]:
                if failure.check(ActionError):
                    done(failure.value)
                    return None
                return failure

            d: defer.Deferred[Any] = result
            return d.addCallbacks(done, failed)
        self._send(action, result)
        return None

    def _send(self, action: Message, result: Reply) -> None:
        if result is None:
            return
        if isinstance(result, ActionError):
            self.respondError(action, result.message, result.headers)
        elif isinstance(result, ListReply):
            self.sendList(action, result.items, result.completeEvent, result.message,
                          result.completeHeaders, result.actionIDLast)
        else:
            pairs = headerPairs(result)
            status = "Success"
            if pairs and pairs[0][0].lower() == "response":
                status = pairs.pop(0)[1]
            self.respond(action, pairs, status)

    # -- sending ---------------------------------------------------------

    def write(self, headers: Headers) -> None:
        """Send one message (header pairs) as they are."""
        if self.transport is not None and self.connected and not self.closing:
            self.transport.write(formatMessage(headerPairs(headers)))

    def writeRaw(self, data: bytes) -> None:
        """Send *data* as it is (for the few replies that :meth:`write`
        cannot format, such as Park's message ending in a bare LF)."""
        if self.transport is not None and self.connected and not self.closing:
            self.transport.write(data)

    def respond(self, action: Message, headers: Optional[Headers] = None,
                response: str = "Success") -> None:
        """Send the response to *action*: ``Response``, its ``ActionID`` (if
        it had one), then *headers*."""
        pairs: Pairs = [("Response", response)]
        actionID = action.get("actionid")
        if actionID is not None:
            pairs.append(("ActionID", actionID))
        self.write(pairs + headerPairs(headers))

    def respondError(self, action: Message, message: str, headers: Optional[Headers] = None) -> None:
        """Send ``Response: Error`` with *message* to *action*."""
        self.respond(action, [("Message", message)] + headerPairs(headers), "Error")

    def sendList(self, action: Message, items: Sequence[Headers], completeEvent: str,
                 message: str = "Result will follow", completeHeaders: Headers = (),
                 actionIDLast: bool = False) -> None:
        """Answer *action* as a list action: the ``EventList: start`` response,
        the item events with the ActionID, then *completeEvent*."""
        actionID = action.get("actionid")
        self.respond(action, [("EventList", "start"), ("Message", message)])
        for item in items:
            pairs = headerPairs(item)
            if actionID is not None:
                if actionIDLast:
                    pairs.append(("ActionID", actionID))
                else:
                    pairs.insert(1, ("ActionID", actionID))
            self.write(pairs)
        complete: Pairs = [("Event", completeEvent)]
        if actionID is not None:
            complete.append(("ActionID", actionID))
        complete += [("EventList", "Complete"), ("ListItems", str(len(items)))]
        self.write(complete + headerPairs(completeHeaders))

    def sendEvent(self, headers: Headers, force: bool = False, filtered: bool = True) -> bool:
        """Send an event if this session takes it (logged in, events on, the
        user and the event mask having every class of its ``Privilege``, and,
        unless not *filtered*, its event filters letting it through); with
        *force*, send it anyway.  Returns whether it was sent."""
        pairs = headerPairs(headers)
        if not force:
            if self.user is None or not self.eventsOn or not self.connected:
                return False
            privilege = next((v for n, v in pairs if n.lower() == "privilege"), None)
            if not self.user.mayRead(privilege):
                return False
            if self.eventClasses is not None and privilege is not None and not (
                    eventClasses(privilege) <= self.eventClasses):
                return False
            if filtered and self.filters and not self.filters.allows(pairs):
                return False
            if self.eventWaiter is not None:  # held for the WaitEvent in progress
                self.eventWaiter(pairs)
                return True
        self.write(pairs)
        return True

    def _securityEvent(self, name: str, severity: str, middle: Pairs, tail: Pairs) -> Pairs:
        assert self.transport is not None
        return ([("Event", name), ("Privilege", "security,all"),
                 ("EventTV", eventTime(self.factory.clock.seconds())),
                 ("Severity", severity), ("Service", "AMI"), ("EventVersion", "1")]
                + middle
                + [("SessionID", self.sessionID),
                   ("LocalAddress", address(self.transport.getHost())),
                   ("RemoteAddress", address(self.transport.getPeer()))]
                + tail + [("SessionTV", eventTime(self.startTime))])

    def _badFormat(self, requestType: str) -> None:
        tail: Pairs = [("RequestType", "Action: %s" % (requestType,))]
        event = self._securityEvent("RequestBadFormat", "Error", [], tail)
        if self.user is not None:
            event.append(("AccountID", self.user.username))
        self.factory.emitEvent(event)

    # -- authentication ------------------------------------------------

    def _action_challenge(self, action: Message) -> None:
        if action.get("authtype", "").lower() != "md5":
            self.respondError(action, "Must specify AuthType")
            return
        if self._challenge is None:
            self._challenge = str(self.factory.random.randint(0, 2 ** 31 - 1))
        self.respond(action, [("Challenge", self._challenge)])

    def _action_login(self, action: Message) -> Optional[defer.Deferred[None]]:
        user = self.factory.users.get(action.get("username", ""))
        if user is not None and action.get("authtype", "").lower() == "md5":
            expected = None
            if self._challenge is not None:
                expected = hashlib.md5((self._challenge + user.secret).encode()).hexdigest()
            accepted = expected is not None and action.get("key", "").lower() == expected
        else:
            accepted = user is not None and action.get("secret") == user.secret
        if not accepted or user is None:
            log.info("fake AMI: login refused for %r", action.get("username"))
            d: defer.Deferred[None] = defer.Deferred()

            def refuse() -> None:
                self.respondError(action, "Authentication failed")
                self.disconnect()
                d.callback(None)

            self.callLater(self.factory.authFailureDelay, refuse)
            return d
        self.user = user
        self.filters = SessionFilters(user.eventFilters)
        self._setEvents(action.get("events"), default=True)
        self.respond(action, [("Message", "Authentication accepted")])
        uptime = str(int(self.factory.clock.seconds() - self.factory.startTime))
        # Written as the login's answer: no event filter applies to it.
        self.sendEvent([("Event", "FullyBooted"), ("Privilege", "system,all"),
                        ("Uptime", uptime), ("LastReload", uptime), ("Status", "Fully Booted")],
                       filtered=False)
        self.factory.emitEvent(self._securityEvent(
            "SuccessfulAuth", "Informational", [("AccountID", user.username)],
            [("UsingPassword", "0")]))
        return None

    def _setEvents(self, mask: Optional[str], default: bool) -> bool:
        """Apply an ``Events``/``EventMask`` value as Asterisk does; false
        if it is invalid (empty: then events are *default*, all classes)."""
        classes = eventMask((mask or "").strip())
        if classes is None:
            self.eventsOn, self.eventClasses = default, None
            return False
        self.eventsOn = bool(classes)
        self.eventClasses = None if classes >= EVENT_CLASSES else classes
        return True

    def _action_logoff(self, action: Message) -> None:
        self.respond(action, [("Message", "Thanks for all the fish.")], "Goodbye")
        self.disconnect()

    def _action_events(self, action: Message) -> None:
        before = self.eventsOn, self.eventClasses
        if not self._setEvents(action.get("eventmask"), default=False):
            self.eventsOn, self.eventClasses = before
            self.respondError(action, "Invalid event mask")
            return
        self.respond(action, [("Events", "On" if self.eventsOn else "Off")])

    # -- built-in actions ----------------------------------------------


_SESSION_ACTIONS: dict[str, ActionHandler] = {
    "challenge": FakeAMIServerProtocol._action_challenge,
    "login": FakeAMIServerProtocol._action_login,
    "logoff": FakeAMIServerProtocol._action_logoff,
    "events": FakeAMIServerProtocol._action_events,
}
