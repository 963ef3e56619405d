"""A fake Asterisk Manager Interface server, byte for byte like Asterisk 22.

It is for applications that drive Asterisk over AMI: test them without an
Asterisk, in unit tests (in memory, on a ``task.Clock``; StarPy's pytest
plugin gives one as the ``fakeAMI`` fixture) or over loopback TCP (``starpy
fake`` runs one, to try StarPy's command line and your code)::

    from twisted.internet import task
    from starpy import manager
    from starpy.testing import ami

    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)       # users starpy, limited
    client = manager.AMIFactory('starpy', 'starpy-secret', reactor=clock)
    protocol, connection = ami.loginInMemory(server, client)
    d = protocol.ping()
    connection.flush()                                    # move the bytes

    server.emitEvent('Hangup', Channel='PJSIP/100-00000001', privilege='call,all')
    connection.flush()

Over TCP: ``port = server.listen(0, reactor=reactor)`` and log in to
``port.getHost().port``.

To answer differently, or an action the server does not know, script it
with :meth:`FakeAMIServerFactory.script`: a fixed response (header pairs), a
:class:`ListReply` (any action can be a list action), an
:class:`ActionError`, or a callable ``(session, action)`` that returns one of
those (or a Deferred of one), or replies itself through the
:class:`FakeAMIServerProtocol` methods and returns ``None``::

    server.script("QueueSummary", ami.ListReply(
        [{"Event": "QueueSummary", "Queue": "sales", "Available": "2"}],
        "QueueSummaryComplete"))
    server.script("Redirect", ami.ActionError("Redirect failed"))
    server.script("MyAction", [("Message", "done")])

A script replaces the built-in answer until :meth:`unscript
<FakeAMIServerFactory.unscript>`.

What the server answers without scripting follows the captures in
``tests/fixtures`` (Login plain and MD5, the 1 s delay on a failed login,
Ping, CoreSettings, CoreStatus, Command, Getvar/Setvar, the AstDB actions,
Hangup, UserEvent, Originate, CoreShowChannels, Status, ListCommands, Events,
Logoff), including the security events ``SuccessfulAuth`` and
``RequestBadFormat``.  ``BridgeList`` and ``BridgeInfo`` (not captured: as
Asterisk 22's source writes them) list the bridges of the channels'
``bridgeId``.  An Originate that succeeds adds its channel and, before its
reply, sends the ``Newchannel`` (down) and ``Newstate`` (up) events of a
real call, so a :class:`ChannelTracker <starpy.channel.ChannelTracker>` follows it;
``hangupChannel()`` sends its ``Hangup``.  For a captured call's whole
event sequence see :mod:`starpy.testing.replay`.

Every other action that StarPy names
(:data:`starpy.amiactions.CATALOGUE`) has a default answer in Asterisk 22's
words, from the captured call flows or Asterisk's source
(``starpy.testing._amidefaults``): Redirect, BlindTransfer, Atxfer,
Bridge, Park and ParkedCalls, the queue actions and QueueStatus,
MixMonitor and StopMixMonitor, PlayDTMF, SendText, AbsoluteTimeout,
ExtensionState(List), DeviceStateList, MailboxCount/Status, Agents,
AgentLogoff, GetConfig, UpdateConfig, Filter and WaitEvent.  They work on
state kept by the factory that a test sets and reads: ``channels``,
``queues`` (:class:`FakeQueue`), ``parkedCalls()``, ``mailboxes``,
``hints``, ``deviceStates``, ``configs``, ``astdb`` and ``globals`` (see
:class:`FakeAMIServerFactory`).  An action on an unknown channel fails as
Asterisk's does (``No such channel``, ``Channel does not exist: NAME``...);
actions Asterisk 22 does not have answer ``Invalid/unknown command``.  No
call events follow by themselves (a transfer sends no ``BlindTransfer``):
send those with :meth:`FakeAMIServerFactory.emitEvent`.

Events reach a session as Asterisk 22 sends them: the user's read classes
and the session's ``Events``/``EventMask`` classes must hold every class of
the event's ``Privilege``, and the session's event filters (``Action:
Filter``, legacy or ``MatchCriteria``, or the user's ``manager.conf``
``eventfilter`` lines, :attr:`FakeAMIUser.eventFilters`) must let it
through: see :mod:`starpy.testing._amifilter` for the rules.

A script that raises (or whose Deferred fails) is a bug in the test, not
something Asterisk does: the session sends nothing for that action, and the
failure is logged at ``ERROR`` on the ``starpy.testing.ami`` logger with its
traceback (and kept in :attr:`FakeAMIServerFactory.errors`).  StarPy's own
test suite fails any test that logs such an error unless the test takes it
(``tests/conftest.py``); elsewhere, make your harness fail on ``ERROR``
records of ``starpy`` loggers, or assert that ``errors`` is empty.  An
action that cannot be parsed closes the session, logged at ``ERROR`` too.
"""
from __future__ import annotations

import collections
import fnmatch
import hashlib
import logging
import random
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import attrs
from twisted.internet import defer, protocol
from twisted.internet import error as netError
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IListeningPort,
    IReactorTime,
    ITransport,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from starpy._logfailure import logFailure
from starpy.codec.ami import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AMICodecError,
    AMIParser,
    Message,
    formatMessage,
)
from starpy.testing._amidata import ACTIONS, CLI_OUTPUT
from starpy.testing._amidefaults import (
    DEFAULT_ACTIONS,
    FakeParkedCall,
    FakeQueue,
    FakeQueueMember,
    defaultQueues,
    deviceOf,
)
from starpy.testing._amifilter import EventFilter, FilterError, SessionFilters, parseFilters
from starpy.testing.appargs import variableValues

if TYPE_CHECKING:  # pragma: no cover
    from starpy.manager import AMIFactory, AMIProtocol

__all__ = [
    "ActionError",
    "FakeAMIServerFactory",
    "FakeAMIServerProtocol",
    "FakeAMIUser",
    "FakeChannel",
    "FakeParkedCall",
    "FakeQueue",
    "FakeQueueMember",
    "ListReply",
    "MemoryConnection",
    "Reply",
    "MemoryEndpoint",
    "connectInMemory",
    "loginInMemory",
    "DEFAULT_USERS",
    "log",
]

log = logging.getLogger("starpy.testing.ami")

Headers = Union[Mapping[str, object], Sequence[Tuple[str, object]]]
"""Headers as a mapping or as ``(name, value)`` pairs (repeat a name to repeat it)."""

Pairs = List[Tuple[str, str]]

