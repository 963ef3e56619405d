"""The objects a :class:`ChannelTracker <starpy.channel.ChannelTracker>` keeps: channels and bridges.

Import them from :mod:`starpy.channel`, where they have always been.

The tracker updates them through the methods documented as "called by the
tracker" (:meth:`Channel.applyEvent`, :meth:`Channel.stateChanged`,
:meth:`Channel.notifySubscribers`, :meth:`Channel.markHungUp`,
:meth:`Channel.trackerStopped`, :meth:`Bridge.applyEvent`); applications
read the attributes and wait with the ``when*()`` methods.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

from twisted.internet import defer
from twisted.internet.defer import Deferred

from starpy._idioms import Waiters, notifyListener
from starpy.codec.ami import Message
from starpy.error import ChannelHungUp, TrackerStopped  # defined there; exported here too

# The tracker's logger: subscriber failures are reported there, as always.
log = logging.getLogger("starpy.channel")

#: Asterisk's channel state numbers and their ``ChannelStateDesc`` names.
STATE_NAMES: Dict[int, str] = {
    0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing",
    6: "Up", 7: "Busy", 8: "Dialing Offhook", 9: "Pre-ring", 10: "Unknown",
}

ChannelHandler = Callable[["Channel", Message], Any]
"""``handler(channel, event)`` of :meth:`Channel.subscribe`."""

#: The header prefixes (lower case) under which AMI events carry a channel
#: block: ``Uniqueid``, ``DestUniqueid``, ``LocalOneUniqueid``...
CHANNEL_PREFIXES: Tuple[str, ...] = ("", "dest", "localone", "localtwo")


class _Subscription:
    """One :meth:`Channel.subscribe` registration; :meth:`cancel` removes it."""

    def __init__(self, channel: "Channel", names: Optional[FrozenSet[str]],
                 handler: ChannelHandler) -> None:
        self.channel: Optional[Channel] = channel
        self.names = names
        self.handler = handler

    def cancel(self) -> None:
        """Stop calling the handler (idempotent)."""
        channel, self.channel = self.channel, None
        if channel is not None and self in channel._subscriptions:
            channel._subscriptions.remove(self)


class Channel:
    """One Asterisk channel as the AMI events describe it.

    Attributes keep Asterisk's values as text, except :attr:`state`,
    :attr:`priority` and :attr:`hangupCause` (ints).

    :ivar uniqueid: the ``Uniqueid`` (the key; never changes).
    :ivar name: the channel name (follows ``Rename``).
    :ivar state: the state number (6 is up); :attr:`stateDesc` its name.
    :ivar callerIDNum: / :ivar callerIDName: the caller ID.
    :ivar connectedLineNum: / :ivar connectedLineName: the connected line.
    :ivar context: / :ivar exten: / :ivar priority: the dialplan location.
    :ivar application: / :ivar applicationData: what runs (``Newexten``).
    :ivar linkedid: the ``Linkedid``: channels of one call share it.
    :ivar language: / :ivar accountCode: as Asterisk reports them.
    :ivar variables: channel variables seen in ``VarSet`` events.
    :ivar bridge: the :class:`Bridge` the channel is in, or ``None``.
    :ivar hungUp: whether ``Hangup`` was seen.
    :ivar hangupCause: / :ivar hangupCauseText: the cause (``16``,
        ``Normal Clearing``), from ``Hangup`` (or the last hangup request).
    """

    def __init__(self, uniqueid: str, name: str = "") -> None:
        self.uniqueid = uniqueid
        self.name = name
        self.state = 0
        self.stateDesc = "Down"
        self.callerIDNum = ""
        self.callerIDName = ""
        self.connectedLineNum = ""
        self.connectedLineName = ""
        self.language = ""
        self.accountCode = ""
        self.context = ""
        self.exten = ""
        self.priority = 0
        self.application = ""
        self.applicationData = ""
        self.linkedid = uniqueid
        self.variables: Dict[str, str] = {}
        self.bridge: Optional[Bridge] = None
        self.hungUp = False
        self.hangupCause: Optional[int] = None
        self.hangupCauseText = ""
        self._hangupWaiters: Waiters[Channel] = Waiters()
        # By the state waited for, in lower case.
        self._stateWaiters: Dict[str, Waiters[Channel]] = {}
        self._subscriptions: List[_Subscription] = []

    def __repr__(self) -> str:
        return "<Channel %s (%s) %s%s>" % (self.name, self.uniqueid, self.stateDesc,
                                           " hung up" if self.hungUp else "")

    # -- waiting -------------------------------------------------------------------

    def whenHungUp(self) -> Deferred["Channel"]:
        """A new Deferred firing with this channel once it has hung up (at once
        if it has).  Fails with :class:`TrackerStopped` if the tracker stops
        first.  Cancel it to stop waiting."""
        if self.hungUp:
            return defer.succeed(self)
        return self._hangupWaiters.wait()

    def whenState(self, state: Union[str, int]) -> Deferred["Channel"]:
        """A new Deferred firing with this channel once it is in *state*
        (``'Up'``, ``'Ringing'``, any case, or a number such as 6); at once
        if it is.  Fails with :class:`ChannelHungUp` if the channel hangs up
        first (at once if it has), :class:`TrackerStopped` if the tracker
        stops first.  Cancel it to stop waiting."""
        wanted = STATE_NAMES.get(state, str(state)) if isinstance(state, int) else state
        wanted = wanted.lower()
        if self.hungUp:
            return defer.fail(ChannelHungUp(self, "state %s" % (state,)))
        if self.stateDesc.lower() == wanted:
            return defer.succeed(self)
        waiters = self._stateWaiters.get(wanted)
        if waiters is None:
            waiters = self._stateWaiters[wanted] = Waiters()
        return waiters.wait()

    def subscribe(self, names: Union[str, Iterable[str], None],
                  handler: ChannelHandler) -> _Subscription:
        """Call ``handler(channel, event)`` for each event about this channel
        named *names* (a name or names, any case; ``None``: every one),
        after the channel was updated from it.  The last call is for its
        ``Hangup``; the subscription then ends.  A handler that raises is
        logged; the others still run.

        :return: a handle whose ``cancel()`` removes the subscription.
        """
        wanted: Optional[FrozenSet[str]]
        if names is None:
            wanted = None
        elif isinstance(names, str):
            wanted = frozenset((names.lower(),))
        else:
            wanted = frozenset(name.lower() for name in names)
        subscription = _Subscription(self, wanted, handler)
        self._subscriptions.append(subscription)
        return subscription

    # -- called by the tracker ---------------------------------------------------------

    def applyEvent(self, event: Message, prefix: str = "") -> None:
        """Take the channel block of *event* under *prefix* (one of
        :data:`CHANNEL_PREFIXES`): name, state, caller ID, connected line,
        dialplan place.  Called by the tracker."""
        get = event.get
        name = get(prefix + "channel")
        if name:
            self.name = name
        state = get(prefix + "channelstate")
        if state is not None and state.isdigit():
            self.state = int(state)
            self.stateDesc = get(prefix + "channelstatedesc") or STATE_NAMES.get(self.state, "")
        for key, attribute in (("calleridnum", "callerIDNum"), ("calleridname", "callerIDName"),
                               ("connectedlinenum", "connectedLineNum"),
                               ("connectedlinename", "connectedLineName"),
                               ("language", "language"), ("accountcode", "accountCode"),
                               ("context", "context"), ("exten", "exten")):
            value = get(prefix + key)
            if value is not None:
                setattr(self, attribute, value)
        priority = get(prefix + "priority")
        if priority is not None and priority.isdigit():
            self.priority = int(priority)

    def stateChanged(self) -> None:
        """Fire the :meth:`whenState` waiters of the state the channel is in
        now.  Called by the tracker after each update."""
        if not self._stateWaiters:
            return
        waiters = self._stateWaiters.pop(self.stateDesc.lower(), None)
        if waiters is not None:
            waiters.fire(self)

    def notifySubscribers(self, event: Message) -> None:
        """Give *event* to the :meth:`subscribe` handlers that want its name;
        one that raises or whose Deferred fails is logged (ERROR on
        ``starpy.channel``) and the others still run.  Called by the
        tracker once the channel is updated from *event*."""
        if not self._subscriptions:
            return
        name = event.get("event", "").lower()
        for subscription in list(self._subscriptions):
            if subscription.channel is None:
                continue
            if subscription.names is not None and name not in subscription.names:
                continue
            notifyListener(log, "channel %s handler" % (name,), subscription.handler, self,
                           event)

    def markHungUp(self) -> None:
        """The channel hung up: end the subscriptions, fire the
        :meth:`whenHungUp` waiters, fail the :meth:`whenState` ones with
        :class:`ChannelHungUp`.  Called by the tracker."""
        self.hungUp = True
        self._subscriptions = []
        stateWaiters, self._stateWaiters = self._stateWaiters, {}
        self._hangupWaiters.fire(self)
        for wanted, waiters in stateWaiters.items():
            waiters.fail(ChannelHungUp(self, "state %s" % (wanted,)))

    def trackerStopped(self) -> None:
        """The tracker stopped: end the subscriptions, fail every waiter with
        :class:`TrackerStopped`.  Called by the tracker."""
        self._subscriptions = []
        stateWaiters, self._stateWaiters = self._stateWaiters, {}
        self._hangupWaiters.fail(TrackerStopped("channel tracker stopped"))
        for waiters in stateWaiters.values():
            waiters.fail(TrackerStopped("channel tracker stopped"))


class Bridge:
    """One bridge and the channels in it.

    :ivar uniqueid: the ``BridgeUniqueid``.
    :ivar type: / :ivar technology: / :ivar creator: / :ivar name: as in
        ``BridgeCreate``.
    :ivar channels: its channels by ``Uniqueid``.
    """

    def __init__(self, uniqueid: str) -> None:
        self.uniqueid = uniqueid
        self.type = ""
        self.technology = ""
        self.creator = ""
        self.name = ""
        self.channels: Dict[str, Channel] = {}

    def __repr__(self) -> str:
        return "<Bridge %s: %s>" % (self.uniqueid, sorted(c.name for c in self.channels.values()))

    def applyEvent(self, event: Message) -> None:
        """Take the bridge's type, technology, creator and name from *event*.
        Called by the tracker."""
        for key, attribute in (("bridgetype", "type"), ("bridgetechnology", "technology"),
                               ("bridgecreator", "creator"), ("bridgename", "name")):
            value = event.get(key)
            if value is not None:
                setattr(self, attribute, value)
