"""The one deadline scheduler (starpy._deadlines): many deadlines, one timer."""
from __future__ import annotations

import random
from typing import Dict, List, Optional, Tuple

from twisted.internet import task

from starpy._deadlines import COMPACT_ABOVE, Deadline, Deadlines


class Entry(Deadline):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        Deadline.__init__(self)
        self.name = name


class Owner:
    """What a connection does: a table of live entries, settled on expiry."""

    def __init__(self, usual: Optional[float] = 10.0) -> None:
        self.clock = task.Clock()
        self.live: Dict[str, Entry] = {}
        self.expired: List[Tuple[str, float]] = []
        self.deadlines: Deadlines[Entry] = Deadlines(
            self.clock, self.onExpired, self.live.__len__, usual)

    def add(self, name: str, timeout: float) -> Entry:
        entry = self.live[name] = Entry(name)
        self.deadlines.add(entry, timeout)
        return entry

    def settle(self, name: str) -> None:
        self.live.pop(name).done = True
        if not self.live:
            self.deadlines.clear()

    def onExpired(self, entry: Entry) -> None:
        self.expired.append((entry.name, self.clock.seconds()))
        self.settle(entry.name)

    def runFor(self, seconds: float) -> None:
        """Let *seconds* pass in steps of 0.5 (Clock.advance fires what is
        due at the end of its step only)."""
        self.clock.pump([0.5] * int(seconds * 2))


def test_entriesOfTheUsualTimeoutExpireInOrderUnderOneTimer() -> None:
    owner = Owner()
    for index in range(5):
        owner.add("e%d" % index, 10.0)
        owner.clock.advance(1.0)
    assert len(owner.clock.getDelayedCalls()) == 1
    owner.runFor(4.5)
    assert owner.expired == []
    owner.runFor(0.5)  # t=10: e0's deadline
    assert owner.expired == [("e0", 10.0)]
    owner.runFor(3.5)
    assert owner.expired == [("e0", 10.0), ("e1", 11.0), ("e2", 12.0), ("e3", 13.0)]
    owner.runFor(1.0)
    assert owner.expired[-1] == ("e4", 14.0)
    assert owner.clock.getDelayedCalls() == [] and len(owner.deadlines) == 0


def test_mixedTimeoutsEachExpireAtTheirOwnDeadline() -> None:
    owner = Owner(usual=10.0)
    owner.add("usual", 10.0)
    owner.add("short", 2.0)  # earlier than the timer: the timer moves
    owner.add("long", 40.0)
    owner.clock.advance(1.0)
    owner.add("usual2", 10.0)
    assert len(owner.clock.getDelayedCalls()) == 1
    owner.runFor(1.0)
    assert owner.expired == [("short", 2.0)]
    owner.runFor(9.0)
    assert owner.expired == [("short", 2.0), ("usual", 10.0), ("usual2", 11.0)]
    owner.runFor(29.0)
    assert owner.expired[-1] == ("long", 40.0)
    assert owner.clock.getDelayedCalls() == []


def test_deadlinesDueTogetherExpireOldestFirstWhateverTheirQueue() -> None:
    owner = Owner(usual=10.0)
    owner.add("usual", 10.0)  # deadline 10
    owner.add("other", 9.0)  # deadline 9, on the heap
    owner.clock.advance(20.0)  # both due at the one firing
    assert [name for name, _ in owner.expired] == ["other", "usual"]


def test_aSettledEntryNeverExpiresAndTheLastOneStopsTheTimer() -> None:
    owner = Owner()
    owner.add("a", 10.0)
    owner.add("b", 3.0)
    owner.settle("b")
    owner.clock.advance(5.0)
    assert owner.expired == []
    owner.settle("a")
    assert owner.clock.getDelayedCalls() == [] and len(owner.deadlines) == 0
    owner.clock.advance(100.0)
    assert owner.expired == []


def test_anEntryAddedByAnExpiryCallbackGetsItsOwnDeadline() -> None:
    owner = Owner(usual=10.0)
    chained: List[str] = []

    def onExpired(entry: Entry) -> None:
        owner.onExpired(entry)
        if len(chained) < 3:
            name = "next%d" % len(chained)
            chained.append(name)
            owner.add(name, 10.0 if len(chained) % 2 else 4.0)

    owner.deadlines = Deadlines(owner.clock, onExpired, owner.live.__len__, 10.0)
    owner.add("first", 10.0)
    owner.add("second", 12.0)  # on the heap, due before next0
    owner.runFor(10.0)
    assert owner.expired == [("first", 10.0)]
    owner.runFor(2.0)  # the re-armed timer must not have skipped "second"
    assert owner.expired[-1] == ("second", 12.0)
    owner.runFor(30.0)
    assert owner.expired == [("first", 10.0), ("second", 12.0), ("next1", 16.0),
                             ("next0", 20.0), ("next2", 26.0)]
    assert owner.clock.getDelayedCalls() == []


def test_theFifoStaysBoundedBehindAnEntryThatNeverSettles() -> None:
    owner = Owner()
    owner.add("stuck", 10.0)
    for index in range(10000):
        owner.add("e%d" % index, 10.0)
        owner.settle("e%d" % index)
        assert len(owner.deadlines) <= 2 * len(owner.live) + COMPACT_ABOVE + 1
    assert len(owner.clock.getDelayedCalls()) == 1


def test_theHeapStaysBoundedWhateverTheOrderOfSettling() -> None:
    owner = Owner(usual=None)
    rng = random.Random(7)
    for index in range(10000):
        owner.add("e%d" % index, rng.choice([1.0, 5.0, 60.0]) + index)
        if index % 3:
            owner.settle(rng.choice(sorted(owner.live)[-20:]))
        assert len(owner.deadlines) <= 2 * len(owner.live) + COMPACT_ABOVE + 1


def test_changingTheUsualTimeoutKeepsEveryDeadline() -> None:
    owner = Owner(usual=10.0)
    owner.add("old", 10.0)
    owner.clock.advance(1.0)
    owner.deadlines.usualTimeout = 3.0
    owner.add("new", 3.0)  # deadline 4, before "old": FIFO order must not be assumed
    owner.add("odd", 10.0)  # no longer usual: the heap
    owner.runFor(3.0)
    assert owner.expired == [("new", 4.0)]
    owner.runFor(6.0)
    assert owner.expired == [("new", 4.0), ("old", 10.0)]
    owner.runFor(1.0)
    assert owner.expired[-1] == ("odd", 11.0)


def test_randomisedDeadlinesFireExactlyOnTime() -> None:
    owner = Owner(usual=5.0)
    rng = random.Random(11)
    due: Dict[str, float] = {}
    answered = set()
    for index in range(500):
        name = "e%d" % index
        timeout = 5.0 if rng.random() < 0.6 else rng.choice([0.5, 2.0, 7.5, 30.0])
        owner.add(name, timeout)
        due[name] = owner.clock.seconds() + timeout
        if rng.random() < 0.2:
            settled = rng.choice(sorted(owner.live))
            answered.add(settled)
            owner.settle(settled)
        owner.clock.advance(rng.choice([0.0, 0.1, 0.25]))
    while owner.live:
        owner.clock.advance(0.05)
    assert {name for name, _ in owner.expired} == set(due) - answered
    for name, when in owner.expired:
        assert due[name] <= when < due[name] + 0.25 + 1e-9, name
    assert owner.clock.getDelayedCalls() == []