_TRUE = frozenset(("yes", "true", "y", "t", "1", "on"))
_STATE_DESC = {
    0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing",
    6: "Up", 7: "Busy", 8: "Dialing Offhook", 9: "Pre-ring", 10: "Unknown",
}
_CAUSE_TEXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "No answer",
               21: "Call Rejected", 34: "Circuit/channel congestion"}
_PRIVILEGES: Dict[str, Tuple[str, frozenset[str]]] = {
    name.lower(): (name, frozenset(p for p in privs.split(",") if p not in ("all", "<none>")))
    for name, _, privs in ACTIONS
}
_PRE_AUTH = frozenset(("login", "logoff", "challenge"))
# Asterisk 22's event classes, in the order of its flag bits (manager.h).
_CLASS_BITS = {name: 1 << bit for name, bit in (
    ("system", 0), ("call", 1), ("log", 2), ("verbose", 3), ("command", 4), ("agent", 5),
    ("user", 6), ("config", 7), ("dtmf", 8), ("reporting", 9), ("cdr", 10), ("dialplan", 11),
    ("originate", 12), ("agi", 13), ("cc", 15), ("aoc", 16), ("test", 17), ("security", 18),
    ("message", 30))}
_EVENT_CLASSES = frozenset(_CLASS_BITS)


def _pairs(headers: Optional[Headers]) -> Pairs:
    if headers is None:
        return []
    items: Iterable[Tuple[str, object]] = (
        headers.items() if isinstance(headers, Mapping) else headers)
    return [(str(name), value if isinstance(value, str) else str(value)) for name, value in items]


def _classes(value: Union[str, Iterable[str]]) -> frozenset[str]:
    names = value.split(",") if isinstance(value, str) else value
    return frozenset(name.strip().lower() for name in names if name.strip())


def _eventClasses(privilege: str) -> frozenset[str]:
    return _classes(privilege) - {"all", "<none>"}


def _userFilters(specs: Any) -> Tuple[EventFilter, ...]:
    try:
        return parseFilters(specs)
    except FilterError as e:
        raise ValueError("eventfilter refused by Asterisk: %s" % (e,)) from None


def _eventMask(value: str) -> Optional[frozenset[str]]:
    """The classes an ``Events``/``EventMask`` value selects, as
    ``strings_to_mask`` reads it (``None``: an empty value, invalid)."""
    if not value:
        return None
    if value.isdigit():
        number = int(value)
        return frozenset(name for name, bit in _CLASS_BITS.items() if number & bit)
    lowered = value.lower()
    if lowered in ("no", "false", "n", "f", "0", "off"):
        return frozenset()
    if lowered in _TRUE:
        return _EVENT_CLASSES
    words = value.split(",")  # exact, case-sensitive words, as ast_instring
    if "all" in words:
        return _EVENT_CLASSES
    return frozenset(word for word in words if word in _CLASS_BITS)


def _isTrue(value: Optional[str]) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def _eventTime(seconds: float) -> str:
    whole = int(seconds)
    return "%s.%03d+0000" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)),
                             int((seconds - whole) * 1000))


def _address(address: Optional[IAddress]) -> str:
    if isinstance(address, IPv4Address):
        return "IPV4/TCP/%s/%d" % (address.host, address.port)
    return "IPV4/TCP/127.0.0.1/0"


@attrs.define
class FakeAMIUser:
    """An AMI user of the fake server (a ``manager.conf`` section).

    :ivar read: the event classes the user receives (``{'all'}``: every one).
    :ivar write: the action classes the user may send.
    :ivar eventFilters: ``manager.conf``'s ``eventfilter`` lines of the user,
        added to each of its sessions at login: a legacy pattern
        (``'!Event: VarSet'``) or ``(criteria, pattern)`` such as
        ``('eventfilter(name(Hangup))', '')`` (see
        :mod:`starpy.testing._amifilter` for the rules); a line Asterisk
        would refuse raises ``ValueError`` here.
    """

    username: str
    secret: str = attrs.field(repr=False)
    read: frozenset[str] = attrs.field(default=frozenset(("all",)), converter=_classes)
    write: frozenset[str] = attrs.field(default=frozenset(("all",)), converter=_classes)
    eventFilters: Tuple[EventFilter, ...] = attrs.field(default=(), converter=_userFilters)

    def mayRead(self, privilege: Optional[str]) -> bool:
        """Whether an event with this ``Privilege`` header reaches the user:
        as Asterisk, only if the user reads every class of the event."""
        if privilege is None or "all" in self.read:
            return True
        return _eventClasses(privilege) <= self.read

    def mayWrite(self, classes: frozenset[str]) -> bool:
        """Whether the user may send an action needing one of *classes*."""
        return not classes or "all" in self.write or bool(classes & self.write)


DEFAULT_USERS: Tuple[FakeAMIUser, ...] = (
    FakeAMIUser("starpy", "starpy-secret"),
    FakeAMIUser("limited", "limited-secret", read="call", write="call"),
)
"""The users of the captured Asterisk's ``manager.conf``."""


@attrs.define
class FakeChannel:
    """A channel the fake server knows: listed by Status and CoreShowChannels,
    target of Hangup and of per-channel Getvar/Setvar."""

    name: str
    uniqueid: str
    linkedid: str = ""
    state: int = 6
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    callerIDNum: str = "<unknown>"
    callerIDName: str = "<unknown>"
    connectedLineNum: str = "<unknown>"
    connectedLineName: str = "<unknown>"
    language: str = "en"
    accountCode: str = ""
    application: str = ""
    data: str = ""
    bridgeId: str = ""
    created: float = 0.0
    variables: Dict[str, str] = attrs.Factory(dict)
    mixMonitors: List[str] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        if not self.linkedid:
            self.linkedid = self.uniqueid

    def headers(self) -> Pairs:
        """The 14-header channel block every channel event carries."""
        return [
            ("Channel", self.name), ("ChannelState", str(self.state)),
            ("ChannelStateDesc", _STATE_DESC.get(self.state, "Unknown")),
            ("CallerIDNum", self.callerIDNum), ("CallerIDName", self.callerIDName),
            ("ConnectedLineNum", self.connectedLineNum),
            ("ConnectedLineName", self.connectedLineName),
            ("Language", self.language), ("AccountCode", self.accountCode),
            ("Context", self.context), ("Exten", self.exten), ("Priority", str(self.priority)),
            ("Uniqueid", self.uniqueid), ("Linkedid", self.linkedid),
        ]


