"""Many deadlines under one timer.

A connection with hundreds of actions in flight, or a server with hundreds
of connections still sending their environment, keeps one delayed call for
the earliest deadline instead of one per action or connection:
:class:`Deadlines` holds :class:`Deadline` entries and calls the owner back
with each entry whose time has come.

- Entries added with the owner's usual timeout (``usualTimeout``) go to a
  FIFO: their deadlines grow in the order they are added, so adding one,
  and finding the expired ones at the front, costs O(1).  Others go to a
  heap.
- The owner settles an entry by setting its ``done``; the entry is dropped
  lazily (when it reaches the front, or when settled entries outnumber the
  live ones and the FIFO or heap is compacted), so what is kept stays
  proportional to what is pending whatever the order of the answers.
- The owner calls :meth:`Deadlines.clear` once nothing of its own is pending:
  the timer is cancelled, no delayed call is left behind.
- The expiry callback may add deadlines (a callback sending the next action).

The module is private: StarPy's modules import it, applications do not.
"""
from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from typing import Callable, Deque, Generic, List, Optional, Tuple, TypeVar

from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["Deadline", "Deadlines"]

#: The FIFO or the heap is compacted when it holds more entries than this
#: and more than twice the owner's live ones.
COMPACT_ABOVE = 64


class Deadline:
    """An entry with a deadline: subclass it (with ``__slots__``) for what
    the owner keeps per entry.

    :ivar deadline: when it expires (the clock's seconds), set by
        :meth:`Deadlines.add`; ``None`` until then.
    :ivar done: set by the owner once the entry no longer needs its
        deadline (answered, cancelled, closed); it then never expires.
    """

    __slots__ = ("deadline", "done")

    def __init__(self) -> None:
        self.deadline: Optional[float] = None
        self.done = False


_D = TypeVar("_D", bound=Deadline)


