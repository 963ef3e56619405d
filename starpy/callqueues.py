"""Queues and parked calls as the AMI events describe them.

Kept by a :class:`ChannelTracker <starpy.channel.ChannelTracker>` as ``tracker.queues``
(:class:`Queue` by name) and ``tracker.parked`` (:class:`ParkedCall` by
``(lot, space)``), from the events of ``app_queue`` and ``res_parking``:

* ``QueueCallerJoin`` / ``QueueCallerLeave`` / ``QueueCallerAbandon``: the
  waiting callers, their position and since when they wait; the abandoned
  count.  A caller whose channel hangs up is no longer waiting even if the
  ``QueueCallerLeave`` is missed.
* ``AgentConnect``: the answered count; ``AgentComplete``: the completed
  count.
* ``QueueMemberStatus`` / ``QueueMemberAdded`` / ``QueueMemberRemoved`` /
  ``QueueMemberPause``: the members and their device status (Asterisk's
  device state number: 1 not in use, 2 in use... a ringing Local member
  reads 2, not 6).
* ``ParkedCall`` parks; ``UnParkedCall``, ``ParkedCallTimeOut``,
  ``ParkedCallGiveUp`` (or the parkee hanging up) end the parking.

``ParkingTimeout`` is whole seconds (a ``Park`` action's ``Timeout`` is
sent in milliseconds but Asterisk keeps seconds); :attr:`ParkedCall.timeoutAt`
is the clock time it runs out.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from starpy.callrecords import number
from starpy.codec.ami import Message

__all__ = ["DEVICE_STATES", "QueueCaller", "QueueMember", "Queue", "ParkedCall",
           "QueuesAndParking"]

#: Asterisk's device state numbers (``QueueMemberStatus`` ``Status``).
DEVICE_STATES: Dict[int, str] = {
    0: "unknown", 1: "not in use", 2: "in use", 3: "busy", 4: "invalid",
    5: "unavailable", 6: "ringing", 7: "ring in use", 8: "on hold",
}


def _int(value: Optional[str], default: int = 0) -> int:
    parsed = number(value)
    return default if parsed is None else parsed


class QueueCaller:
    """A caller waiting in a queue.

    :ivar uniqueid: / :ivar name: its channel.
    :ivar position: its position (1 is next).
    :ivar since: the clock time it joined.
    """

    def __init__(self, uniqueid: str, name: str, position: int, since: float) -> None:
        self.uniqueid = uniqueid
        self.name = name
        self.position = position
        self.since = since

    def __repr__(self) -> str:
        return "<QueueCaller %d %s since %.3f>" % (self.position, self.name, self.since)


class QueueMember:
    """A queue member (agent) as ``QueueMember*`` events describe it.

    :ivar interface: / :ivar name: as configured.
    :ivar status: the device state number; :attr:`statusName` its name.
    :ivar paused: / :ivar callsTaken: / :ivar inCall: / :ivar lastCall:
        (epoch seconds) as Asterisk reports them.
    """

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.name = ""
        self.status = 0
        self.paused = False
        self.callsTaken = 0
        self.inCall = False
        self.lastCall = 0

    @property
    def statusName(self) -> str:
        """``'not in use'``, ``'in use'``... (see :data:`DEVICE_STATES`)."""
        return DEVICE_STATES.get(self.status, str(self.status))

    def __repr__(self) -> str:
        return "<QueueMember %s %s>" % (self.interface, self.statusName)

    def _update(self, event: Message) -> None:
        self.name = event.get("membername", self.name)
        if "status" in event:
            self.status = _int(event.get("status"))
        if "paused" in event:
            self.paused = event["paused"] == "1"
        if "callstaken" in event:
            self.callsTaken = _int(event.get("callstaken"))
        if "incall" in event:
            self.inCall = event["incall"] == "1"
        if "lastcall" in event:
            self.lastCall = _int(event.get("lastcall"))


class Queue:
    """One queue.

    :ivar name: its name.
    :ivar callers: waiting :class:`QueueCaller` objects by ``Uniqueid``
        (:meth:`waiting` lists them by position).
    :ivar members: :class:`QueueMember` objects by interface.
    :ivar answered: / :ivar abandoned: / :ivar completed: calls counted
        since the tracker started (``AgentConnect``, ``QueueCallerAbandon``,
        ``AgentComplete``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.callers: Dict[str, QueueCaller] = {}
        self.members: Dict[str, QueueMember] = {}
        self.answered = 0
        self.abandoned = 0
        self.completed = 0

    def waiting(self) -> List[QueueCaller]:
        """The waiting callers, next first."""
        return sorted(self.callers.values(), key=lambda c: (c.position, c.since))

    def __repr__(self) -> str:
        return "<Queue %s: %d waiting, %d members>" % (self.name, len(self.callers),
                                                      len(self.members))

    def _remove(self, uniqueid: str) -> None:
        caller = self.callers.pop(uniqueid, None)
        if caller is None:
            return
        for other in self.callers.values():
            if other.position > caller.position:
                other.position -= 1


class ParkedCall:
    """A call waiting in a parking space.

    :ivar uniqueid: / :ivar name: the parked channel.
    :ivar lot: / :ivar space: where (``'default'``, ``'701'``).
    :ivar since: the clock time it was parked (less the ``ParkingDuration``
        Asterisk reported).
    :ivar timeout: the ``ParkingTimeout`` reported (seconds).
    :ivar timeoutAt: the clock time it runs out (``None`` with no timeout).
    :ivar parkerDialString: who parked it (to call back on timeout).
    """

    def __init__(self, event: Message, now: float) -> None:
        self.uniqueid = event.get("parkeeuniqueid", "")
        self.name = event.get("parkeechannel", "")
        self.lot = event.get("parkinglot", "")
        self.space = event.get("parkingspace", "")
        self.timeout = _int(event.get("parkingtimeout"))
        self.since = now - _int(event.get("parkingduration"))
        self.timeoutAt: Optional[float] = now + self.timeout if self.timeout > 0 else None
        self.parkerDialString = event.get("parkerdialstring", "")

    def __repr__(self) -> str:
        return "<ParkedCall %s@%s %s>" % (self.space, self.lot, self.name)


class QueuesAndParking:
    """Feeds :attr:`queues` and :attr:`parked` from events.

    :param clock: gives the time (``seconds()``).
    :param maxEntries: the most queues, members of one queue, and parked
        calls followed (a misbehaving peer cannot make them grow without
        bound; more are ignored).
    """

    def __init__(self, clock: Any, maxEntries: int = 10000) -> None:
        self.clock = clock
        self.maxEntries = maxEntries
        self.queues: Dict[str, Queue] = {}
        self.parked: Dict[Tuple[str, str], ParkedCall] = {}
        # Where each channel waits, so that its hangup costs no scan.
        self._queuesOf: Dict[str, Set[str]] = {}
        self._parkedAt: Dict[str, Tuple[str, str]] = {}

    def _queue(self, event: Message) -> Optional[Queue]:
        name = event.get("queue")
        if not name:
            return None
        queue = self.queues.get(name)
        if queue is None and len(self.queues) < self.maxEntries:
            queue = self.queues[name] = Queue(name)
        return queue

    def eventReceived(self, name: str, event: Message) -> None:
        """Update from one event (any; those that say nothing are ignored)."""
        if name.startswith("queue") or name.startswith("agent"):
            self._queueEvent(name, event)
        elif name.startswith("parkedcall") or name == "unparkedcall":
            self._parkEvent(name, event)

    def channelGone(self, uniqueid: str) -> None:
        """The channel hung up: it waits in no queue, is parked nowhere."""
        for name in self._queuesOf.pop(uniqueid, ()):
            queue = self.queues.get(name)
            if queue is not None:
                queue._remove(uniqueid)
        key = self._parkedAt.pop(uniqueid, None)
        parked = self.parked.get(key) if key is not None else None
        if key is not None and parked is not None and parked.uniqueid == uniqueid:
            del self.parked[key]

    def _leaveQueue(self, queue: Queue, uniqueid: str) -> None:
        queue._remove(uniqueid)
        names = self._queuesOf.get(uniqueid)
        if names is not None:
            names.discard(queue.name)
            if not names:
                del self._queuesOf[uniqueid]

    def clear(self) -> None:
        """Forget everything."""
        self.queues.clear()
        self.parked.clear()
        self._queuesOf.clear()
        self._parkedAt.clear()

    def _queueEvent(self, name: str, event: Message) -> None:
        queue = self._queue(event)
        if queue is None:
            return
        uniqueid = event.get("uniqueid", "")
        if name == "queuecallerjoin" and uniqueid:
            queue.callers[uniqueid] = QueueCaller(uniqueid, event.get("channel", ""),
                                                  _int(event.get("position"), 1),
                                                  self.clock.seconds())
            self._queuesOf.setdefault(uniqueid, set()).add(queue.name)
        elif name == "queuecallerleave":
            self._leaveQueue(queue, uniqueid)
        elif name == "queuecallerabandon":
            queue.abandoned += 1
            self._leaveQueue(queue, uniqueid)
        elif name == "agentconnect":
            queue.answered += 1
            self._leaveQueue(queue, uniqueid)
        elif name == "agentcomplete":
            queue.completed += 1
        elif name in ("queuememberstatus", "queuememberadded", "queuememberpause",
                      "queuememberpaused", "queuememberringinuse", "queuememberpenalty"):
            interface = event.get("interface")
            if interface:
                member = queue.members.get(interface)
                if member is None and len(queue.members) < self.maxEntries:
                    member = queue.members[interface] = QueueMember(interface)
                if member is not None:
                    member._update(event)
        elif name == "queuememberremoved":
            queue.members.pop(event.get("interface", ""), None)

    def _parkEvent(self, name: str, event: Message) -> None:
        key = (event.get("parkinglot", ""), event.get("parkingspace", ""))
        uniqueid = event.get("parkeeuniqueid", "")
        if name == "parkedcall":
            if key in self.parked or len(self.parked) < self.maxEntries:
                previous = self.parked.get(key)
                if previous is not None:
                    self._parkedAt.pop(previous.uniqueid, None)
                self.parked[key] = ParkedCall(event, self.clock.seconds())
                if uniqueid:
                    self._parkedAt[uniqueid] = key
        elif name in ("unparkedcall", "parkedcalltimeout", "parkedcallgiveup"):
            current = self.parked.get(key)
            if current is not None and current.uniqueid == uniqueid:
                del self.parked[key]
                self._parkedAt.pop(uniqueid, None)