class ActionError(Exception):
    """Reply ``Response: Error`` with this ``Message`` (raise or return it from a script).

    :ivar headers: more headers after ``Message`` (``Output`` lines...).
    """

    def __init__(self, message: str, headers: Optional[Headers] = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = _pairs(headers)


@attrs.define
class ListReply:
    """A list action's reply: ``EventList: start``, the items, the completion event.

    :ivar items: one header list per item event (``Event: ...`` first); the
        ActionID is put second, or last with *actionIDLast* (as ``Status``
        and ``DBGetResponse`` do).
    :ivar completeEvent: the name of the closing event (``'StatusComplete'``).
    :ivar message: the ``Message`` of the response.
    :ivar completeHeaders: headers after ``ListItems`` in the closing event.
    """

    items: Sequence[Headers]
    completeEvent: str
    message: str = "Result will follow"
    completeHeaders: Headers = ()
    actionIDLast: bool = False


Reply = Union[None, Headers, ListReply, ActionError]
"""What a script gives: header pairs (a ``Response: Success`` unless the first
header is ``Response``), a :class:`ListReply`, an :class:`ActionError`, or
``None`` when a callable replied itself."""

Script = Union[Reply, Callable[["FakeAMIServerProtocol", Message], Any]]


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
        self._eventWaiter: Optional[Callable[[Pairs], None]] = None

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
        self.factory._sessions.append(self)
        assert self.transport is not None
        self.transport.write(("Asterisk Call Manager/%s\r\n" % (self.factory.amiVersion,)).encode())

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.connected = False
        self._queue.clear()
        for call in self._delayed:
            if call.active():
                call.cancel()
        self._delayed = []
        if self in self.factory._sessions:
            self.factory._sessions.remove(self)
        log.debug("fake AMI session %s closed: %s", self.sessionID, reason.getErrorMessage())

    def disconnect(self, abort: bool = False) -> None:
        """Close this session (cleanly, or at once with *abort*); nothing
        more is read or sent."""
        if self.transport is None or not self.connected:
            return
        self.closing = True
        self._queue.clear()
        if abort:
            abortConnection = getattr(self.transport, "abortConnection", None)
            if abortConnection is not None:
                abortConnection()
                return
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
                self.factory._handlerFailed(Failure(), message)
                d = None
            if d is not None and not d.called:
                d.addErrback(self.factory._handlerFailed, message)
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
        if self.user is None and lower not in _PRE_AUTH:
            self.respondError(action, "Permission denied")
            return None
        script = self.factory._scripts.get(lower)
        builtin = getattr(self, "_action_" + lower, None) if lower in _BUILTIN else None
        if builtin is None and lower in DEFAULT_ACTIONS:
            default = DEFAULT_ACTIONS[lower]

            def builtin(action: Message) -> Optional[defer.Deferred[None]]:
                return default(self, action)
        if script is None and builtin is None and lower not in _PRIVILEGES:
            self.respondError(action, "Invalid/unknown command: %s. Use Action: ListCommands"
                              " to show available commands." % (name,))
            self._badFormat(name)
            return None
        if self.user is not None and not self.user.mayWrite(self.factory._privilege(lower)):
            self.respondError(action, "Permission denied")
            return None
        if script is not None:
            return self._reply(action, script)
        if builtin is None:
            log.warning("fake AMI: action %s has no script", name)
            self.respondError(action, "Action %s is not scripted in the fake AMI server" % (name,))
            return None
        result: Optional[defer.Deferred[Any]] = builtin(action)
        return result

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
            pairs = _pairs(result)
            status = "Success"
            if pairs and pairs[0][0].lower() == "response":
                status = pairs.pop(0)[1]
            self.respond(action, pairs, status)

    # -- sending ---------------------------------------------------------

    def write(self, headers: Headers) -> None:
        """Send one message (header pairs) as they are."""
        if self.transport is not None and self.connected and not self.closing:
            self.transport.write(formatMessage(_pairs(headers)))

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
        self.write(pairs + _pairs(headers))

    def respondError(self, action: Message, message: str, headers: Optional[Headers] = None) -> None:
        """Send ``Response: Error`` with *message* to *action*."""
        self.respond(action, [("Message", message)] + _pairs(headers), "Error")

    def sendList(self, action: Message, items: Sequence[Headers], completeEvent: str,
                 message: str = "Result will follow", completeHeaders: Headers = (),
                 actionIDLast: bool = False) -> None:
        """Answer *action* as a list action: the ``EventList: start`` response,
        the item events with the ActionID, then *completeEvent*."""
        actionID = action.get("actionid")
        self.respond(action, [("EventList", "start"), ("Message", message)])
        for item in items:
            pairs = _pairs(item)
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
        self.write(complete + _pairs(completeHeaders))

    def sendEvent(self, headers: Headers, force: bool = False, filtered: bool = True) -> bool:
        """Send an event if this session takes it (logged in, events on, the
        user and the event mask having every class of its ``Privilege``, and,
        unless not *filtered*, its event filters letting it through); with
        *force*, send it anyway.  Returns whether it was sent."""
        pairs = _pairs(headers)
        if not force:
            if self.user is None or not self.eventsOn or not self.connected:
                return False
            privilege = next((v for n, v in pairs if n.lower() == "privilege"), None)
            if not self.user.mayRead(privilege):
                return False
            if self.eventClasses is not None and privilege is not None and not (
                    _eventClasses(privilege) <= self.eventClasses):
                return False
            if filtered and self.filters and not self.filters.allows(pairs):
                return False
            if self._eventWaiter is not None:  # held for the WaitEvent in progress
                self._eventWaiter(pairs)
                return True
        self.write(pairs)
        return True

    def _securityEvent(self, name: str, severity: str, middle: Pairs, tail: Pairs) -> Pairs:
        assert self.transport is not None
        return ([("Event", name), ("Privilege", "security,all"),
                 ("EventTV", _eventTime(self.factory.clock.seconds())),
                 ("Severity", severity), ("Service", "AMI"), ("EventVersion", "1")]
                + middle
                + [("SessionID", self.sessionID),
                   ("LocalAddress", _address(self.transport.getHost())),
                   ("RemoteAddress", _address(self.transport.getPeer()))]
                + tail + [("SessionTV", _eventTime(self.startTime))])

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
        classes = _eventMask((mask or "").strip())
        if classes is None:
            self.eventsOn, self.eventClasses = default, None
            return False
        self.eventsOn = bool(classes)
        self.eventClasses = None if classes >= _EVENT_CLASSES else classes
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

    def _action_ping(self, action: Message) -> None:
        self.respond(action, [("Ping", "Pong"),
                              ("Timestamp", "%.6f" % (self.factory.clock.seconds(),))])

    def _action_coresettings(self, action: Message) -> None:
        factory = self.factory
        self.respond(action, [
            ("AMIversion", factory.amiVersion), ("AsteriskVersion", factory.asteriskVersion),
            ("SystemName", ""), ("CoreMaxCalls", "0"), ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", ""), ("CoreRunGroup", ""), ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"), ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No")])

    def _action_corestatus(self, action: Message) -> None:
        started = time.gmtime(int(self.factory.startTime))
        date, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
        self.respond(action, [
            ("CoreStartupDate", date), ("CoreStartupTime", clock),
            ("CoreReloadDate", date), ("CoreReloadTime", clock),
            ("CoreCurrentCalls", str(len(self.factory.channels))),
            ("CoreProcessedCalls", str(self.factory.processedCalls))])

    def _action_command(self, action: Message) -> None:
        command = action.get("command")
        if not command:
            self.respondError(action, "No command provided")
            return
        output = self.factory.cliOutput(command)
        if output is None:
            words = command.split()
            self.respondError(action, "Command output follows", [("Output", (
                "No such command '%s' (type 'core show help %s' for other possible commands)"
                % (command, " ".join(words[:2]))))])
            return
        self.respond(action, [("Message", "Command output follows")]
                     + [("Output", line) for line in output])

    def _channel(self, action: Message) -> Optional[FakeChannel]:
        name = action.get("channel")
        channel = self.factory.channels.get(name) if name else None
        if channel is None:
            self.respondError(action, "No such channel")
        return channel

    def _action_getvar(self, action: Message) -> None:
        variable = action.get("variable")
        if not variable:
            self.respondError(action, "No variable specified")
            return
        if action.get("channel"):
            channel = self._channel(action)
            if channel is None:
                return
            value = channel.variables.get(variable, "")
        else:
            value = self.factory.globals.get(variable, "")
        self.respond(action, [("Variable", variable), ("Value", value)])

    def _action_setvar(self, action: Message) -> None:
        variable = action.get("variable")
        if not variable:
            self.respondError(action, "No variable specified")
            return
        value = action.get("value", "")
        block: Pairs = [("Channel", "none"), ("Uniqueid", "none")]
        if action.get("channel"):
            channel = self._channel(action)
            if channel is None:
                return
            channel.variables[variable] = value
            block = channel.headers()
        else:
            self.factory.globals[variable] = value
        self.respond(action, [("Message", "Variable Set")])
        self.factory.emitEvent([("Event", "VarSet"), ("Privilege", "dialplan,all")] + block
                               + [("Variable", variable), ("Value", value)])

    def _familyKey(self, action: Message, needKey: bool = True) -> Optional[Tuple[str, str]]:
        family, key = action.get("family"), action.get("key")
        if not family:
            self.respondError(action, "No family specified.")
            return None
        if needKey and not key:
            self.respondError(action, "No key specified.")
            return None
        return family, key or ""

    def _action_dbput(self, action: Message) -> None:
        where = self._familyKey(action)
        if where is not None:
            self.factory.astdb[where] = action.get("val", "")
            self.respond(action, [("Message", "Updated database successfully")])

    def _action_dbget(self, action: Message) -> None:
        where = self._familyKey(action)
        if where is None:
            return
        if where not in self.factory.astdb:
            self.respondError(action, "Database entry not found")
            return
        self.sendList(action, [[("Event", "DBGetResponse"), ("Family", where[0]),
                                ("Key", where[1]), ("Val", self.factory.astdb[where])]],
                      "DBGetComplete", "Result will follow", actionIDLast=True)

    def _action_dbdel(self, action: Message) -> None:
        where = self._familyKey(action)
        if where is None:
            return
        if self.factory.astdb.pop(where, None) is None:
            self.respondError(action, "Database entry not found")
        else:
            self.respond(action, [("Message", "Key deleted successfully")])

    def _action_dbdeltree(self, action: Message) -> None:
        where = self._familyKey(action, needKey=False)
        if where is None:
            return
        family, key = where
        doomed = [k for k in self.factory.astdb
                  if k[0] == family and (not key or k[1] == key or k[1].startswith(key + "/"))]
        if not doomed:
            self.respondError(action, "Database entry not found")
            return
        for k in doomed:
            del self.factory.astdb[k]
        self.respond(action, [("Message", "Key tree deleted successfully")])

    def _action_hangup(self, action: Message) -> None:
        if not action.get("channel"):
            self.respondError(action, "No channel specified")
            return
        channel = self._channel(action)
        if channel is None:
            return
        cause = action.get("cause", "16")
        self.factory.hangupChannel(channel.name, int(cause) if cause.isdigit() else 16)
        self.respond(action, [("Message", "Channel Hungup")])

    def _action_userevent(self, action: Message) -> None:
        name = action.get("userevent")
        if not name:
            self.respondError(action, "UserEvent needs a name")
            return
        event: Pairs = [("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", name)]
        if action.get("actionid") is not None:
            event.append(("ActionID", action["actionid"]))
        event += [(n, v) for n, v in action.headers()
                  if n.lower() not in ("action", "actionid", "userevent")]
        self.respond(action, [("Message", "Event Sent")])
        self.factory.emitEvent(event)

    def _action_listcommands(self, action: Message) -> None:
        assert self.user is not None
        user = self.user
        self.respond(action, [
            (name, "%s  (Priv: %s)" % (synopsis, privs)) for name, synopsis, privs in ACTIONS
            if user.mayWrite(_PRIVILEGES[name.lower()][1]) or "all" in user.write])

    def _action_coreshowchannels(self, action: Message) -> None:
        now = self.factory.clock.seconds()
        items = []
        for channel in self.factory.channels.values():
            seconds = max(0, int(now - channel.created))
            items.append([("Event", "CoreShowChannel")] + channel.headers() + [
                ("Application", channel.application), ("ApplicationData", channel.data),
                ("Duration", "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)),
                ("BridgeId", channel.bridgeId)])
        self.sendList(action, items, "CoreShowChannelsComplete", "Channels will follow")

    def _bridgeMembers(self) -> Dict[str, List[FakeChannel]]:
        bridges: Dict[str, List[FakeChannel]] = {}
        for channel in self.factory.channels.values():
            if channel.bridgeId:
                bridges.setdefault(channel.bridgeId, []).append(channel)
        return bridges

    @staticmethod
    def _bridgeState(bridgeId: str, members: List[FakeChannel]) -> Pairs:
        return [("BridgeUniqueid", bridgeId), ("BridgeType", "basic"),
                ("BridgeTechnology", "simple_bridge" if len(members) <= 2 else "softmix"),
                ("BridgeCreator", "<unknown>"), ("BridgeName", "<unknown>"),
                ("BridgeNumChannels", str(len(members))), ("BridgeVideoSourceMode", "none")]

    def _action_bridgelist(self, action: Message) -> None:
        items = [[("Event", "BridgeListItem")] + self._bridgeState(bridgeId, members)
                 for bridgeId, members in self._bridgeMembers().items()]
        self.sendList(action, items, "BridgeListComplete", "Bridge listing will follow")

    def _action_bridgeinfo(self, action: Message) -> None:
        bridgeId = action.get("bridgeuniqueid", "")
        if not bridgeId:
            self.respondError(action, "BridgeUniqueid must be provided")
            return
        members = self._bridgeMembers().get(bridgeId)
        if members is None:
            self.respondError(action, "Specified BridgeUniqueid not found")
            return
        self.sendList(action, [[("Event", "BridgeInfoChannel")] + c.headers() for c in members],
                      "BridgeInfoComplete", "Bridge channel listing will follow",
                      self._bridgeState(bridgeId, members))

    def _action_status(self, action: Message) -> None:
        if action.get("channel"):
            found = self._channel(action)
            if found is None:
                return
            channels = [found]
        else:
            channels = list(self.factory.channels.values())
        now = self.factory.clock.seconds()
        items = []
        for channel in channels:
            items.append([("Event", "Status"), ("Privilege", "Call")] + channel.headers() + [
                ("Type", channel.name.split("/", 1)[0]), ("DNID", ""),
                ("EffectiveConnectedLineNum", channel.connectedLineNum),
                ("EffectiveConnectedLineName", channel.connectedLineName),
                ("TimeToHangup", "0"), ("BridgeID", channel.bridgeId),
                ("Application", channel.application), ("Data", channel.data),
                ("Nativeformats", "(slin)"), ("Readformat", "slin"), ("Readtrans", ""),
                ("Writeformat", "slin"), ("Writetrans", ""), ("Callgroup", "0"),
                ("Pickupgroup", "0"), ("Seconds", str(max(0, int(now - channel.created))))])
        self.sendList(action, items, "StatusComplete", "Channel status will follow",
                      [("Items", str(len(items)))], actionIDLast=True)

    def _action_originate(self, action: Message) -> Optional[defer.Deferred[None]]:
        factory = self.factory
        requested = action.get("channel")
        if not requested:
            self.respondError(action, "Channel not specified")
            return None
        succeeds = factory.originateSucceeds(action)
        channel = factory._originated(action) if succeeds else None
        if not _isTrue(action.get("async")):
            if channel is None:
                self.respondError(action, "Originate failed")
            else:
                self.respond(action, [("Message", "Originate successfully queued")])
            return None
        event: Pairs = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
        if action.get("actionid") is not None:
            event.append(("ActionID", action["actionid"]))
        event += [("Response", "Success" if channel else "Failure"),
                  ("Channel", channel.name if channel else requested)]
        if action.get("application"):
            event += [("Application", action["application"]), ("Data", action.get("data", ""))]
        else:
            event += [("Context", action.get("context", "")), ("Exten", action.get("exten", ""))]
        number, name = _callerID(action.get("callerid"))
        event += [("Reason", "4" if channel else "0"),
                  ("Uniqueid", channel.uniqueid if channel else "<unknown>"),
                  ("CallerIDNum", number), ("CallerIDName", name)]
        if factory.originateEventsFirst:
            factory.emitEvent(event)
            self.respond(action, [("Message", "Originate successfully queued")])
        else:
            self.respond(action, [("Message", "Originate successfully queued")])
            if factory.originateDelay > 0:
                factory.clock.callLater(factory.originateDelay, factory.emitEvent, event)
            else:
                factory.emitEvent(event)
        return None


_BUILTIN = frozenset(name[len("_action_"):] for name in dir(FakeAMIServerProtocol)
                     if name.startswith("_action_"))


def _callerID(value: Optional[str]) -> Tuple[str, str]:
    """``(number, name)`` of a ``"Name" <number>`` caller ID."""
    if not value:
        return "<unknown>", "<unknown>"
    if "<" in value and value.rstrip().endswith(">"):
        name, _, rest = value.partition("<")
        return rest.rstrip()[:-1] or "<unknown>", name.strip().strip('"') or "<unknown>"
    return value.strip(), "<unknown>"


class FakeAMIServerFactory(protocol.Factory):
    """The fake Asterisk: users, AstDB, globals, channels, scripts, sessions.

    :param users: ``{username: secret}`` (every class) or :class:`FakeAMIUser`
        objects; default :data:`DEFAULT_USERS` (``starpy``/``starpy-secret``
        with every class, ``limited``/``limited-secret`` with ``call`` only).
    :param clock: the clock for delays and timestamps (an ``IReactorTime``,
        ``task.Clock`` in tests); default the global reactor.
    :param amiVersion: the version in the banner and CoreSettings.
    :param asteriskVersion: Asterisk's version in CoreSettings.
    :param cli: CLI command -> output lines, added to the built-in table.
    :param astdb: initial AstDB, ``{(family, key): value}``.
    :param failingChannels: glob patterns of Originate channels that fail.
    :param maxMessageSize: bound on one received action; a bigger one closes
        the session.

    :ivar authFailureDelay: seconds before ``Authentication failed`` (1.0).
    :ivar originateEventsFirst: send an async Originate's ``OriginateResponse``
        before its response (as Asterisk sometimes does).
    :ivar originateDelay: otherwise, seconds between response and event.
    :ivar received: every action received by any session, in order.
    :ivar errors: failures raised by scripts, oldest first; each is also
        logged at ``ERROR`` on ``starpy.testing.ami``, which is how a test
        harness watching the ``starpy`` loggers sees it.

    State behind the default answers (set it before or during a test):

    :ivar channels: name -> :class:`FakeChannel` (:meth:`addChannel`,
        :meth:`hangupChannel`).
    :ivar queues: name -> :class:`FakeQueue`; by default the captured
        Asterisk's ``testqueue`` (no members) and ``calls-queue`` (two
        static members).
    :ivar queueLog: the ``QueueLog`` entries received, as
        ``uniqueid|queue|interface|event|message``.
    :ivar mailboxes: ``mailbox@context`` -> ``(urgent, new, old)`` message
        counts; any other mailbox is empty.
    :ivar hints: ``(exten, context)`` -> the hint's devices (``PJSIP/100``,
        ``&``-separated), for ``ExtensionState`` and ``ExtensionStateList``.
    :ivar deviceStates: device -> state (``NOT_INUSE``, ``INUSE``, ``BUSY``,
        ``UNAVAILABLE``, ``RINGING``, ``ONHOLD``...); see :meth:`deviceState`.
    :ivar configs: file name -> ``[(category, [(key, value)...])...]``,
        read by ``GetConfig`` and written by ``UpdateConfig``.
    :ivar atxferCode: the ``atxfer`` feature code (``*2`` as on the captured
        Asterisk; empty: ``Atxfer`` is refused as without one).
    :ivar parkingTimeout: seconds a parked call stays parked (45), shown by
        ``ParkedCall`` events; parked calls are not timed out.
    """

    protocol = FakeAMIServerProtocol  # type: ignore[assignment]

    def __init__(
        self,
        users: Union[Mapping[str, str], Iterable[FakeAMIUser], None] = None,
        clock: Optional[IReactorTime] = None,
        amiVersion: str = "11.0.0",
        asteriskVersion: str = "22.10.1",
        cli: Optional[Mapping[str, Sequence[str]]] = None,
        astdb: Optional[Mapping[Tuple[str, str], str]] = None,
        failingChannels: Iterable[str] = (),
        maxMessageSize: int = DEFAULT_MAX_MESSAGE_SIZE,
        seed: Optional[int] = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.clock: IReactorTime = clock
        self.users: Dict[str, FakeAMIUser] = {}
        if users is None:
            users = DEFAULT_USERS
        if isinstance(users, Mapping):
            for name, secret in users.items():
                self.addUser(name, secret)
        else:
            for user in users:
                self.users[user.username] = user
        self.amiVersion = amiVersion
        self.asteriskVersion = asteriskVersion
        self.cli: Dict[str, List[str]] = {k: list(v) for k, v in CLI_OUTPUT.items()}
        self.cli.update({k: list(v) for k, v in (cli or {}).items()})
        self.astdb: Dict[Tuple[str, str], str] = dict(astdb or {})
        self.globals: Dict[str, str] = {}
        self.channels: Dict[str, FakeChannel] = {}
        self.failingChannels: List[str] = list(failingChannels)
        self.maxMessageSize = maxMessageSize
        self.random = random.Random(seed)
        self.startTime = clock.seconds()
        self.authFailureDelay = 1.0
        self.originateEventsFirst = False
        self.originateDelay = 0.0
        self.processedCalls = 0
        self.received: List[Message] = []
        self.errors: List[Failure] = []
        self.port: Optional[IListeningPort] = None
        self._portNumber = 0
        self._interface = "127.0.0.1"
        self._reactor: Any = None
        self._scripts: Dict[str, Script] = {}
        self._privileges: Dict[str, frozenset[str]] = {}
        self._sessions: List[FakeAMIServerProtocol] = []
        self._channelCounter = 0
        self._uniqueCounter = 0
        # State behind the default answers of starpy.testing._amidefaults.
        self.queues: Dict[str, FakeQueue] = defaultQueues()
        self.queueLog: List[str] = []
        self.mailboxes: Dict[str, Tuple[int, int, int]] = {}
        self.hints: Dict[Tuple[str, str], str] = {}
        self.deviceStates: Dict[str, str] = {}
        self.configs: Dict[str, List[Tuple[str, List[Tuple[str, str]]]]] = {}
        self.atxferCode = "*2"
        self.parkingTimeout = 45
        self.parkingSpaces = range(701, 721)
        self._parked: Dict[str, FakeParkedCall] = {}
        self._counter = 0

    def __repr__(self) -> str:
        return "<FakeAMIServerFactory %d sessions, users %s>" % (
            len(self._sessions), sorted(self.users))

    # -- configuration -------------------------------------------------

    def addUser(self, username: str, secret: str, read: Union[str, Iterable[str]] = "all",
                write: Union[str, Iterable[str]] = "all",
                eventFilters: Iterable[Any] = ()) -> FakeAMIUser:
        """Add (or replace) a user with these read and write classes (and
        ``manager.conf`` event filters, see :class:`FakeAMIUser`)."""
        user = FakeAMIUser(username, secret, read, write, eventFilters)
        self.users[username] = user
        return user

    def script(self, action: str, reply: Script, privilege: Optional[str] = None) -> None:
        """Answer *action* (any case) with *reply* from now on.

        *reply* is header pairs or a mapping (``Response: Success`` plus those
        headers; a first ``Response`` header sets the status), a
        :class:`ListReply`, an :class:`ActionError`, or a callable
        ``reply(session, action)`` returning one of those, a Deferred of one
        (a failing :class:`ActionError` is an error reply), or ``None`` after
        replying itself through *session*.  It replaces a built-in reply.
        *privilege*: write classes a user needs (default: Asterisk's for
        known actions, none for others).
        """
        self._scripts[action.lower()] = reply
        if privilege is not None:
            self._privileges[action.lower()] = _classes(privilege) - {"all"}

    def unscript(self, action: str) -> None:
        """Forget the script of *action* (the built-in reply, if any, is back)."""
        self._scripts.pop(action.lower(), None)

    def _privilege(self, action: str) -> frozenset[str]:
        if action in self._privileges:
            return self._privileges[action]
        known = _PRIVILEGES.get(action)
        return known[1] if known else frozenset()

    def cliOutput(self, command: str) -> Optional[List[str]]:
        """The output lines of CLI *command*, or ``None`` if unknown."""
        command = " ".join(command.split())
        if command in self.cli:
            return list(self.cli[command])
        if command == "core show uptime":
            seconds = int(self.clock.seconds() - self.startTime)
            return ["System uptime: %d seconds" % seconds, "Last reload: %d seconds" % seconds]
        if command == "database show":
            lines = ["%-50s: %s" % ("/%s/%s" % key, value) for key, value in sorted(self.astdb.items())]
            return lines + ["%d results found." % len(lines)]
        return None

    def originateSucceeds(self, action: Message) -> bool:
        """Whether an Originate succeeds: not if its channel matches one of
        :attr:`failingChannels`.  Override or replace to decide otherwise."""
        channel = action.get("channel", "")
        return not any(fnmatch.fnmatchcase(channel, pattern) for pattern in self.failingChannels)

    # -- channels --------------------------------------------------------

    def newUniqueid(self) -> str:
        """A fresh ``Uniqueid`` such as ``1795488568.3``."""
        self._uniqueCounter += 1
        return "%d.%d" % (int(self.startTime), self._uniqueCounter - 1)

    def addChannel(self, name: str, uniqueid: Optional[str] = None, **fields: Any) -> FakeChannel:
        """Add a channel (see :class:`FakeChannel` for *fields*); it is up
        from now on the clock."""
        channel = FakeChannel(name, uniqueid or self.newUniqueid(),
                              created=self.clock.seconds(), **fields)
        self.channels[name] = channel
        return channel

    def hangupChannel(self, name: str, cause: int = 16, emit: bool = True) -> Optional[FakeChannel]:
        """Remove channel *name*; emit its ``Hangup`` event unless not *emit*."""
        channel = self.channels.pop(name, None)
        if channel is not None and emit:
            self.emitEvent([("Event", "Hangup"), ("Privilege", "call,all")] + channel.headers()
                           + [("Cause", str(cause)), ("Cause-txt", _CAUSE_TEXT.get(cause, "Unknown"))])
        return channel

    def _originated(self, action: Message) -> FakeChannel:
        self._channelCounter += 1
        self.processedCalls += 1
        requested = action["channel"]
        name = "%s-%08x" % (requested, self._channelCounter)
        if requested.lower().startswith("local/"):
            name += ";1"
        number, callerName = _callerID(action.get("callerid"))
        fields: Dict[str, Any] = {"callerIDNum": number, "callerIDName": callerName}
        if action.get("application"):
            fields.update(application=action["application"], data=action.get("data", ""))
        else:
            fields.update(context=action.get("context", "default"), exten=action.get("exten", "s"))
            priority = action.get("priority", "1")
            fields["priority"] = int(priority) if priority.isdigit() else 1
        channel = self.addChannel(name, action.get("channelid") or None, state=0, **fields)
        for assignment in action.getAll("variable"):
            # Split as Asterisk does: like application arguments.
            for variable, value in variableValues(assignment.encode("utf-8", "surrogateescape")):
                channel.variables[variable.decode("utf-8", "surrogateescape")] = value.decode(
                    "utf-8", "surrogateescape")
        # As Asterisk does, before the reply: the channel is created down,
        # then answered (a ChannelTracker sees the call from these).
        self.emitEvent([("Event", "Newchannel"), ("Privilege", "call,all")] + channel.headers())
        channel.state = 6
        self.emitEvent([("Event", "Newstate"), ("Privilege", "call,all")] + channel.headers())
        return channel

    def newCounter(self) -> int:
        """A fresh number (bridge and recording ids)."""
        self._counter += 1
        return self._counter

    def newBridgeId(self) -> str:
        """A fresh bridge id, shaped like Asterisk's (a UUID)."""
        return "00000000-0000-4000-8000-%012x" % (self.newCounter(),)

    def deviceState(self, device: str) -> str:
        """The state of *device* (``NOT_INUSE``, ``INUSE``...): as set in
        :attr:`deviceStates`, else ``INUSE`` while a channel of the device
        is up, else ``NOT_INUSE``."""
        if device in self.deviceStates:
            return self.deviceStates[device]
        if any(deviceOf(name) == device for name in self.channels):
            return "INUSE"
        return "NOT_INUSE"

    def parkChannel(self, channel: FakeChannel, parkerDialString: str = "",
                    timeout: Optional[int] = None, lot: str = "default") -> FakeParkedCall:
        """Park *channel* in the first free space (701-720) and return the
        parked call; it stays parked until hung up.

        :raises ValueError: every space is taken.
        """
        taken = {parked.space for parked in self.parkedCalls()}
        space = next((s for s in self.parkingSpaces if s not in taken), None)
        if space is None:
            raise ValueError("no free parking space")
        parked = FakeParkedCall(channel.name, space, parkerDialString,
                                self.parkingTimeout if timeout is None else timeout,
                                self.clock.seconds(), lot)
        self._parked[channel.name] = parked
        return parked

    def parkedCalls(self) -> List[FakeParkedCall]:
        """The calls parked now (those whose channel is still up)."""
        for name in [n for n in self._parked if n not in self.channels]:
            del self._parked[name]
        return sorted(self._parked.values(), key=lambda parked: parked.space)

    # -- sessions and events ---------------------------------------------

    @property
    def sessions(self) -> List[FakeAMIServerProtocol]:
        """The open sessions, oldest first."""
        return list(self._sessions)

    def emitEvent(self, event: Union[str, Headers], session: Optional[FakeAMIServerProtocol] = None,
                  privilege: Optional[str] = None, **headers: object) -> int:
        """Send an event to every logged-in session that takes it (or to *session*).

        *event* is the event name (then *headers* follow, in order) or whole
        header pairs starting with ``Event``.  *privilege* adds a
        ``Privilege`` header (e.g. ``'call,all'``) after ``Event``, which
        also decides which users receive it.  Returns how many sessions it
        reached.
        """
        pairs = [("Event", event)] if isinstance(event, str) else _pairs(event)
        if privilege is not None:
            pairs.insert(1, ("Privilege", privilege))
        pairs += _pairs(headers)
        targets = [session] if session is not None else list(self._sessions)
        return sum(1 for target in targets if target.sendEvent(pairs))

    def disconnect(self, session: Optional[FakeAMIServerProtocol] = None, abort: bool = False) -> None:
        """Close *session*, or every session (cleanly, or at once with *abort*)."""
        for target in [session] if session is not None else list(self._sessions):
            target.disconnect(abort)

    def dropAll(self) -> None:
        """Abort every session, as a crashing Asterisk would."""
        self.disconnect(abort=True)

    def _handlerFailed(self, failure: Failure, action: Message) -> None:
        logFailure(log, failure, "fake AMI: script for %r failed", action.get("action"))
        self.errors.append(failure)

    # -- TCP ---------------------------------------------------------------

    def listen(self, port: int = 0, interface: str = "127.0.0.1", reactor: Any = None) -> IListeningPort:
        """Listen on TCP *port* (0: any free one) of *interface*; returns the
        listening port (``.getHost().port`` is the number)."""
        if reactor is None:
            reactor = self._reactor if self._reactor is not None else self.clock
        self._reactor = reactor
        listening: IListeningPort = reactor.listenTCP(port, self, interface=interface)
        self.port = listening
        self._portNumber = listening.getHost().port  # type: ignore[attr-defined]
        self._interface = interface
        return listening

    def stopListening(self, drop: bool = True) -> defer.Deferred[None]:
        """Stop listening (and abort every session unless not *drop*)."""
        port, self.port = self.port, None
        if drop:
            self.dropAll()
        if port is None:
            return defer.succeed(None)
        stopped: Any = port.stopListening()
        return stopped if isinstance(stopped, defer.Deferred) else defer.succeed(None)

    def restart(self, delay: float = 0.0) -> defer.Deferred[IListeningPort]:
        """Stop listening, drop every session, and listen again on the same
        port after *delay* seconds on the clock; fires with the new port."""
        portNumber, interface = self._portNumber, self._interface

        def again(ignored: object) -> defer.Deferred[IListeningPort]:
            return defer.maybeDeferred(self.listen, portNumber, interface)

        def wait(ignored: object) -> defer.Deferred[None]:
            return _sleep(self.clock, delay)

        return self.stopListening().addCallback(wait).addCallback(again)


def _sleep(clock: IReactorTime, delay: float) -> defer.Deferred[None]:
    if delay <= 0:
        return defer.succeed(None)
    d: defer.Deferred[None] = defer.Deferred()
    clock.callLater(delay, d.callback, None)
    return d


# -- in memory ----------------------------------------------------------------


@implementer(ITransport)
class _MemoryTransport:
    """One end of a :class:`MemoryConnection`."""

    def __init__(self, connection: "MemoryConnection", host: IPv4Address, peer: IPv4Address) -> None:
        self._connection = connection
        self.buffer = bytearray()
        self.disconnecting = False
        self.aborted = False
        self._host = host
        self._peer = peer

    def write(self, data: bytes) -> None:
        if not self.disconnecting:
            self.buffer += data

    def writeSequence(self, data: Iterable[bytes]) -> None:
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        self.disconnecting = True

    def abortConnection(self) -> None:
        self.disconnecting = True
        self.aborted = True
        del self.buffer[:]

    def getHost(self) -> IPv4Address:
        return self._host

    def getPeer(self) -> IPv4Address:
        return self._peer

    # Producer registration is accepted and ignored.
    def registerProducer(self, producer: object, streaming: bool) -> None:
        pass

    def unregisterProducer(self) -> None:
        pass


class MemoryConnection:
    """A client protocol and a fake-server session joined in memory.

    Bytes move only when :meth:`flush` is called (so nothing re-enters a
    protocol while it runs), or on every write if *autoFlush*.

    :ivar client: the client protocol.
    :ivar server: the :class:`FakeAMIServerProtocol`.
    """

    _nextPort = 40000

    def __init__(self, server: FakeAMIServerProtocol, client: protocol.Protocol) -> None:
        MemoryConnection._nextPort += 1
        serverAddress = IPv4Address("TCP", "127.0.0.1", 5038)
        clientAddress = IPv4Address("TCP", "127.0.0.1", MemoryConnection._nextPort)
        self.server = server
        self.client = client
        self.serverTransport = _MemoryTransport(self, serverAddress, clientAddress)
        self.clientTransport = _MemoryTransport(self, clientAddress, serverAddress)
        self.closed = False
        client.makeConnection(self.clientTransport)  # type: ignore[no-untyped-call]
        server.makeConnection(self.serverTransport)  # type: ignore[no-untyped-call]

    def flush(self) -> bool:
        """Deliver the bytes written so far, until both sides are quiet;
        close both ends once a side has asked to.  Returns whether anything
        happened."""
        moved = False
        while not self.closed:
            progress = False
            for source, target in ((self.clientTransport, self.server),
                                   (self.serverTransport, self.client)):
                if source.buffer:
                    data = bytes(source.buffer)
                    del source.buffer[:]
                    target.dataReceived(data)
                    progress = True
            if not progress and (self.clientTransport.disconnecting
                                 or self.serverTransport.disconnecting):
                self._close()
                progress = True
            if not progress:
                break
            moved = True
        return moved

    def _close(self) -> None:
        self.closed = True
        aborted = self.clientTransport.aborted or self.serverTransport.aborted
        reason = Failure(netError.ConnectionLost("aborted") if aborted
                         else netError.ConnectionDone("closed"))
        self.clientTransport.disconnecting = self.serverTransport.disconnecting = True
        self.client.connectionLost(reason)
        self.server.connectionLost(reason)


def connectInMemory(server: FakeAMIServerFactory, client: Any) -> MemoryConnection:
    """Connect a client to *server* in memory.

    *client* is a protocol factory (such as :class:`starpy.manager.AMIFactory`)
    or a protocol.  Call :meth:`MemoryConnection.flush` to move bytes.
    """
    clientAddress = IPv4Address("TCP", "127.0.0.1", 0)
    clientProtocol = client.buildProtocol(clientAddress) if hasattr(client, "buildProtocol") else client
    session = server.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5038))
    assert isinstance(session, FakeAMIServerProtocol)
    connection = MemoryConnection(session, clientProtocol)
    connection.flush()
    return connection


class MemoryEndpoint:
    """A client endpoint (``IStreamClientEndpoint``) that connects to *server*
    in memory: give it to :class:`AMIService <starpy.manager.AMIService>` or a
    pool to test reconnection without sockets.

    :ivar connections: every connection made, oldest first.
    :ivar refuse: while true, connecting fails with ``ConnectionRefusedError``.
    """

    def __init__(self, server: FakeAMIServerFactory) -> None:
        self.server = server
        self.connections: List[MemoryConnection] = []
        self.refuse = False

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        """Connect a protocol of *factory*; fires with it."""
        if self.refuse:
            return defer.fail(ConnectionRefusedError("fake server down"))
        connection = connectInMemory(self.server, factory)
        self.connections.append(connection)
        return defer.succeed(connection.client)

    def pump(self) -> None:
        """Move the bytes of every connection (see :meth:`MemoryConnection.flush`)."""
        for connection in self.connections:
            connection.flush()


def loginInMemory(server: FakeAMIServerFactory,
                  client: "AMIFactory") -> Tuple["AMIProtocol", MemoryConnection]:
    """Connect *client* (an :class:`AMIFactory <starpy.manager.AMIFactory>`) to *server*
    in memory and log it in; returns ``(logged-in protocol, connection)``.

    :raises starpy.error.AMIError: the login's failure (e.g.
        :class:`AMIAuthenticationError <starpy.error.AMIAuthenticationError>`;
        but a refused login only fails after the server's clock has advanced
        1 s: use :func:`connectInMemory` for that).
    :raises RuntimeError: if the login did not finish without the clock
        moving.
    """
    connection = connectInMemory(server, client)
    ami: "AMIProtocol" = connection.client  # type: ignore[assignment]
    results: List[Any] = []
    client.loginProtocol(ami).addBoth(results.append)
    connection.flush()
    if not results:
        raise RuntimeError("AMI login did not complete in memory (is the clock needed?)")
    if isinstance(results[0], Failure):
        results[0].raiseException()
    protocolLoggedIn: "AMIProtocol" = results[0]
    return protocolLoggedIn, connection
