"""Tests for channel tracking (starpy.channel)."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

from twisted.internet import defer, task
from twisted.internet.testing import StringTransport

from starpy import channel as chan
from starpy import error, manager
from starpy.codec.ami import AMIParser, Message
from starpy.dispatch import EventDispatcher
from starpy.testing.ami import FakeAMIServerFactory, loginInMemory

from . import transcripts
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import result, failure

BRIDGE = "72ca00d7-e261-4211-a171-13167ffa83d4"


def callMessages() -> List[bytes]:
    """The bytes Asterisk sent during the Dial() call, one message each."""
    runs = [data for way, data in transcripts.exchanges("events-call") if way == "<<"]
    assert b"".join(runs) == transcripts.raw("events-call")
    return runs


def rawClient() -> manager.AMIProtocol:
    ami = manager.AMIProtocol(clock=task.Clock())
    ami.makeConnection(StringTransport())
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


# -- a full call from the capture -------------------------------------------------------


def test_full_call_from_capture_ends_with_no_channel_left() -> None:
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


def test_when_state_fails_if_the_channel_hangs_up_first() -> None:
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1", "4", "Ring")))
    channel = tracker.channel("1.1")
    assert channel is not None
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


def test_rename_is_followed() -> None:
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


def test_events_after_hangup_do_not_bring_a_channel_back() -> None:
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


def test_stop_fails_waiters_and_cancels_registrations() -> None:
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


def test_failing_subscriber_is_logged_and_others_run(loggedErrors: LoggedErrors) -> None:
    ami = rawClient()
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    ami.dataReceived(event("Newchannel", **block("PJSIP/1-1", "1.1")))
    channel = tracker.channel("1.1")
    assert channel is not None
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
    assert all(e.message.endswith("failed on varset") for e in logged)
    tracker.stop()


# -- rebuild -------------------------------------------------------------------------------


def test_rebuild_from_core_show_channels_on_the_fake() -> None:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    # A channel we knew, that went away while we were not listening.
    stale = tracker._add("9.9", "PJSIP/stale-1")
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


def test_hangup_during_rebuild_is_not_undone() -> None:
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
    assert result(d) is tracker
    assert tracker.channels == {}
    assert tracker._goneDuringRebuild == set()
    tracker.stop()


class _Service:
    """What ChannelTracker uses of an AMIService: registerEvent, onLogin, protocol."""

    def __init__(self) -> None:
        self.dispatcher = EventDispatcher()
        self.observers: List[Callable[[Any], Any]] = []
        self.protocol: Any = None

    def registerEvent(self, names: Any, handler: Any) -> Any:
        return self.dispatcher.register(names, handler)

    def onLogin(self, observer: Callable[[Any], Any]) -> Callable[[], None]:
        self.observers.append(observer)
        return lambda: self.observers.remove(observer)


def test_rebuild_after_each_login_of_a_service() -> None:
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


def test_readme_channel_tracking_section_runs() -> None:
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
