"""The objects a :class:`ChannelTracker <starpy.channel.ChannelTracker>` keeps: channels and bridges.

Import them from :mod:`starpy.channel`, where they have always been.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy._logfailure import logFailure
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

# Header prefixes under which events carry a channel block.
_PREFIXES = ("", "dest", "localone", "localtwo")


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
        self._hangupWaiters: List[Deferred[Channel]] = []
        self._stateWaiters: List[Tuple[str, Deferred[Channel]]] = []
        self._subscriptions: List[_Subscription] = []

    def __repr__(self) -> str:
        return "<Channel %s (%s) %s%s>" % (self.name, self.uniqueid, self.stateDesc,
                                           " hung up" if self.hungUp else "")

    # -- waiting -------------------------------------------------------------------

    def whenHungUp(self) -> Deferred["Channel"]:
        """A new Deferred firing with this channel once it has hung up (at once
        if it has).  Fails with :class:`TrackerStopped` if the tracker stops
        first."""
        if self.hungUp:
            return defer.succeed(self)
        waiter: Deferred[Channel] = Deferred(self._forgetHangupWaiter)
        self._hangupWaiters.append(waiter)
        return waiter

    def whenState(self, state: Union[str, int]) -> Deferred["Channel"]:
        """A new Deferred firing with this channel once it is in *state*
        (``'Up'``, ``'Ringing'``, any case, or a number such as 6); at once
        if it is.  Fails with :class:`ChannelHungUp` if the channel hangs up
        first (at once if it has), :class:`TrackerStopped` if the tracker
        stops first."""
        wanted = STATE_NAMES.get(state, str(state)) if isinstance(state, int) else state
        wanted = wanted.lower()
        if self.hungUp:
            return defer.fail(ChannelHungUp(self, "state %s" % (state,)))
        if self.stateDesc.lower() == wanted:
            return defer.succeed(self)
        waiter: Deferred[Channel] = Deferred(self._forgetStateWaiter)
        self._stateWaiters.append((wanted, waiter))
        return waiter

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

    # -- internals -------------------------------------------------------------------

    def _forgetHangupWaiter(self, waiter: Deferred["Channel"]) -> None:
        if waiter in self._hangupWaiters:
            self._hangupWaiters.remove(waiter)

    def _forgetStateWaiter(self, waiter: Deferred["Channel"]) -> None:
        self._stateWaiters = [(s, w) for s, w in self._stateWaiters if w is not waiter]

    def _update(self, event: Message, prefix: str = "") -> None:
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

    def _checkState(self) -> None:
        if not self._stateWaiters:
            return
        current = self.stateDesc.lower()
        ready = [w for s, w in self._stateWaiters if s == current]
        if ready:
            self._stateWaiters = [(s, w) for s, w in self._stateWaiters if s != current]
            for waiter in ready:
                waiter.callback(self)

    def _notify(self, event: Message) -> None:
        if not self._subscriptions:
            return
        name = event.get("event", "").lower()
        for subscription in list(self._subscriptions):
            if subscription.channel is None:
                continue
            if subscription.names is not None and name not in subscription.names:
                continue
            try:
                result = subscription.handler(self, event)
            except Exception:
                log.exception("channel event handler %r failed on %s", subscription.handler, name)
                continue
            if isinstance(result, Deferred):
                result.addErrback(_logFailure, subscription.handler)

    def _hangup(self) -> None:
        self.hungUp = True
        self._subscriptions = []
        hangupWaiters, self._hangupWaiters = self._hangupWaiters, []
        stateWaiters, self._stateWaiters = self._stateWaiters, []
        for waiter in hangupWaiters:
            waiter.callback(self)
        for wanted, stateWaiter in stateWaiters:
            stateWaiter.errback(ChannelHungUp(self, "state %s" % (wanted,)))

    def _stopped(self) -> None:
        self._subscriptions = []
        hangupWaiters, self._hangupWaiters = self._hangupWaiters, []
        stateWaiters, self._stateWaiters = self._stateWaiters, []
        for waiter in hangupWaiters + [w for _, w in stateWaiters]:
            waiter.errback(TrackerStopped("channel tracker stopped"))


def _logFailure(reason: Failure, handler: ChannelHandler) -> None:
    logFailure(log, reason, "channel event handler %r failed", handler)


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

    def _update(self, event: Message) -> None:
        for key, attribute in (("bridgetype", "type"), ("bridgetechnology", "technology"),
                               ("bridgecreator", "creator"), ("bridgename", "name")):
            value = event.get(key)
            if value is not None:
                setattr(self, attribute, value)
