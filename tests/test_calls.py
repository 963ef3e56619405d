"""The call model (starpy.calls) on every captured call flow of a real Asterisk 22.

Each test states what CALLS.md says happened in the flow; the shuffle tests
replay each flow with its events reordered within the races CALLS.md names
and require the same state.
"""
from __future__ import annotations

from typing import Any, List, Tuple

import pytest

from starpy.calls import Party

from .callflows import Followed, event, find, messages, moved, short, state, summary

ORDINARY = ("dial", "answer", "bridge_enter", "bridge_leave", "hangup", "dial_end", "start",
            "end", "originate", "dtmf", "music_start", "music_stop")


def story(followed: Followed, linkedid: str) -> List[Tuple[str, Any]]:
    """The call's records that are not ordinary plumbing, with their key parties."""
    result: List[Tuple[str, Any]] = []
    for record in followed.call(linkedid).history:
        if record.kind in ORDINARY:
            continue
        parties = tuple(short(p.name) for k, v in record.details.items()
                        if k != "secondTransferer" and not (k == "caller" and "agent" in record.kind)
                        for p in (v if isinstance(v, list) else [v]) if isinstance(p, Party))
        result.append((record.kind, parties))
    return result


# -- 1. blind transfer ----------------------------------------------------------------


def test_blindTransferByTheCallee() -> None:
    flow = messages("calls-blind-transfer")
    f = Followed(flow, watch=["bt-alice-1", "1796067665.2"])
    assert [c.linkedid for c in f.ended] == ["bt-alice-1"]
    call = f.call("bt-alice-1")
    # Six channels: both halves of Alice, Bob, Carol; all gone.
    assert len(call.uniqueids) == 6 and call.channels == {}
    assert f.tracker.calls == {} and f.tracker.channels == {} and f.tracker.bridges == {}
    assert story(f, "bt-alice-1") == [
        ("unhold", ("200;1",)),  # sent for the transferer though nobody was held
        ("blind_transfer", ("200;1", "100;1")),
    ]
    (transfer,) = call.records("blind_transfer")
    assert transfer["result"] == "Success" and transfer["isExternal"] is True
    assert (transfer["context"], transfer["extension"]) == ("calls-bt", "300")
    assert transfer["transferer"].uniqueid == "1796067665.2"
    assert transfer["transferee"].uniqueid == "bt-alice-1"
    # Dials: the originate's (no caller), Alice -> Bob, Alice -> Carol after the transfer.
    dials = [(r["caller"] and short(r["caller"].name), short(r["dest"].name))
             for r in call.records("dial")]
    assert dials == [(None, "100;1"), ("100;1", "200;1"), ("100;1", "300;1")]
    # Alice talks to Bob, then nobody (the transfer takes her out), then Carol.
    assert f.timelines["bt-alice-1"] == [(), ("200;1",), (), ("300;1",), ()]
    assert f.timelines["1796067665.2"] == [(), ("100;1",), ()]
    # Two bridges in the history: the call's first and Carol's new one.
    assert len({r["bridge"] for r in call.records("bridge_enter")}) == 2
    hangups = {short(r["channel"].name): r["cause"] for r in call.records("hangup")}
    assert hangups["200;1"] == 16 and len(hangups) == 6
    assert call.started == pytest.approx(0.30, abs=0.01)
    assert call.answered == pytest.approx(0.30, abs=0.01)
    assert call.ended == pytest.approx(7.82, abs=0.01)
    assert call.history[-1].kind == "end"


def test_blindTransferByTheCaller() -> None:
    f = Followed(messages("calls-blind-transfer-caller"), watch=["1796067675.8"])
    call = f.call("btc-alice-1")
    assert story(f, "btc-alice-1") == [
        ("unhold", ("100;1",)),
        ("blind_transfer", ("100;1", "200;1")),
    ]
    # Bob talks to Alice, nobody while his dial to Carol rings, then Carol;
    # the call outlives Alice, who hung up after the transfer.
    assert f.timelines["1796067675.8"] == [(), ("100;1",), (), ("300;1",), ()]
    alice = [r.time for r in call.records("hangup") if r["channel"].uniqueid == "btc-alice-1"]
    assert call.ended is not None and alice[0] < call.ended
    dials = [(short(r["caller"].name), short(r["dest"].name))
             for r in call.records("dial") if r["caller"] is not None]
    assert dials == [("100;1", "200;1"), ("200;1", "300;1")]


