"""Following calls against the fake Asterisk replaying captured flows; originate outcomes."""
from __future__ import annotations

from typing import Any, List, Tuple

import pytest
from twisted.internet import task
from twisted.internet.defer import CancelledError

from starpy import channel as chan
from starpy import error, manager, originate
from starpy.calls import RECORD_KINDS, CallRecord
from starpy.testing import replay
from starpy.testing.ami import FakeAMIServerFactory, MemoryConnection, loginInMemory
from starpy.testing.pytest_plugin import LoggedErrors

from .callflows import messages, short
from .deferreds import failure, result
from .transcripts import FIXTURES


def connected() -> Tuple[task.Clock, FakeAMIServerFactory, manager.AMIProtocol, MemoryConnection,
                         chan.ChannelTracker]:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    tracker = chan.ChannelTracker(ami)
    tracker.start()
    return clock, server, ami, connection, tracker


def run(clock: task.Clock, connection: MemoryConnection, seconds: float, step: float = 0.05) -> None:
    """Let *seconds* pass on the clock, delivering what is written on the way."""
    connection.flush()
    steps = int(round(seconds / step))
    for _ in range(steps):
        clock.advance(step)
        connection.flush()


# -- captures ----------------------------------------------------------------------------


def test_rawAndTextCapturesReadTheSameMessages() -> None:
    for name in ("calls-park", "calls-queue"):
        text = replay.readCapture(FIXTURES / (name + ".txt"))
        raw = replay.readCapture(FIXTURES / (name + ".raw"))
        assert [m.data for m in text] == [m.data for m in raw]
        assert b"".join(m.data for m in raw) == (FIXTURES / (name + ".raw")).read_bytes()[
            len(b"Asterisk Call Manager/11.0.0\r\n"):]
        assert all(m.time == 0.0 for m in raw) and text[-1].time > 15
    # The bare LF inside the Park reply stays part of its message.
    (park,) = [m for m in replay.readCapture(FIXTURES / "calls-park.raw")
               if m.message.get("actionid") == "park1-park"]
    assert park.data.endswith(b"Message: Park successful\n\r\n\r\n")


def test_aCaptureThatIsNotOneIsRefused() -> None:
    with pytest.raises(ValueError, match="row 1"):
        replay.parseCapture("  0.1 << 'not bytes'\n")
    with pytest.raises(ValueError, match="ends inside a message"):
        replay.parseCapture(b"Asterisk Call Manager/11.0.0\r\nEvent: X\r\n")


# -- the fake plays a flow ---------------------------------------------------------------------


def test_fakePlaysACapturedFlowToATracker() -> None:
    clock, server, ami, connection, tracker = connected()
    transfers: List[Tuple[str, str]] = []
    tracker.subscribeCalls(["blind_transfer", "attended_transfer"], lambda call, record: transfers.append(
        (call.linkedid, record.kind)))
    done = replay.playEvents(server, messages("calls-attended-transfer"), speed=2.0)
    run(clock, connection, 2.0)
    # Mid-flow (about 4 s of the capture): Alice consults Carol while Bob holds.
    call = tracker.calls["atx-alice-1"]
    assert [r.kind for r in call.records("hold")] == ["hold"]
    assert sorted(short(c.name) for c in tracker.talkingTo("atx-alice-1")) == ["300;1"]
    ended = call.whenEnded()
    assert not ended.called
    run(clock, connection, 3.0)
    assert result(done) == 148  # every event of the capture
    assert result(ended) is call and call.ended is not None
    assert transfers == [("atx-alice-1", "attended_transfer")]
    # Paced as captured, twice as fast: the transfer came at about 5.25 s / 2.
    (record,) = call.records("attended_transfer")
    assert record.time == pytest.approx(5.252 / 2, abs=0.06)
    assert tracker.calls == {} and tracker.channels == {}
    assert result(call.whenEnded()) is call  # at once, now
    tracker.stop()


def test_playingCanBeStopped() -> None:
    clock, server, ami, connection, tracker = connected()
    done = replay.playEvents(server, messages("calls-queue"))
    run(clock, connection, 1.0)
    assert "q-alice-1" in tracker.calls
    pending = len(clock.getDelayedCalls())
    done.cancel()
    assert isinstance(failure(done).value, CancelledError)
    assert len(clock.getDelayedCalls()) == pending - 1  # the next event is not sent
    before = len(tracker.callModel.calls["q-alice-1"].history)
    run(clock, connection, 2.0)
    assert len(tracker.callModel.calls["q-alice-1"].history) == before
    with pytest.raises(ValueError):
        replay.playEvents(server, [], speed=0)
    tracker.stop()


# -- originate outcomes -----------------------------------------------------------------------


