"""Calls you can follow: the call model behind :class:`ChannelTracker <starpy.channel.ChannelTracker>`.

A :class:`Call` is what a user of a phone system calls "a call": every
channel created for it, through dialling, transfers, queues and parking,
with its bridges, when it started, was answered and ended, and a history of
:class:`CallRecord` objects (``kind``, time on the tracker's clock,
details).

**What a call is.** Asterisk gives every channel a ``Linkedid``: the
``Uniqueid`` of the channel that started the call.  Channels that a call
creates (both halves of Local channels, dialled parties, transfer targets,
queue members, parking call-backs) inherit it, so one ``Linkedid`` is one
call in every captured flow (blind and attended transfers, three-way, Local
channel optimization, queues, parking).  A channel started on its own keeps
its own ``Linkedid`` until it is bridged into another call, when Asterisk
gives it that call's (the parking retriever does this).  The tracker
follows that: when a channel moves from ``Linkedid`` A to B, the call of A
is **joined** into the call of B (a ``joined`` record), channels still
carrying A (such as the other half of the retriever's Local channel) count
as B's, and a ``Linkedid`` lookup for A finds B's call while it lives.
Calls never split.  Channels that merely share a holding bridge (parked
calls) are not joined: Asterisk does not join them either.

A call ends when its last channel has hung up: :attr:`Call.ended` is set,
:meth:`Call.whenEnded` Deferreds fire, and it leaves ``tracker.calls``
(the last *keepEnded* ended calls stay findable with
:meth:`CallModel.find`).

The model only trusts the ``Uniqueid`` of each event's channels, never the
arrival order, since Asterisk's events are not causally ordered
(``OriginateResponse`` before the channel's first event, ``ParkedCall``
before the parkee leaves its bridge, ``BridgeMerge`` before or after the
channels' own ``BridgeLeave``/``BridgeEnter``...).
"""
from __future__ import annotations

import collections
import logging
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Set,
    Tuple,
    Union,
)

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy._idioms import Waiters, notifyListener
from starpy.callrecords import Party, eventParty, fromEvent, number
from starpy.codec.ami import Message
from starpy.originate import outcomeName
from starpy.talking import Connections

if TYPE_CHECKING:  # pragma: no cover
    from starpy.channel import Bridge, Channel, ChannelTracker

__all__ = [
    "Party",
    "CallRecord",
    "Call",
    "CallModel",
    "RECORD_KINDS",
    "log",
]

log = logging.getLogger("starpy.calls")

#: Every ``kind`` a :class:`CallRecord` can have.
RECORD_KINDS: FrozenSet[str] = frozenset((
    "start", "joined", "dial", "dial_end", "answer", "bridge_enter", "bridge_leave",
    "hold", "unhold", "music_start", "music_stop", "dtmf",
    "blind_transfer", "attended_transfer", "bridge_merge", "local_optimization",
    "queue_join", "queue_leave", "queue_abandon", "agent_called", "agent_ring_no_answer",
    "agent_connect", "agent_complete",
    "parked", "unparked", "park_timeout", "park_give_up",
    "originate", "hangup", "end",
))

CallHandler = Callable[["Call", "CallRecord"], Any]
"""``handler(call, record)`` of :meth:`CallModel.subscribe`."""