# -- 2. attended transfer -----------------------------------------------------------------


def test_attendedTransferDestBridge() -> None:
    flow = messages("calls-attended-transfer")
    bob, carol = "1796067685.14", "1796067687.16"
    held: List[Any] = []

    def probe(item: Any, tracker: Any) -> None:
        name = item.message.get("event")
        if name in ("Hold", "MusicOnHoldStart", "BridgeEnter", "AttendedTransfer"):
            held.append((name, sorted(tracker.calls["atx-alice-1"].onHold)))

    f = Followed(flow, watch=["atx-alice-1", bob, carol], probe=probe)
    # Bob hears the music from the hold until the transfer puts him with Carol.
    assert ("MusicOnHoldStart", [bob]) in held and held[-1] == ("AttendedTransfer", [])
    assert [h for h in held if h[0] == "Hold"] == [("Hold", [])]  # Hold names the holder
    call = f.call("atx-alice-1")
    assert story(f, "atx-alice-1") == [
        ("hold", ("100;1",)),  # the transferer holds; no Unhold comes
        ("bridge_merge", ()),
        ("attended_transfer", ("100;1", "200;1", "300;1")),
    ]
    (transfer,) = call.records("attended_transfer")
    b1 = "2052422a-baf0-403f-883b-9304a8c2a1cc"
    b2 = "ef904931-e870-4a8f-af45-3239a75d25c8"
    assert transfer["result"] == "Success" and transfer["destType"] == "Bridge"
    assert (transfer["origBridge"], transfer["secondBridge"], transfer["destBridge"]) == (b1, b2, b1)
    assert transfer["transferer"] == transfer["secondTransferer"]
    assert transfer["isExternal"] is False
    (merge,) = call.records("bridge_merge")
    assert (merge["toBridge"], merge["fromBridge"]) == (b1, b2)
    # Bob: Alice, then nobody while on hold, then Carol.  Carol: Alice (in
    # B2, ringing), then Bob.
    assert f.timelines[bob] == [(), ("100;1",), (), ("300;1",), ()]
    assert f.timelines[carol] == [(), ("100;1",), (), ("200;1",), ()]
    # The music Bob heard: started on the hold, stopped by the transfer.
    assert [(r.kind, short(r["channel"].name)) for r in call.records("music_start", "music_stop")] \
        == [("music_start", "200;1"), ("music_stop", "200;1")]
    # The feature code and the extension, as DTMF received by Alice ;1.
    assert "".join(r["digit"] for r in call.records("dtmf")) == "*2300"
    assert not f.tracker.bridges


def test_attendedTransferThreeway() -> None:
    bob, carol = "1796067695.20", "1796067696.22"
    f = Followed(messages("calls-attended-transfer-threeway"), watch=[bob, carol])
    call = f.call("atx3-alice-1")
    (transfer,) = call.records("attended_transfer")
    assert transfer["destType"] == "Threeway" and transfer["result"] == "Success"
    assert short(transfer["destTransferer"]) == "100;1"
    # All three talk, then Alice leaves, Bob and Carol go on.
    assert f.timelines[bob] == [(), ("100;1",), (), ("100;1", "300;1"), ("300;1",), ()]
    assert f.timelines[carol] == [(), ("100;1",), ("100;1", "200;1"), ("200;1",), ()]


