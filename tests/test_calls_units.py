"""The call model event by event, with events built here (shapes as in the captures)."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

import pytest
from twisted.internet import defer, task

from starpy import callrecords
from starpy import channel as chan
from starpy.calls import Call, CallRecord
from starpy.codec.ami import Message
from starpy.testing.pytest_plugin import LoggedErrors

from .deferreds import failure, result


class Feed:
    """A tracker fed events directly, on a task.Clock."""

    def __init__(self, **options: Any) -> None:
        self.clock = task.Clock()
        self.tracker = chan.ChannelTracker(None, clock=self.clock, **options)
        self.records: List[CallRecord] = []
        self.tracker.subscribeCalls(None, lambda call, record: self.records.append(record))

    def __call__(self, name: str, **headers: str) -> None:
        pairs = [("Event", name)] + [(k, v) for k, v in headers.items()]
        self.tracker.eventReceived(None, Message(pairs))

    def channel(self, name: str, uniqueid: str, linkedid: Optional[str] = None,
                state: str = "6") -> None:
        self("Newchannel", **block(name, uniqueid, linkedid, state))

    def kinds(self) -> List[str]:
        return [r.kind for r in self.records]


def block(name: str, uniqueid: str, linkedid: Optional[str] = None, state: str = "6",
          prefix: str = "") -> Dict[str, str]:
    return {prefix + "Channel": name, prefix + "ChannelState": state,
            prefix + "ChannelStateDesc": {"6": "Up", "0": "Down", "5": "Ringing"}[state],
            prefix + "Uniqueid": uniqueid, prefix + "Linkedid": linkedid or uniqueid}


def test_aCallStartsIsAnsweredAndEndsOnTheTrackerClock() -> None:
    feed = Feed()
    feed.clock.advance(10)
    feed.channel("PJSIP/1-1", "1.1", state="0")
    call = feed.tracker.calls["1.1"]
    assert call.started == 10 and call.answered is None
    ended = call.whenEnded()
    feed.clock.advance(2)
    feed("Newstate", **block("PJSIP/1-1", "1.1"))
    assert call.answered == 12
    feed.clock.advance(3)
    feed("Hangup", **block("PJSIP/1-1", "1.1"), Cause="16", **{"Cause-txt": "Normal Clearing"})
    assert result(ended) is call and call.ended == 15
    assert feed.kinds() == ["start", "answer", "hangup", "end"]
    assert feed.records[-1]["duration"] == 5
    assert feed.records[2]["cause"] == 16 and feed.records[2]["causeText"] == "Normal Clearing"
    assert feed.tracker.findCall("1.1") is call  # ended, still findable
    assert feed.tracker.calls == {}


def test_joinedCallsAndALinkedidSeenFirstAsAnAlias() -> None:
    feed = Feed()
    feed.channel("PJSIP/a", "a", "a")
    feed.channel("PJSIP/b", "b", "b")
    first, second = feed.tracker.calls["a"], feed.tracker.calls["b"]
    waiting = second.whenEnded()
    # b is bridged into a's call: Asterisk gives it a's Linkedid.
    feed("BridgeEnter", **block("PJSIP/b", "b", "a"), BridgeUniqueid="x")
    assert list(feed.tracker.calls) == ["a"] and second.joinedInto is first
    assert first.linkedids == {"a", "b"} and sorted(first.channels) == ["a", "b"]
    assert feed.tracker.findCall("b") is first
    joined = [r for r in first.history if r.kind == "joined"]
    assert joined[0]["linkedid"] == "b"
    # A channel still carrying b's Linkedid counts as a's call.
    feed.channel("PJSIP/b2", "b2", "b")
    assert feed.tracker.callOf("b2") is first
    for uniqueid in ("a", "b", "b2"):
        feed("Hangup", **block("PJSIP/" + uniqueid, uniqueid), Cause="16")
    assert result(waiting) is first  # the joined call's waiter fires with the survivor
    # A Linkedid nobody had yet becomes an alias of the channel's call.
    feed.channel("PJSIP/c", "c", "c")
    feed("Newstate", **block("PJSIP/c", "c", "elsewhere"))
    assert feed.tracker.findCall("elsewhere") is feed.tracker.calls["c"]
    feed("Hangup", **block("PJSIP/c", "c", "elsewhere"), Cause="16")
    assert feed.tracker.calls == {} and feed.tracker.callModel._aliases == {}


def test_historyAndEndedCallsAreBounded() -> None:
    feed = Feed(maxHistory=5, keepEnded=2)
    feed.channel("PJSIP/1", "1")
    for digit in "0123456789":
        feed("DTMFEnd", **block("PJSIP/1", "1"), Digit=digit, DurationMs="100",
             Direction="Received")
    call = feed.tracker.calls["1"]
    assert len(call.history) == 5 and call.dropped == 6
    assert [r["digit"] for r in call.records("dtmf")] == ["5", "6", "7", "8", "9"]
    for n in range(4):
        feed.channel("PJSIP/x", "x%d" % n)
        feed("Hangup", **block("PJSIP/x", "x%d" % n), Cause="16")
    assert list(feed.tracker.callModel.ended) == ["x2", "x3"]
    assert feed.tracker.findCall("x0") is None
    with pytest.raises(ValueError):
        chan.ChannelTracker(None, maxHistory=0)
    # OriginateResponses for channels never seen are kept boundedly.
    for n in range(1100):
        feed("OriginateResponse", Response="Failure", Reason="0", Uniqueid="never-%d" % n)
    assert len(feed.tracker.callModel._early) == 1000


def test_originateResponseBeforeTheChannelIsRecordedWhenItComes() -> None:
    feed = Feed()
    feed("OriginateResponse", ActionID="o-1", Response="Success", Reason="4",
         Channel="Local/1@x-00000001;1", Uniqueid="o-1")
    assert feed.tracker.calls == {}
    feed.channel("Local/1@x-00000001;1", "o-1")
    call = feed.tracker.calls["o-1"]
    (record,) = call.records("originate")
    assert record["outcome"] == "answered" and record["actionID"] == "o-1"
    assert feed.tracker.callModel._early == {}


def test_localOptimizationOfTheMergeKindIsTakenLiterally() -> None:
    # Only the swap kind (a Source channel moves) was captured, reported
    # inverted; without a Source, Success means what it says.
    feed = Feed()
    feed.channel("Local/1@x-00000001;1", "l1", "call")
    feed.channel("Local/1@x-00000001;2", "l2", "call")
    for success, expected in (("Yes", True), ("No", False)):
        feed("LocalOptimizationBegin", **block("Local/1@x-00000001;1", "l1", "call", "6", "LocalOne"),
             **block("Local/1@x-00000001;2", "l2", "call", "6", "LocalTwo"), Id="7")
        feed("LocalOptimizationEnd", **block("Local/1@x-00000001;1", "l1", "call", "6", "LocalOne"),
             **block("Local/1@x-00000001;2", "l2", "call", "6", "LocalTwo"), Success=success, Id="7")
        record = feed.tracker.calls["call"].records("local_optimization")[-1]
        assert (record["success"], record["source"], record["id"]) == (expected, None, "7")


def test_attendedTransferToAnApplicationKeepsItsHeaders() -> None:
    # DestType App could not be captured (a channel driver's transfer);
    # the headers Asterisk documents are kept in the record.
    event = Message([("Event", "AttendedTransfer"), ("Result", "Success"),
                     ("OrigTransfererChannel", "PJSIP/a-1"), ("OrigTransfererUniqueid", "a"),
                     ("TransfereeChannel", "PJSIP/b-1"), ("TransfereeUniqueid", "b"),
                     ("IsExternal", "Yes"), ("DestType", "App"), ("DestApp", "Queue")])
    translated = callrecords.fromEvent("attendedtransfer", event)
    assert translated is not None
    kind, prefixes, details = translated
    assert kind == "attended_transfer" and "transferee" in prefixes
    assert (details["destType"], details["destApp"], details["isExternal"]) == ("App", "Queue", True)
    assert details["target"] is None and details["transferer"] == callrecords.Party("PJSIP/a-1", "a")
    assert callrecords.fromEvent("newexten", event) is None


def test_queueMembersComeAndGo() -> None:
    feed = Feed()
    feed("QueueMemberAdded", Queue="q", Interface="PJSIP/7", MemberName="Seven", Status="1",
         Paused="0", CallsTaken="0")
    member = feed.tracker.queues["q"].members["PJSIP/7"]
    assert (member.name, member.statusName, member.paused) == ("Seven", "not in use", False)
    feed("QueueMemberPause", Queue="q", Interface="PJSIP/7", Paused="1")
    assert member.paused
    feed("QueueMemberStatus", Queue="q", Interface="PJSIP/7", Status="6", InCall="1")
    assert member.statusName == "ringing" and member.inCall
    feed("QueueMemberRemoved", Queue="q", Interface="PJSIP/7")
    assert feed.tracker.queues["q"].members == {}
    # Callers behind one that leaves move up; a caller hanging up leaves.
    for n, uniqueid in enumerate(("c1", "c2", "c3"), 1):
        feed.channel("PJSIP/" + uniqueid, uniqueid)
        feed("QueueCallerJoin", **block("PJSIP/" + uniqueid, uniqueid), Queue="q",
             Position=str(n), Count=str(n))
    feed("QueueCallerLeave", **block("PJSIP/c1", "c1"), Queue="q", Position="1", Count="2")
    assert [(c.uniqueid, c.position) for c in feed.tracker.queues["q"].waiting()] == [
        ("c2", 1), ("c3", 2)]
    feed("Hangup", **block("PJSIP/c2", "c2"), Cause="16")
    assert [(c.uniqueid, c.position) for c in feed.tracker.queues["q"].waiting()] == [("c3", 1)]


def test_queueAndParkingStateAreBounded() -> None:
    feed = Feed()
    model = feed.tracker.queuesAndParking
    model.maxEntries = 3
    for n in range(5):
        feed("QueueMemberStatus", Queue="q%d" % n, Interface="PJSIP/1", Status="1")
        feed("QueueMemberStatus", Queue="q0", Interface="PJSIP/%d" % n, Status="1")
        feed("ParkedCall", ParkeeChannel="PJSIP/p", ParkeeUniqueid="p%d" % n,
             Parkinglot="default", ParkingSpace=str(700 + n), ParkingTimeout="45")
    assert len(feed.tracker.queues) == 3 and len(feed.tracker.queues["q0"].members) == 3
    assert len(feed.tracker.parked) == 3


def test_waitersOfAJoinedCallFailWhenTheTrackerStops() -> None:
    feed = Feed()
    feed.channel("PJSIP/a", "a", "a")
    feed.channel("PJSIP/b", "b", "b")
    first, second = feed.tracker.calls["a"], feed.tracker.calls["b"]
    waiting, cancelled = second.whenEnded(), second.whenEnded()
    cancelled.cancel()
    assert failure(cancelled).check(defer.CancelledError)
    feed("BridgeEnter", **block("PJSIP/b", "b", "a"), BridgeUniqueid="x")
    assert second.joinedInto is first and len(second._endWaiters) == 1
    feed.tracker.stop()
    assert isinstance(failure(waiting).value, chan.TrackerStopped)
    assert len(first._endWaiters) == len(second._endWaiters) == 0


def test_newChannelIdIsUniqueAndNamesStarpy() -> None:
    from starpy.originate import newChannelId

    made = [newChannelId() for _n in range(1000)]
    assert len(set(made)) == 1000
    assert all(re.fullmatch(r"starpy-[0-9a-f]{8}-[0-9]+", m) for m in made)
    assert len({m.rpartition("-")[0] for m in made}) == 1  # one prefix per process


def test_aHandlerWhoseDeferredFailsIsLogged(loggedErrors: LoggedErrors) -> None:
    feed = Feed()
    feed.tracker.subscribeCalls("start", lambda call, record: defer.maybeDeferred(
        lambda: 1 / 0))
    feed.channel("PJSIP/1", "1")
    (logged,) = loggedErrors.flush(ZeroDivisionError)
    assert logged.origin == "starpy.calls"
    assert logged.message.startswith("call start record handler ")
    assert "Traceback" in logged.text and "1 / 0" in logged.text
    assert feed.kinds() == ["start"]


def test_callBridgesAndTalkingTo() -> None:
    feed = Feed()
    feed.channel("PJSIP/a", "a", "call")
    feed.channel("PJSIP/b", "b", "call")
    feed("BridgeCreate", BridgeUniqueid="x", BridgeType="basic", BridgeTechnology="simple_bridge")
    feed("BridgeEnter", **block("PJSIP/a", "a", "call"), BridgeUniqueid="x")
    feed("BridgeEnter", **block("PJSIP/b", "b", "call"), BridgeUniqueid="x")
    call: Call = feed.tracker.calls["call"]
    assert list(call.bridges) == ["x"]
    assert [c.uniqueid for c in feed.tracker.talkingTo("a")] == ["b"]
    assert feed.tracker.talkingTo("nobody") == [] and feed.tracker.callOf("nobody") is None
    # A holding bridge (parking): nobody to talk to.
    feed("BridgeEnter", **block("PJSIP/b", "b", "call"), BridgeUniqueid="park",
         BridgeType="parking", BridgeTechnology="holding_bridge")
    feed("BridgeEnter", **block("PJSIP/a", "a", "call"), BridgeUniqueid="park",
         BridgeType="parking", BridgeTechnology="holding_bridge")
    assert feed.tracker.talkingTo("a") == []
