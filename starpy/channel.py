"""Channel tracking: live channel, call and bridge objects fed by AMI events.

The AMI protocol keeps no state (:mod:`starpy.manager`); a
:class:`ChannelTracker` stands beside it, subscribes to its events and keeps
a :class:`Channel` per ``Uniqueid``, a :class:`Call <starpy.calls.Call>` per call
(see :mod:`starpy.calls`: ``Linkedid`` groups that join) and a
:class:`Bridge` per ``BridgeUniqueid``, plus queues and parked calls
(:mod:`starpy.callqueues`)::

    from starpy import channel

    tracker = channel.ChannelTracker(ami)      # an AMIProtocol or an AMIService
    tracker.start()                            # registers the event handlers
    await tracker.rebuild()                    # learn the channels already up

    chan = await tracker.whenChannel(name="PJSIP/100-*")
    await chan.whenState("Up")
    print(chan.callerIDNum, chan.variables.get("DIALSTATUS"))
    await chan.whenHungUp()
    print(chan.hangupCause, chan.hangupCauseText)

    tracker.stop()

What is followed: name (``Rename``), state, caller ID and connected line,
context/extension/priority and application (``Newexten``), variables
(``VarSet``), the hangup cause (``HangupRequest``/``Hangup``), the call a
channel belongs to (``Linkedid``) and the bridges (``BridgeCreate``,
``BridgeEnter``, ``BridgeLeave``, ``BridgeMerge``, ``BridgeDestroy``).  A
``BridgeLeave`` only takes a channel out of the bridge it names, so events
arriving out of order (a ``BridgeEnter`` elsewhere, or a ``BridgeMerge``,
first) leave it where it is.  Channels are created
by ``Newchannel`` (and by :meth:`ChannelTracker.rebuild`); a hung-up channel
is dropped from the tracker (its object stays valid for whoever holds it).

With an :class:`AMIService <starpy.manager.AMIService>`, :meth:`ChannelTracker.start`
also rebuilds after each (re)login, so the tracker is right again after a
reconnection (:mod:`starpy.rebuild`).

The channel and bridge classes live in :mod:`starpy.channelobjects` and
are imported from here as they always were.
"""
from __future__ import annotations

import fnmatch
import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python import runtime
from twisted.python.failure import Failure

from starpy.callqueues import ParkedCall, Queue, QueuesAndParking
from starpy.calls import Call, CallHandler, CallModel, CallSubscription
from starpy.channelobjects import CHANNEL_PREFIXES, STATE_NAMES, Bridge, Channel
from starpy.codec.ami import Message
from starpy.error import ChannelHungUp, TrackerStopped
from starpy.interfaces import IAMISession, clockOf
from starpy.rebuild import RebuildMarks

__all__ = [
    "Channel",
    "Call",
    "Bridge",
    "ChannelTracker",
    "ChannelHungUp",
    "TrackerStopped",
    "STATE_NAMES",
    "log",
]

log = logging.getLogger("starpy.channel")


class _SystemClock:
    """``seconds()`` from the system time, when no clock is given."""

    def seconds(self) -> float:
        return runtime.seconds()


class _ChannelWaiter:
    def __init__(self, match: Callable[[Channel], bool], deferred: Deferred[Channel]) -> None:
        self.match = match
        self.deferred = deferred