@pytest.mark.parametrize("actionID, outcome, reason, seconds", [
    ("orig-b", "busy", 5, 0.0),
    ("orig-c", "no answer", 3, 5.0),
    ("orig-d", "congestion", 8, 0.0),
    ("orig-e", "failed", 0, 0.0),
])
def test_originateFailureSaysItsOutcome(actionID: str, outcome: str, reason: int,
                                            seconds: float) -> None:
    clock, server, ami, connection, tracker = connected()
    replay.scriptOriginate(server, replay.originateSegment(messages("calls-originate-outcomes"),
                                                           actionID))
    d = tracker.originate("Local/200@calls-orig", application="Wait", data="1",
                          channelId="mine-1", otherChannelId="mine-2")
    run(clock, connection, 6.0)
    failed = failure(d).value
    assert isinstance(failed, originate.OriginateFailed)
    assert isinstance(failed, error.AMIOriginateFailure)  # as before, for old callers
    assert (failed.outcome, failed.reason, failed.uniqueid) == (outcome, reason, "mine-1")
    assert failed.seconds == pytest.approx(seconds, abs=0.06)
    assert outcome in str(failed)
    # The failed attempt's channels were a call too (no Local pair for (e)).
    assert failed.call is not None and failed.call.ended is not None
    assert "mine-1" in failed.call.uniqueids
    (record,) = failed.call.records("originate")
    assert record["outcome"] == outcome
    assert record["seconds"] == failed.seconds
    tracker.stop()


def test_originateSuccessGivesTheCall() -> None:
    clock, server, ami, connection, tracker = connected()
    replay.scriptOriginate(server, replay.originateSegment(messages("calls-originate-outcomes"),
                                                           "orig-a"))
    d = tracker.originate("Local/100@calls-orig", context="calls-orig-dest", exten="s",
                          priority=1)
    run(clock, connection, 0.5)
    call = result(d)
    # A ChannelId was made up and sent; the call is found by it.
    (sent,) = [a for a in server.received if a.get("action") == "Originate"]
    uniqueid = sent["channelid"]
    assert uniqueid.startswith("starpy-")
    assert call.linkedid == uniqueid and uniqueid in call.channels
    (record,) = call.records("originate")
    assert record["outcome"] == "answered" and record["seconds"] == pytest.approx(0.0, abs=0.06)
    ended = call.whenEnded()
    run(clock, connection, 2.0)
    assert result(ended) is call
    tracker.stop()


def test_originateResponseBeforeTheChannelStillGivesTheCall() -> None:
    # In -blond, the first queue call and Originate (d) the OriginateResponse
    # came before the channel's first events: move it first of all.
    clock, server, ami, connection, tracker = connected()
    segment = replay.originateSegment(messages("calls-originate-outcomes"), "orig-a")
    response = [m for m in segment if m.message.get("event") == "OriginateResponse"]
    rest = [m for m in segment if m.message.get("event") != "OriginateResponse"]
    replay.scriptOriginate(server, [response[0]._replace(time=rest[0].time)] + rest)
    d = tracker.originate("Local/100@calls-orig", context="calls-orig-dest", exten="s",
                          channelid="early-1")  # upstream's spelling
    connection.flush()
    assert not d.called or result(d).linkedid == "early-1"
    run(clock, connection, 0.5)
    call = result(d)
    assert call.linkedid == "early-1"
    (record,) = call.records("originate")
    assert record["outcome"] == "answered" and "seconds" in record.details
    tracker.stop()


def test_outcomeNames() -> None:
    assert [originate.outcomeName(r, "Failure") for r in (0, 1, 3, 4, 5, 8)] == [
        "failed", "hung up", "no answer", "answered", "busy", "congestion"]
    assert originate.outcomeName(None, "Success") == "answered"
    assert originate.outcomeName(42, "Failure") == "failed"


def test_originateRefusesBadArgumentsBeforeSending() -> None:
    clock, server, ami, connection, tracker = connected()
    with pytest.raises(TypeError):
        tracker.originate("Local/100@x", nonsense=1)
    with pytest.raises(TypeError, match="different values"):
        tracker.originate("Local/100@x", channelid="a", channelId="b")
    connection.flush()
    assert not [a for a in server.received if a.get("action") == "Originate"]
    tracker.stop()
    lone = chan.ChannelTracker()
    assert isinstance(failure(lone.originate("Local/1@x")).value, error.AMIConnectionLost)


# -- subscriptions ------------------------------------------------------------------------------


