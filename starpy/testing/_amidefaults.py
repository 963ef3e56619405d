"""Default answers of the fake AMI server to the actions StarPy names.

Each handler answers as Asterisk 22 does (the texts of its responses, the
order of the headers, the list actions' events), from the state the fake
keeps on its factory: channels, queues, parked calls, mailboxes, hints,
device states and configuration files.  What a handler cannot know (a
transfer's effect on a real call, the audio of a recording) is not
simulated: the answer is Asterisk's, and the events that would follow are
left to the test (:meth:`emitEvent <starpy.testing.ami.FakeAMIServerFactory.emitEvent>`).

:data:`DEFAULT_ACTIONS` maps the lower-case action name to its handler
``handler(session, action)``; the session's built-in answers
(``starpy.testing.ami._builtins``) come first, and a script replaces both.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

import attrs
from twisted.internet import defer

from starpy.codec.ami import Message, formatMessage
from starpy.testing._amifilter import FilterError, parseFilter
from starpy.testing._cscan import isTrue, scanInt

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami import FakeAMIServerProtocol, FakeChannel

__all__ = ["DEFAULT_ACTIONS", "FakeParkedCall", "FakeQueue", "FakeQueueMember",
           "DEVICE_STATES", "EXTENSION_STATES"]

Pairs = List[Tuple[str, str]]
Handler = Callable[["FakeAMIServerProtocol", Message], Optional["defer.Deferred[None]"]]

DEVICE_STATES: Dict[str, int] = {
    "UNKNOWN": 0, "NOT_INUSE": 1, "INUSE": 2, "BUSY": 3, "INVALID": 4,
    "UNAVAILABLE": 5, "RINGING": 6, "RINGINUSE": 7, "ONHOLD": 8,
}
"""Asterisk's device state names and numbers (``QueueMember`` ``Status``)."""

# Device state -> extension state (a hint's Status), as Asterisk maps them.
_EXTENSION_STATE = {
    "UNKNOWN": 0, "NOT_INUSE": 0, "INUSE": 1, "BUSY": 2, "INVALID": 4,
    "UNAVAILABLE": 4, "RINGING": 8, "RINGINUSE": 9, "ONHOLD": 16,
}

EXTENSION_STATES: Dict[int, str] = {
    0: "Idle", 1: "InUse", 2: "Busy", 4: "Unavailable", 8: "Ringing",
    9: "InUse&Ringing", 16: "Hold", 17: "InUse&Hold",
}
"""A hint's ``Status`` number -> its ``StatusText`` (anything else: ``Unknown``)."""

_DEVICE_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")


def deviceOf(channelName: str) -> str:
    """The device of a channel name: ``PJSIP/100-00000001`` -> ``PJSIP/100``,
    ``Local/100@ctx-0000001f;1`` -> ``Local/100@ctx``."""
    return _DEVICE_SUFFIX.sub("", channelName)


@attrs.define
class FakeQueueMember:
    """A member of a :class:`FakeQueue` (the fields of ``QueueMember`` events)."""

    interface: str
    memberName: str = ""
    stateInterface: str = ""
    penalty: int = 0
    paused: bool = False
    pausedReason: str = ""
    dynamic: bool = True
    callsTaken: int = 0
    wrapupTime: int = 0
    ringInUse: bool = False

    def __attrs_post_init__(self) -> None:
        self.memberName = self.memberName or self.interface
        self.stateInterface = self.stateInterface or self.interface


@attrs.define
class FakeQueue:
    """A queue of the fake server (``queues.conf`` section) and its members."""

    name: str
    strategy: str = "ringall"
    members: Dict[str, FakeQueueMember] = attrs.Factory(dict)


@attrs.define
class FakeParkedCall:
    """A call parked with ``Park`` (listed by ``ParkedCalls``)."""

    channel: str
    space: int
    parkerDialString: str
    timeout: int
    parkedAt: float
    lot: str = "default"


def defaultQueues() -> Dict[str, FakeQueue]:
    """The queues of the captured Asterisk's ``queues.conf``."""
    members = {
        interface: FakeQueueMember(interface, name, dynamic=False)
        for interface, name in (("Local/401@calls-queue-agent/n", "Agent 401"),
                                ("Local/402@calls-queue-agent/n", "Agent 402"))}
    return {"testqueue": FakeQueue("testqueue", "ringall"),
            "calls-queue": FakeQueue("calls-queue", "linear", members)}


