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

__all__ = ["rebuild"]

log = logging.getLogger("starpy.channel")


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
    tracker._rebuilding += 1
    known = set(tracker.channels)

    def channelsListed(reply: List[Message]) -> Deferred[Any]:
        seen: Set[str] = set()
        for item in _items(reply):
            uniqueid = item.get("uniqueid")
            if not uniqueid or uniqueid in tracker._goneDuringRebuild:
                continue
            seen.add(uniqueid)
            channel = tracker.channels.get(uniqueid)
            if channel is None:
                channel = tracker._add(uniqueid, item.get("channel", ""), item)
            tracker._updateChannel(channel, item)
            application = item.get("application")
            if application is not None:
                channel.application = application
                channel.applicationData = item.get("applicationdata", "")
            bridgeId = item.get("bridgeid")
            if uniqueid in tracker._movedDuringRebuild:
                pass  # a BridgeEnter/BridgeLeave since the listing knows better
            elif bridgeId and bridgeId not in tracker._bridgesTouched:
                tracker._enterBridge(channel, bridgeId)
            elif not bridgeId and channel.bridge is not None:
                tracker._leaveBridge(channel)
            tracker._checkWaiters(channel)
        for uniqueid in known - seen:
            gone = tracker.channels.get(uniqueid)
            if gone is not None:
                tracker._remove(gone)
        return _bridges(tracker, ami)

    def done(result: Any) -> Any:
        tracker._rebuilding -= 1
        if not tracker._rebuilding:
            tracker._goneDuringRebuild.clear()
            tracker._bridgesTouched.clear()
            tracker._movedDuringRebuild.clear()
        return result

    d: Deferred[Any] = ami.coreShowChannels()
    return d.addCallback(channelsListed).addCallback(lambda ignored: tracker).addBoth(done)


def _bridges(tracker: "ChannelTracker", ami: Any) -> Deferred[Any]:
    def listed(reply: List[Message]) -> Deferred[Any]:
        listedIds: Set[str] = set()
        unsure: List[str] = []
        for item in _items(reply):
            bridgeId = item.get("bridgeuniqueid")
            if not bridgeId or bridgeId in tracker._bridgesTouched:
                continue
            listedIds.add(bridgeId)
            bridge = tracker._bridge(bridgeId)
            bridge._update(item)
            count = number(item.get("bridgenumchannels"))
            if count is not None and count != len(bridge.channels):
                unsure.append(bridgeId)
        for bridgeId in list(tracker.bridges):
            if bridgeId not in listedIds and bridgeId not in tracker._bridgesTouched:
                tracker._dropBridge(bridgeId)
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
    if bridgeId in tracker._bridgesTouched or bridgeId not in tracker.bridges:
        return
    complete = getattr(reply, "complete", None)
    if complete is not None:
        tracker.bridges[bridgeId]._update(complete)
    for item in _items(reply):
        uniqueid = item.get("uniqueid", "")
        channel = tracker.channels.get(uniqueid)
        if channel is not None and uniqueid not in tracker._movedDuringRebuild:
            tracker._enterBridge(channel, bridgeId)


def _failed(reason: Failure, action: str) -> None:
    log.warning("channel tracker rebuild: %s failed, bridges as CoreShowChannels says: %s",
                action, reason.getErrorMessage())
