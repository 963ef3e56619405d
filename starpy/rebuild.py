"""Rebuilding a :class:`ChannelTracker <starpy.channel.ChannelTracker>` after a reconnection.

While StarPy was not connected, calls went on: channels came and went,
bridges were created, merged and destroyed.  :func:`rebuild` asks Asterisk
what is there now and makes the tracker say the same:

1. ``CoreShowChannels``: every live channel with its state, dialplan place,
   ``Linkedid`` (so calls in progress are followed again) and ``BridgeId``.
   Channels known but not listed are hung up (cause unknown).
2. ``BridgeList``: every bridge with its type and technology (the parking
   bridge is listed even when empty).  Bridges known but not listed are
   dropped, as if destroyed.
3. ``BridgeInfo``, only for bridges whose ``BridgeNumChannels`` differs
   from the channels step 1 put in them (a channel that entered in
   between): its ``BridgeInfoChannel`` items place the channels.

Events that arrive meanwhile win over the listings: a channel that hangs up,
or a bridge created or destroyed during the rebuild, is not undone by a
listing taken before.  ``BridgeList`` and ``BridgeInfo`` were not captured
from a real Asterisk (their replies follow Asterisk 22's source);
if they fail (an AMI user without the ``reporting`` class...), the tracker
keeps what ``CoreShowChannels`` said and logs a warning.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, List, Set

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error
from starpy.callrecords import number
from starpy.codec.ami import Message
from starpy.interfaces import currentConnection

if TYPE_CHECKING:  # pragma: no cover
    from starpy.channel import ChannelTracker

__all__ = ["rebuild", "RebuildMarks"]

log = logging.getLogger("starpy.channel")


class RebuildMarks:
    """What changed while rebuilds run.  A rebuild's listings were taken
    before these changes, so the changes win over them.  A
    :class:`ChannelTracker <starpy.channel.ChannelTracker>` keeps one (its
    ``rebuildMarks``) and marks in it from its event handlers; marks are
    kept only while a rebuild runs, and dropped when the last one ends.

    :ivar running: how many rebuilds run now.
    :ivar gone: the Uniqueids of the channels that hung up meanwhile.
    :ivar bridgesTouched: the bridges created or destroyed meanwhile.
    :ivar moved: the channels that entered or left a bridge meanwhile.
    """

    def __init__(self) -> None:
        self.running = 0
        self.gone: Set[str] = set()
        self.bridgesTouched: Set[str] = set()
        self.moved: Set[str] = set()

    def begin(self) -> None:
        """A rebuild starts."""
        self.running += 1

    def end(self) -> None:
        """A rebuild ended; the last one to end drops the marks."""
        self.running -= 1
        if not self.running:
            self.gone.clear()
            self.bridgesTouched.clear()
            self.moved.clear()

    def channelGone(self, uniqueid: str) -> None:
        """The channel *uniqueid* hung up."""
        if self.running:
            self.gone.add(uniqueid)

    def channelMoved(self, uniqueid: str) -> None:
        """The channel *uniqueid* entered or left a bridge."""
        if self.running:
            self.moved.add(uniqueid)

    def bridgeTouched(self, bridgeId: str) -> None:
        """The bridge *bridgeId* was created or destroyed."""
        if self.running and bridgeId:
            self.bridgesTouched.add(bridgeId)


def rebuild(tracker: "ChannelTracker", ami: Any = None) -> Deferred["ChannelTracker"]:
    """Re-read the live channels and bridges into *tracker* (see the module).

    :param ami: the protocol to ask (default: the tracker's, or its
        service's current one).
    :return: a Deferred firing with the tracker; failing as
        ``coreShowChannels`` does.
    """
    if ami is None:
        ami = currentConnection(tracker.ami)
    if ami is None:
        return defer.fail(error.AMIConnectionLost("CoreShowChannels", "not logged in"))
    marks = tracker.rebuildMarks
    marks.begin()
    known = set(tracker.channels)

    def channelsListed(reply: List[Message]) -> Deferred[Any]:
        seen: Set[str] = set()
        for item in _items(reply):
            uniqueid = item.get("uniqueid")
            if not uniqueid or uniqueid in marks.gone:
                continue
            seen.add(uniqueid)
            channel = tracker.channels.get(uniqueid)
            if channel is None:
                channel = tracker.addChannel(uniqueid, item.get("channel", ""), item)
            tracker.updateChannel(channel, item)
            application = item.get("application")
            if application is not None:
                channel.application = application
                channel.applicationData = item.get("applicationdata", "")
            bridgeId = item.get("bridgeid")
            if uniqueid in marks.moved:
                pass  # a BridgeEnter/BridgeLeave since the listing knows better
            elif bridgeId and bridgeId not in marks.bridgesTouched:
                tracker.enterBridge(channel, bridgeId)
            elif not bridgeId and channel.bridge is not None:
                tracker.leaveBridge(channel)
            tracker.matchWaiters(channel)
        for uniqueid in known - seen:
            gone = tracker.channels.get(uniqueid)
            if gone is not None:
                tracker.removeChannel(gone)
        return _bridges(tracker, ami)

    def done(result: Any) -> Any:
        marks.end()
        return result

    d: Deferred[Any] = ami.coreShowChannels()
    return d.addCallback(channelsListed).addCallback(lambda ignored: tracker).addBoth(done)


def _bridges(tracker: "ChannelTracker", ami: Any) -> Deferred[Any]:
    touched = tracker.rebuildMarks.bridgesTouched

    def listed(reply: List[Message]) -> Deferred[Any]:
        listedIds: Set[str] = set()
        unsure: List[str] = []
        for item in _items(reply):
            bridgeId = item.get("bridgeuniqueid")
            if not bridgeId or bridgeId in touched:
                continue
            listedIds.add(bridgeId)
            bridge = tracker.bridgeFor(bridgeId)
            bridge.applyEvent(item)
            count = number(item.get("bridgenumchannels"))
            if count is not None and count != len(bridge.channels):
                unsure.append(bridgeId)
        for bridgeId in list(tracker.bridges):
            if bridgeId not in listedIds and bridgeId not in touched:
                tracker.dropBridge(bridgeId)
        infos = [ami.sendAction("BridgeInfo", {"BridgeUniqueid": bridgeId}).addCallbacks(
            _members, _failed, (tracker, bridgeId), errbackArgs=("BridgeInfo",))
            for bridgeId in unsure]
        return defer.DeferredList(infos, consumeErrors=True)

    listing: Deferred[Any] = ami.sendAction("BridgeList")
    return listing.addCallbacks(listed, _failed, errbackArgs=("BridgeList",))


def _items(reply: List[Message]) -> List[Message]:
    """The item events of a list action's reply (an EventList also holds
    the response and the closing event)."""
    events: List[Message] = getattr(reply, "events", reply)
    return events


def _members(reply: List[Message], tracker: "ChannelTracker", bridgeId: str) -> None:
    marks = tracker.rebuildMarks
    if bridgeId in marks.bridgesTouched or bridgeId not in tracker.bridges:
        return
    complete = getattr(reply, "complete", None)
    if complete is not None:
        tracker.bridges[bridgeId].applyEvent(complete)
    for item in _items(reply):
        uniqueid = item.get("uniqueid", "")
        channel = tracker.channels.get(uniqueid)
        if channel is not None and uniqueid not in marks.moved:
            tracker.enterBridge(channel, bridgeId)


def _failed(reason: Failure, action: str) -> None:
    log.warning("channel tracker rebuild: %s failed, bridges as CoreShowChannels says: %s",
                action, reason.getErrorMessage())