def test_attendedTransferAborted() -> None:
    bob, carol = "1796067705.26", "1796067707.28"
    f = Followed(messages("calls-attended-transfer-abort"), watch=["atxa-alice-1", bob, carol])
    call = f.call("atxa-alice-1")
    # No AttendedTransfer event for an aborted transfer; Alice is back with Bob.
    assert story(f, "atxa-alice-1") == [("hold", ("100;1",)), ("unhold", ("100;1",))]
    # (Each move is a BridgeLeave, then a BridgeEnter: nobody in between.)
    assert f.timelines["atxa-alice-1"] == [(), ("200;1",), (), ("300;1",), (), ("200;1",), ()]
    assert f.timelines[carol] == [(), ("100;1",), ()]
    carolGone = [r for r in call.records("hangup") if r["channel"].uniqueid == carol]
    aliceBack = [r for r in call.records("bridge_enter") if r["channel"].uniqueid == "atxa-alice-1"]
    assert aliceBack[-1].seq < carolGone[0].seq < call.history[-1].seq
    assert "".join(r["digit"] for r in call.records("dtmf")) == "*2300*1"


def test_attendedTransferBlond() -> None:
    bob, dave = "1796067715.32", "1796067716.34"
    f = Followed(messages("calls-attended-transfer-blond"), watch=[bob, dave])
    call = f.call("atxb-alice-1")
    (transfer,) = call.records("attended_transfer")
    assert transfer["destType"] == "Bridge" and short(transfer["target"].name) == "301;1"
    # Bob is bridged with Dave while Dave still rings; Dave answers later.
    # The BridgeMerge came before Alice's BridgeLeave of the consultation
    # bridge: she counts as merged in with Dave until the AttendedTransfer
    # shows she was the transferer, kicked out.
    assert f.timelines[bob] == [(), ("100;1",), (), ("100;1", "301;1"), ("301;1",), ()]
    daveUp = [r.time for r in call.records("answer") if r["channel"].uniqueid == dave]
    assert daveUp and daveUp[0] > transfer.time + 3


# -- 3. Local channel optimization -------------------------------------------------------


def test_localOptimization() -> None:
    flow = messages("calls-local-optimization")
    bob = "1796067726.40"
    end = find(flow, event("LocalOptimizationEnd"))
    f = Followed(flow, watch=["lopt-alice-1", "lopt-alice-2", bob], checkpoint=end + 1)
    call = f.call("lopt-alice-1")
    (optimized,) = call.records("local_optimization")
    # "Success: No" although it succeeded: the swap kind is reported inverted.
    assert optimized["success"] is True and optimized["reportedSuccess"] == "No"
    assert short(optimized["source"].name) == "200;1" and optimized["source"].uniqueid == bob
    assert optimized["localOne"].uniqueid == "1796067726.38"
    # Alice talks to Bob throughout: through the middle Local channel M,
    # then, while M is optimized away, Bob counts as moving into her bridge,
    # then directly.  Her phone (;2) talks to Bob through her ;1.
    assert f.timelines["lopt-alice-1"] == [(), ("200;1",), ()]
    assert f.timelines["lopt-alice-2"] == [(), ("200;1",), ()]
    assert f.timelines[bob] == [(), ("100;1",), ()]
    connections = f.tracker.callModel.connections
    assert connections._inTransit == {} and not connections._optimizations
    # Right after the optimization, Alice ;1 and Bob ;1 share bridge Y.
    assert f.snapshot is not None
    assert f.snapshot["bridges"]["be27b02b-50e2-4ff0-b798-3683a815ae39"] == ["100;1", "200;1"]
    assert f.snapshot["talking"]["100;1"] == ["200;1"]
    assert not f.tracker.channels and not f.tracker.bridges


# -- 4. queue ----------------------------------------------------------------------------


