"""What the fake AMI server knows: its users, its channels, and what a
script may answer (header pairs, :class:`ListReply`, :class:`ActionError`).

Private to :mod:`starpy.testing.ami`, which re-exports the public names.
"""
from __future__ import annotations

import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
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
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress

from starpy.codec.ami import Message
from starpy.testing._amidata import ACTIONS
from starpy.testing._amifilter import EventFilter, FilterError, parseFilters
from starpy.testing._cscan import isFalse, isTrue

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami._session import FakeAMIServerProtocol

Headers = Union[Mapping[str, object], Sequence[Tuple[str, object]]]
"""Headers as a mapping or as ``(name, value)`` pairs (repeat a name to repeat it)."""

Pairs = List[Tuple[str, str]]

STATE_DESC = {
    0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing",
    6: "Up", 7: "Busy", 8: "Dialing Offhook", 9: "Pre-ring", 10: "Unknown",
}
CAUSE_TEXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "No answer",
               21: "Call Rejected", 34: "Circuit/channel congestion"}
PRIVILEGES: Dict[str, Tuple[str, frozenset[str]]] = {
    name.lower(): (name, frozenset(p for p in privs.split(",") if p not in ("all", "<none>")))
    for name, _, privs in ACTIONS
}
PRE_AUTH = frozenset(("login", "logoff", "challenge"))
# Asterisk 22's event classes, in the order of its flag bits (manager.h).
CLASS_BITS = {name: 1 << bit for name, bit in (
    ("system", 0), ("call", 1), ("log", 2), ("verbose", 3), ("command", 4), ("agent", 5),
    ("user", 6), ("config", 7), ("dtmf", 8), ("reporting", 9), ("cdr", 10), ("dialplan", 11),
    ("originate", 12), ("agi", 13), ("cc", 15), ("aoc", 16), ("test", 17), ("security", 18),
    ("message", 30))}
EVENT_CLASSES = frozenset(CLASS_BITS)


def headerPairs(headers: Optional[Headers]) -> Pairs:
    if headers is None:
        return []
    items: Iterable[Tuple[str, object]] = (
        headers.items() if isinstance(headers, Mapping) else headers)
    return [(str(name), value if isinstance(value, str) else str(value)) for name, value in items]


def classes(value: Union[str, Iterable[str]]) -> frozenset[str]:
    names = value.split(",") if isinstance(value, str) else value
    return frozenset(name.strip().lower() for name in names if name.strip())


def eventClasses(privilege: str) -> frozenset[str]:
    return classes(privilege) - {"all", "<none>"}


def userFilters(specs: Any) -> Tuple[EventFilter, ...]:
    try:
        return parseFilters(specs)
    except FilterError as e:
        raise ValueError("eventfilter refused by Asterisk: %s" % (e,)) from None


def eventMask(value: str) -> Optional[frozenset[str]]:
    """The classes an ``Events``/``EventMask`` value selects, as
    ``strings_to_mask`` reads it (``None``: an empty value, invalid)."""
    if not value:
        return None
    if value.isascii() and value.isdigit():  # C's digits only: not "²" nor "٢"
        number = int(value)
        return frozenset(name for name, bit in CLASS_BITS.items() if number & bit)
    if isFalse(value):
        return frozenset()
    if isTrue(value):
        return EVENT_CLASSES
    words = value.split(",")  # exact, case-sensitive words, as ast_instring
    if "all" in words:
        return EVENT_CLASSES
    return frozenset(word for word in words if word in CLASS_BITS)


def eventTime(seconds: float) -> str:
    whole = int(seconds)
    return "%s.%03d+0000" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)),
                             int((seconds - whole) * 1000))


def address(address: Optional[IAddress]) -> str:
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
    read: frozenset[str] = attrs.field(default=frozenset(("all",)), converter=classes)
    write: frozenset[str] = attrs.field(default=frozenset(("all",)), converter=classes)
    eventFilters: Tuple[EventFilter, ...] = attrs.field(default=(), converter=userFilters)

    def mayRead(self, privilege: Optional[str]) -> bool:
        """Whether an event with this ``Privilege`` header reaches the user:
        as Asterisk, only if the user reads every class of the event."""
        if privilege is None or "all" in self.read:
            return True
        return eventClasses(privilege) <= self.read

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
            ("ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
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
        self.headers = headerPairs(headers)


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


def callerID(value: Optional[str]) -> Tuple[str, str]:
    """``(number, name)`` of a ``"Name" <number>`` caller ID."""
    if not value:
        return "<unknown>", "<unknown>"
    if "<" in value and value.rstrip().endswith(">"):
        name, _, rest = value.partition("<")
        return rest.rstrip()[:-1] or "<unknown>", name.strip().strip('"') or "<unknown>"
    return value.strip(), "<unknown>"