class Deadlines(Generic[_D]):
    """Deadlines of entries under one timer of *clock*.

    :param clock: the clock (``seconds()``, ``callLater()``).
    :param expired: called with each entry whose deadline passed and that is
        not ``done``, oldest deadline first; it should settle the entry.
    :param live: how many entries may still be pending (an upper bound, such
        as the size of the owner's table), read to decide a compaction.
    :param usualTimeout: the timeout most entries are added with: those take
        the FIFO.
    """

    __slots__ = ("_clock", "_seconds", "_expired", "_live", "_usual", "_queue", "_lastQueued",
                 "_heap", "_sequence", "_timer", "_timerTime")

    def __init__(self, clock: IReactorTime, expired: Callable[[_D], object],
                 live: Callable[[], int], usualTimeout: Optional[float] = None) -> None:
        self._clock = clock
        # Bound once: add() reads the time per entry, and the clock (a
        # reactor, with an instance dict) makes a method look-up per call
        # cost more than a slot read (callgrind on bench/w2_driver.py,
        # bench/RESULTS.md, "W2 with 100 in flight").
        self._seconds = clock.seconds
        self._expired = expired
        self._live = live
        self._usual = usualTimeout
        self._queue: Deque[_D] = deque()
        self._lastQueued = -math.inf
        self._heap: List[Tuple[float, int, _D]] = []
        self._sequence = itertools.count()
        self._timer: Optional[IDelayedCall] = None
        self._timerTime = 0.0

    def __len__(self) -> int:
        """How many entries are kept, settled ones not yet dropped included."""
        return len(self._queue) + len(self._heap)

    @property
    def usualTimeout(self) -> Optional[float]:
        """The timeout whose entries take the FIFO."""
        return self._usual

    @usualTimeout.setter
    def usualTimeout(self, value: Optional[float]) -> None:
        if value == self._usual:
            return
        # The entries queued with the old usual timeout move to the heap, so
        # that the new one starts an ordered run of its own.
        heap = self._heap
        sequence = self._sequence
        for entry in self._queue:
            if not entry.done:
                assert entry.deadline is not None
                heapq.heappush(heap, (entry.deadline, next(sequence), entry))
        self._queue.clear()
        self._lastQueued = -math.inf
        self._usual = value

    def add(self, entry: _D, timeout: float) -> None:
        """Expire *entry* in *timeout* seconds unless it is ``done`` by then."""
        deadline = self._seconds() + timeout
        entry.deadline = deadline
        if timeout == self._usual and deadline >= self._lastQueued:
            # The usual case (every Ping of the reference W2 workload): an
            # append, and the answered entries popped from the front.
            # Measured with callgrind on bench/w2_driver.py (bench/RESULTS.md).
            self._lastQueued = deadline
            queue = self._queue
            if queue:
                if queue[0].done:
                    # Answered in order, as usual: drop them from the front.
                    queue.popleft()
                    while queue and queue[0].done:
                        queue.popleft()
                elif len(queue) > COMPACT_ABOVE and len(queue) > 2 * self._live():
                    # An old entry still pending holds answered ones behind
                    # it: drop them all (amortized O(1), as for the heap).
                    live = [item for item in queue if not item.done]
                    queue.clear()
                    queue.extend(live)
            queue.append(entry)
        else:
            heap = self._heap
            while heap and heap[0][2].done:
                heapq.heappop(heap)
            heapq.heappush(heap, (deadline, next(self._sequence), entry))
            if len(heap) > COMPACT_ABOVE and len(heap) > 2 * self._live():
                # Settled entries outnumber the live ones: drop them all (each
                # compaction at least halves the heap: amortized O(1)).
                heap[:] = [item for item in heap if not item[2].done]
                heapq.heapify(heap)
        timer = self._timer
        if timer is None:
            self._timer = self._clock.callLater(timeout, self._expire)
            self._timerTime = deadline
        elif deadline < self._timerTime:
            timer.reset(timeout)
            self._timerTime = deadline

    def clear(self) -> None:
        """Forget every entry and stop the timer (the owner has nothing pending)."""
        timer = self._timer
        if timer is not None:
            # Always active: _expire forgets it before anything else.  Done
            # once per action when one is in flight at a time (W2 with 1 in
            # flight, bench/w2_driver.py): no active() call.
            self._timer = None
            timer.cancel()
        self._queue.clear()
        if self._heap:
            self._heap.clear()
        self._lastQueued = -math.inf

    def _expire(self) -> None:
        self._timer = None
        now = self._clock.seconds()
        due: List[_D] = []
        queue = self._queue
        while queue:
            entry = queue[0]
            if not entry.done:
                assert entry.deadline is not None
                if entry.deadline > now:
                    break
                due.append(entry)
            queue.popleft()
        heap = self._heap
        while heap:
            deadline, _, entry = heap[0]
            if not entry.done:
                if deadline > now:
                    break
                due.append(entry)
            heapq.heappop(heap)
        if len(due) > 1:
            due.sort(key=_deadlineOf)
        expired = self._expired
        for entry in due:
            if not entry.done:
                expired(entry)
        # The callbacks above may have added entries, and so set the timer
        # for their own deadline, which may be later than a remaining one.
        earliest = math.inf
        while queue and queue[0].done:
            queue.popleft()
        if queue:
            head = queue[0].deadline
            assert head is not None
            earliest = head
        while heap and heap[0][2].done:
            heapq.heappop(heap)
        if heap and heap[0][0] < earliest:
            earliest = heap[0][0]
        if earliest == math.inf:
            return
        if self._timer is None:
            self._timer = self._clock.callLater(max(0.0, earliest - now), self._expire)
            self._timerTime = earliest
        elif earliest < self._timerTime:
            self._timer.reset(max(0.0, earliest - now))
            self._timerTime = earliest


def _deadlineOf(entry: Deadline) -> float:
    assert entry.deadline is not None
    return entry.deadline