def test_queueCalls() -> None:
    f = Followed(messages("calls-queue"), watch=["q-alice-1"])
    assert [c.linkedid for c in f.ended] == ["q-alice-1", "q-bob-1"]
    assert story(f, "q-alice-1") == [
        ("queue_join", ("100;1",)),
        ("agent_called", ("401;1",)),
        ("agent_ring_no_answer", ("401;1",)),
        ("agent_called", ("402;1",)),
        ("queue_leave", ("100;1",)),
        ("agent_connect", ("402;1",)),
        ("agent_complete", ("402;1",)),
    ]
    call = f.call("q-alice-1")
    (noAnswer,) = call.records("agent_ring_no_answer")
    assert noAnswer["ringTime"] == 4.0  # 4000 ms on the wire
    (connect,) = call.records("agent_connect")
    assert (connect["holdTime"], connect["ringTime"]) == (7.0, 2.0)  # seconds on the wire
    (complete,) = call.records("agent_complete")
    assert (complete["holdTime"], complete["talkTime"], complete["reason"]) == (7.0, 5.0, "agent")
    assert complete["queue"] == "calls-queue" and complete["memberName"] == "Agent 402"
    assert f.timelines["q-alice-1"] == [(), ("402;1",), ()]
    assert story(f, "q-bob-1") == [
        ("queue_join", ("101;1",)),
        ("agent_called", ("401;1",)),
        ("queue_abandon", ("101;1",)),
        ("queue_leave", ("101;1",)),
    ]
    (abandon,) = f.call("q-bob-1").records("queue_abandon")
    assert (abandon["position"], abandon["originalPosition"], abandon["holdTime"]) == (1, 1, 3.0)


# -- 5. originate outcomes ---------------------------------------------------------------


def test_originateOutcomesByName() -> None:
    f = Followed(messages("calls-originate-outcomes"))
    outcomes = {}
    for call in f.ended:
        (record,) = call.records("originate")
        outcomes[call.linkedid] = (record["outcome"], record["reason"], call.answered is not None)
    assert outcomes == {
        "orig-a-1": ("answered", 4, True),
        "orig-b-1": ("busy", 5, False),
        "orig-c-1": ("no answer", 3, False),
        "orig-d-1": ("congestion", 8, False),
        "orig-e-1": ("failed", 0, False),
    }
    # (c) rang until the 5 s Timeout: both halves hung up with cause 19.
    noAnswer = f.call("orig-c-1")
    assert {r["cause"] for r in noAnswer.records("hangup")} == {19}
    assert noAnswer.ended is not None
    assert noAnswer.ended - noAnswer.started == pytest.approx(5.0, abs=0.05)


# -- 6. parking --------------------------------------------------------------------------


def test_parkingRetrievalTimeoutAndGiveUp() -> None:
    bob1, bob2 = "1796067767.64", "1796067773.70"
    f = Followed(messages("calls-park"), watch=[bob1, bob2])
    assert [c.linkedid for c in f.ended] == ["park1-alice-1", "park2-alice-1", "park3-alice-1"]
    # Call 1: Dave's call is joined into Alice's when he retrieves Bob.
    first = f.call("park1-alice-1")
    assert first.linkedids == {"park1-alice-1", "park1-dave-1"}
    assert {"park1-dave-1", "park1-dave-2"} <= first.uniqueids
    assert story(f, "park1-alice-1") == [
        ("parked", ("200;1",)),
        ("joined", ()),
        ("unparked", ("200;1", "300;1")),
    ]
    (parked,) = first.records("parked")
    assert (parked["lot"], parked["space"], parked["timeout"]) == ("default", "701", 45)
    # Parked, Bob talks to nobody; retrieved, to Dave.
    assert f.timelines[bob1] == [(), ("100;1",), (), ("300;1",), ()]
    # Call 2: the park times out; Bob calls the parker's dial string back.
    assert story(f, "park2-alice-1") == [("parked", ("200;1",)), ("park_timeout", ("200;1",))]
    assert f.timelines[bob2] == [(), ("100;1",), (), ("100;1",), ()]
    callback = [r for r in f.call("park2-alice-1").records("dial")
                if r["caller"] is not None and r["caller"].uniqueid == bob2]
    assert [r["dialString"] for r in callback] == ["100@calls-park-phone"]
    # Call 3: parked by a blind transfer to 700; the parked caller gives up.
    assert story(f, "park3-alice-1") == [
        ("unhold", ("100;1",)),
        ("blind_transfer", ("100;1", "201;1")),
        ("parked", ("201;1",)),
        ("park_give_up", ("201;1",)),
    ]
    (giveUp,) = f.call("park3-alice-1").records("park_give_up")
    assert (giveUp["timeout"], giveUp["duration"]) == (39, 6)
    # The parking bridge is never destroyed, and now empty.
    assert [b.type for b in f.tracker.bridges.values()] == ["parking"]
    assert not f.tracker.calls and not f.tracker.channels


