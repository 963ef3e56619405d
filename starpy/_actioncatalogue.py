"""The catalogue of named AMI actions, as data (private to StarPy).

``starpy.amiactions`` re-exports :data:`CATALOGUE`, :class:`Param`,
:class:`ActionSpec` and :data:`USE_DEFAULT` and turns each entry into a
method of :class:`AMIActions <starpy.amiactions.AMIActions>`.  The
converters here turn an argument into the header value its action takes.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import attrs

from starpy.codec.appargs import (
    appArgument,
    escapeLeadingBlank,
    rawAppArgument,
    refuseLeadingBlank,
    refuseUncarriable,
)
from starpy.error import LocalProtocolError

USE_DEFAULT: Any = type("UseDefault", (), {"__repr__": lambda self: "USE_DEFAULT"})()
"""Sentinel: use the protocol's default timeout."""

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
"""Sentinel: the default of a parameter that has none."""


def asText(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def trueFalse(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "true" if value else "false"


def yesNo(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "yes" if value else "no"


def milliseconds(value: Any) -> str:
    return str(int(round(float(value) * 1000)))


def wholeSeconds(value: Any) -> str:
    return str(int(round(float(value))))



def mixMonitorCommand(value: Any) -> str:
    # The rest of MixMonitor's arguments after the second comma, taken
    # unparsed: it arrives as given, but for leading blanks.
    text = asText(value)
    refuseUncarriable(text, "MixMonitor command %r" % (text,))
    refuseLeadingBlank(text, "MixMonitor command")
    return text


def mixMonitorFile(value: Any) -> str:
    return escapeLeadingBlank(appArgument(value, "MixMonitor file"))


def mixMonitorOptions(value: Any) -> str:
    return rawAppArgument(value, "MixMonitor options")


STATUS_MAX_VARIABLES = 99  # Status splits Variables into at most 100 pieces, the last raw


def variableNames(value: Any) -> str:
    if isinstance(value, str):
        return value
    names = [appArgument(name, "Status variable name") for name in value]
    if len(names) > STATUS_MAX_VARIABLES:
        raise LocalProtocolError("Status takes at most %d variable names (%d given)"
                                 % (STATUS_MAX_VARIABLES, len(names)))
    return escapeLeadingBlank(",".join(names))


@attrs.frozen
class Param:
    """One parameter of a named action."""

    name: str
    header: str
    default: Any = REQUIRED
    convert: Callable[[Any], str] = asText


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
            if value is REQUIRED:
                raise TypeError("%s() missing required argument %r" % (self.method, param.name))
            if value is not None:
                headers.append((param.header, param.convert(value)))
        return headers

    def hasParam(self, name: str) -> bool:
        """Whether the action has a parameter called *name*."""
        return any(param.name == name for param in self.params)

    def signature(self) -> str:
        """``method(a, b=None)`` as text, for docstrings."""
        parts = [p.name if p.default is REQUIRED else "%s=%r" % (p.name, p.default)
                 for p in self.params]
        last = "actionTimeout=USE_DEFAULT" if self.hasParam("timeout") else "timeout=USE_DEFAULT"
        return "%s(%s)" % (self.method, ", ".join(parts + [last]))


def _p(name: str, header: Optional[str] = None, default: Any = REQUIRED,
       convert: Callable[[Any], str] = asText) -> Param:
    return Param(name, header or name[:1].upper() + name[1:], default, convert)


def _o(name: str, header: Optional[str] = None,
       convert: Callable[[Any], str] = asText) -> Param:
    return _p(name, header, None, convert)


_LIST = True

CATALOGUE: Tuple[ActionSpec, ...] = (
    # StarPy's documented actions that current Asterisk still has.
    ActionSpec("absoluteTimeout", "AbsoluteTimeout",
               (_p("channel"), _p("timeout", convert=wholeSeconds)),
               "Hang *channel* up after *timeout* seconds (0 cancels)."),
    ActionSpec("agentLogoff", "AgentLogoff",
               (_p("agent"), _p("soft", default=False, convert=trueFalse)),
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
                _o("timeout", convert=milliseconds), _o("parkinglot", "Parkinglot"),
                _o("announceChannel")),
               "Park *channel*; on timeout (seconds) it returns to *channel2*."),
    ActionSpec("parkedCalls", "ParkedCalls", (_o("parkinglot", "ParkingLot"),),
               "Parked calls: ``ParkedCall`` events.", _LIST,
               "ParkedCallsComplete"),
    ActionSpec("ping", "Ping", (), "Keepalive: the response has ``Ping: Pong`` and a timestamp."),
    ActionSpec("playDTMF", "PlayDTMF",
               (_p("channel"), _p("digit"), _o("duration", convert=milliseconds),
                _o("receive", convert=trueFalse)),
               "Play DTMF *digit* on *channel* (duration in seconds)."),
    ActionSpec("queueAdd", "QueueAdd",
               (_p("queue"), _p("interface"), _p("penalty", default=0),
                _p("paused", default=True, convert=trueFalse),
                _o("membername", "MemberName"), _o("stateinterface", "StateInterface")),
               "Add *interface* to *queue* (paused by default, as upstream StarPy)."),
    ActionSpec("queueLog", "QueueLog",
               (_p("queue"), _p("event"), _o("uniqueid", "UniqueID"), _o("interface"),
                _o("msg", "Message")),
               "Write a custom entry to queue_log."),
    ActionSpec("queuePause", "QueuePause",
               (_p("queue"), _p("interface"), _p("paused", default=True, convert=trueFalse),
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
    ActionSpec("status", "Status", (_o("channel"), _o("variables", convert=variableNames)),
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
               (_p("channel"), _o("file", convert=mixMonitorFile),
                _o("options", convert=mixMonitorOptions),
                _o("command", convert=mixMonitorCommand)),
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