def test_failingCallHandlerIsLoggedAndOthersRun(loggedErrors: LoggedErrors) -> None:
    clock, server, ami, connection, tracker = connected()
    seen: List[str] = []

    def broken(call: Any, record: CallRecord) -> None:
        raise RuntimeError("dashboard bug")

    tracker.subscribeCalls(None, broken)
    handle = tracker.subscribeCalls("dial", lambda call, record: seen.append(record.kind))
    with pytest.raises(ValueError, match="unknown call record kinds"):
        tracker.subscribeCalls(["dial", "ringing"], broken)
    replay.playEvents(server, messages("calls-blind-transfer"), speed=100.0)
    run(clock, connection, 0.1, step=0.002)
    assert seen.count("dial") == 3
    errors = loggedErrors.flush(RuntimeError)
    # Once per record of the flow, each with its traceback, on starpy.calls.
    transfer = tracker.findCall("bt-alice-1")
    assert transfer is not None and len(errors) == len(transfer.history)
    assert all(e.origin == "starpy.calls" and "dashboard bug" in e.text
               and "Traceback" in e.text for e in errors)
    count = len(seen)
    handle.cancel()
    handle.cancel()
    replay.playEvents(server, messages("calls-blind-transfer"), speed=100.0)
    run(clock, connection, 0.1, step=0.002)
    assert len(seen) == count
    assert loggedErrors.flush(RuntimeError, match="dashboard bug")  # still subscribed
    assert "dial" in RECORD_KINDS
    tracker.stop()


def test_stopFailsWhenEndedWaiters() -> None:
    clock, server, ami, connection, tracker = connected()
    replay.playEvents(server, messages("calls-hold-mute-dtmf"))
    run(clock, connection, 1.0)
    call = tracker.calls["hold-alice-1"]
    ended = call.whenEnded()
    cancelled = call.whenEnded()
    cancelled.cancel()
    assert failure(cancelled).check(CancelledError)
    assert len(call._endWaiters) == 1  # the cancelled one is forgotten
    tracker.stop()
    assert isinstance(failure(ended).value, chan.TrackerStopped)
    assert len(call._endWaiters) == 0


def test_readmeFollowingCallsSectionRuns() -> None:
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    start = readme.index("\n## Following calls\n")
    end = readme.find("\n## ", start + 1)
    (code,) = re.findall(r"```python\n(.*?)```", readme[start:end if end > 0 else None], re.S)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    # What CALLS.md says of calls-attended-transfer: Alice dials Bob, holds
    # him to consult Carol, hangs up: Bob talks to Carol.
    assert done.stdout.splitlines() == [
        "atx-alice-1 dial Local/100;1 -> Local/200;1",
        "atx-alice-1 hold by Local/100;1",
        "atx-alice-1 attended_transfer Success by Local/100;1",
        "    Local/200;1 talks to ['Local/300;1']",
        "atx-alice-1 ended, 6 channels",
    ]


def test_asyncAgiOriginateFailureNamesItsOutcome() -> None:
    from starpy import asyncagi

    clock, server, ami, connection, tracker = connected()
    replay.scriptOriginate(server, replay.originateSegment(messages("calls-originate-outcomes"),
                                                           "orig-b"))
    dispatcher = asyncagi.AsyncAGIDispatcher(ami, None)
    dispatcher.startService()
    d = dispatcher.originate("Local/200@calls-orig", channelId="agi-1")
    run(clock, connection, 0.5)
    failed = failure(d).value
    assert isinstance(failed, error.AMIOriginateFailure)
    assert (failed.reason, failed.outcome) == (5, "busy")
    # The tracker saw the same attempt as a call.
    busy = tracker.findCall("agi-1")
    assert busy is not None and busy.records("originate")[0]["outcome"] == "busy"
    dispatcher.stopService()
    tracker.stop()