class CallRecord:
    """One thing that happened in a call.

    :ivar kind: one of :data:`RECORD_KINDS` (``'blind_transfer'``...).
    :ivar time: when it was seen, in seconds on the tracker's clock.
    :ivar details: what happened, by name (channels as :class:`Party`,
        bridges as their ``BridgeUniqueid``, times in seconds).
    :ivar seq: the tracker-wide sequence number (orders records of joined
        calls).
    """

    __slots__ = ("kind", "time", "details", "seq")

    def __init__(self, kind: str, time: float, details: Dict[str, Any], seq: int) -> None:
        self.kind = kind
        self.time = time
        self.details = details
        self.seq = seq

    def __getitem__(self, key: str) -> Any:
        return self.details[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``details.get(key, default)``."""
        return self.details.get(key, default)

    def __repr__(self) -> str:
        return "<CallRecord %s at %.3f %r>" % (self.kind, self.time, self.details)


class CallSubscription:
    """One :meth:`CallModel.subscribe` registration; :meth:`cancel` removes it."""

    def __init__(self, model: "CallModel", kinds: Optional[FrozenSet[str]],
                 handler: CallHandler) -> None:
        self.model: Optional[CallModel] = model
        self.kinds = kinds
        self.handler = handler

    def cancel(self) -> None:
        """Stop calling the handler (idempotent)."""
        model, self.model = self.model, None
        if model is not None and self in model._subscriptions:
            model._subscriptions.remove(self)


class Call:
    """One call: the channels that share (or joined) one ``Linkedid``.

    :ivar linkedid: the call's ``Linkedid`` (that of the channel that
        started it; after a join, the surviving call's).
    :ivar linkedids: every ``Linkedid`` joined into this call.
    :ivar channels: its live channels by ``Uniqueid``.
    :ivar started: / :ivar answered: / :ivar ended: clock times (seconds),
        ``None`` until known.  *answered* is when a first channel of the
        call was up (``Newstate Up``, or a channel first seen up).
    :ivar history: the :class:`CallRecord` list, oldest first (at most the
        tracker's *maxHistory* records; :attr:`dropped` counts those let go).
    :ivar joinedInto: the call this one was joined into, or ``None``.
    :ivar onHold: the channels hearing music on hold now (held by another
        party, waiting in a queue, parked), by ``Uniqueid``, with the clock
        time the music started.
    """

    def __init__(self, linkedid: str, started: float = 0.0) -> None:
        self.linkedid = linkedid
        self.linkedids: Set[str] = {linkedid}
        self.channels: Dict[str, Channel] = {}
        self.uniqueids: Set[str] = set()
        self.started = started
        self.answered: Optional[float] = None
        self.ended: Optional[float] = None
        self.history: List[CallRecord] = []
        self.dropped = 0
        self.joinedInto: Optional[Call] = None
        self.onHold: Dict[str, float] = {}
        self._endWaiters: Waiters[Call] = Waiters()

    def __repr__(self) -> str:
        return "<Call %s: %s%s>" % (self.linkedid, sorted(c.name for c in self.channels.values()),
                                    " ended" if self.ended is not None else "")

    @property
    def bridges(self) -> Dict[str, "Bridge"]:
        """The bridges its live channels are in, by ``BridgeUniqueid``."""
        found: Dict[str, Bridge] = {}
        for channel in self.channels.values():
            if channel.bridge is not None:
                found[channel.bridge.uniqueid] = channel.bridge
        return found

    def records(self, *kinds: str) -> List[CallRecord]:
        """The history records of these kinds (all without arguments)."""
        if not kinds:
            return list(self.history)
        return [r for r in self.history if r.kind in kinds]

    def whenEnded(self) -> Deferred["Call"]:
        """A new Deferred firing with this call once every channel of it has
        hung up (at once if it has ended).  If the call is joined into
        another, it fires when that one ends, with that one.  Fails with
        :class:`TrackerStopped <starpy.channel.TrackerStopped>` if the tracker stops first.
        Cancel it to stop waiting."""
        call = self
        while call.joinedInto is not None:
            call = call.joinedInto
        if call.ended is not None:
            return defer.succeed(call)
        return call._endWaiters.wait()


def _party(channel: "Channel") -> Party:
    return Party(channel.name, channel.uniqueid)


class CallModel:
    """The calls of a :class:`ChannelTracker <starpy.channel.ChannelTracker>`.

    The tracker feeds it; users read :attr:`calls` (the tracker's
    ``calls``) and use :meth:`subscribe`, :meth:`find` and
    :meth:`talkingTo` (also offered by the tracker).

    :param clock: what gives the time (``seconds()``).
    :param maxHistory: the most records a call keeps (oldest dropped).
    :param keepEnded: how many ended calls :meth:`find` still knows.
    """

    def __init__(self, tracker: "ChannelTracker", clock: Any, maxHistory: int = 1000,
                 keepEnded: int = 100) -> None:
        if maxHistory < 1:
            raise ValueError("maxHistory must be at least 1, not %r" % (maxHistory,))
        if keepEnded < 0:
            raise ValueError("keepEnded must not be negative, not %r" % (keepEnded,))
        self.tracker = tracker
        self.clock = clock
        self.maxHistory = maxHistory
        self.keepEnded = keepEnded
        self.calls: Dict[str, Call] = {}
        self.ended: "collections.OrderedDict[str, Call]" = collections.OrderedDict()
        self._aliases: Dict[str, Call] = {}
        self._byUniqueid: Dict[str, Call] = {}
        self._subscriptions: List[CallSubscription] = []
        self._seq = 0
        self.connections = Connections(tracker)
        # Events about channels not seen yet (OriginateResponse racing ahead).
        self._early: "collections.OrderedDict[str, List[Tuple[str, Dict[str, Any], float]]]" = (
            collections.OrderedDict())
        # How long originates took, for OriginateResponse events not seen yet.
        self._originateSeconds: "collections.OrderedDict[str, float]" = collections.OrderedDict()
        self._handlers: Dict[str, Callable[[Message], None]] = {
            "bridgemerge": self._onBridgeMerge,
            "localbridge": self.connections.localBridge,
            "localoptimizationbegin": self.connections.optimizationBegin,
            "localoptimizationend": self._onOptimizationEnd,
            "originateresponse": self._onOriginateResponse,
        }

    # -- queries ---------------------------------------------------------------------

    def find(self, key: str) -> Optional[Call]:
        """The call known by *key*: a ``Linkedid`` (also one joined into
        another call) or the ``Uniqueid`` of one of its channels (also one
        that hung up); live calls first, then the last ended ones.
        ``None`` if unknown."""
        call = self.calls.get(key) or self._aliases.get(key) or self._byUniqueid.get(key)
        if call is not None:
            return call
        for ended in reversed(self.ended.values()):
            if key in ended.linkedids or key in ended.uniqueids:
                return ended
        return None

    def callOf(self, channel: "Channel") -> Optional[Call]:
        """The live call *channel* belongs to."""
        return self._byUniqueid.get(channel.uniqueid)

    def talkingTo(self, channel: "Channel") -> List["Channel"]:
        """Who *channel* talks to now: see :meth:`starpy.talking.Connections.talkingTo`."""
        return self.connections.talkingTo(channel)

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, kinds: Union[str, Iterable[str], None],
                  handler: CallHandler) -> CallSubscription:
        """Call ``handler(call, record)`` for every new record of these
        *kinds* (one kind, several, or ``None`` for all), in any call.

        A handler that raises (or returns a Deferred that fails) is logged
        with its traceback on the ``starpy.calls`` logger at ERROR; the
        other handlers still run.

        :raises ValueError: an unknown kind (see :data:`RECORD_KINDS`).
        :return: a handle whose ``cancel()`` ends the subscription.
        """
        wanted: Optional[FrozenSet[str]]
        if kinds is None:
            wanted = None
        else:
            wanted = frozenset((kinds,) if isinstance(kinds, str) else kinds)
            unknown = wanted - RECORD_KINDS
            if unknown:
                raise ValueError("unknown call record kinds %s (known: %s)"
                                 % (sorted(unknown), ", ".join(sorted(RECORD_KINDS))))
        subscription = CallSubscription(self, wanted, handler)
        self._subscriptions.append(subscription)
        return subscription

    # -- what the tracker tells ----------------------------------------------------------

    def channelAdded(self, channel: "Channel") -> None:
        """A new live channel (``Newchannel`` or a rebuild)."""
        call = self._callFor(channel.linkedid)
        self._attach(call, channel)
        early = self._early.pop(channel.uniqueid, None)
        for kind, details, when in early or ():
            self._record([call], kind, details, when)

    def linkedidChanged(self, channel: "Channel", old: str) -> None:
        """*channel* now carries :attr:`linkedid <starpy.channel.Channel.linkedid>`
        instead of *old*: join its call into the new ``Linkedid``'s."""
        current = self._byUniqueid.get(channel.uniqueid)
        target = self._aliases.get(channel.linkedid) or self.calls.get(channel.linkedid)
        if current is None:
            self._attach(self._callFor(channel.linkedid), channel)
            return
        if target is None:
            # The new Linkedid has no call yet: the channel's call takes it as an alias.
            current.linkedids.add(channel.linkedid)
            self._aliases[channel.linkedid] = current
            return
        if target is not current:
            self._join(current, target)

    def answered(self, channel: "Channel") -> None:
        """*channel* is up (it was not)."""
        call = self._byUniqueid.get(channel.uniqueid)
        if call is None:
            return
        now = self.clock.seconds()
        if call.answered is None:
            call.answered = now
        self._record([call], "answer", {"channel": _party(channel)}, now)

    def channelGone(self, channel: "Channel", event: Optional[Message]) -> None:
        """*channel* hung up (*event*: its ``Hangup``; ``None`` when a
        rebuild found it gone)."""
        call = self._byUniqueid.pop(channel.uniqueid, None)
        self.connections.channelGone(channel.uniqueid)
        if call is None:
            return
        call.channels.pop(channel.uniqueid, None)
        call.onHold.pop(channel.uniqueid, None)
        self._record([call], "hangup", {
            "channel": _party(channel), "cause": channel.hangupCause,
            "causeText": channel.hangupCauseText, "seen": event is not None})
        if not call.channels:
            self._end(call)

    def noteOriginate(self, uniqueid: str, seconds: float) -> None:
        """An originate of channel *uniqueid* took *seconds*: its
        ``originate`` record says so (now, or when its event comes)."""
        call = self.find(uniqueid)
        for record in call.history if call is not None else ():
            if record.kind == "originate" and record.get("uniqueid") == uniqueid:
                record.details["seconds"] = seconds
                return
        self._originateSeconds[uniqueid] = seconds
        while len(self._originateSeconds) > 1000:
            self._originateSeconds.popitem(last=False)

    def stopped(self, reason: Failure) -> None:
        """The tracker stopped: fail every waiter, forget everything."""
        calls = list(self.calls.values())
        self.calls.clear()
        self.ended.clear()
        self._aliases.clear()
        self._byUniqueid.clear()
        self.connections.clear()
        self._early.clear()
        self._originateSeconds.clear()
        self._subscriptions = []
        for call in calls:
            call._endWaiters.fail(reason)

    def eventReceived(self, name: str, event: Message) -> None:
        """Make the records of one event (after the tracker updated its
        channels and bridges from it)."""
        translated = fromEvent(name, event)
        if translated is not None:
            kind, prefixes, details = translated
            calls = self._callsOf(event, prefixes)
            if kind in ("music_start", "music_stop"):
                self._music(calls, kind, event.get("uniqueid", ""))
            self._record(calls, kind, details)
            return
        handler = self._handlers.get(name)
        if handler is not None:
            handler(event)

    # -- calls -----------------------------------------------------------------------------

    def _callFor(self, linkedid: str) -> Call:
        call = self.calls.get(linkedid) or self._aliases.get(linkedid)
        if call is None:
            now = self.clock.seconds()
            call = self.calls[linkedid] = Call(linkedid, now)
            self._record([call], "start", {"linkedid": linkedid}, now)
        return call

    def _attach(self, call: Call, channel: "Channel") -> None:
        previous = self._byUniqueid.get(channel.uniqueid)
        if previous is call:
            return
        if previous is not None:
            previous.channels.pop(channel.uniqueid, None)
        call.channels[channel.uniqueid] = channel
        call.uniqueids.add(channel.uniqueid)
        self._byUniqueid[channel.uniqueid] = call
        if channel.state == 6 and call.answered is None:
            call.answered = self.clock.seconds()

    def _join(self, absorbed: Call, survivor: Call) -> None:
        """Join call *absorbed* into *survivor*."""
        survivor.onHold.update(absorbed.onHold)
        absorbed.onHold = {}
        for uniqueid, channel in absorbed.channels.items():
            survivor.channels[uniqueid] = channel
            self._byUniqueid[uniqueid] = survivor
        survivor.uniqueids |= absorbed.uniqueids
        absorbed.channels = {}
        survivor.linkedids |= absorbed.linkedids
        for linkedid in absorbed.linkedids:
            self.calls.pop(linkedid, None)
            self._aliases[linkedid] = survivor
        survivor.started = min(survivor.started, absorbed.started)
        if absorbed.answered is not None:
            survivor.answered = (absorbed.answered if survivor.answered is None
                                 else min(survivor.answered, absorbed.answered))
        merged = survivor.history + absorbed.history
        merged.sort(key=lambda r: r.seq)
        survivor.history = merged
        survivor.dropped += absorbed.dropped
        self._trim(survivor)
        absorbed.joinedInto = survivor
        if len(absorbed._endWaiters):
            # Those waiting for the absorbed call wait for the survivor.
            waiting = absorbed._endWaiters
            survivor._endWaiters.wait().addCallbacks(waiting.fire, waiting.fail)
        self._record([survivor], "joined", {"linkedid": absorbed.linkedid,
                                            "into": survivor.linkedid})

    def _music(self, calls: List[Call], kind: str, uniqueid: str) -> None:
        for call in calls:
            if uniqueid not in call.channels:
                continue
            if kind == "music_start":
                call.onHold.setdefault(uniqueid, self.clock.seconds())
            else:
                call.onHold.pop(uniqueid, None)

    def _end(self, call: Call) -> None:
        now = self.clock.seconds()
        call.ended = now
        for linkedid in call.linkedids:
            if self.calls.get(linkedid) is call:
                del self.calls[linkedid]
            if self._aliases.get(linkedid) is call:
                del self._aliases[linkedid]
        if self.keepEnded:
            self.ended[call.linkedid] = call
            self.ended.move_to_end(call.linkedid)
            while len(self.ended) > self.keepEnded:
                self.ended.popitem(last=False)
        self._record([call], "end", {"duration": now - call.started}, now)
        call._endWaiters.fire(call)

    def _trim(self, call: Call) -> None:
        excess = len(call.history) - self.maxHistory
        if excess > 0:
            del call.history[:excess]
            call.dropped += excess

    def _record(self, calls: Iterable[Call], kind: str, details: Dict[str, Any],
                when: Optional[float] = None) -> None:
        if when is None:
            when = self.clock.seconds()
        for call in calls:
            self._seq += 1
            record = CallRecord(kind, when, details, self._seq)
            call.history.append(record)
            self._trim(call)
            self._notify(call, record)

    def _notify(self, call: Call, record: CallRecord) -> None:
        for subscription in list(self._subscriptions):
            if subscription.model is None:
                continue
            if subscription.kinds is not None and record.kind not in subscription.kinds:
                continue
            notifyListener(log, "call %s record handler" % (record.kind,), subscription.handler,
                           call, record)

    def _callsOf(self, event: Message, prefixes: Iterable[str]) -> List[Call]:
        """The distinct live calls of the channels the event names."""
        found: List[Call] = []
        for prefix in prefixes:
            uniqueid = event.get(prefix + "uniqueid")
            call = self._byUniqueid.get(uniqueid) if uniqueid else None
            if call is None:
                linkedid = event.get(prefix + "linkedid")
                if linkedid:
                    call = self.calls.get(linkedid) or self._aliases.get(linkedid)
            if call is not None and call not in found:
                found.append(call)
        return found

    # -- event handlers ----------------------------------------------------------------------

    def _onBridgeMerge(self, event: Message) -> None:
        to = event.get("tobridgeuniqueid", "")
        source = event.get("frombridgeuniqueid", "")
        bridge = self.tracker.bridges.get(to)
        members = list(bridge.channels.values()) if bridge is not None else []
        calls: List[Call] = []
        for channel in members:
            call = self._byUniqueid.get(channel.uniqueid)
            if call is not None and call not in calls:
                calls.append(call)
        # Which channels moved depends on when their own BridgeLeave and
        # BridgeEnter arrive (before or after this event): the record only
        # names the bridges.
        self._record(calls, "bridge_merge", {"toBridge": to, "fromBridge": source})

    def _onOptimizationEnd(self, event: Message) -> None:
        begun = self.connections.optimizationEnd(event.get("localoneuniqueid", ""))
        reported = event.get("success", "")
        source = begun.get("source") if begun is not None else eventParty(event, "source")
        # Asterisk 22 reports the swap kind (a Source channel moves) inverted:
        # "Success: No" when the swap was done (CALLS.md, flow 3).
        swap = source is not None
        success = reported.lower() == ("no" if swap else "yes")
        self._record(self._callsOf(event, ("localone", "localtwo")), "local_optimization", {
            "localOne": eventParty(event, "localone"), "localTwo": eventParty(event, "localtwo"),
            "source": source, "success": success, "reportedSuccess": reported,
            "id": event.get("id")})

    def _onOriginateResponse(self, event: Message) -> None:
        uniqueid = event.get("uniqueid", "")
        reason = number(event.get("reason"))
        details: Dict[str, Any] = {
            "response": event.get("response", ""), "reason": reason,
            "outcome": outcomeName(reason, event.get("response", "")),
            "channel": event.get("channel", ""), "uniqueid": uniqueid,
            "actionID": event.get("actionid")}
        seconds = self._originateSeconds.pop(uniqueid, None)
        if seconds is not None:
            details["seconds"] = seconds
        call = self._byUniqueid.get(uniqueid)
        if call is not None:
            self._record([call], "originate", details)
            return
        ended = self.find(uniqueid) if uniqueid and uniqueid != "<unknown>" else None
        if ended is not None:
            # The call ended before its OriginateResponse arrived.
            self._record([ended], "originate", details)
            return
        if uniqueid and uniqueid != "<unknown>":
            self._early.setdefault(uniqueid, []).append(
                ("originate", details, self.clock.seconds()))
            while len(self._early) > 1000:
                self._early.popitem(last=False)

