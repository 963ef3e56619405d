"""Tests for channel tracking (starpy.channel)."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import pytest
from twisted.internet import defer, task
from twisted.internet.defer import CancelledError
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from starpy import channel as chan
from starpy import error, manager
from starpy.codec.ami import AMIParser, Message
from starpy.dispatch import EventDispatcher
from starpy.interfaces import IAMISession
from starpy.testing.ami import ActionError, FakeAMIServerFactory, ListReply, loginInMemory
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failedWith, failure, result
from tests.wire import connect

from . import transcripts

BRIDGE = "72ca00d7-e261-4211-a171-13167ffa83d4"


def callMessages() -> List[bytes]:
    """The bytes Asterisk sent during the Dial() call, one message each."""
    runs = [data for way, data in transcripts.exchanges("events-call") if way == "<<"]
    assert b"".join(runs) == transcripts.raw("events-call")
    return runs


def rawClient() -> manager.AMIProtocol:
    ami = manager.AMIProtocol(clock=task.Clock())
    connect(ami, StringTransport())
    return ami


def event(name: str, **headers: str) -> bytes:
    lines = ["Event: %s" % name] + ["%s: %s" % (k.replace("_", "-"), v)
                                    for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def block(name: str, uniqueid: str, state: str = "6", desc: str = "Up",
          linkedid: Optional[str] = None) -> dict[str, str]:
    return dict(Channel=name, ChannelState=state, ChannelStateDesc=desc,
                CallerIDNum="<unknown>", CallerIDName="<unknown>",
                ConnectedLineNum="<unknown>", ConnectedLineName="<unknown>",
                Language="en", AccountCode="", Context="default", Exten="s", Priority="1",
                Uniqueid=uniqueid, Linkedid=linkedid or uniqueid)


def trackedChannel(state: str = "6", desc: str = "Up"
                   ) -> Tuple[manager.AMIProtocol, chan.ChannelTracker, chan.Channel]:
    """A started tracker on a raw client that has seen PJSIP/1-1 (1.1) appear in *state*."""
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1", state, desc)))
    channel = tracker.channel("1.1")
    assert channel is not None
    return ami, tracker, channel


# -- a full call from the capture -------------------------------------------------------


def test_fullCallFromCaptureEndsWithNoChannelLeft() -> None:
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    seen: List[Any] = []
    snapshots: List[Any] = []

    originated = tracker.whenChannel(uniqueid="test-uid-1")
    dialed = tracker.whenChannel(name="Local/1@wait5-*")
    callerKnown = tracker.whenChannel(match=lambda c: c.callerIDNum == "5551234")

    def onNewchannel(ami: Any, ev: Message) -> None:
        channel = tracker.channel(ev["uniqueid"])
        assert channel is not None
        channel.whenState("Up").addCallback(lambda c: seen.append(("up", c.name)))
        channel.whenHungUp().addCallback(
            lambda c: seen.append(("gone", c.name, c.hangupCause, c.hangupCauseText)))
        channel.subscribe(["BridgeEnter", "Hangup"],
                          lambda c, e: seen.append((e["event"], c.name)))

    def onBridgeEnter(ami: Any, ev: Message) -> None:
        bridge = tracker.bridges[BRIDGE]
        snapshots.append(sorted(c.name for c in bridge.channels.values()))

    ami.registerEvent("Newchannel", onNewchannel)
    ami.registerEvent("BridgeEnter", onBridgeEnter)

    for data in callMessages():
        ami.dataReceived(data)
        if b"Event: DialEnd" in data and b"DialStatus: ANSWER" in data and not snapshots:
            # Mid-call: both halves of both Local channels, one call.
            assert len(tracker.channels) == 4
            assert list(tracker.calls) == ["test-uid-1"]
            assert len(tracker.calls["test-uid-1"].channels) == 4
            first = tracker.channel("test-uid-1")
            second = tracker.channel("test-uid-2")
            assert first is not None and second is not None
            assert first.variables["V1"] == "one" and first.variables["V2"] == "two"
            assert second.callerIDNum == "5551234"
            assert second.variables["DIALSTATUS"] == "ANSWER"
            assert second.application == "Dial"
            dialedChannel = tracker.byName("Local/1@wait5-00000008;1")
            assert dialedChannel is not None
            assert dialedChannel.connectedLineNum == "5551234"
            assert dialedChannel.linkedid == "test-uid-1"

    o, d, c = result(originated), result(dialed), result(callerKnown)
    assert (o.name, d.name, c.name) == ("Local/1@dialer-00000007;1",
                                        "Local/1@wait5-00000008;1",
                                        "Local/1@dialer-00000007;2")
    assert snapshots == [["Local/1@wait5-00000008;1"],
                         ["Local/1@dialer-00000007;2", "Local/1@wait5-00000008;1"]]
    assert ("BridgeEnter", "Local/1@dialer-00000007;2") in seen
    gone = [s for s in seen if s[0] == "gone"]
    assert [g[1] for g in gone] == ["Local/1@dialer-00000007;1", "Local/1@dialer-00000007;2",
                                    "Local/1@wait5-00000008;1", "Local/1@wait5-00000008;2"]
    assert all(g[2:] == (16, "Normal Clearing") for g in gone)
    assert sum(1 for s in seen if s[0] == "up") == 4
    assert sum(1 for s in seen if s[0] == "Hangup") == 4
    # Everything released.
    assert tracker.channels == {} and tracker.calls == {} and tracker.bridges == {}
    assert tracker._byName == {} and tracker._waiters == []
    assert o.hungUp and o.bridge is None and o._subscriptions == []
    tracker.stop()
    assert len(ami.dispatcher) == 2  # only the test's own handlers


def test_whenStateFailsIfTheChannelHangsUpFirst() -> None:
    ami, tracker, channel = trackedChannel("4", "Ring")
    up = channel.whenState(6)
    busy = channel.whenState("busy")
    assert result(channel.whenState("Ring")) is channel
    ami.dataReceived(event("Newstate", **block("PJSIP/1-1", "1.1")))
    assert result(up) is channel
    ami.dataReceived(event("HangupRequest", **block("PJSIP/1-1", "1.1"), Cause="17"))
    assert channel.hangupCause == 17
    ami.dataReceived(event("Hangup", **block("PJSIP/1-1", "1.1"), Cause="17",
                           Cause_txt="User busy"))
    hung = failure(busy).value
    assert isinstance(hung, chan.ChannelHungUp) and hung.channel is channel
    assert isinstance(failure(channel.whenState("Up")).value, chan.ChannelHungUp)
    assert result(channel.whenHungUp()) is channel
    assert channel.hangupCauseText == "User busy"
    tracker.stop()
    assert len(ami.dispatcher) == 0


def test_cancelledChannelWaitersAreForgotten() -> None:
    ami, tracker, channel = trackedChannel("4", "Ring")
    kept = channel.whenState("up")
    for waiting in [channel.whenHungUp(), channel.whenState("Up"), channel.whenState("Busy"),
                    channel.whenHungUp()]:
        waiting.cancel()
        assert failure(waiting).check(CancelledError)
    assert len(channel._hangupWaiters) == 0
    assert {state: len(w) for state, w in channel._stateWaiters.items()} == {"up": 1, "busy": 0}
    # A waiter that a callback of another cancels is not fired.
    first, second = channel.whenHungUp(), channel.whenHungUp()

    def cancelSecond(c: chan.Channel) -> chan.Channel:
        second.cancel()
        return c

    first.addCallback(cancelSecond)
    ami.dataReceived(event("Newstate", **block("PJSIP/1-1", "1.1")))
    assert result(kept) is channel and "up" not in channel._stateWaiters
    ami.dataReceived(event("Hangup", **block("PJSIP/1-1", "1.1"), Cause="16"))
    assert result(first) is channel and failure(second).check(CancelledError)
    tracker.stop()


def test_aSubscribersFailedDeferredIsLogged(loggedErrors: LoggedErrors) -> None:
    ami, tracker, channel = trackedChannel()
    later: defer.Deferred[None] = defer.Deferred()
    channel.subscribe("varset", lambda c, e: later)
    ami.dataReceived(event("VarSet", **block("PJSIP/1-1", "1.1"), Variable="A", Value="1"))
    later.errback(RuntimeError("subscriber failed later"))
    (logged,) = loggedErrors.flush(RuntimeError)
    assert logged.message.startswith("channel varset handler")
    tracker.stop()


def test_renameIsFollowed() -> None:
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1")))
    waiting = tracker.whenChannel(name="PJSIP/1-1<MASQ>")
    ami.dataReceived(event("Rename", **block("PJSIP/1-1", "1.1"), Newname="PJSIP/1-1<MASQ>"))
    channel = result(waiting)
    assert channel.name == "PJSIP/1-1<MASQ>"
    assert tracker.byName("PJSIP/1-1") is None and tracker.byName("PJSIP/1-1<MASQ>") is channel
    ami.dataReceived(event("Hangup", **block("PJSIP/1-1<MASQ>", "1.1"), Cause="16"))
    assert tracker._byName == {} and tracker.channels == {}
    tracker.stop()


def test_eventsAfterHangupDoNotBringAChannelBack() -> None:
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1")))
    ami.dataReceived(event("Hangup", **block("PJSIP/1-1", "1.1"), Cause="16"))
    ami.dataReceived(event("VarSet", **block("PJSIP/1-1", "1.1"), Variable="X", Value="1"))
    ami.dataReceived(event("Cdr", Channel="PJSIP/1-1", UniqueID="1.1"))
    assert tracker.channels == {} and tracker.calls == {}
    tracker.stop()


def test_stopFailsWaitersAndCancelsRegistrations() -> None:
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    tracker.start()  # idempotent
    assert len(ami.dispatcher) == 1
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1", "4", "Ring")))
    channel = tracker.channel("1.1")
    assert channel is not None
    hungUp, up = channel.whenHungUp(), channel.whenState("Up")
    other = tracker.whenChannel(name="nothing")
    cancelled = tracker.whenChannel(name="nothing either")
    cancelled.cancel()
    assert failure(cancelled).check(defer.CancelledError)
    tracker.stop()
    for d in (hungUp, up, other):
        assert isinstance(failure(d).value, chan.TrackerStopped)
    assert len(ami.dispatcher) == 0 and tracker.channels == {}


def test_failingSubscriberIsLoggedAndOthersRun(loggedErrors: LoggedErrors) -> None:
    ami, tracker, channel = trackedChannel()
    got: List[str] = []

    def broken(c: chan.Channel, e: Message) -> None:
        raise RuntimeError("subscriber bug")

    channel.subscribe(None, broken)
    handle = channel.subscribe("varset", lambda c, e: got.append(c.variables["A"]))
    ami.dataReceived(event("VarSet", **block("PJSIP/1-1", "1.1"), Variable="A", Value="1"))
    handle.cancel()
    handle.cancel()
    ami.dataReceived(event("VarSet", **block("PJSIP/1-1", "1.1"), Variable="A", Value="2"))
    assert got == ["1"]
    logged = loggedErrors.flush(RuntimeError)  # broken() takes every event: both VarSets
    assert [str(e.exception) for e in logged] == ["subscriber bug"] * 2
    assert all(e.message == "channel varset handler %r failed" % (broken,) for e in logged)
    tracker.stop()


# -- rebuild -------------------------------------------------------------------------------


def test_rebuildFromCoreShowChannelsOnTheFake() -> None:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    # A channel we knew, that went away while we were not listening.
    stale = tracker.addChannel("9.9", "PJSIP/stale-1")
    staleGone = stale.whenHungUp()
    server.addChannel("PJSIP/100-00000001", "1.1", application="Dial", data="PJSIP/200",
                      bridgeId="b-1", linkedid="1.1")
    server.addChannel("PJSIP/200-00000002", "1.2", application="AppDial", bridgeId="b-1",
                      linkedid="1.1", state=6)
    d = tracker.rebuild()
    connection.flush()
    assert result(d) is tracker
    assert result(staleGone) is stale and stale.hungUp
    assert sorted(tracker.channels) == ["1.1", "1.2"]
    first = tracker.channels["1.1"]
    assert first.application == "Dial" and first.applicationData == "PJSIP/200"
    assert first.stateDesc == "Up"
    assert sorted(tracker.bridges["b-1"].channels) == ["1.1", "1.2"]
    assert sorted(tracker.calls["1.1"].channels) == ["1.1", "1.2"]
    # Live events keep it right; the hangups release everything.
    server.hangupChannel("PJSIP/100-00000001")
    server.hangupChannel("PJSIP/200-00000002")
    connection.flush()
    assert tracker.channels == {} and tracker.calls == {}
    assert tracker.bridges["b-1"].channels == {}  # the bridge lives until BridgeDestroy
    server.emitEvent("BridgeDestroy", BridgeUniqueid="b-1")
    connection.flush()
    assert tracker.bridges == {}
    tracker.stop()
    assert ami.pendingCount == 0 and len(ami.dispatcher) == 0
    assert clock.getDelayedCalls() == []


def test_hangupDuringRebuildIsNotUndone() -> None:
    ami = rawClient()
    transport = ami.transport
    assert isinstance(transport, StringTransport)
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    d = tracker.rebuild()
    (action,) = AMIParser(expectBanner=False).feed(transport.value())
    actionID = action["actionid"]
    item = dict(block("PJSIP/1-1", "1.1"), ActionID=actionID, Application="Wait",
                ApplicationData="5", Duration="00:00:01", BridgeId="")
    ami.dataReceived(("Response: Success\r\nActionID: %s\r\nEventList: start\r\n"
                      "Message: Channels will follow\r\n\r\n" % actionID).encode())
    ami.dataReceived(event("CoreShowChannel", **item))
    ami.dataReceived(event("Hangup", **block("PJSIP/1-1", "1.1"), Cause="16"))
    ami.dataReceived(event("CoreShowChannelsComplete", ActionID=actionID, EventList="Complete",
                           ListItems="1"))
    # Then the bridges: none.
    actions = AMIParser(expectBanner=False).feed(transport.value())
    assert actions[-1]["action"] == "BridgeList"
    bridgeListID = actions[-1]["actionid"]
    ami.dataReceived(("Response: Success\r\nActionID: %s\r\nEventList: start\r\n"
                      "Message: Bridge listing will follow\r\n\r\n" % bridgeListID).encode())
    ami.dataReceived(event("BridgeListComplete", ActionID=bridgeListID, EventList="Complete",
                           ListItems="0"))
    assert result(d) is tracker
    assert tracker.channels == {}
    assert tracker.rebuildMarks.gone == set() and tracker.rebuildMarks.running == 0
    tracker.stop()


@implementer(IAMISession)
class _Service:
    """An AMI session (starpy.interfaces.IAMISession) driven by the test;
    ChannelTracker uses registerEvent, onLogin and protocol."""

    def __init__(self) -> None:
        self.dispatcher = EventDispatcher()
        self.observers: List[Callable[[Any], Any]] = []
        self.protocol: Any = None
        self.clock = task.Clock()

    def registerEvent(self, names: Any, handler: Any) -> Any:
        return self.dispatcher.register(names, handler)

    def deregisterEvent(self, names: Any, handler: Any = None) -> int:
        return self.dispatcher.deregister(names, handler)

    def onLogin(self, observer: Callable[[Any], Any]) -> Callable[[], None]:
        self.observers.append(observer)
        return lambda: self.observers.remove(observer)

    def whenLoggedIn(self) -> defer.Deferred[Any]:
        if self.protocol is not None:
            return defer.succeed(self.protocol)
        loggedIn: defer.Deferred[Any] = defer.Deferred()

        def observer(protocol: Any) -> None:
            stop()
            loggedIn.callback(protocol)

        stop = self.onLogin(observer)
        return loggedIn


def test_rebuildAfterEachLoginOfAService() -> None:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    service = _Service()
    tracker = chan.ChannelTracker(service)
    tracker.start()
    assert len(service.observers) == 1 and len(service.dispatcher) == 1
    assert isinstance(failure(tracker.rebuild()).value, error.AMIConnectionLost)
    server.addChannel("PJSIP/100-00000001", "1.1")
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    ami.dispatcher = service.dispatcher  # as AMIService shares its dispatcher
    service.protocol = ami
    for observer in list(service.observers):
        observer(ami)  # what AMIService does after a login
    connection.flush()
    assert list(tracker.channels) == ["1.1"]
    # Reconnected: the channel went meanwhile, another came.
    server.hangupChannel("PJSIP/100-00000001", emit=False)
    server.addChannel("PJSIP/300-00000003", "1.3")
    ami2, connection2 = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                                 reactor=clock))
    ami2.dispatcher = service.dispatcher
    service.protocol = ami2
    for observer in list(service.observers):
        observer(ami2)
    connection2.flush()
    assert list(tracker.channels) == ["1.3"]
    tracker.stop()
    assert service.observers == [] and len(service.dispatcher) == 0


def test_readmeChannelTrackingSectionRuns() -> None:
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("\n## Channel tracking\n")
    end = readme.find("\n## ", start + 1)
    (code,) = re.findall(r"```python\n(.*?)```", readme[start:end if end > 0 else None], re.S)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["PJSIP/100-00000001 Up Dial",
                                        "hung up: 16 Normal Clearing", "0 channels left"]


def _bridgeItem(bridgeId: str, kind: str, technology: str, count: int) -> List[Any]:
    return [("Event", "BridgeListItem"), ("BridgeUniqueid", bridgeId), ("BridgeType", kind),
            ("BridgeTechnology", technology), ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(count)),
            ("BridgeVideoSourceMode", "none")]


def test_rebuildReadsBridgesAndCalls() -> None:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    tracker.bridgeFor("gone-bridge")  # destroyed while we were away
    server.addChannel("Local/100@phones-00000001;1", "a-1", bridgeId="b-1", linkedid="a-1")
    server.addChannel("Local/100@phones-00000001;2", "a-2", linkedid="a-1")
    server.addChannel("Local/200@phones-00000002;1", "b-1", bridgeId="b-1", linkedid="a-1")
    server.addChannel("Local/200@phones-00000002;2", "b-2", linkedid="a-1")
    # Listed without a BridgeId (it entered after the listing): BridgeInfo knows.
    server.addChannel("Local/300@phones-00000003;1", "c-1", linkedid="c-1")
    server.addChannel("Local/300@phones-00000003;2", "c-2", linkedid="c-1")
    server.script("BridgeList", ListReply(
        [_bridgeItem("b-1", "basic", "simple_bridge", 2),
         _bridgeItem("park", "parking", "holding_bridge", 0),
         _bridgeItem("b-2", "basic", "simple_bridge", 1)],
        "BridgeListComplete", "Bridge listing will follow"))
    asked: List[str] = []

    def bridgeInfo(session: Any, action: Message) -> ListReply:
        asked.append(action["bridgeuniqueid"])
        channel = server.channels["Local/300@phones-00000003;1"]
        return ListReply([[("Event", "BridgeInfoChannel")] + channel.headers()],
                         "BridgeInfoComplete", "Bridge channel listing will follow",
                         [("BridgeUniqueid", "b-2"), ("BridgeType", "basic"),
                          ("BridgeTechnology", "simple_bridge")])

    server.script("BridgeInfo", bridgeInfo)
    d = tracker.rebuild()
    connection.flush()
    assert result(d) is tracker
    assert asked == ["b-2"]  # only the bridge the channel listing could not fill
    assert sorted(tracker.bridges) == ["b-1", "b-2", "park"]
    assert tracker.bridges["park"].type == "parking" and tracker.bridges["park"].channels == {}
    assert tracker.bridges["b-1"].technology == "simple_bridge"
    assert sorted(tracker.bridges["b-2"].channels) == ["c-1"]
    # Calls in progress are followed again, Local halves paired by name.
    assert sorted(tracker.calls) == ["a-1", "c-1"]
    assert sorted(tracker.calls["a-1"].channels) == ["a-1", "a-2", "b-1", "b-2"]
    assert [c.uniqueid for c in tracker.talkingTo("a-2")] == ["b-1"]
    ended = tracker.calls["a-1"].whenEnded()
    for name in ("Local/100@phones-00000001;1", "Local/100@phones-00000001;2",
                 "Local/200@phones-00000002;1", "Local/200@phones-00000002;2"):
        server.hangupChannel(name)
    connection.flush()
    assert result(ended).ended is not None
    tracker.stop()


def test_rebuildWithoutBridgeListKeepsTheChannelListing(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    tracker = chan.ChannelTracker(ami)
    server.addChannel("PJSIP/1-1", "1.1", bridgeId="b-1")
    server.script("BridgeList", ActionError("Permission denied"))
    d = tracker.rebuild()
    connection.flush()
    assert result(d) is tracker
    assert sorted(tracker.bridges["b-1"].channels) == ["1.1"]
    assert "BridgeList failed" in caplog.text


def test_bridgeEventsDuringARebuildWinOverItsListing() -> None:
    ami = rawClient()
    transport = ami.transport
    assert isinstance(transport, StringTransport)
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1")))
    d = tracker.rebuild()
    (action,) = AMIParser(expectBanner=False).feed(transport.value())
    actionID = action["actionid"]
    ami.dataReceived(("Response: Success\r\nActionID: %s\r\nEventList: start\r\n"
                      "Message: Channels will follow\r\n\r\n" % actionID).encode())
    ami.dataReceived(event("CoreShowChannel", **dict(block("PJSIP/1-1", "1.1"),
                                                     ActionID=actionID, BridgeId="old")))
    # Meanwhile the channel left "old" for "new", and "old" was destroyed.
    ami.dataReceived(event("BridgeCreate", BridgeUniqueid="new", BridgeType="basic"))
    ami.dataReceived(event("BridgeEnter", **block("PJSIP/1-1", "1.1"), BridgeUniqueid="new"))
    ami.dataReceived(event("BridgeDestroy", BridgeUniqueid="old"))
    ami.dataReceived(event("CoreShowChannelsComplete", ActionID=actionID, EventList="Complete",
                           ListItems="1"))
    actions = AMIParser(expectBanner=False).feed(transport.value())
    listID = actions[-1]["actionid"]
    ami.dataReceived(("Response: Success\r\nActionID: %s\r\nEventList: start\r\n"
                      "Message: Bridge listing will follow\r\n\r\n" % listID).encode())
    ami.dataReceived(event("BridgeListItem", ActionID=listID, BridgeUniqueid="old",
                           BridgeType="basic", BridgeNumChannels="1"))
    ami.dataReceived(event("BridgeListComplete", ActionID=listID, EventList="Complete",
                           ListItems="1"))
    assert result(d) is tracker
    assert sorted(tracker.bridges) == ["new"]
    assert sorted(tracker.bridges["new"].channels) == ["1.1"]
    assert tracker.rebuildMarks.bridgesTouched == set() and tracker.rebuildMarks.moved == set()
    tracker.stop()


def test_theFakeListsBridgesAsAsteriskDoes() -> None:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    server.addChannel("PJSIP/1-1", "1.1", bridgeId="b-1")
    server.addChannel("PJSIP/2-1", "1.2", bridgeId="b-1")
    server.addChannel("PJSIP/3-1", "1.3")
    listing = ami.sendAction("BridgeList")
    info = ami.sendAction("BridgeInfo", {"BridgeUniqueid": "b-1"})
    missing = ami.sendAction("BridgeInfo", {"BridgeUniqueid": "nope"})
    unnamed = ami.sendAction("BridgeInfo")
    connection.flush()
    bridges = result(listing)
    assert bridges.response["message"] == "Bridge listing will follow"
    (item,) = bridges.events
    assert (item["event"], item["bridgeuniqueid"], item["bridgenumchannels"]) == (
        "BridgeListItem", "b-1", "2")
    assert [h for h, _ in item.headers()][:3] == ["Event", "ActionID", "BridgeUniqueid"]
    members = result(info)
    assert members.response["message"] == "Bridge channel listing will follow"
    assert [e["uniqueid"] for e in members.events] == ["1.1", "1.2"]
    assert members.complete["event"] == "BridgeInfoComplete"
    assert members.complete["bridgetechnology"] == "simple_bridge"
    assert failedWith(missing, error.AMICommandFailure).message == "Specified BridgeUniqueid not found"
    assert failedWith(unnamed, error.AMICommandFailure).message == "BridgeUniqueid must be provided"
    # And the tracker's rebuild reads them without any scripting.
    tracker = chan.ChannelTracker(ami)
    d = tracker.rebuild()
    connection.flush()
    assert result(d) is tracker
    assert sorted(tracker.bridges["b-1"].channels) == ["1.1", "1.2"]
    assert tracker.bridges["b-1"].type == "basic"


def test_aCallTheFakeOriginatesIsFollowed() -> None:
    """The fake's Originate sends Newchannel and Newstate before its reply,
    as Asterisk does, so a tracker sees the call, and its Hangup ends it."""
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    appeared = tracker.whenChannel(uniqueid="crm-42")
    d = ami.originate("PJSIP/100", "default", "s", "1", channelid="crm-42", nowait=True)
    connection.flush()
    assert result(d)["response"] == "Success"
    channel = result(appeared)
    assert channel.name == "PJSIP/100-00000001" and channel.stateDesc == "Up"
    assert list(tracker.calls) == ["crm-42"]
    gone = channel.whenHungUp()
    server.hangupChannel(channel.name, cause=16)
    connection.flush()
    assert result(gone) is channel and tracker.channels == {}
    tracker.stop()


def test_rebuildAndTheTrackerUseNoOtherObjectsUnderscores() -> None:
    """channel.py and rebuild.py change the tracker, its channels and bridges
    through public methods only: any ``x._name`` is on ``self``."""
    import ast
    from pathlib import Path

    root = Path(chan.__file__).parent
    found = []
    for name in ("channel.py", "rebuild.py"):
        for node in ast.walk(ast.parse((root / name).read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id == "self")):
                found.append("%s:%d %s" % (name, node.lineno, ast.unparse(node)))
    assert found == []
