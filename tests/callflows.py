"""Replay the captured call flows (tests/fixtures/calls-*) through a ChannelTracker.

The expectations in the tests come from CALLS.md's description of what
happened in each flow, not from the tracker's own output.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from twisted.internet import task
from twisted.internet.testing import StringTransport

from starpy import channel as chan
from starpy import manager
from starpy.calls import Call, CallRecord, Party
from starpy.testing import replay
from tests.wire import connect

from .transcripts import FIXTURES

Messages = List[replay.CapturedMessage]


def messages(name: str) -> Messages:
    """The messages Asterisk sent in capture *name*, with their times."""
    return replay.readCapture(FIXTURES / (name + ".txt"))


def short(name: str) -> str:
    """``Local/200@calls-bt-phone-00000001;1`` -> ``200;1``."""
    if name.startswith("Local/") and "@" in name:
        return name[len("Local/"):name.index("@")] + name[-2:]
    return name


class Followed:
    """A flow replayed through a tracker, and what was seen on the way."""

    def __init__(self, flow: Messages, watch: Sequence[str] = (),
                 checkpoint: Optional[int] = None,
                 probe: Optional[Callable[[replay.CapturedMessage, chan.ChannelTracker], None]]
                 = None) -> None:
        self.clock = task.Clock()
        self.ami = manager.AMIProtocol(clock=self.clock)
        connect(self.ami, StringTransport())
        self.ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
        self.tracker = chan.ChannelTracker(self.ami)
        self.tracker.start()
        self.ended: List[Call] = []
        self.records: List[Tuple[str, CallRecord]] = []
        self.tracker.subscribeCalls("end", lambda call, record: self.ended.append(call))
        self.tracker.subscribeCalls(None, lambda call, record: self.records.append(
            (call.linkedid, record)))
        # Who each watched channel (by Uniqueid) talks to, each change once.
        self.timelines: Dict[str, List[Tuple[str, ...]]] = {u: [] for u in watch}
        self.snapshot: Optional[Dict[str, Any]] = None
        count = 0
        for item in flow:
            if self.clock.seconds() < item.time:
                self.clock.advance(item.time - self.clock.seconds())
            self.ami.dataReceived(item.data)
            count += 1
            for uniqueid, timeline in self.timelines.items():
                if uniqueid not in self.tracker.channels:
                    continue
                peers = tuple(sorted(short(c.name) for c in self.tracker.talkingTo(uniqueid)))
                if not timeline or timeline[-1] != peers:
                    timeline.append(peers)
            if probe is not None:
                probe(item, self.tracker)
            if checkpoint is not None and count == checkpoint:
                self.snapshot = state(self.tracker)

    def call(self, linkedid: str) -> Call:
        (found,) = [c for c in self.ended if c.linkedid == linkedid]
        return found

    def kinds(self, linkedid: str, *kinds: str) -> List[str]:
        return [r.kind for r in self.call(linkedid).records(*kinds)]


def state(tracker: chan.ChannelTracker) -> Dict[str, Any]:
    """What the tracker says now: calls, bridges, who talks to whom."""
    return {
        "calls": {k: sorted(short(c.name) for c in v.channels.values())
                  for k, v in tracker.calls.items()},
        "bridges": {k: sorted(short(c.name) for c in v.channels.values())
                    for k, v in tracker.bridges.items()},
        "talking": {short(c.name): sorted(short(p.name) for p in tracker.talkingTo(c))
                    for c in tracker.channels.values()},
        "queues": {k: ([c.uniqueid for c in q.waiting()], q.answered, q.abandoned, q.completed,
                       sorted((m.interface, m.status) for m in q.members.values()))
                   for k, q in tracker.queues.items()},
        "parked": {k: p.uniqueid for k, p in tracker.parked.items()},
        "onHold": {k: sorted(v.onHold) for k, v in tracker.calls.items()},
    }


def summary(calls: Sequence[Call]) -> List[Any]:
    """An order-free digest of ended calls: what the shuffled replays must agree on."""
    digest = []
    for call in sorted(calls, key=lambda c: c.linkedid):
        records = sorted(_recordKey(r) for r in call.history)
        digest.append((call.linkedid, sorted(call.linkedids), sorted(call.uniqueids),
                       call.answered is not None, records))
    return digest


def _recordKey(record: CallRecord) -> Tuple[str, str]:
    details = {k: (v.uniqueid if isinstance(v, Party) else v)
               for k, v in record.details.items() if k not in ("duration", "seconds")}
    return record.kind, repr(sorted(details.items()))


def find(flow: Messages, match: Callable[[replay.CapturedMessage], bool], start: int = 0) -> int:
    """The index of the first message at or after *start* that matches."""
    for index in range(start, len(flow)):
        if match(flow[index]):
            return index
    raise LookupError("no such message")


def event(name: str, **headers: str) -> Callable[[replay.CapturedMessage], bool]:
    """A matcher: the event *name* whose headers have these values."""
    name = name.lower()

    def match(item: replay.CapturedMessage) -> bool:
        message = item.message
        if message.get("event", "").lower() != name:
            return False
        return all(message.get(k.lower()) == v for k, v in headers.items())

    return match


def moved(flow: Messages, index: int, to: int) -> Messages:
    """*flow* with message *index* moved to position *to* (0-based, in the result)."""
    result = list(flow)
    item = result.pop(index)
    result.insert(to, item)
    return result