# -- helpers -------------------------------------------------------------------


def _header(action: Message, name: str) -> str:
    return action.get(name.lower(), "") or ""


def _missing(session: "FakeAMIServerProtocol", action: Message,
             *required: Tuple[str, str]) -> bool:
    """Whether a ``(header, message)`` of *required* is missing from *action*:
    if so, the error reply with the first missing one's message is sent."""
    for header, message in required:
        if not _header(action, header):
            session.respondError(action, message)
            return True
    return False


def _channelOrError(session: "FakeAMIServerProtocol", action: Message, header: str,
                    missing: str, unknown: str) -> Optional["FakeChannel"]:
    """The channel named by *header*, or ``None`` after the error reply
    (*unknown* may hold ``%s`` for the name)."""
    name = _header(action, header)
    if not name:
        session.respondError(action, missing)
        return None
    channel = session.factory.channels.get(name)
    if channel is None:
        session.respondError(action, unknown % (name,) if "%s" in unknown else unknown)
    return channel


def _prefixed(prefix: str, channel: "FakeChannel") -> Pairs:
    return [(prefix + name, value) for name, value in channel.headers()]


# -- channels ----------------------------------------------------------------


def absoluteTimeout(session: "FakeAMIServerProtocol", action: Message) -> None:
    if _missing(session, action, ("Channel", "No channel specified")):
        return
    try:
        seconds = float(_header(action, "Timeout") or "0")
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        session.respondError(action, "No timeout specified")
        return
    channel = _channelOrError(session, action, "Channel", "No channel specified", "No such channel")
    if channel is not None:  # the fake does not hang the channel up later
        session.respond(action, [("Message", "Timeout Set")])


def redirect(session: "FakeAMIServerProtocol", action: Message) -> None:
    name, extra = _header(action, "Channel"), _header(action, "ExtraChannel")
    if _missing(session, action, ("Channel", "Channel not specified"),
                ("Context", "Context not specified"), ("Exten", "Exten not specified"),
                ("Priority", "Priority not specified")):
        return
    priority = scanInt(_header(action, "Priority"))
    if priority is None or priority < 1:
        session.respondError(action, "Priority is invalid")
        return
    extraPriority = priority
    if extra and _header(action, "ExtraContext"):
        if _missing(session, action, ("ExtraExten", "ExtraExten not specified"),
                    ("ExtraPriority", "ExtraPriority not specified")):
            return
        found = scanInt(_header(action, "ExtraPriority"))
        if found is None or found < 1:
            session.respondError(action, "ExtraPriority is invalid")
            return
        extraPriority = found
    channels = session.factory.channels
    channel = channels.get(name)
    if channel is None:
        session.respondError(action, "Channel does not exist: %s" % (name,))
        return
    moves = [(channel, _header(action, "Context"), _header(action, "Exten"), priority)]
    if extra:
        second = channels.get(extra)
        if second is None:
            session.respondError(action, "ExtraChannel does not exist: %s" % (extra,))
            return
        if _header(action, "ExtraContext"):
            moves.append((second, _header(action, "ExtraContext"), _header(action, "ExtraExten"),
                          extraPriority))
        else:
            moves.append((second, moves[0][1], moves[0][2], priority))
    for target, context, exten, where in moves:
        target.context, target.exten, target.priority = context, exten, where
        target.bridgeId = ""
    session.respond(action, [("Message", "Dual Redirect successful" if extra
                              else "Redirect successful")])


def blindTransfer(session: "FakeAMIServerProtocol", action: Message) -> None:
    if _missing(session, action, ("Channel", "No channel specified"), ("Exten", "No extension specified")):
        return
    channel = _channelOrError(session, action, "Channel", "No channel specified",
                              "Channel specified does not exist")
    if channel is None:
        return
    if not channel.bridgeId:  # Asterisk can only transfer a bridged channel
        session.respondError(action, "Transfer invalid")
        return
    session.respond(action, [("Message", "Transfer succeeded")])


def atxfer(session: "FakeAMIServerProtocol", action: Message) -> None:
    if _missing(session, action, ("Channel", "No channel specified"), ("Exten", "No extension specified")):
        return
    channel = _channelOrError(session, action, "Channel", "No channel specified",
                              "Channel specified does not exist")
    if channel is None:
        return
    if not session.factory.atxferCode:
        session.respondError(action, "No attended transfer feature code found")
        return
    if _header(action, "Context"):
        channel.variables["TRANSFER_CONTEXT"] = _header(action, "Context")
    session.respond(action, [("Message", "Atxfer successfully queued")])