# -- 7. hold, DTMF -----------------------------------------------------------------------


def test_holdAndDtmf() -> None:
    f = Followed(messages("calls-hold-mute-dtmf"))
    call = f.call("hold-alice-1")
    assert [(r.kind, short(r["channel"].name), r.get("musicClass"))
            for r in call.records("hold", "unhold", "music_start", "music_stop")] == [
        ("hold", "100;1", "calls"), ("music_start", "200;1", "calls"),
        ("unhold", "100;1", None), ("music_stop", "200;1", None)]
    digits = [(short(r["channel"].name), r["digit"], r["direction"], r["duration"])
              for r in call.records("dtmf")]
    assert digits[:3] == [("100;1", "1", "Received", 0.25), ("200;1", "1", "Sent", 0.25),
                          ("200;2", "1", "Received", 0.25)]
    assert ("200;1", "#", "Received", 0.25) in digits and ("100;2", "#", "Received", 0.25) in digits
    # Feature digits reach only Alice ;1.
    assert [d for d in digits if d[1] in "*5"] == [("100;1", "*", "Received", 0.1),
                                                  ("100;1", "5", "Received", 0.1)]


# -- races: the same state whatever order Asterisk interleaves ----------------------------


def _races() -> List[Any]:
    """(flow, index of the event that moves, first position, last position)."""
    cases: List[Any] = []
    for name in ("calls-blind-transfer", "calls-blind-transfer-caller", "calls-attended-transfer",
                 "calls-attended-transfer-threeway", "calls-attended-transfer-abort",
                 "calls-attended-transfer-blond", "calls-local-optimization", "calls-queue",
                 "calls-originate-outcomes", "calls-park", "calls-hold-mute-dtmf"):
        flow = messages(name)
        # OriginateResponse came before its channel's Newstate Up, its own
        # DialBegin, even its Newchannels: anywhere from the first Newchannel
        # of its Uniqueid on.
        start = 0
        while True:
            try:
                response = find(flow, event("OriginateResponse"), start)
            except LookupError:
                break
            uniqueid = flow[response].message["uniqueid"]
            first = find(flow, event("Newchannel", Uniqueid=uniqueid))
            cases.append((name, response, first, response))
            start = response + 1
    return cases


def _named() -> List[Any]:
    """The other races CALLS.md names, one per flow where it was seen."""
    cases: List[Any] = []
    # MusicOnHoldStop before the BridgeMerge (another run of the attended transfer).
    for name in ("calls-attended-transfer", "calls-attended-transfer-threeway",
                 "calls-attended-transfer-blond"):
        flow = messages(name)
        stop = find(flow, event("MusicOnHoldStop"))
        merge = find(flow, event("BridgeMerge"))
        cases.append((name, stop, min(stop, merge) - 1, stop))
        # The merge after the channels' own BridgeLeave/BridgeEnter.  (Compared
        # once the AttendedTransfer has said who was kicked out.)
        transfer = find(flow, event("AttendedTransfer"))
        cases.append((name, merge, merge, transfer - 1, transfer + 1))
    # ParkedCall before the parkee's BridgeLeave (and after, in other runs).
    flow = messages("calls-park")
    parked = find(flow, event("ParkedCall"))
    cases.append(("calls-park", parked, parked, find(flow, event("MusicOnHoldStart"), parked)))
    # ParkedCallTimeOut after the call-back's DialBegin.
    timeout = find(flow, event("ParkedCallTimeOut"))
    cases.append(("calls-park", timeout, timeout, find(flow, event("DialBegin"), timeout)))
    # DialBegin of a Dial after the dialled ;2 half's first Newexten, and
    # Newstate Up of ;1 before ;2 (Carol in the blind transfer).
    flow = messages("calls-blind-transfer")
    dial = find(flow, event("DialBegin", DestUniqueid="1796067666.4"))
    cases.append(("calls-blind-transfer", dial, dial, find(flow, event(
        "Newexten", Uniqueid="1796067666.5"), dial)))
    up1 = find(flow, event("Newstate", Uniqueid="1796067666.4", ChannelStateDesc="Up"))
    up2 = find(flow, event("Newstate", Uniqueid="1796067666.5", ChannelStateDesc="Up"))
    cases.append(("calls-blind-transfer", max(up1, up2), min(up1, up2), max(up1, up2)))
    # Cdr before the Hangup of the channel it describes.
    flow = messages("calls-originate-outcomes")
    cdr = find(flow, event("Cdr"))
    cases.append(("calls-originate-outcomes", cdr, find(flow, event("DialEnd")), cdr))
    return cases


