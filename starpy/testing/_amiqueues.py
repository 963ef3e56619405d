"""Default answers of the fake AMI server for queues, agents and parking,
and the state they keep on the factory (:class:`FakeQueue`,
:class:`FakeQueueMember`, :class:`FakeParkedCall`).

Private to :mod:`starpy.testing`; :data:`starpy.testing._amidefaults.DEFAULT_ACTIONS`
lists these handlers with the others.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Tuple

import attrs

from starpy.codec.ami import Message
from starpy.testing._amianswers import (
    Pairs,
    deviceOf,
    header,
    missing,
    prefixed,
    respondRaw,
)
from starpy.testing._cscan import isTrue, scanInt

if TYPE_CHECKING:  # pragma: no cover
    from starpy.testing.ami import FakeAMIServerProtocol, FakeChannel

__all__ = ["DEVICE_STATES", "FakeQueueMember", "FakeQueue", "FakeParkedCall", "defaultQueues",
           "park", "parkedCalls", "queueAdd", "queueRemove", "queuePause", "queuePenalty",
           "queueLog", "queueStatus", "agents", "agentLogoff"]

DEVICE_STATES: Dict[str, int] = {
    "UNKNOWN": 0, "NOT_INUSE": 1, "INUSE": 2, "BUSY": 3, "INVALID": 4,
    "UNAVAILABLE": 5, "RINGING": 6, "RINGINUSE": 7, "ONHOLD": 8,
}
"""Asterisk's device state names and numbers (``QueueMember`` ``Status``)."""


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


# -- parking -----------------------------------------------------------------


def _parkedCallHeaders(session: "FakeAMIServerProtocol", parked: FakeParkedCall,
                       channel: "FakeChannel") -> Pairs:
    duration = max(0, int(session.factory.clock.seconds() - parked.parkedAt))
    return prefixed("Parkee", channel) + [
        ("ParkerDialString", parked.parkerDialString), ("Parkinglot", parked.lot),
        ("ParkingSpace", str(parked.space)),
        ("ParkingTimeout", str(max(0, parked.timeout - duration))),
        ("ParkingDuration", str(duration))]


def park(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    name = header(action, "Channel")
    if not name:
        session.respondError(action, "Channel not specified")
        return
    timeout = factory.parkingTimeout
    text = header(action, "Timeout")
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
            channel, deviceOf(header(action, "TimeoutChannel") or header(action, "Channel2")),
            timeout, header(action, "Parkinglot") or "default")
    except ValueError:  # every space taken
        respondRaw(session, action, "Error", b"Message: Park action failed\n\r\n")
        return
    respondRaw(session, action, "Success", b"Message: Park successful\n\r\n")
    factory.emitEvent([("Event", "ParkedCall"), ("Privilege", "call,all")]
                      + _parkedCallHeaders(session, parked, channel))


def parkedCalls(session: "FakeAMIServerProtocol", action: Message) -> None:
    factory = session.factory
    lot = header(action, "ParkingLot")
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
    name, interface = header(action, "Queue"), header(action, "Interface")
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
        interface, header(action, "MemberName"), header(action, "StateInterface"),
        penalty=scanInt(header(action, "Penalty")) or 0, paused=isTrue(header(action, "Paused")),
        pausedReason=header(action, "Reason"),
        wrapupTime=scanInt(header(action, "Wrapuptime")) or 0)
    queue.members[interface] = member
    session.respond(action, [("Message", "Added interface to queue")])
    _memberEvent(session, "QueueMemberAdded", queue, member)


def queueRemove(session: "FakeAMIServerProtocol", action: Message) -> None:
    name, interface = header(action, "Queue"), header(action, "Interface")
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
    interface, paused = header(action, "Interface"), header(action, "Paused")
    if not interface or not paused:
        session.respondError(action, "Need 'Interface' and 'Paused' parameters.")
        return
    found = _members(session, header(action, "Queue"), interface)
    if not found:
        session.respondError(action, "Interface not found")
        return
    pause = isTrue(paused)
    session.respond(action, [("Message", "Interface paused successfully" if pause
                              else "Interface unpaused successfully")])
    for queue, member in found:
        member.paused, member.pausedReason = pause, header(action, "Reason") if pause else ""
        _memberEvent(session, "QueueMemberPause", queue, member)


def queuePenalty(session: "FakeAMIServerProtocol", action: Message) -> None:
    interface, penalty = header(action, "Interface"), header(action, "Penalty")
    if not interface or not penalty:
        session.respondError(action, "Need 'Interface' and 'Penalty' parameters.")
        return
    value = scanInt(penalty)
    found = _members(session, header(action, "Queue"), interface)
    if value is None or value < 0 or not found:
        session.respondError(action, "Invalid interface, queuename or penalty")
        return
    session.respond(action, [("Message", "Interface penalty set successfully")])
    for queue, member in found:
        member.penalty = value
        _memberEvent(session, "QueueMemberPenalty", queue, member)


def queueLog(session: "FakeAMIServerProtocol", action: Message) -> None:
    if not header(action, "Queue") or not header(action, "Event"):
        session.respondError(action, "Need 'Queue' and 'Event' parameters.")
        return
    session.factory.queueLog.append(
        "%s|%s|%s|%s|%s" % (header(action, "UniqueId") or "NONE", header(action, "Queue"),
                            header(action, "Interface") or "NONE", header(action, "Event"),
                            header(action, "Message")))
    session.respond(action, [("Message", "Event added successfully")])


def queueStatus(session: "FakeAMIServerProtocol", action: Message) -> None:
    wantedQueue, wantedMember = header(action, "Queue"), header(action, "Member")
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


# -- agents --------------------------------------------------------------------


def agents(session: "FakeAMIServerProtocol", action: Message) -> None:
    # The fake has no agents (app_agent_pool with an empty agents.conf).
    session.sendList(action, [], "AgentsComplete", "Agents will follow")


def agentLogoff(session: "FakeAMIServerProtocol", action: Message) -> None:
    if missing(session, action, ("Agent", "No agent specified")):
        return
    session.respondError(action, "No such agent")