def bridge(session: "FakeAMIServerProtocol", action: Message) -> None:
    first, second = _header(action, "Channel1"), _header(action, "Channel2")
    if not first or not second:
        session.respondError(action, "Missing channel parameter in request")
        return
    channels = session.factory.channels
    found = []
    for header, name in (("Channel1", first), ("Channel2", second)):
        # Asterisk looks the channels up by name prefix.
        channel = channels.get(name) or next(
            (c for n, c in channels.items() if n.startswith(name)), None)
        if channel is None:
            session.respondError(action, "%s does not exist: %s" % (header, name))
            return
        found.append(channel)
    bridgeId = session.factory.newBridgeId()
    for channel in found:
        channel.bridgeId = bridgeId
    session.respond(action, [("Message", "Channels have been bridged")])


def playDTMF(session: "FakeAMIServerProtocol", action: Message) -> None:
    if session.factory.channels.get(_header(action, "Channel")) is None:
        session.respondError(action, "Channel not found")
        return
    if _missing(session, action, ("Digit", "No digit specified")):
        return
    duration = _header(action, "Duration")
    if duration and scanInt(duration) is None:
        session.respondError(action, "Could not convert Duration parameter")
        return
    session.respond(action, [("Message", "DTMF successfully queued")])


def sendText(session: "FakeAMIServerProtocol", action: Message) -> None:
    if _missing(session, action, ("Channel", "No channel specified"), ("Message", "No Message specified")):
        return
    if _channelOrError(session, action, "Channel", "", "No such channel") is not None:
        session.respond(action, [("Message", "Success")])


def mixMonitor(session: "FakeAMIServerProtocol", action: Message) -> None:
    channel = _channelOrError(session, action, "Channel", "No channel specified", "No such channel")
    if channel is None:
        return
    monitorID = "0x%012x" % (session.factory.newCounter(),)
    channel.mixMonitors.append(monitorID)
    pairs: Pairs = []
    # Option i(VARIABLE) stores the recording's id in VARIABLE, which the
    # response then carries.
    variable = re.search(r"i\(([^)]*)\)", _header(action, "Options"))
    if variable and variable.group(1):
        channel.variables[variable.group(1)] = monitorID
        pairs.append(("MixMonitorID", monitorID))
    session.respond(action, pairs)


def stopMixMonitor(session: "FakeAMIServerProtocol", action: Message) -> None:
    channel = _channelOrError(session, action, "Channel", "No channel specified", "No such channel")
    if channel is None:
        return
    wanted = _header(action, "MixMonitorID")
    if not channel.mixMonitors or (wanted and wanted not in channel.mixMonitors):
        session.respondError(action, "Could not stop monitoring channel")
        return
    channel.mixMonitors.remove(wanted or channel.mixMonitors[-1])
    session.respond(action)


# -- parking -----------------------------------------------------------------


def _parkedCallHeaders(session: "FakeAMIServerProtocol", parked: FakeParkedCall,
                       channel: "FakeChannel") -> Pairs:
    duration = max(0, int(session.factory.clock.seconds() - parked.parkedAt))
    return _prefixed("Parkee", channel) + [
        ("ParkerDialString", parked.parkerDialString), ("Parkinglot", parked.lot),
        ("ParkingSpace", str(parked.space)),
        ("ParkingTimeout", str(max(0, parked.timeout - duration))),
        ("ParkingDuration", str(duration))]


def _respondRaw(session: "FakeAMIServerProtocol", action: Message, response: str,
                lines: bytes) -> None:
    pairs: Pairs = [("Response", response)]
    if action.get("actionid") is not None:
        pairs.append(("ActionID", action["actionid"]))
    session.writeRaw(formatMessage(pairs)[:-2] + lines + b"\r\n")


