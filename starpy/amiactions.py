"""Named AMI actions, declared as data.

Each entry of :data:`CATALOGUE` names a method, the AMI action it sends and
its parameters (Python argument, AMI header, default, conversion).  The
:class:`AMIActions` mixin turns every entry into a method of
:class:`AMIProtocol <starpy.manager.AMIProtocol>`, so ``ami.hangup('PJSIP/100-0001')``
sends ``Action: Hangup`` with ``Channel: PJSIP/100-0001``.  Any action not
listed is still reachable with ``ami.sendAction(name, headers)``.

The few actions whose results need shaping (``command``, ``dbGet``,
``getVar``, ``originate``, ``events``, ``userEvent``, ``updateConfig``,
``listCommands``, ``waitEvent``) are written out by hand below the catalogue.
Names, arguments and result shapes are upstream StarPy 1.1.1's.

Time values are float seconds, converted to what each action takes.

Asterisk reads some header values with its dialplan application-argument
parser (``Variable`` of ``Originate``, the ``File`` of ``MixMonitor``,
an application's ``Data``...): there a comma separates, double quotes
group, a backslash escapes and brackets nest.  :func:`appArgument`,
:func:`appArguments` and :func:`variableAssignment` escape values for that
parser, and the actions below use them for ``Variable``, MixMonitor's
``File`` and Status's variable names.  Originate's ``Data`` is sent as
given, as the dialplan would write it: build it with :func:`appArguments`
when its parts must arrive whole.
"""
from __future__ import annotations

import re
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
    TypeAlias,
    Union,
)

import attrs
from twisted.internet import defer
from twisted.python.failure import Failure

from starpy import error
from starpy.codec.ami import HeaderInput, Message
from starpy.error import LocalProtocolError

if TYPE_CHECKING:  # pragma: no cover - names for annotations only
    # From its module rather than the package: pydoctor, following this
    # import, would read the package's AMIProtocol before AMIActions exists.
    from starpy.manager._actions import EventList

__all__ = [
    "AMIActions",
    "ActionSpec",
    "Param",
    "CATALOGUE",
    "EVENT_CLASSES",
    "USE_DEFAULT",
    "appArgument",
    "appArguments",
    "eventClassList",
    "variableAssignment",
]

USE_DEFAULT: Any = type("UseDefault", (), {"__repr__": lambda self: "USE_DEFAULT"})()
"""Sentinel: use the protocol's default timeout."""

_REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _trueFalse(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "true" if value else "false"


def _yesNo(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "yes" if value else "no"


def _milliseconds(value: Any) -> str:
    return str(int(round(float(value) * 1000)))


def _wholeSeconds(value: Any) -> str:
    return str(int(round(float(value))))


# -- Asterisk's application-argument parser ---------------------------------
#
# Asterisk splits application arguments (and Variable headers) at commas,
# except inside double quotes or inside () or [] (which nest, quoted or not);
# it drops every double quote and every backslash, a backslash keeping the
# character after it literally.  A backslash before each character that the
# parser would act on keeps a value whole: with every '(' and '[' escaped the
# nesting counters never leave zero, so ')' and ']' need nothing.
_APP_SPECIAL = re.compile(r'[\\",(\[]')
# Characters no escaping can carry: a NUL ends the C string, CR and LF end
# the AMI line.
_UNCARRIABLE = re.compile(r"[\x00\r\n]")
_BLANK_LIMIT = 33  # ast_skip_blanks() drops leading characters below this


def _refuseUncarriable(text: str, what: str) -> None:
    found = _UNCARRIABLE.search(text)
    if found is not None:
        raise LocalProtocolError("%s holds %r, which no AMI header can carry" % (what, found.group()))


def _escapeLeadingBlank(escaped: str) -> str:
    # Asterisk skips blanks (any character below '!') at the start of a
    # header value; a backslash before the first one keeps it.
    if escaped and ord(escaped[0]) < _BLANK_LIMIT:
        return "\\" + escaped
    return escaped


def appArgument(value: Any, what: str = "application argument") -> str:
    """*value* (as text) escaped to reach an application as one argument, unchanged.

    Every backslash, double quote, comma, ``(`` and ``[`` gets a backslash
    before it, which Asterisk's argument parser removes again.

    :param what: how the value is named in the error.
    :raises starpy.error.LocalProtocolError: if *value* holds NUL, CR or LF (no AMI header can
        carry them).
    """
    text = _text(value)
    _refuseUncarriable(text, "%s %r" % (what, text))
    return _APP_SPECIAL.sub(r"\\\g<0>", text)


def appArguments(arguments: Iterable[Any], what: str = "application argument") -> str:
    """*arguments* as one application argument string: escaped, comma-separated.

    ``appArguments(['a,b', 'say "hi"'])`` is ``'a\\,b,say \\"hi\\"'``,
    which an application that splits its arguments the standard way (AGI,
    Playback, Dial...) reads as exactly ``a,b`` and ``say "hi"``.  Use it
    for ``originate(application=..., data=...)``; applications that take
    their data as one raw string (``Set``, ``NoOp``, ``System``) must get
    the text itself instead.  A leading blank is escaped too (Asterisk
    skips blanks at the start of a header value).  No arguments and one
    empty argument are the same text: Asterisk reads it as no argument.

    :raises starpy.error.LocalProtocolError: as :func:`appArgument`.
    """
    return _escapeLeadingBlank(",".join(appArgument(argument, what) for argument in arguments))


def _assignments(variable: Union[Mapping[str, Any], Iterable[str]]) -> List[str]:
    """Escaped ``Variable`` header values for a mapping or ``'NAME=value'`` strings."""
    if isinstance(variable, Mapping):
        return [variableAssignment(name, value) for name, value in variable.items()]
    assignments = []
    for item in variable:
        name, equals, value = _text(item).partition("=")
        if not equals:
            raise LocalProtocolError("originate variable %r is not NAME=value" % (item,))
        assignments.append(variableAssignment(name, value))
    return assignments


def _unescapedAppArgument(value: Any, what: str) -> str:
    # A value that Asterisk also reads raw elsewhere (MixMonitor's Options,
    # whose i(VAR) the manager reads itself) cannot be escaped: refuse what
    # the argument parser would change or split instead.
    text = _text(value)
    _refuseUncarriable(text, "%s %r" % (what, text))
    _refuseLeadingBlank(text, what)
    depth = {"(": 0, "[": 0}
    closing = {")": "(", "]": "["}
    for character in text:
        if character in '"\\':
            raise LocalProtocolError("%s %r holds %r, which Asterisk's argument parser would remove"
                                     % (what, text, character))
        if character in depth:
            depth[character] += 1
        elif character in closing and depth[closing[character]]:
            depth[closing[character]] -= 1
        elif character == "," and not any(depth.values()):
            raise LocalProtocolError("%s %r holds a comma outside brackets, which would split it"
                                     % (what, text))
    if any(depth.values()):
        raise LocalProtocolError("%s %r leaves a bracket open, which would swallow the next argument"
                                 % (what, text))
    return text


def _refuseLeadingBlank(text: str, what: str) -> None:
    if text and ord(text[0]) < _BLANK_LIMIT:
        raise LocalProtocolError("%s %r starts with a blank, which Asterisk drops" % (what, text))


def _mixMonitorCommand(value: Any) -> str:
    # The rest of MixMonitor's arguments after the second comma, taken
    # unparsed: it arrives as given, but for leading blanks.
    text = _text(value)
    _refuseUncarriable(text, "MixMonitor command %r" % (text,))
    _refuseLeadingBlank(text, "MixMonitor command")
    return text


def _mixMonitorFile(value: Any) -> str:
    return _escapeLeadingBlank(appArgument(value, "MixMonitor file"))


def _mixMonitorOptions(value: Any) -> str:
    return _unescapedAppArgument(value, "MixMonitor options")


_STATUS_MAX_VARIABLES = 99  # Status splits Variables into at most 100 pieces, the last raw


def _variableNames(value: Any) -> str:
    if isinstance(value, str):
        return value
    names = [appArgument(name, "Status variable name") for name in value]
    if len(names) > _STATUS_MAX_VARIABLES:
        raise LocalProtocolError("Status takes at most %d variable names (%d given)"
                                 % (_STATUS_MAX_VARIABLES, len(names)))
    return _escapeLeadingBlank(",".join(names))


def variableAssignment(name: Any, value: Any, what: str = "variable") -> str:
    """``NAME=value`` escaped for a ``Variable`` header (Originate and others).

    Asterisk splits a ``Variable`` header value like application arguments
    (so ``V=a,X=1`` would set ``V`` to ``a`` *and* set ``X``), then cuts
    each piece at its first ``=``.  Both *name* and *value* are escaped as
    :func:`appArgument` does, so the header sets exactly one variable,
    *name*, to exactly *value*.  A name may be a dialplan function
    (``PJSIP_HEADER(add,X-Tag)``): it reaches Asterisk unchanged too.

    :raises starpy.error.LocalProtocolError: naming the variable, if *name* is empty or holds
        ``=`` (Asterisk would cut the name there), or if the name or the
        value holds NUL, CR or LF.
    """
    name = _text(name)
    value = _text(value)
    if not name:
        raise LocalProtocolError("%s name is empty (value %r)" % (what, value))
    if "=" in name:
        raise LocalProtocolError("%s name %r holds '=': Asterisk ends the name at the first '='"
                                 % (what, name))
    _refuseUncarriable(name, "%s name %r" % (what, name))
    _refuseUncarriable(value, "the value of %s %r" % (what, name))
    return "%s=%s" % (_escapeLeadingBlank(appArgument(name)), appArgument(value))


@attrs.frozen
class Param:
    """One parameter of a named action."""

    name: str
    header: str
    default: Any = _REQUIRED
    convert: Callable[[Any], str] = _text


@attrs.frozen
class ActionSpec:
    """A named action: method name, AMI action, parameters, what it returns."""

    method: str
    action: str
    params: Tuple[Param, ...] = ()
    doc: str = ""
    isList: bool = False
    stopEvent: Optional[str] = None
    """For upstream's list methods: the closing event upstream waited for;
    the list is collected up to it even without ``EventList: start``."""

    def headers(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> List[Tuple[str, str]]:
        """The headers for a call with *args* and *kwargs*.

        :raises TypeError: as Python does for a bad call (missing, unknown
            or doubled argument), naming the method.
        """
        if not args and not kwargs and not self.params:
            return []
        if len(args) > len(self.params):
            raise TypeError("%s() takes at most %d arguments (%d given)"
                            % (self.method, len(self.params), len(args)))
        values: Dict[str, Any] = {}
        for param, value in zip(self.params, args, strict=False):
            values[param.name] = value
        known = {param.name for param in self.params}
        for name, value in kwargs.items():
            if name not in known:
                raise TypeError("%s() got an unexpected keyword argument %r" % (self.method, name))
            if name in values:
                raise TypeError("%s() got multiple values for argument %r" % (self.method, name))
            values[name] = value
        headers = []
        for param in self.params:
            value = values.get(param.name, param.default)
            if value is _REQUIRED:
                raise TypeError("%s() missing required argument %r" % (self.method, param.name))
            if value is not None:
                headers.append((param.header, param.convert(value)))
        return headers

    def hasParam(self, name: str) -> bool:
        """Whether the action has a parameter called *name*."""
        return any(param.name == name for param in self.params)

    def signature(self) -> str:
        """``method(a, b=None)`` as text, for docstrings."""
        parts = [p.name if p.default is _REQUIRED else "%s=%r" % (p.name, p.default)
                 for p in self.params]
        last = "actionTimeout=USE_DEFAULT" if self.hasParam("timeout") else "timeout=USE_DEFAULT"
        return "%s(%s)" % (self.method, ", ".join(parts + [last]))


def _p(name: str, header: Optional[str] = None, default: Any = _REQUIRED,
       convert: Callable[[Any], str] = _text) -> Param:
    return Param(name, header or name[:1].upper() + name[1:], default, convert)


def _o(name: str, header: Optional[str] = None,
       convert: Callable[[Any], str] = _text) -> Param:
    return _p(name, header, None, convert)


_LIST = True

CATALOGUE: Tuple[ActionSpec, ...] = (
    # StarPy's documented actions that current Asterisk still has.
    ActionSpec("absoluteTimeout", "AbsoluteTimeout",
               (_p("channel"), _p("timeout", convert=_wholeSeconds)),
               "Hang *channel* up after *timeout* seconds (0 cancels)."),
    ActionSpec("agentLogoff", "AgentLogoff",
               (_p("agent"), _p("soft", default=False, convert=_trueFalse)),
               "Log *agent* off (softly: after its current call)."),
    ActionSpec("agents", "Agents", (), "List agents: ``Agents`` events.", _LIST,
               "AgentsComplete"),
    ActionSpec("dbDel", "DBDel", (_p("family"), _p("key")),
               "Delete *key* of *family* in the AstDB."),
    ActionSpec("dbDelTree", "DBDelTree", (_p("family"), _o("key")),
               "Delete the whole *family* (or the subtree *key*) in the AstDB."),
    ActionSpec("dbPut", "DBPut", (_p("family"), _p("key"), _p("value", "Val")),
               "Set *key* of *family* to *value* in the AstDB."),
    ActionSpec("extensionState", "ExtensionState", (_p("exten"), _p("context")),
               "The state of an extension hint: the response carries ``Status``"
               " (-2 removed, -1 no hint, 0 idle, 1 in use, 2 busy...)."),
    ActionSpec("getConfig", "GetConfig",
               (_p("filename"), _o("category"), _o("filter")),
               "Read an Asterisk configuration file: ``Line-N-M`` headers."),
    ActionSpec("hangup", "Hangup", (_p("channel"), _o("cause")),
               "Hang *channel* up (a name or a ``/regex/``), with an optional cause code."),
    ActionSpec("logoff", "Logoff", (), "Log off: Asterisk answers ``Goodbye`` and closes."),
    ActionSpec("mailboxCount", "MailboxCount", (_p("mailbox"),),
               "Message counts of *mailbox* (``mailbox@context``)."),
    ActionSpec("mailboxStatus", "MailboxStatus", (_p("mailbox"),),
               "Whether *mailbox* has waiting messages."),
    ActionSpec("park", "Park",
               (_p("channel"), _o("channel2", "TimeoutChannel"),
                _o("timeout", convert=_milliseconds), _o("parkinglot", "Parkinglot"),
                _o("announceChannel")),
               "Park *channel*; on timeout (seconds) it returns to *channel2*."),
    ActionSpec("parkedCalls", "ParkedCalls", (_o("parkinglot", "ParkingLot"),),
               "Parked calls: ``ParkedCall`` events.", _LIST,
               "ParkedCallsComplete"),
    ActionSpec("ping", "Ping", (), "Keepalive: the response has ``Ping: Pong`` and a timestamp."),
    ActionSpec("playDTMF", "PlayDTMF",
               (_p("channel"), _p("digit"), _o("duration", convert=_milliseconds),
                _o("receive", convert=_trueFalse)),
               "Play DTMF *digit* on *channel* (duration in seconds)."),
    ActionSpec("queueAdd", "QueueAdd",
               (_p("queue"), _p("interface"), _p("penalty", default=0),
                _p("paused", default=True, convert=_trueFalse),
                _o("membername", "MemberName"), _o("stateinterface", "StateInterface")),
               "Add *interface* to *queue* (paused by default, as upstream StarPy)."),
    ActionSpec("queueLog", "QueueLog",
               (_p("queue"), _p("event"), _o("uniqueid", "UniqueID"), _o("interface"),
                _o("msg", "Message")),
               "Write a custom entry to queue_log."),
    ActionSpec("queuePause", "QueuePause",
               (_p("queue"), _p("interface"), _p("paused", default=True, convert=_trueFalse),
                _o("reason")),
               "Pause (or unpause) *interface* in *queue* (``None``: all queues)."),
    ActionSpec("queuePenalty", "QueuePenalty",
               (_p("interface"), _p("penalty"), _o("queue")),
               "Set the penalty of *interface*."),
    ActionSpec("queueRemove", "QueueRemove", (_p("queue"), _p("interface")),
               "Remove *interface* from *queue*."),
    ActionSpec("queueStatus", "QueueStatus", (_o("queue"), _o("member")),
               "Queue parameters and members:"
               " ``QueueParams``, ``QueueMember``, ``QueueEntry`` events.", _LIST,
               "QueueStatusComplete"),
    ActionSpec("redirect", "Redirect",
               (_p("channel"), _p("context"), _p("exten"), _p("priority"),
                _o("extraChannel"), _o("extraContext"), _o("extraExten"),
                _o("extraPriority")),
               "Send *channel* (and optionally a second one) to a dialplan location."),
    ActionSpec("setVar", "Setvar", (_o("channel"), _p("variable"), _p("value")),
               "Set *variable* on *channel* (``None``: a global variable)."),
    ActionSpec("status", "Status", (_o("channel"), _o("variables", convert=_variableNames)),
               "Channel status: ``Status`` events.  *variables*:"
               " a comma-separated string of variable names, or a list of names"
               " (escaped for Asterisk's argument parser, at most 99).", _LIST,
               "StatusComplete"),
    ActionSpec("dahdiDNDoff", "DAHDIDNDoff", (_p("channel", "DAHDIChannel"),),
               "Turn DND off on a DAHDI channel."),
    ActionSpec("dahdiDNDon", "DAHDIDNDon", (_p("channel", "DAHDIChannel"),),
               "Turn DND on on a DAHDI channel."),
    ActionSpec("dahdiDialOffhook", "DAHDIDialOffhook",
               (_p("channel", "DAHDIChannel"), _p("number")),
               "Dial *number* on an off-hook DAHDI channel."),
    ActionSpec("dahdiHangup", "DAHDIHangup", (_p("channel", "DAHDIChannel"),),
               "Hang up a DAHDI channel."),
    ActionSpec("dahdiRestart", "DAHDIRestart", (_o("channel", "DAHDIChannel"),),
               "Restart the DAHDI channels, ending calls in progress (*channel*:"
               " upstream's argument, sent but ignored by Asterisk)."),
    ActionSpec("dahdiShowChannels", "DAHDIShowChannels", (_o("channel", "DAHDIChannel"),),
               "DAHDI channels: ``DAHDIShowChannels`` events.", _LIST,
               "DAHDIShowChannelsComplete"),
    ActionSpec("dahdiTransfer", "DAHDITransfer", (_p("channel", "DAHDIChannel"),),
               "Transfer a DAHDI channel."),
    # What users of current Asterisk reach for.
    ActionSpec("coreShowChannels", "CoreShowChannels", (),
               "Active channels: ``CoreShowChannel`` events.", _LIST),
    ActionSpec("coreStatus", "CoreStatus", (),
               "Start-up and reload times and call counts."),
    ActionSpec("coreSettings", "CoreSettings", (),
               "Versions and core settings (``AMIversion``, ``AsteriskVersion``...)."),
    ActionSpec("mixMonitor", "MixMonitor",
               (_p("channel"), _o("file", convert=_mixMonitorFile),
                _o("options", convert=_mixMonitorOptions),
                _o("command", convert=_mixMonitorCommand)),
               "Record *channel* (both directions mixed) to *file*.  Asterisk joins"
               " File, Options and Command into MixMonitor's arguments: the file is"
               " escaped, options that the argument parser would change (quotes,"
               " backslashes, a comma outside brackets, an open bracket) raise"
               " LocalProtocolError (a ValueError), and the command arrives as given"
               " (a leading blank, which Asterisk would drop, raises it too)."),
    ActionSpec("stopMixMonitor", "StopMixMonitor",
               (_p("channel"), _o("mixMonitorId", "MixMonitorID")),
               "Stop a MixMonitor recording on *channel*."),
    ActionSpec("blindTransfer", "BlindTransfer",
               (_p("channel"), _p("exten"), _o("context")),
               "Blind-transfer *channel* to *exten* (in *context*)."),
    ActionSpec("atxfer", "Atxfer", (_p("channel"), _p("exten"), _o("context")),
               "Attended transfer of *channel* to *exten*."),
    ActionSpec("bridge", "Bridge", (_p("channel1"), _p("channel2"), _o("tone")),
               "Bridge two channels (*tone*: ``no``, ``Channel1``, ``Channel2``, ``Both``)."),
    ActionSpec("sendText", "SendText", (_p("channel"), _p("message")),
               "Send a text message to *channel*."),
    ActionSpec("deviceStateList", "DeviceStateList", (),
               "Device states: ``DeviceStateChange`` events.", _LIST),
    ActionSpec("extensionStateList", "ExtensionStateList", (),
               "Extension hints: ``ExtensionStatus`` events.", _LIST),
    ActionSpec("challenge", "Challenge", (_p("authType", "AuthType", default="MD5"),),
               "Ask for a login challenge (``Challenge`` header)."),
)


_FILTER_ACTIONS = ("include", "exclude")
EVENT_CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config",
                 "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
                 "test", "security", "message")
"""Asterisk 22's event (and action) classes, as ``manager.conf`` and
``EventMask`` name them; ``'all'`` means every one."""

_MASK_WORDS = frozenset(("on", "off", "yes", "no", "true", "false"))


def eventClassList(classes: Union[str, Iterable[str]]) -> str:
    """*classes* (``['call', 'agent']`` or ``'call,agent'``, any case) as
    Asterisk reads a class list: ``'call,agent'``.  A mask word Asterisk
    knows (``'on'``, ``'off'``, ``'yes'``...) or a number is kept as is.

    :raises starpy.error.LocalProtocolError: the list is empty or names a class Asterisk does not
        know (it would silently ignore it).
    :raises TypeError: *classes* is neither a string nor strings.
    """
    if isinstance(classes, str):
        if classes.strip().lower() in _MASK_WORDS or classes.strip().isdigit():
            return classes.strip().lower()
        names = classes.split(",")
    else:
        names = list(classes)
    words: List[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError("event classes must be strings, not %r" % (name,))
        word = name.strip().lower()
        if word not in EVENT_CLASSES and word != "all":
            raise LocalProtocolError("unknown event class %r (Asterisk knows %s, and all)"
                                     % (name, ", ".join(EVENT_CLASSES)))
        if word not in words:
            words.append(word)
    if not words:
        raise LocalProtocolError("no event class given (use False to turn events off)")
    return ",".join(words)


_FILTER_METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")
# Asterisk's criteria parser reads name(...)/header(...) up to ')' and splits
# criteria at ','; a blank would be kept in the name and match nothing.
_CRITERIA_UNSAFE = re.compile(r"[(),\s]")


class _NamedAction:
    """A method made from an :class:`ActionSpec`."""

    def __init__(self, spec: ActionSpec) -> None:
        self.spec = spec
        kind = ("an :class:`EventList <starpy.manager.EventList>`: the response, the item events,"
                " then the closing event" if spec.isList
                else "the response :class:`Message <starpy.codec.ami.Message>`")
        self.__doc__ = (
            "%s\n\n``%s`` sends ``Action: %s``. The Deferred fires with %s and fails with"
            " :class:`AMICommandFailure <starpy.error.AMICommandFailure>` on ``Response: Error``, or with"
            " AMITimeout / AMIConnectionLost." % (spec.doc, spec.signature(), spec.action, kind)
        )

    def __get__(self, instance: Any, owner: Any) -> Callable[..., "defer.Deferred[Any]"]:
        if instance is None:
            return self  # type: ignore[return-value]
        spec = self.spec

        def call(*args: Any, **kwargs: Any) -> "defer.Deferred[Any]":
            # An action with a parameter named timeout (absoluteTimeout, park)
            # takes the action's own timeout as actionTimeout only.
            actionTimeout = kwargs.pop("actionTimeout", USE_DEFAULT)
            if "timeout" in kwargs and not spec.hasParam("timeout"):
                actionTimeout = kwargs.pop("timeout")
            headers = spec.headers(args, kwargs)
            if spec.stopEvent is not None:
                return instance.collectDeferred(  # type: ignore[no-any-return]
                    [("Action", spec.action)] + headers, spec.stopEvent, timeout=actionTimeout)
            return instance.sendAction(  # type: ignore[no-any-return]
                spec.action, headers, timeout=actionTimeout)

        call.__name__ = spec.method
        call.__doc__ = self.__doc__
        # A non-data descriptor: caching the bound function on the instance
        # makes every later lookup a plain attribute hit.
        instance.__dict__[spec.method] = call
        return call


_Number = Union[str, int]
_Flag = Union[bool, str]
_Value = Union[str, int, float]
_Timeout = Optional[float]
_Reply: TypeAlias = "defer.Deferred[Message]"
_Listing: TypeAlias = "defer.Deferred[EventList]"


class _ActionSignatures:
    """The signatures of the catalogue's methods, for type checkers and readers.

    :class:`AMIActions` derives from this class and installs a method made
    from each :data:`CATALOGUE` entry over the declaration of the same name
    here, so these bodies never run.  Positional arguments follow the
    catalogue's order.  The action's own timeout is keyword-only: *timeout*
    (upstream's spelling) or *actionTimeout*, the only spelling for an
    action with a parameter called ``timeout``.  A list action fires with an
    :class:`EventList <starpy.manager.EventList>`, any other with the
    response :class:`Message <starpy.codec.ami.Message>`.
    ``tests/test_style.py`` checks these declarations against the catalogue.
    """

    def absoluteTimeout(self, channel: str, timeout: float, *,
                        actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def agentLogoff(self, agent: str, soft: _Flag = False, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def agents(self, *, timeout: _Timeout = USE_DEFAULT,
               actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def dbDel(self, family: str, key: str, *, timeout: _Timeout = USE_DEFAULT,
              actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dbDelTree(self, family: str, key: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                  actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dbPut(self, family: str, key: str, value: _Value, *, timeout: _Timeout = USE_DEFAULT,
              actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def extensionState(self, exten: _Number, context: str, *, timeout: _Timeout = USE_DEFAULT,
                       actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def getConfig(self, filename: str, category: Optional[str] = None, filter: Optional[str] = None, *,
                  timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def hangup(self, channel: str, cause: Optional[_Number] = None, *, timeout: _Timeout = USE_DEFAULT,
               actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def logoff(self, *, timeout: _Timeout = USE_DEFAULT,
               actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def mailboxCount(self, mailbox: str, *, timeout: _Timeout = USE_DEFAULT,
                     actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def mailboxStatus(self, mailbox: str, *, timeout: _Timeout = USE_DEFAULT,
                      actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def park(self, channel: str, channel2: Optional[str] = None, timeout: Optional[float] = None,
             parkinglot: Optional[str] = None, announceChannel: Optional[str] = None, *,
             actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def parkedCalls(self, parkinglot: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def ping(self, *, timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def playDTMF(self, channel: str, digit: str, duration: Optional[float] = None,
                 receive: Optional[_Flag] = None, *, timeout: _Timeout = USE_DEFAULT,
                 actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueAdd(self, queue: str, interface: str, penalty: _Number = 0, paused: _Flag = True,
                 membername: Optional[str] = None, stateinterface: Optional[str] = None, *,
                 timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueLog(self, queue: str, event: str, uniqueid: Optional[str] = None,
                 interface: Optional[str] = None, msg: Optional[str] = None, *,
                 timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queuePause(self, queue: Optional[str], interface: str, paused: _Flag = True,
                   reason: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queuePenalty(self, interface: str, penalty: _Number, queue: Optional[str] = None, *,
                     timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueRemove(self, queue: str, interface: str, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def queueStatus(self, queue: Optional[str] = None, member: Optional[str] = None, *,
                    timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def redirect(self, channel: str, context: str, exten: _Number, priority: _Number,
                 extraChannel: Optional[str] = None, extraContext: Optional[str] = None,
                 extraExten: Optional[_Number] = None, extraPriority: Optional[_Number] = None, *,
                 timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def setVar(self, channel: Optional[str], variable: str, value: _Value, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def status(self, channel: Optional[str] = None, variables: Union[str, Iterable[str], None] = None, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def dahdiDNDoff(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiDNDon(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiDialOffhook(self, channel: _Number, number: str, *, timeout: _Timeout = USE_DEFAULT,
                         actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiHangup(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                    actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiRestart(self, channel: Optional[_Number] = None, *, timeout: _Timeout = USE_DEFAULT,
                     actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def dahdiShowChannels(self, channel: Optional[_Number] = None, *, timeout: _Timeout = USE_DEFAULT,
                          actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def dahdiTransfer(self, channel: _Number, *, timeout: _Timeout = USE_DEFAULT,
                      actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def coreShowChannels(self, *, timeout: _Timeout = USE_DEFAULT,
                         actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def coreStatus(self, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def coreSettings(self, *, timeout: _Timeout = USE_DEFAULT,
                     actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def mixMonitor(self, channel: str, file: Optional[str] = None, options: Optional[str] = None,
                   command: Optional[str] = None, *, timeout: _Timeout = USE_DEFAULT,
                   actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def stopMixMonitor(self, channel: str, mixMonitorId: Optional[str] = None, *,
                       timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def blindTransfer(self, channel: str, exten: _Number, context: Optional[str] = None, *,
                      timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def atxfer(self, channel: str, exten: _Number, context: Optional[str] = None, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def bridge(self, channel1: str, channel2: str, tone: Optional[str] = None, *,
               timeout: _Timeout = USE_DEFAULT, actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def sendText(self, channel: str, message: str, *, timeout: _Timeout = USE_DEFAULT,
                 actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError

    def deviceStateList(self, *, timeout: _Timeout = USE_DEFAULT,
                        actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def extensionStateList(self, *, timeout: _Timeout = USE_DEFAULT,
                           actionTimeout: _Timeout = USE_DEFAULT) -> _Listing:
        raise NotImplementedError

    def challenge(self, authType: str = "MD5", *, timeout: _Timeout = USE_DEFAULT,
                  actionTimeout: _Timeout = USE_DEFAULT) -> _Reply:
        raise NotImplementedError


class AMIActions(_ActionSignatures):
    """Named actions for :class:`AMIProtocol <starpy.manager.AMIProtocol>`.

    Catalogue actions are attached below the class; see :data:`CATALOGUE`.
    Their signatures, which type checkers see, are declared on its base.
    """

    defaultTimeout: Optional[float]

    def sendAction(self, action: str, headers: HeaderInput = None,
                   timeout: Optional[float] = USE_DEFAULT,
                   expectEvent: Optional[str] = None) -> "defer.Deferred[Any]":
        raise NotImplementedError  # provided by AMIProtocol

    def sendMessage(self, message: Any, responseCallback: Optional[Callable[[Any], Any]] = None,
                    timeout: Optional[float] = USE_DEFAULT) -> str:
        raise NotImplementedError  # provided by AMIProtocol

    def collectDeferred(self, message: Any, stopEvent: str,
                        timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Any]":
        raise NotImplementedError  # provided by AMIProtocol

    def command(self, command: str, timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[List[str]]":
        """Run an Asterisk CLI *command*; fires with its output lines.

        Understands both forms Asterisk has used: one ``Output:`` header per
        line (Asterisk 14 and later) and the old ``Response: Follows`` body
        closed by ``--END COMMAND--``.  An unknown CLI command (Asterisk
        answers ``Response: Error`` with the output) fails with
        :class:`AMICommandFailure <starpy.error.AMICommandFailure>` whose message is the output.
        """

        def lines(response: Message) -> List[str]:
            return response.getAll("output") or list(response.body)

        def onError(failure: Failure) -> Failure:
            failed = failure.value
            if isinstance(failed, error.AMICommandFailure) and failed.response is not None:
                response = failed.response
                output = lines(response) if isinstance(response, Message) else []
                if output:
                    failed.message = "\n".join(output)
            return failure

        return self.sendAction("Command", {"Command": command}, timeout=timeout).addCallbacks(
            lines, onError)

    def dbGet(self, family: str, key: str,
              timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Optional[str]]":
        """The AstDB value of *key* in *family*, or ``None`` if there is none.

        Fires with ``None`` when Asterisk answers ``Database entry not found``
        (as upstream StarPy); fails with :class:`AMICommandFailure <starpy.error.AMICommandFailure>`
        on any other ``Response: Error`` (``Permission denied``...).
        Concurrent calls never cross: each reply is matched by its ActionID.
        """

        def value(result: Any) -> str:
            items = result if isinstance(result, list) else [result]
            for item in items:
                if "val" in item:
                    return str(item["val"])
            raise error.AMICommandFailure("DBGet", "no value in the reply", None)

        def missing(failure: Failure) -> Optional[Failure]:
            failed = failure.value
            if isinstance(failed, error.AMICommandFailure) \
                    and failed.message.strip().lower() == "database entry not found":
                return None
            return failure

        return self.sendAction("DBGet", {"Family": family, "Key": key}, timeout=timeout).addCallbacks(
            value, missing)

    def getVar(self, channel: Optional[str], variable: str,
               timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Optional[str]]":
        """The value of *variable* on *channel* (``None``: a global variable).

        Fires with the value, ``''`` for an unset variable (Asterisk does not
        tell them apart), or ``None`` if Asterisk says ``(null)``.
        """
        headers: List[Tuple[str, str]] = []
        if channel:
            headers.append(("Channel", channel))
        headers.append(("Variable", variable))

        def value(response: Message) -> Optional[str]:
            found = response.get("value", response.get(variable.lower()))
            if found is None:
                raise error.AMICommandFailure("Getvar", "no Value in the reply", response)
            return None if found == "(null)" else str(found)

        return self.sendAction("Getvar", headers, timeout=timeout).addCallback(value)

    def filter(self, filter: Optional[str] = None, operation: str = "Add", *,
               name: Optional[str] = None, header: Optional[str] = None,
               method: Optional[str] = None, action: Optional[str] = None,
               timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Add an event filter to this session (``Action: Filter``); fires with
        the response, fails with :class:`AMICommandFailure <starpy.error.AMICommandFailure>`
        when Asterisk refuses it (a user without the ``system`` write class,
        a filter that does not compile...).

        The legacy form: *filter* alone is a regular expression Asterisk
        matches against the whole event (``'Event: Newchannel'``; a leading
        ``!`` excludes what matches).

        Asterisk 22's advanced form (``MatchCriteria``), chosen by any of the
        keywords: *name* (the event name, exact and case-sensitive),
        *header* (the header whose value *filter* is matched against),
        *method* (``'regex'``, ``'exact'``, ``'starts_with'``,
        ``'ends_with'``, ``'contains'``, or ``'none'``: *filter* unused) and
        *action* (``'include'``, the default, or ``'exclude'``).  For example
        ``filter(name='Newchannel')`` sends ``MatchCriteria:
        name(Newchannel)``; ``filter('Local/', action='exclude',
        header='Channel', method='starts_with')`` excludes Local channels.

        With include filters only the events matching one of them are sent;
        exclude filters then take events away.  Filters last as long as the
        connection.

        :raises starpy.error.LocalProtocolError: (nothing sent) an empty or missing *filter* in the
            legacy form; *filter* given without a *method* that uses it (or
            *method* without *filter*); an unknown *method* or *action*; a
            *name* or *header* that is empty or holds a character Asterisk's
            criteria parser splits at (``(``, ``)``, ``,``, blanks).
        """
        advanced = (name, header, method, action) != (None, None, None, None)
        if not advanced:
            if not filter:
                raise LocalProtocolError("filter: the legacy form needs a regular expression"
                                         " (or use name=, header=, method=, action=)")
            return self.sendAction("Filter", [("Filter", filter), ("Operation", operation)],
                                   timeout=timeout)
        criteria: List[str] = []
        if action is not None:
            if action not in _FILTER_ACTIONS:
                raise LocalProtocolError("filter action must be one of %s, not %r"
                                         % (", ".join(_FILTER_ACTIONS), action))
            criteria.append("action(%s)" % (action,))
        for what, value in (("name", name), ("header", header)):
            if value is None:
                continue
            if not isinstance(value, str) or not value or _CRITERIA_UNSAFE.search(value):
                raise LocalProtocolError("filter %s must be a non-empty word without parentheses,"
                                         " commas or blanks, not %r" % (what, value))
            criteria.append("%s(%s)" % (what, value))
        if method is not None:
            if method not in _FILTER_METHODS:
                raise LocalProtocolError("filter method must be one of %s, not %r"
                                         % (", ".join(_FILTER_METHODS), method))
            criteria.append("method(%s)" % (method,))
        uses = method is not None and method != "none"
        if filter and not uses:
            raise LocalProtocolError("filter: the expression %r needs a method= that uses it (%s)"
                                     % (filter, ", ".join(m for m in _FILTER_METHODS if m != "none")))
        if uses and not filter:
            raise LocalProtocolError("filter: method=%r needs an expression to match" % (method,))
        headers = [("MatchCriteria", ",".join(criteria))]
        if filter:
            headers.append(("Filter", filter))
        headers.append(("Operation", operation))
        return self.sendAction("Filter", headers, timeout=timeout)

    def events(self, eventmask: Union[bool, str, Iterable[str]] = False,
               timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Turn events on (``True``), off (``False``) or to some event classes
        (``['call', 'agent']`` or ``'call,agent'``); fires with the response
        (``Events: On`` or ``Off``).

        Classes are sent comma-separated in lower case: Asterisk compares
        them case-sensitively and silently drops a name it does not know
        (``EventMask: Call`` turns events off).  The session then receives
        the events whose every class (their ``Privilege``) is both in the
        list and readable by the AMI user.

        :raises starpy.error.LocalProtocolError: (nothing sent) an empty class list, a class that
            is not one of :data:`EVENT_CLASSES` (nor ``'all'``).
        """
        if eventmask is True or eventmask in (1, "on"):
            mask = "on"
        elif eventmask is False or eventmask in (0, "off"):
            mask = "off"
        else:
            mask = eventClassList(eventmask)
        return self.sendAction("Events", {"EventMask": mask}, timeout=timeout)

    def userEvent(self, event: str, **headers: Any) -> str:
        """Send a ``UserEvent`` named *event* with extra *headers*; return its ActionID.

        As upstream StarPy, nothing waits for Asterisk's answer: the ActionID
        string is returned at once.  To wait for the response, send
        ``sendAction('UserEvent', [('UserEvent', event), ...])``.

        :raises starpy.error.LocalProtocolError: CR or LF in a header; nothing is sent.
        """
        pairs = [("Action", "UserEvent"), ("UserEvent", event)]
        pairs.extend((name, _text(value)) for name, value in headers.items())
        return self.sendMessage(pairs)

    def listCommands(self, timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Every action this user may send, one header each (``Ping: Keepalive
        command...``); the ``ActionID`` is left out, as upstream StarPy did."""

        def withoutActionID(response: Message) -> Message:
            return Message([(name, value) for name, value in response.headers()
                            if name.lower() != "actionid"], response.body)

        return self.sendAction("ListCommands", timeout=timeout).addCallback(withoutActionID)

    def waitEvent(self, timeout: float,
                  actionTimeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Any]":
        """Wait up to *timeout* seconds for an event (``WaitEvent``).

        Fires, as upstream StarPy, with an :class:`EventList <starpy.manager.EventList>`
        of the response and the closing ``WaitEventComplete`` (and any event
        carrying the ActionID between them).  *actionTimeout* defaults to
        *timeout* plus the protocol's default.
        """
        if actionTimeout is USE_DEFAULT:
            base = self.defaultTimeout
            actionTimeout = None if base is None else base + float(timeout)
        return self.collectDeferred([("Action", "WaitEvent"), ("Timeout", _wholeSeconds(timeout))],
                                    "WaitEventComplete", timeout=actionTimeout)

    def updateConfig(self, srcfile: str, dstfile: str, reload: Union[bool, str] = False,
                     headers: Optional[Mapping[str, Any]] = None,
                     timeout: Optional[float] = USE_DEFAULT) -> "defer.Deferred[Message]":
        """Edit a configuration file: *headers* holds ``Action-000000``, ``Cat-000000``... entries."""
        pairs = [("SrcFilename", srcfile), ("DstFilename", dstfile), ("Reload", _yesNo(reload))]
        pairs.extend((name, _text(value)) for name, value in (headers or {}).items())
        return self.sendAction("UpdateConfig", pairs, timeout=timeout)

    def originate(
        self,
        channel: str,
        context: Optional[str] = None,
        exten: Optional[str] = None,
        priority: Optional[Union[int, str]] = None,
        timeout: Optional[float] = None,
        callerid: Optional[str] = None,
        account: Optional[str] = None,
        application: Optional[str] = None,
        data: Optional[str] = None,
        variable: Union[Mapping[str, Any], Iterable[str], None] = None,
        nowait: bool = False,
        channelid: Optional[str] = None,
        otherchannelid: Optional[str] = None,
        codecs: Union[str, Iterable[str], None] = None,
        *,
        asynchronous: bool = False,
        earlyMedia: Optional[bool] = None,
        actionTimeout: Optional[float] = USE_DEFAULT,
        channelId: Optional[str] = None,
        otherChannelId: Optional[str] = None,
        async_: Optional[bool] = None,
    ) -> "defer.Deferred[Message]":
        """Originate a call from *channel* to a dialplan location or an application.

        The arguments up to *codecs* are upstream StarPy 1.1.1's, in its order.

        :param timeout: seconds to wait for *channel* to answer (sent in ms).
        :param variable: channel variables: a mapping or ``'NAME=value'``
            strings (the name ends at the first ``=``); each becomes its
            own ``Variable`` header, escaped (:func:`variableAssignment`)
            so that Asterisk sets exactly that variable to exactly that
            value.  A bad name or value raises ``ValueError`` before
            anything is sent.
        :param nowait: send ``Async: true`` and fire with Asterisk's
            immediate response (``Originate successfully queued``), as
            upstream; the outcome comes later as an ``OriginateResponse``
            event to the event handlers.  ``async_`` is an alias (older
            upstream releases called it ``async``).
        :param channelid: ``Uniqueid`` for the originated channel (and
            *otherchannelid* for the second half of a Local channel);
            ``channelId``/``otherChannelId`` are aliases.
        :param codecs: codec names (``'ulaw,alaw'`` or a list).
        :param asynchronous: send ``Async: true`` too, but fire only on the
            matching ``OriginateResponse`` event: with it when it says
            ``Success``; failing with :class:`AMIOriginateFailure <starpy.error.AMIOriginateFailure>`
            carrying ``reason`` when it says ``Failure``.  Not the same as
            *nowait*: give one of them.
        :param actionTimeout: how long to wait for Asterisk's answer (by
            default the originate *timeout* plus the protocol's default).

        Otherwise (synchronous) it fires with the response once the call is
        answered.  All forms fail with :class:`AMICommandFailure <starpy.error.AMICommandFailure>`
        on ``Response: Error``.

        :raises TypeError: an argument given twice under its two spellings.
        :raises starpy.error.LocalProtocolError: both *nowait* and *asynchronous*, or a variable
            Asterisk could not set as given; nothing is sent.
        """
        if async_ is not None:
            nowait = bool(async_)
        for name, primary, alias in (("channelid", channelid, channelId),
                                     ("otherchannelid", otherchannelid, otherChannelId)):
            if alias is not None and primary is not None and alias != primary:
                raise TypeError("originate() got %s and its alias with different values" % name)
        channelid = channelid if channelid is not None else channelId
        otherchannelid = otherchannelid if otherchannelid is not None else otherChannelId
        if nowait and asynchronous:
            raise LocalProtocolError("originate(): nowait fires with the response, asynchronous with"
                                     " the OriginateResponse event; give only one")
        pairs: List[Tuple[str, str]] = [("Channel", channel)]
        for header, value in (("Context", context), ("Exten", exten), ("Priority", priority)):
            if value is not None:
                pairs.append((header, _text(value)))
        if timeout is not None:
            pairs.append(("Timeout", _milliseconds(timeout)))
        for header, value in (("CallerID", callerid), ("Account", account),
                              ("Application", application), ("Data", data),
                              ("ChannelId", channelid), ("OtherChannelId", otherchannelid)):
            if value is not None:
                pairs.append((header, _text(value)))
        if codecs is not None:
            pairs.append(("Codecs", codecs if isinstance(codecs, str) else ",".join(codecs)))
        if earlyMedia is not None:
            pairs.append(("EarlyMedia", _trueFalse(earlyMedia)))
        if variable:
            pairs.extend(("Variable", assignment) for assignment in _assignments(variable))
        if asynchronous or nowait:
            pairs.append(("Async", "true"))
        if actionTimeout is USE_DEFAULT:
            base = self.defaultTimeout
            actionTimeout = None if base is None else base + (0.0 if nowait else timeout or 0.0)
        return self.sendAction("Originate", pairs, timeout=actionTimeout,
                               expectEvent="OriginateResponse" if asynchronous else None)


for _spec in CATALOGUE:
    setattr(AMIActions, _spec.method, _NamedAction(_spec))
del _spec