def _cases() -> List[Any]:
    return [case if len(case) == 5 else case + (case[3] + 1,) for case in _races() + _named()]


@pytest.mark.parametrize("name, index, low, high, checkpoint", _cases())
def test_sameStateWhateverTheOrder(name: str, index: int, low: int, high: int,
                                       checkpoint: int) -> None:
    """Moving one event anywhere in [low, high], the state after *checkpoint*
    messages (all of the window) and the ended calls are the same."""
    flow = messages(name)
    reference = Followed(flow, checkpoint=checkpoint)
    expected = summary(reference.ended)
    assert reference.snapshot is not None
    for to in range(low, high + 1):
        if to == index:
            continue
        shuffled = moved(flow, index, to)
        assert sorted(m.data for m in shuffled[:high + 1]) == sorted(m.data for m in flow[:high + 1])
        f = Followed(shuffled, checkpoint=checkpoint)
        assert f.snapshot == reference.snapshot, (name, index, to)
        assert summary(f.ended) == expected, (name, index, to)
        assert state(f.tracker) == state(reference.tracker), (name, index, to)
        assert not f.tracker.channels and not f.tracker.calls


def test_racesCoverEveryFlow() -> None:
    flows = {case[0] for case in _races() + _named()}
    assert len(flows) == 11
    assert len(_races()) == 19  # every OriginateResponse of every flow (5 in the outcomes, 4 in park)


def test_stateHelperSeesBridges() -> None:
    flow = messages("calls-blind-transfer")
    entered = find(flow, event("BridgeEnter", Uniqueid="bt-alice-1"))
    f = Followed(flow, checkpoint=entered + 1)
    assert f.snapshot is not None
    assert f.snapshot["talking"]["100;1"] == ["200;1"]
    assert f.snapshot["talking"]["100;2"] == ["200;1"]  # the phone, through its ;1 half
    assert f.snapshot["calls"] == {"bt-alice-1": ["100;1", "100;2", "200;1", "200;2"]}
    assert state(f.tracker)["calls"] == {}


# -- queues and parking state --------------------------------------------------------------


def test_queueState() -> None:
    seen: List[Any] = []

    def probe(item: Any, tracker: Any) -> None:
        name = item.message.get("event")
        queue = tracker.queues.get("calls-queue")
        if name in ("AgentRingNoAnswer", "AgentConnect", "AgentComplete", "QueueCallerAbandon"):
            members = {m.name: (m.status, m.statusName) for m in queue.members.values()}
            waiting = [(c.uniqueid, c.position, round(c.since, 3)) for c in queue.waiting()]
            seen.append((name, waiting, members, queue.answered, queue.abandoned))
            if name == "AgentRingNoAnswer":  # the caller waits with the queue's music
                assert list(tracker.calls["q-alice-1"].onHold) == ["q-alice-1"]

    flow = messages("calls-queue")
    joined = flow[find(flow, event("QueueCallerJoin"))].time  # "since" is the join's time
    f = Followed(flow, probe=probe)
    assert seen[0] == ("AgentRingNoAnswer", [("q-alice-1", 1, round(joined, 3))],
                       {"Agent 401": (2, "in use")}, 0, 0)
    # The caller leaves the queue (QueueCallerLeave) before AgentConnect.
    assert seen[1][0] == "AgentConnect" and seen[1][1] == [] and seen[1][3] == 1
    assert seen[1][2]["Agent 402"] == (2, "in use")
    assert seen[2][0] == "AgentComplete"
    assert seen[3][0] == "QueueCallerAbandon" and seen[3][4] == 1 and seen[3][1] == []
    queue = f.tracker.queues["calls-queue"]
    assert (queue.answered, queue.abandoned, queue.completed) == (1, 1, 1)
    assert queue.callers == {} and f.tracker.queuesAndParking._queuesOf == {}
    assert {m.name: (m.statusName, m.callsTaken) for m in queue.members.values()} == {
        "Agent 401": ("not in use", 0), "Agent 402": ("not in use", 1)}