def park(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    name = _header(action, "Channel")
    if not name:
        session.respondError(action, "Channel not specified")
        return
    timeout = factory.parkingTimeout
    text = _header(action, "Timeout")
    if text:
        milliseconds = scanInt(text)
        if milliseconds is None or milliseconds < 0:
            session.respondError(action, "Invalid Timeout value.")
            return
        if milliseconds:
            timeout = max(1, milliseconds // 1000)
    channel = factory.channels.get(name)
    if channel is None:
        session.respondError(action, "Channel does not exist: %s" % (name,))
        return
    # Asterisk ends both Messages with a bare LF before the CRLF.
    try:
        parked = factory.parkChannel(
            channel, deviceOf(_header(action, "TimeoutChannel") or _header(action, "Channel2")),
            timeout, _header(action, "Parkinglot") or "default")
    except ValueError:  # every space taken
        _respondRaw(session, action, "Error", b"Message: Park action failed\n\r\n")
        return
    _respondRaw(session, action, "Success", b"Message: Park successful\n\r\n")
    factory.emitEvent([("Event", "ParkedCall"), ("Privilege", "call,all")]
                      + _parkedCallHeaders(session, parked, channel))


def parkedCalls(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    lot = _header(action, "ParkingLot")
    if lot and lot != "default":
        session.respondError(action, "Requested parking lot could not be found.")
        return
    items = []
    for parked in factory.parkedCalls():
        channel = factory.channels[parked.channel]
        items.append([("Event", "ParkedCall")] + _parkedCallHeaders(session, parked, channel))
    session.sendList(action, items, "ParkedCallsComplete", "Parked calls will follow",
                     [("Total", str(len(items)))], actionIDLast=True)


# -- queues --------------------------------------------------------------------


def _memberBlob(session: "FakeAMIServerProtocol", queue: FakeQueue,
                member: FakeQueueMember) -> Pairs:
    return [
        ("Queue", queue.name), ("MemberName", member.memberName),
        ("Interface", member.interface), ("StateInterface", member.stateInterface),
        ("Membership", "dynamic" if member.dynamic else "static"),
        ("Penalty", str(member.penalty)), ("CallsTaken", str(member.callsTaken)),
        ("LastCall", "0"), ("LastPause", "0"), ("LoginTime", "0"), ("InCall", "0"),
        ("Status", str(DEVICE_STATES.get(session.factory.deviceState(member.stateInterface), 0))),
        ("Paused", "1" if member.paused else "0"), ("PausedReason", member.pausedReason),
        ("Ringinuse", "1" if member.ringInUse else "0"), ("Wrapuptime", str(member.wrapupTime))]


def _memberEvent(session: "FakeAMIServerProtocol", name: str, queue: FakeQueue,
                 member: FakeQueueMember) -> None:
    session.factory.emitEvent([("Event", name), ("Privilege", "agent,all")]
                              + _memberBlob(session, queue, member))


def queueAdd(session: "FakeAMIServerProtocol", action: Message) -> None:
    name, interface = _header(action, "Queue"), _header(action, "Interface")
    if not name:
        session.respondError(action, "'Queue' not specified.")
        return
    if not interface:
        session.respondError(action, "'Interface' not specified.")
        return
    queue = session.factory.queues.get(name)
    if queue is None:
        session.respondError(action, "Unable to add interface to queue: No such queue")
        return
    if interface in queue.members:
        session.respondError(action, "Unable to add interface: Already there")
        return
    member = FakeQueueMember(
        interface, _header(action, "MemberName"), _header(action, "StateInterface"),
        penalty=scanInt(_header(action, "Penalty")) or 0, paused=isTrue(_header(action, "Paused")),
        pausedReason=_header(action, "Reason"),
        wrapupTime=scanInt(_header(action, "Wrapuptime")) or 0)
    queue.members[interface] = member
    session.respond(action, [("Message", "Added interface to queue")])
    _memberEvent(session, "QueueMemberAdded", queue, member)


def queueRemove(session: "FakeAMIServerProtocol", action: Message) -> None:
    name, interface = _header(action, "Queue"), _header(action, "Interface")
    if not name or not interface:
        session.respondError(action, "Need 'Queue' and 'Interface' parameters.")
        return
    queue = session.factory.queues.get(name)
    if queue is None:
        session.respondError(action, "Unable to remove interface from queue: No such queue")
        return
    member = queue.members.get(interface)
    if member is None:
        session.respondError(action, "Unable to remove interface: Not there")
        return
    if not member.dynamic:
        session.respondError(action, "Member not dynamic")
        return
    del queue.members[interface]
    session.respond(action, [("Message", "Removed interface from queue")])
    _memberEvent(session, "QueueMemberRemoved", queue, member)


def _members(session: "FakeAMIServerProtocol", queueName: str,
             interface: str) -> List[Tuple[FakeQueue, FakeQueueMember]]:
    return [(queue, queue.members[interface]) for queue in session.factory.queues.values()
            if (not queueName or queue.name == queueName) and interface in queue.members]


def queuePause(session: "FakeAMIServerProtocol", action: Message) -> None:
    interface, paused = _header(action, "Interface"), _header(action, "Paused")
    if not interface or not paused:
        session.respondError(action, "Need 'Interface' and 'Paused' parameters.")
        return
    found = _members(session, _header(action, "Queue"), interface)
    if not found:
        session.respondError(action, "Interface not found")
        return
    pause = isTrue(paused)
    session.respond(action, [("Message", "Interface paused successfully" if pause
                              else "Interface unpaused successfully")])
    for queue, member in found:
        member.paused, member.pausedReason = pause, _header(action, "Reason") if pause else ""
        _memberEvent(session, "QueueMemberPause", queue, member)


def queuePenalty(session: "FakeAMIServerProtocol", action: Message) -> None:
    interface, penalty = _header(action, "Interface"), _header(action, "Penalty")
    if not interface or not penalty:
        session.respondError(action, "Need 'Interface' and 'Penalty' parameters.")
        return
    value = scanInt(penalty)
    found = _members(session, _header(action, "Queue"), interface)
    if value is None or value < 0 or not found:
        session.respondError(action, "Invalid interface, queuename or penalty")
        return
    session.respond(action, [("Message", "Interface penalty set successfully")])
    for queue, member in found:
        member.penalty = value
        _memberEvent(session, "QueueMemberPenalty", queue, member)


def queueLog(session: "FakeAMIServerProtocol", action: Message) -> None:
    if not _header(action, "Queue") or not _header(action, "Event"):
        session.respondError(action, "Need 'Queue' and 'Event' parameters.")
        return
    session.factory.queueLog.append(
        "%s|%s|%s|%s|%s" % (_header(action, "UniqueId") or "NONE", _header(action, "Queue"),
                            _header(action, "Interface") or "NONE", _header(action, "Event"),
                            _header(action, "Message")))
    session.respond(action, [("Message", "Event added successfully")])


def queueStatus(session: "FakeAMIServerProtocol", action: Message) -> None:
    wantedQueue, wantedMember = _header(action, "Queue"), _header(action, "Member")
    items: List[Pairs] = []
    for queue in session.factory.queues.values():
        if wantedQueue and queue.name.lower() != wantedQueue.lower():
            continue
        items.append([("Event", "QueueParams"), ("Queue", queue.name), ("Max", "0"),
                      ("Strategy", queue.strategy), ("Calls", "0"), ("Holdtime", "0"),
                      ("TalkTime", "0"), ("Completed", "0"), ("Abandoned", "0"),
                      ("ServiceLevel", "0"), ("ServicelevelPerf", "0.0"),
                      ("ServicelevelPerf2", "0.0"), ("Weight", "0")])
        for member in queue.members.values():
            if wantedMember and wantedMember not in (member.interface, member.memberName):
                continue
            blob = dict(_memberBlob(session, queue, member))
            items.append([("Event", "QueueMember"), ("Queue", queue.name),
                          ("Name", member.memberName), ("Location", member.interface)]
                         + [(key, blob[key]) for key in (
                             "StateInterface", "Membership", "Penalty", "CallsTaken", "LastCall",
                             "LastPause", "LoginTime", "InCall", "Status", "Paused",
                             "PausedReason", "Wrapuptime")])
    session.sendList(action, items, "QueueStatusComplete", "Queue status will follow",
                     actionIDLast=True)


# -- agents, mailboxes, hints and devices ----------------------------------


def agents(session: "FakeAMIServerProtocol", action: Message) -> None:
    # The fake has no agents (app_agent_pool with an empty agents.conf).
    session.sendList(action, [], "AgentsComplete", "Agents will follow")


def agentLogoff(session: "FakeAMIServerProtocol", action: Message) -> None:
    if _missing(session, action, ("Agent", "No agent specified")):
        return
    session.respondError(action, "No such agent")


def _mailbox(session: "FakeAMIServerProtocol", action: Message) -> Optional[Tuple[str, Tuple[int, int, int]]]:
    mailbox = _header(action, "Mailbox")
    if not mailbox:
        session.respondError(action, "Mailbox not specified")
        return None
    return mailbox, session.factory.mailboxes.get(mailbox, (0, 0, 0))


def mailboxStatus(session: "FakeAMIServerProtocol", action: Message) -> None:
    found = _mailbox(session, action)
    if found is not None:
        mailbox, (urgent, new, old) = found
        session.respond(action, [("Message", "Mailbox Status"), ("Mailbox", mailbox),
                                 ("Waiting", "1" if urgent or new else "0")])


def mailboxCount(session: "FakeAMIServerProtocol", action: Message) -> None:
    found = _mailbox(session, action)
    if found is not None:
        mailbox, (urgent, new, old) = found
        session.respond(action, [("Message", "Mailbox Message Count"), ("Mailbox", mailbox),
                                 ("UrgMessages", str(urgent)), ("NewMessages", str(new)),
                                 ("OldMessages", str(old))])


def _hintState(session: "FakeAMIServerProtocol", hint: str) -> int:
    states = [_EXTENSION_STATE.get(session.factory.deviceState(device), 4)
              for device in hint.split("&") if device]
    if not states:
        return 4
    return 1 if 1 in states else max(states)


def extensionState(session: "FakeAMIServerProtocol", action: Message) -> None:
    exten = _header(action, "Exten")
    if not exten:
        session.respondError(action, "Extension not specified")
        return
    context = _header(action, "Context") or "default"
    hint = session.factory.hints.get((exten, context))
    status = -1 if hint is None else _hintState(session, hint)
    session.respond(action, [
        ("Message", "Extension Status"), ("Exten", exten), ("Context", context),
        ("Hint", hint or ""), ("Status", str(status)),
        ("StatusText", EXTENSION_STATES.get(status, "Unknown"))])


def extensionStateList(session: "FakeAMIServerProtocol", action: Message) -> None:
    hints = session.factory.hints
    if not hints:
        session.respondError(action, "No dialplan hints are available")
        return
    items = []
    for (exten, context), hint in hints.items():
        status = _hintState(session, hint)
        items.append([("Event", "ExtensionStatus"), ("Exten", exten), ("Context", context),
                      ("Hint", hint), ("Status", str(status)),
                      ("StatusText", EXTENSION_STATES.get(status, "Unknown"))])
    session.sendList(action, items, "ExtensionStateListComplete",
                     "Extension Statuses will follow")


def deviceStateList(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    devices = dict.fromkeys(list(factory.deviceStates) + [deviceOf(n) for n in factory.channels])
    items = [[("Event", "DeviceStateChange"), ("Device", device),
              ("State", factory.deviceState(device))] for device in devices]
    session.sendList(action, items, "DeviceStateListComplete", "Device State Changes will follow")


# -- session -----------------------------------------------------------------


def filterAction(session: "FakeAMIServerProtocol", action: Message) -> None:
    """``Filter``: add an event filter to the session, as Asterisk 22 reads
    it (the rules: :mod:`starpy.testing._amifilter`)."""
    if _header(action, "Operation").lower() != "add":
        session.respondError(action, "Unknown operation")
        return
    criteria = _header(action, "MatchCriteria")
    try:
        added = parseFilter("eventfilter(%s)" % (criteria,) if criteria else "eventfilter",
                            _header(action, "Filter"))
    except FilterError as e:
        session.respondError(action, e.message)
        return
    session.filters.add(added)
    session.respond(action, [("Message", "Success")])


def waitEvent(session: "FakeAMIServerProtocol", action: Message) -> "defer.Deferred[None]":
    timeout = scanInt(_header(action, "Timeout"))
    if timeout is None or timeout < -1:
        timeout = -1
    done: defer.Deferred[None] = defer.Deferred()
    held: List[Pairs] = []

    def complete() -> None:
        if done.called:
            return
        session.eventWaiter = None
        session.respond(action, [("Message", "Waiting for Event completed.")])
        for event in held:
            session.write(event)
        closing: Pairs = [("Event", "WaitEventComplete")]
        if action.get("actionid"):
            closing.append(("ActionID", action["actionid"]))
        session.write(closing)
        done.callback(None)

    def onEvent(event: Pairs) -> None:
        held.append(event)
        complete()

    if timeout == 0:
        complete()
        return done
    session.eventWaiter = onEvent
    if timeout > 0:
        session.callLater(timeout, complete)
    return done


# -- configuration files -----------------------------------------------------


def getConfig(session: "FakeAMIServerProtocol", action: Message) -> None:
    filename = _header(action, "Filename")
    if not filename:
        session.respondError(action, "Filename not specified")
        return
    config = session.factory.configs.get(filename)
    if config is None:
        session.respondError(action, "Config file not found")
        return
    category, filterText = _header(action, "Category"), _header(action, "Filter")
    wanted = dict(part.split("=", 1) for part in filterText.split(",") if "=" in part)
    pairs: Pairs = []
    count = 0
    for name, lines in config:
        if category and name != category:
            continue
        if wanted and not all(any(k == key and v == value for k, v in lines)
                              for key, value in wanted.items()):
            continue
        pairs.append(("Category-%06d" % count, name))
        pairs += [("Line-%06d-%06d" % (count, number), "%s=%s" % line)
                  for number, line in enumerate(lines)]
        count += 1
    if category and not count:
        # Asterisk ends this response with a line that has no colon.
        _respondRaw(session, action, "Success", b"No categories found\r\n")
        return
    session.respond(action, pairs)


def _configError(kind: str) -> str:
    return {"unknown": "Unknown action command",
            "category": "Given category does not exist",
            "nocategory": "Category not specified",
            "argument": "Problem with category, value, or line (if required)"}[kind]


def updateConfig(session: "FakeAMIServerProtocol", action: Message) -> None:
    source, destination = _header(action, "SrcFilename"), _header(action, "DstFilename")
    if not source or not destination:
        session.respondError(action, "Filename not specified")
        return
    configs = session.factory.configs
    if source not in configs:
        session.respondError(action, "Config file not found")
        return
    config = [(name, list(lines)) for name, lines in configs[source]]
    for index in range(100000):
        verb = _header(action, "Action-%06d" % index)
        if not verb:
            break
        category = _header(action, "Cat-%06d" % index)
        variable = _header(action, "Var-%06d" % index)
        value = _header(action, "Value-%06d" % index)
        match = _header(action, "Match-%06d" % index)
        if not category:
            session.respondError(action, _configError("nocategory"))
            return
        verb = verb.lower()
        found = [entry for entry in config if entry[0] == category]
        if verb == "newcat":
            config.append((category, []))
            continue
        if verb not in ("renamecat", "delcat", "emptycat", "update", "delete", "append"):
            session.respondError(action, _configError("unknown"))
            return
        if not found:
            session.respondError(action, _configError("category"))
            return
        if verb == "renamecat":
            if not value:
                session.respondError(action, _configError("argument"))
                return
            config = [(value if entry is found[0] else entry[0], entry[1]) for entry in config]
        elif verb == "delcat":
            config.remove(found[0])
        elif verb == "emptycat":
            del found[0][1][:]
        elif not variable:
            session.respondError(action, _configError("argument"))
            return
        elif verb == "append":
            found[0][1].append((variable, value))
        else:
            lines = found[0][1]
            hits = [i for i, (k, v) in enumerate(lines)
                    if k == variable and (not match or v == match)]
            if verb == "update":
                for i in hits:
                    lines[i] = (variable, value)
                if not hits:
                    lines.append((variable, value))
            else:
                for i in reversed(hits):
                    del lines[i]
    configs[destination] = config
    session.respond(action)


DEFAULT_ACTIONS: Dict[str, Handler] = {
    "absolutetimeout": absoluteTimeout,
    "agentlogoff": agentLogoff,
    "agents": agents,
    "atxfer": atxfer,
    "blindtransfer": blindTransfer,
    "bridge": bridge,
    "devicestatelist": deviceStateList,
    "extensionstate": extensionState,
    "extensionstatelist": extensionStateList,
    "filter": filterAction,
    "getconfig": getConfig,
    "mailboxcount": mailboxCount,
    "mailboxstatus": mailboxStatus,
    "mixmonitor": mixMonitor,
    "park": park,
    "parkedcalls": parkedCalls,
    "playdtmf": playDTMF,
    "queueadd": queueAdd,
    "queuelog": queueLog,
    "queuepause": queuePause,
    "queuepenalty": queuePenalty,
    "queueremove": queueRemove,
    "queuestatus": queueStatus,
    "redirect": redirect,
    "sendtext": sendText,
    "stopmixmonitor": stopMixMonitor,
    "updateconfig": updateConfig,
    "waitevent": waitEvent,
}
"""Lower-case action name -> default handler ``(session, action)``."""