def test_rebuildAfterAReconnectionFollowsTheCallInProgress() -> None:
    from starpy.testing.ami import ListReply

    from .callflows import Followed, event, find

    flow = messages("calls-attended-transfer")
    lost = find(flow, event("Hold"))                 # connection lost here...
    back = find(flow, event("AttendedTransfer")) + 1  # ...and back after the transfer
    # What Asterisk has at that moment: what a tracker that saw everything knows.
    truth = Followed(flow[:back]).tracker
    clock, server, ami, connection, tracker = connected()
    for item in flow[:lost]:
        server.emitEvent(item.message.headers())
    connection.flush()
    call = tracker.calls["atx-alice-1"]
    ended = call.whenEnded()
    assert sorted(c.uniqueid for c in tracker.talkingTo("atx-alice-1")) == ["1796067685.14"]
    for channel in truth.channels.values():
        server.addChannel(channel.name, channel.uniqueid, linkedid=channel.linkedid,
                          bridgeId=channel.bridge.uniqueid if channel.bridge else "",
                          state=channel.state)
    server.script("BridgeList", ListReply(
        [[("Event", "BridgeListItem"), ("BridgeUniqueid", b.uniqueid), ("BridgeType", b.type),
          ("BridgeTechnology", b.technology), ("BridgeNumChannels", str(len(b.channels)))]
         for b in truth.bridges.values()], "BridgeListComplete"))
    d = tracker.rebuild()
    connection.flush()
    assert result(d) is tracker
    # Alice's phone hung up meanwhile; Bob now talks to Carol.
    assert "atx-alice-2" not in tracker.channels
    assert sorted(short(c.name) for c in tracker.talkingTo("1796067685.14")) == ["300;1"]
    assert tracker.calls["atx-alice-1"] is call and not ended.called
    for item in flow[back:]:
        server.emitEvent(item.message.headers())
    connection.flush()
    assert result(ended) is call
    assert tracker.channels == {} and tracker.calls == {} and tracker.bridges == {}
    # The hangups seen by the rebuild have no cause; the others do.
    unseen = [r["channel"].uniqueid for r in call.records("hangup") if not r["seen"]]
    assert unseen == ["atx-alice-2"]
    tracker.stop()


def test_aWireTraceOfYourOwnIsACapture(tmp_path: Any) -> None:
    import io
    import logging

    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    ami, connection = loginInMemory(server, manager.AMIFactory("starpy", "starpy-secret",
                                                               reactor=clock))
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(created)f %(name)s %(levelname)s %(message)s"))
    wire = logging.getLogger("starpy.wire")
    level = wire.level
    wire.addHandler(handler)
    wire.setLevel(logging.DEBUG)
    try:
        ami.setTrace(True)
        flow = messages("calls-hold-mute-dtmf")
        replay.playEvents(server, flow, speed=1000.0)
        run(clock, connection, 0.02, step=0.001)
    finally:
        wire.removeHandler(handler)
        wire.setLevel(level)
    log = tmp_path / "starpy-wire.log"
    log.write_text(written.getvalue())
    traced = replay.readCapture(log)
    assert [m.message.headers() for m in traced] == [
        m.message.headers() for m in flow if m.isEvent]
    assert all(t.time >= 0 for t in traced)
    # Followed as the capture itself is.
    clock2, server2, ami2, connection2, tracker = connected()
    # (The trace's times are the wall clock's when it was written: play it
    # for as long as it says, however long that was.)
    done = replay.playEvents(server2, traced, speed=10.0)
    run(clock2, connection2, traced[-1].time / 10.0 + 0.01, step=0.001)
    assert result(done) == len(traced)
    (ended,) = [tracker.findCall("hold-alice-1")]
    assert ended is not None and ended.ended is not None
    assert [r.kind for r in ended.records("hold", "unhold")] == ["hold", "unhold"]
    tracker.stop()


def test_traceTimesAndConnections() -> None:
    trace = "\n".join([
        "2026-11-30 20:00:01,500 starpy.wire DEBUG AMI#1 << Event: Other",
        "2026-11-30 20:00:01,500 starpy.wire DEBUG AMI#1 << ",
        "2026-11-30 20:00:01,000 starpy.wire DEBUG AMI#2 >> Action: Ping",
        "2026-11-30 20:00:01,600 starpy.wire DEBUG AMI#2 << Event: First",
        "2026-11-30 20:00:01,600 starpy.wire DEBUG AMI#2 << A: 1",
        "2026-11-30 20:00:01,600 starpy.wire DEBUG AMI#2 << ",
        "some other log line",
        "2026-11-30 20:00:02,850 starpy.wire DEBUG AMI#2 << Event: Second",
        "2026-11-30 20:00:02,850 starpy.wire DEBUG AMI#2 << ",
    ])
    two = replay.parseTrace(trace, "AMI#2")
    assert [(m.time, m.message["event"]) for m in two] == [(0.0, "First"), (1.25, "Second")]
    assert two[0].message["a"] == "1"
    assert [m.message["event"] for m in replay.parseTrace(trace)] == ["Other"]
    with pytest.raises(ValueError, match="AMI#9"):
        replay.parseTrace(trace, "AMI#9")


def test_originateIsAlwaysAsynchronousAndChecksItsIdsBeforeSending() -> None:
    clock, server, ami, connection, tracker = connected()
    for flag in ("nowait", "asynchronous", "async_"):
        with pytest.raises(TypeError, match="always asynchronous"):
            tracker.originate("Local/200@calls-orig", application="Wait", data="1",
                              **{flag: True})
    with pytest.raises(TypeError):
        tracker.originate("Local/200@calls-orig", application="Wait", data="1",
                          channelid="a", channelId="b")
    assert [m for m in server.received if m.get("action") == "Originate"] == []