def test_parkingState() -> None:
    seen: List[Any] = []

    def probe(item: Any, tracker: Any) -> None:
        name = item.message.get("event")
        if name == "MusicOnHoldStart" and tracker.parked:
            parkee = next(iter(tracker.parked.values())).uniqueid
            assert parkee in tracker.callOf(parkee).onHold  # parked: hears the music
            seen.append("music")
        if name and name.startswith(("ParkedCall", "UnParkedCall")):
            seen.append((name, {k: (p.name and short(p.name), p.uniqueid, p.timeout,
                                    p.timeoutAt and round(p.timeoutAt, 3))
                                for k, p in tracker.parked.items()}))

    flow = messages("calls-park")
    # The timeout runs from when each ParkedCall was seen.
    t1, t2, t3 = (item.time for item in flow if item.message.get("event") == "ParkedCall")
    f = Followed(flow, probe=probe)
    assert f.tracker.queuesAndParking._parkedAt == {}
    space = ("default", "701")
    assert seen.count("music") == 3
    seen = [s for s in seen if s != "music"]
    assert seen == [
        ("ParkedCall", {space: ("200;1", "1796067767.64", 45, round(t1 + 45, 3))}),
        ("UnParkedCall", {}),
        ("ParkedCall", {space: ("200;1", "1796067773.70", 3, round(t2 + 3, 3))}),
        ("ParkedCallTimeOut", {}),
        ("ParkedCall", {space: ("201;1", "1796067780.76", 45, round(t3 + 45, 3))}),
        ("ParkedCallGiveUp", {}),
    ]
    assert f.tracker.parked == {}


def test_parkedCallerHangingUpLeavesTheSpaceEvenWithoutGiveUp() -> None:
    flow = messages("calls-park")
    giveUp = find(flow, event("ParkedCallGiveUp"))
    f = Followed(flow[:giveUp] + flow[giveUp + 1:])
    assert f.tracker.parked == {} and f.tracker.queuesAndParking._parkedAt == {}
    assert [r.kind for r in f.call("park3-alice-1").records("park_give_up")] == []


def test_nothingIsKeptOnceEveryFlowHasEnded() -> None:
    """All eleven flows through one tracker: what stays is the bounded list
    of ended calls and the parking bridge Asterisk never destroys."""
    names = ("calls-blind-transfer", "calls-blind-transfer-caller", "calls-attended-transfer",
             "calls-attended-transfer-threeway", "calls-attended-transfer-abort",
             "calls-attended-transfer-blond", "calls-local-optimization", "calls-queue",
             "calls-originate-outcomes", "calls-park", "calls-hold-mute-dtmf")
    flow = [item for name in names for item in messages(name)]
    f = Followed(flow)
    tracker, model = f.tracker, f.tracker.callModel
    assert len(f.ended) == 1 + 1 + 4 + 1 + 2 + 5 + 3 + 1  # every call ended once
    assert tracker.channels == {} and tracker.calls == {} and tracker._byName == {}
    assert [b.type for b in tracker.bridges.values()] == ["parking"]
    assert tracker._mergedFrom == {} and tracker._kickable == {}
    assert model._aliases == {} and model._byUniqueid == {} and model._early == {}
    assert model._originateSeconds == {}
    assert model.connections._localPeer == {} and model.connections._inTransit == {}
    assert tracker.parked == {} and all(not q.callers for q in tracker.queues.values())
    assert len(model.ended) == len(f.ended)  # within keepEnded (100)
    tracker.stop()
    assert model.ended == {} and tracker.queues == {}
