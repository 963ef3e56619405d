"""Who talks to whom: bridges seen through Local channels.

A Local channel is two halves (``...;1`` and ``...;2``) passing audio to
each other: a channel bridged with one half talks to whoever is bridged with
the other (or, if that half runs dialplan, to that half: a phone in the
captured flows).  :class:`Connections` pairs the halves (``LocalBridge``, or
by name after a rebuild) and follows Local channel optimization, in which
Asterisk moves the channel on one side into the bridge on the other and
hangs up the Local channel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from starpy.callrecords import eventParty
from starpy.codec.ami import Message

if TYPE_CHECKING:  # pragma: no cover
    from starpy.channel import Channel, ChannelTracker

__all__ = ["Connections"]


class Connections:
    """Local channel pairs and optimizations in progress, for :meth:`talkingTo`."""

    def __init__(self, tracker: "ChannelTracker") -> None:
        self.tracker = tracker
        # Local channel pairs announced by LocalBridge: each half -> the other.
        self._localPeer: Dict[str, str] = {}
        # Optimizations begun, by the LocalOne half's Uniqueid.
        self._optimizations: Dict[str, Dict[str, Any]] = {}
        # The channel an optimization moves -> the bridge it moves to.
        self._inTransit: Dict[str, str] = {}

    def localPeer(self, channel: "Channel") -> Optional["Channel"]:
        """The other half of a Local channel (``None`` if not one or gone):
        as ``LocalBridge`` paired them, else by name (``...;1``/``...;2``)."""
        other = self._localPeer.get(channel.uniqueid)
        if other is not None:
            return self.tracker.channels.get(other)
        # No LocalBridge seen (a rebuild): the halves are named ...;1 and ...;2.
        name = channel.name
        if name.startswith("Local/") and name[-2:] in (";1", ";2"):
            return self.tracker.byName(name[:-1] + ("2" if name[-1] == "1" else "1"))
        return None

    def talkingTo(self, channel: "Channel") -> List["Channel"]:
        """The channels *channel* talks to now.

        Those in its bridge, looking through Local channels that connect
        two bridges (a Local channel not yet optimized away): for such a
        peer, the channels in its other half's bridge count instead.  A
        Local half that is not bridged itself (the ";2" half running the
        dialplan, a phone in the captured flows) talks through its bridged
        other half.  While a Local channel is being optimized away, the
        channel that moves counts as in the bridge it moves to from its
        ``LocalOptimizationBegin`` on.  Empty if it is in no bridge or in a
        holding (parking) bridge.
        """
        if _inHoldingBridge(channel):
            return []
        start = channel
        startBridge = self._bridgeOf(start)
        if startBridge is None:
            other = self.localPeer(start)
            startBridge = self._bridgeOf(other) if other is not None else None
            if other is None or startBridge is None:
                return []
            start = other
        found: List[Channel] = []
        seen: Set[str] = {channel.uniqueid, start.uniqueid}
        todo: List[str] = [startBridge]
        visited: Set[str] = set()
        while todo:
            bridgeId = todo.pop(0)
            if bridgeId in visited:
                continue
            visited.add(bridgeId)
            for peer in self._members(bridgeId):
                if peer.uniqueid in seen:
                    continue
                seen.add(peer.uniqueid)
                other = self.localPeer(peer)
                otherBridge = self._bridgeOf(other) if other is not None else None
                if other is not None and otherBridge is not None and other.uniqueid not in seen:
                    seen.add(other.uniqueid)
                    todo.append(otherBridge)
                else:
                    found.append(peer)
        return found

    def _bridgeOf(self, channel: "Channel") -> Optional[str]:
        if channel.bridge is not None:
            return channel.bridge.uniqueid
        return self._inTransit.get(channel.uniqueid)

    def _members(self, bridgeId: str) -> List["Channel"]:
        bridge = self.tracker.bridges.get(bridgeId)
        members = list(bridge.channels.values()) if bridge is not None else []
        for uniqueid, target in self._inTransit.items():
            moving = self.tracker.channels.get(uniqueid)
            if target == bridgeId and moving is not None and moving.bridge is None:
                members.append(moving)
        return members

    def localBridge(self, event: Message) -> None:
        """``LocalBridge``: the two halves of a Local channel."""
        one, two = event.get("localoneuniqueid"), event.get("localtwouniqueid")
        if one and two and one in self.tracker.channels and two in self.tracker.channels:
            self._localPeer[one] = two
            self._localPeer[two] = one

    def optimizationBegin(self, event: Message) -> None:
        """``LocalOptimizationBegin``: which channel moves, to which bridge."""
        one = event.get("localoneuniqueid")
        if not one or one not in self.tracker.channels:
            return
        source = eventParty(event, "source")
        self._optimizations[one] = {"source": source}
        moving = self.tracker.channels.get(source.uniqueid) if source is not None else None
        halves = [self.tracker.channels.get(one),
                  self.tracker.channels.get(event.get("localtwouniqueid", ""))]
        if moving is None:
            return
        # The source leaves the bridge it shares with one half for the bridge
        # of the other half.
        for half, otherHalf in ((halves[0], halves[1]), (halves[1], halves[0])):
            if half is None or otherHalf is None or otherHalf.bridge is None:
                continue
            if moving.bridge is None or moving.bridge is half.bridge:
                self._inTransit[moving.uniqueid] = otherHalf.bridge.uniqueid
                self._optimizations[one]["moving"] = moving.uniqueid
                return

    def optimizationEnd(self, localOne: str) -> Optional[Dict[str, Any]]:
        """``LocalOptimizationEnd``: what its ``Begin`` said (``source``), or ``None``."""
        begun = self._optimizations.pop(localOne, None)
        if begun is not None and "moving" in begun:
            self._inTransit.pop(begun["moving"], None)
        return begun

    def channelGone(self, uniqueid: str) -> None:
        """Forget what concerns a channel that hung up."""
        other = self._localPeer.pop(uniqueid, None)
        if other is not None and self._localPeer.get(other) == uniqueid:
            del self._localPeer[other]
        self.optimizationEnd(uniqueid)
        self._inTransit.pop(uniqueid, None)

    def clear(self) -> None:
        """Forget everything."""
        self._localPeer.clear()
        self._optimizations.clear()
        self._inTransit.clear()


def _inHoldingBridge(channel: "Channel") -> bool:
    """Whether *channel* waits in a holding bridge (parking): it talks to nobody."""
    bridge = channel.bridge
    return bridge is not None and bridge.technology == "holding_bridge"