class ChannelTracker(Service):
    """Channels, calls and bridges, kept up to date from AMI events.

    A Twisted service: :meth:`startService` (or :meth:`start`) registers on
    the AMI, :meth:`stopService` (or :meth:`stop`) forgets everything;
    ``setServiceParent(application)`` ties it to an application.

    :param ami: an :class:`AMIProtocol <starpy.manager.AMIProtocol>` or
        :class:`AMIService <starpy.manager.AMIService>` to register on (``None``: feed
        events yourself with :meth:`eventReceived`).

    :param clock: what times calls (``seconds()``): default the AMI
        protocol's ``clock``, else the system time.
    :param maxHistory: the most records one call keeps.
    :param keepEnded: how many ended calls :meth:`findCall` still finds.

    :ivar channels: live channels by ``Uniqueid``.
    :ivar calls: live calls (:class:`Call <starpy.calls.Call>`) by ``Linkedid``;
        see :mod:`starpy.calls` for what a call is.
    :ivar bridges: bridges by ``BridgeUniqueid``.
    :ivar callModel: the :class:`CallModel <starpy.calls.CallModel>` keeping the calls.
    :ivar queues: :class:`Queue <starpy.callqueues.Queue>` objects by name: waiting
        callers, members, answered / abandoned counts.
    :ivar parked: :class:`ParkedCall <starpy.callqueues.ParkedCall>` objects by
        ``(lot, space)``.
    :ivar rebuildMarks: what changed while a :meth:`rebuild` runs
        (:class:`RebuildMarks <starpy.rebuild.RebuildMarks>`).

    The methods under "updates" (:meth:`addChannel`, :meth:`updateChannel`,
    :meth:`removeChannel`, :meth:`matchWaiters`, :meth:`bridgeFor`,
    :meth:`enterBridge`, :meth:`leaveBridge`, :meth:`dropBridge`) are how the
    tracker changes itself; :mod:`starpy.rebuild` uses them too.
    Applications feed events with :meth:`eventReceived` instead.
    """

    def __init__(self, ami: Any = None, clock: Any = None, maxHistory: int = 1000,
                 keepEnded: int = 100) -> None:
        self.ami = ami
        if clock is None:
            clock = clockOf(ami) or _SystemClock()
        self.clock = clock
        self.channels: Dict[str, Channel] = {}
        self.callModel = CallModel(self, clock, maxHistory, keepEnded)
        self.calls: Dict[str, Call] = self.callModel.calls
        self.queuesAndParking = QueuesAndParking(clock)
        self.queues: Dict[str, Queue] = self.queuesAndParking.queues
        self.parked: Dict[Tuple[str, str], ParkedCall] = self.queuesAndParking.parked
        self.bridges: Dict[str, Bridge] = {}
        self._byName: Dict[str, str] = {}
        self._waiters: List[_ChannelWaiter] = []
        self._registration: Any = None
        self._removeObserver: Optional[Callable[[], None]] = None
        self.rebuildMarks = RebuildMarks()
        # Channels a BridgeMerge moved, and the bridge they were moved from.
        self._mergedFrom: Dict[str, str] = {}
        # Channels merged into a bridge, that then left the bridge they came
        # from without entering the merged one (yet).
        self._kickable: Dict[str, str] = {}
        self._handlers: Dict[str, Callable[[Message], None]] = {
            "newchannel": self._onNewchannel,
            "hangup": self._onHangup,
            "hanguprequest": self._onHangupRequest,
            "softhanguprequest": self._onHangupRequest,
            "varset": self._onVarSet,
            "newexten": self._onNewexten,
            "rename": self._onRename,
            "bridgecreate": self._onBridgeCreate,
            "bridgeenter": self._onBridgeEnter,
            "bridgeleave": self._onBridgeLeave,
            "bridgedestroy": self._onBridgeDestroy,
            "bridgemerge": self._onBridgeMerge,
            "attendedtransfer": self._onAttendedTransfer,
        }

    def __repr__(self) -> str:
        return "<ChannelTracker %d channels, %d calls, %d bridges>" % (
            len(self.channels), len(self.calls), len(self.bridges))

    # -- start and stop ----------------------------------------------------------

    def startService(self) -> None:
        """Register on the AMI protocol or service (idempotent).  With an
        :class:`AMIService <starpy.manager.AMIService>`, :meth:`rebuild` also runs after
        every (re)login."""
        Service.startService(self)
        if self._registration is not None or self.ami is None:
            return
        self._registration = self.ami.registerEvent(None, self.eventReceived)
        if IAMISession.providedBy(self.ami):
            self._removeObserver = self.ami.onLogin(self._loggedIn)

    def stopService(self) -> None:
        """Cancel the registrations; forget every channel, call and bridge.
        Deferreds still waiting fail with :class:`TrackerStopped`."""
        if self.running:
            Service.stopService(self)
        registration, self._registration = self._registration, None
        if registration is not None:
            registration.cancel()
        remove, self._removeObserver = self._removeObserver, None
        if remove is not None:
            remove()
        channels = list(self.channels.values())
        self.channels.clear()
        self.callModel.stopped(Failure(TrackerStopped("channel tracker stopped")))
        self.queuesAndParking.clear()
        self.bridges.clear()
        self._byName.clear()
        waiters, self._waiters = self._waiters, []
        for channel in channels:
            channel.trackerStopped()
        for waiter in waiters:
            waiter.deferred.errback(TrackerStopped("channel tracker stopped"))

    def start(self) -> None:
        """The same as :meth:`startService` (the tracker's first spelling)."""
        self.startService()

    def stop(self) -> None:
        """The same as :meth:`stopService` (the tracker's first spelling)."""
        self.stopService()

    def _loggedIn(self, ami: Any) -> None:
        self.rebuild(ami).addErrback(
            lambda f: log.error("channel tracker rebuild failed: %s", f.getErrorMessage()))

    # -- queries -------------------------------------------------------------------

    def channel(self, uniqueid: str) -> Optional[Channel]:
        """The live channel with this ``Uniqueid``, or ``None``."""
        return self.channels.get(uniqueid)

    def byName(self, name: str) -> Optional[Channel]:
        """The live channel named *name*, or ``None``."""
        uniqueid = self._byName.get(name)
        return self.channels.get(uniqueid) if uniqueid is not None else None

    def whenChannel(self, name: Optional[str] = None, uniqueid: Optional[str] = None,
                    match: Optional[Callable[[Channel], bool]] = None) -> Deferred[Channel]:
        """A new Deferred firing with the first live channel that matches.

        :param name: the channel name, or a glob (``'PJSIP/100-*'``).
        :param uniqueid: the ``Uniqueid`` (e.g. the ``ChannelId`` given to
            Originate).
        :param match: ``match(channel) -> bool``, checked after every update
            (so it may look at variables or the state).

        All given conditions must hold.  It fires at once if a live channel
        matches already; it fails with :class:`TrackerStopped` if the
        tracker stops first.  Cancel it to stop waiting.
        """

        def matches(channel: Channel) -> bool:
            if uniqueid is not None and channel.uniqueid != uniqueid:
                return False
            if name is not None and not fnmatch.fnmatchcase(channel.name, name):
                return False
            return match is None or bool(match(channel))

        for channel in self.channels.values():
            if matches(channel):
                return defer.succeed(channel)

        def cancel(deferred: Deferred[Channel]) -> None:
            self._waiters = [w for w in self._waiters if w.deferred is not deferred]

        waiter = _ChannelWaiter(matches, Deferred(cancel))
        self._waiters.append(waiter)
        return waiter.deferred

    # -- calls ---------------------------------------------------------------------

    def findCall(self, key: str) -> Optional[Call]:
        """The call known by *key*: a ``Linkedid`` (also one joined into
        another call) or a ``Uniqueid`` of one of its channels; live calls
        first, then the last *keepEnded* ended ones.  ``None`` if unknown."""
        return self.callModel.find(key)

    def callOf(self, channel: Union[Channel, str]) -> Optional[Call]:
        """The live call of a channel (a :class:`Channel` or ``Uniqueid``)."""
        if isinstance(channel, str):
            found = self.channels.get(channel)
            if found is None:
                return None
            channel = found
        return self.callModel.callOf(channel)

    def talkingTo(self, channel: Union[Channel, str]) -> List[Channel]:
        """Who *channel* (a :class:`Channel` or ``Uniqueid``) talks to now:
        the channels bridged with it, looking through Local channels that
        join two bridges; empty when it is in no bridge or parked.  See
        :meth:`starpy.calls.CallModel.talkingTo`."""
        if isinstance(channel, str):
            found = self.channels.get(channel)
            if found is None:
                return []
            channel = found
        return self.callModel.talkingTo(channel)

    def subscribeCalls(self, kinds: Union[str, Iterable[str], None],
                       handler: CallHandler) -> CallSubscription:
        """Call ``handler(call, record)`` for each new call record of
        these *kinds* (see :data:`starpy.calls.RECORD_KINDS`; ``None``: all).
        A handler that raises is logged (with its traceback, at ERROR on
        ``starpy.calls``); the others still run.

        :raises ValueError: an unknown kind.
        :return: a handle whose ``cancel()`` ends the subscription.
        """
        return self.callModel.subscribe(kinds, handler)

    def originate(self, channel: str, ami: Any = None, **kwargs: Any) -> Deferred[Call]:
        """Originate asynchronously and fire with the :class:`Call <starpy.calls.Call>`
        it makes, or fail with :class:`OriginateFailed <starpy.originate.OriginateFailed>`
        naming the outcome (``'busy'``, ``'no answer'``...) and the time it
        took.  See :func:`starpy.originate.originateCall`."""
        from starpy.originate import originateCall

        return originateCall(self, channel, ami, **kwargs)

    # -- rebuild -------------------------------------------------------------------

    def rebuild(self, ami: Any = None) -> Deferred["ChannelTracker"]:
        """Re-read the live channels (``CoreShowChannels``) and bridges
        (``BridgeList``, ``BridgeInfo``); see :mod:`starpy.rebuild`.

        Channels listed are created or updated (with their bridges and
        calls); channels known but not listed have gone while we were not
        looking: they are hung up (their :meth:`Channel.whenHungUp` fires,
        cause unknown); bridges not listed are dropped.

        :param ami: the protocol to ask (default: the tracker's, or its
            service's current one).
        :return: a Deferred firing with this tracker; failing as
            ``coreShowChannels`` does.
        """
        from starpy.rebuild import rebuild

        return rebuild(self, ami)

    # -- events ----------------------------------------------------------------------

    def eventReceived(self, ami: Any, event: Message) -> None:
        """Update from one AMI event (the handler registered by :meth:`start`)."""
        name = event.get("event", "").lower()
        handler = self._handlers.get(name)
        if handler is not None:
            handler(event)
        else:
            self._otherEvent(event)
        self.callModel.eventReceived(name, event)
        self.queuesAndParking.eventReceived(name, event)

    def _otherEvent(self, event: Message) -> None:
        touched: List[Channel] = []
        for prefix in CHANNEL_PREFIXES:
            uniqueid = event.get(prefix + "uniqueid")
            if uniqueid is None:
                continue
            channel = self.channels.get(uniqueid)
            if channel is not None and (prefix or "channelstate" in event):
                self.updateChannel(channel, event, prefix)
                touched.append(channel)
            elif channel is not None:
                touched.append(channel)
        for channel in touched:
            channel.notifySubscribers(event)
            self.matchWaiters(channel)

    def _event(self, event: Message) -> Optional[Channel]:
        """Update the channel of *event* (no prefix) and return it."""
        uniqueid = event.get("uniqueid")
        channel = self.channels.get(uniqueid) if uniqueid is not None else None
        if channel is not None and "channelstate" in event:
            self.updateChannel(channel, event)
        return channel

    def _after(self, channel: Optional[Channel], event: Message) -> None:
        if channel is not None:
            channel.notifySubscribers(event)
            self.matchWaiters(channel)

    def _onNewchannel(self, event: Message) -> None:
        uniqueid = event.get("uniqueid")
        if not uniqueid:
            return
        channel = self.channels.get(uniqueid)
        if channel is None:
            channel = self.addChannel(uniqueid, event.get("channel", ""), event)
        self.updateChannel(channel, event)
        self._after(channel, event)

    def _onHangupRequest(self, event: Message) -> None:
        channel = self._event(event)
        cause = event.get("cause")
        if channel is not None and cause is not None and cause.lstrip("-").isdigit():
            channel.hangupCause = int(cause)
        self._after(channel, event)

    def _onHangup(self, event: Message) -> None:
        uniqueid = event.get("uniqueid")
        if uniqueid is None:
            return
        self.rebuildMarks.channelGone(uniqueid)
        channel = self._event(event)
        if channel is None:
            return
        cause = event.get("cause")
        if cause is not None and cause.lstrip("-").isdigit():
            channel.hangupCause = int(cause)
        channel.hangupCauseText = event.get("cause-txt", channel.hangupCauseText)
        channel.notifySubscribers(event)
        self.removeChannel(channel, event)

    def _onVarSet(self, event: Message) -> None:
        channel = self._event(event)
        variable = event.get("variable")
        if channel is not None and variable is not None:
            channel.variables[variable] = event.get("value", "")
        self._after(channel, event)

    def _onNewexten(self, event: Message) -> None:
        channel = self._event(event)
        if channel is not None:
            channel.application = event.get("application", channel.application)
            channel.applicationData = event.get("appdata", channel.applicationData)
            extension = event.get("extension")
            if extension is not None:
                channel.exten = extension
        self._after(channel, event)

    def _onRename(self, event: Message) -> None:
        channel = self._event(event)
        newName = event.get("newname")
        if channel is not None and newName:
            self._rename(channel, newName)
        self._after(channel, event)

    def _onBridgeCreate(self, event: Message) -> None:
        bridgeId = event.get("bridgeuniqueid")
        if bridgeId:
            self.rebuildMarks.bridgeTouched(bridgeId)
            self.bridgeFor(bridgeId).applyEvent(event)

    def _onBridgeEnter(self, event: Message) -> None:
        channel = self._event(event)
        bridgeId = event.get("bridgeuniqueid")
        if bridgeId:
            bridge = self.bridgeFor(bridgeId)
            bridge.applyEvent(event)
            if channel is not None:
                self.rebuildMarks.channelMoved(channel.uniqueid)
                self._mergedFrom.pop(channel.uniqueid, None)
                self._kickable.pop(channel.uniqueid, None)
                self.enterBridge(channel, bridgeId)
        self._after(channel, event)

    def _onBridgeLeave(self, event: Message) -> None:
        channel = self._event(event)
        bridgeId = event.get("bridgeuniqueid")
        if channel is not None:
            self.rebuildMarks.channelMoved(channel.uniqueid)
        if channel is not None and channel.bridge is not None:
            merged = self._mergedFrom.pop(channel.uniqueid, None)
            if not bridgeId or channel.bridge.uniqueid == bridgeId:
                self.leaveBridge(channel)
            elif merged == bridgeId:
                # A BridgeMerge moved it from the bridge it now leaves: either
                # Asterisk moved it too (its BridgeEnter into the merged bridge
                # follows) or kicked it out (the transferer of an attended
                # transfer; the AttendedTransfer event tells).  Until then it
                # stays where the merge put it.
                self._kickable[channel.uniqueid] = channel.bridge.uniqueid
            # Otherwise a BridgeEnter elsewhere came first: it is already out.
        if bridgeId and bridgeId in self.bridges:
            self.bridges[bridgeId].applyEvent(event)
        self._after(channel, event)

    def _onAttendedTransfer(self, event: Message) -> None:
        self._otherEvent(event)
        # The transferers that a merge moved but that left their bridge
        # without entering the merged one were kicked out by the transfer.
        for prefix in ("origtransferer", "secondtransferer"):
            uniqueid = event.get(prefix + "uniqueid", "")
            kicked = self._kickable.pop(uniqueid, None)
            channel = self.channels.get(uniqueid)
            if kicked is not None and channel is not None and channel.bridge is not None \
                    and channel.bridge.uniqueid == kicked:
                self._mergedFrom.pop(uniqueid, None)
                self.leaveBridge(channel)

    def _onBridgeMerge(self, event: Message) -> None:
        """Every channel of the "from" bridge is now in the "to" bridge."""
        source = self.bridges.get(event.get("frombridgeuniqueid", ""))
        toId = event.get("tobridgeuniqueid")
        if source is None or not toId:
            return
        target = self.bridgeFor(toId)
        for key, attribute in (("tobridgetype", "type"), ("tobridgetechnology", "technology")):
            value = event.get(key)
            if value is not None:
                setattr(target, attribute, value)
        for member in list(source.channels.values()):
            self.enterBridge(member, target.uniqueid)
            self._mergedFrom[member.uniqueid] = source.uniqueid

    def _onBridgeDestroy(self, event: Message) -> None:
        bridgeId = event.get("bridgeuniqueid", "")
        self.rebuildMarks.bridgeTouched(bridgeId)
        self.dropBridge(bridgeId)

    # -- updates -----------------------------------------------------------------------

    def dropBridge(self, bridgeId: str) -> None:
        """Forget the bridge *bridgeId*; its channels are in no bridge."""
        bridge = self.bridges.pop(bridgeId, None)
        if bridge is not None:
            for member in list(bridge.channels.values()):
                if member.bridge is bridge:
                    member.bridge = None
            bridge.channels.clear()

    def addChannel(self, uniqueid: str, name: str, event: Optional[Message] = None) -> Channel:
        """A new live :class:`Channel` (from *event*, if given), in its call."""
        channel = Channel(uniqueid, name)
        self.channels[uniqueid] = channel
        if name:
            self._byName[name] = uniqueid
        linkedid = event.get("linkedid") if event is not None else None
        if linkedid:
            channel.linkedid = linkedid
        if event is not None:
            channel.applyEvent(event)
        self.callModel.channelAdded(channel)
        return channel

    def updateChannel(self, channel: Channel, event: Message, prefix: str = "") -> None:
        """Update *channel* from the block of *event* under *prefix*, with
        the indexes and calls that depend on it; fire its state waiters."""
        oldName = channel.name
        wasUp = channel.state == 6
        channel.applyEvent(event, prefix)
        if channel.name != oldName:
            if self._byName.get(oldName) == channel.uniqueid:
                del self._byName[oldName]
            self._byName[channel.name] = channel.uniqueid
        linkedid = event.get(prefix + "linkedid")
        if linkedid and linkedid != channel.linkedid:
            old, channel.linkedid = channel.linkedid, linkedid
            if channel.uniqueid in self.channels:
                self.callModel.linkedidChanged(channel, old)
        if channel.state == 6 and not wasUp and channel.uniqueid in self.channels:
            self.callModel.answered(channel)
        channel.stateChanged()

    def _rename(self, channel: Channel, newName: str) -> None:
        if self._byName.get(channel.name) == channel.uniqueid:
            del self._byName[channel.name]
        channel.name = newName
        self._byName[newName] = channel.uniqueid

    def bridgeFor(self, bridgeId: str) -> Bridge:
        """The :class:`Bridge` *bridgeId*, made if new."""
        bridge = self.bridges.get(bridgeId)
        if bridge is None:
            bridge = self.bridges[bridgeId] = Bridge(bridgeId)
        return bridge

    def enterBridge(self, channel: Channel, bridgeId: str) -> None:
        """Put *channel* in bridge *bridgeId* (out of any other)."""
        bridge = self.bridgeFor(bridgeId)
        if channel.bridge is not None and channel.bridge is not bridge:
            self.leaveBridge(channel)
        bridge.channels[channel.uniqueid] = channel
        channel.bridge = bridge

    def leaveBridge(self, channel: Channel) -> None:
        """Take *channel* out of its bridge."""
        bridge, channel.bridge = channel.bridge, None
        if bridge is not None:
            bridge.channels.pop(channel.uniqueid, None)

    def removeChannel(self, channel: Channel, event: Optional[Message] = None) -> None:
        """The channel hung up (*event*: its ``Hangup``, if seen): release it
        from every index, then tell its waiters."""
        self.channels.pop(channel.uniqueid, None)
        if self._byName.get(channel.name) == channel.uniqueid:
            del self._byName[channel.name]
        self.leaveBridge(channel)
        self._mergedFrom.pop(channel.uniqueid, None)
        self._kickable.pop(channel.uniqueid, None)
        self.callModel.channelGone(channel, event)
        self.queuesAndParking.channelGone(channel.uniqueid)
        channel.markHungUp()

    def matchWaiters(self, channel: Channel) -> None:
        """Fire the :meth:`whenChannel` waiters that the live *channel* matches."""
        if not self._waiters or channel.uniqueid not in self.channels:
            return
        for waiter in list(self._waiters):
            try:
                matched = waiter.match(channel)
            except Exception:
                log.exception("whenChannel match failed")
                matched = False
            if matched and waiter in self._waiters:
                self._waiters.remove(waiter)
                waiter.deferred.callback(channel)
