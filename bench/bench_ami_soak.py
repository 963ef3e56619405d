"""AMI soak and dispatch scaling.

    .venv/bin/python bench/bench_ami_soak.py [--events 1000000]

1. Soak: N realistic events (the captured ``events-call`` stream, cycled)
   through one AMIProtocol in 64 KiB chunks, with a Ping answered every 100
   events and a catch-all handler plus a few named ones.  Resident memory
   (from /proc/self/statm) is read after a warm-up of 10% of the events and
   at the end; the target is growth under 5%.  Pending actions and delayed
   calls must be back to zero.
2. Dispatch scaling: 200,000 events dispatched with 1, 100 and 10,000
   registrations (exact names of other events and glob patterns that do not
   match), one handler matching.  Dispatch cost should stay flat; the time
   per event is reported for each.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import os
import sys
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import task  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

from starpy.codec.ami import AMIParser  # noqa: E402
from starpy.manager import AMIProtocol  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "events-call.raw"
CHUNK = 65536


def rss() -> int:
    """Resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def eventBlocks() -> List[bytes]:
    messages = AMIParser().feed(FIXTURE.read_bytes())
    return [("".join("%s: %s\r\n" % pair for pair in m.headers()) + "\r\n").encode()
            for m in messages if "event" in m]


def soak(total: int) -> None:
    clock = task.Clock()
    ami = AMIProtocol(clock=clock, defaultTimeout=30.0)
    transport = StringTransport()
    ami.makeConnection(transport)
    ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
    counts = {"all": 0, "hangup": 0}
    ami.registerEvent(None, lambda a, e: counts.__setitem__("all", counts["all"] + 1))
    ami.registerEvent("Hangup", lambda a, e: counts.__setitem__("hangup", counts["hangup"] + 1))
    ami.registerEvent("Var*", lambda a, e: e.get("variable"))
    blocks = eventBlocks()
    source = itertools.cycle(blocks)
    warmup = total // 10
    sent = 0
    pings = 0
    baseline = 0
    start = time.perf_counter()
    while sent < total:
        batch = []
        size = 0
        while size < CHUNK and sent < total:
            block = next(source)
            batch.append(block)
            size += len(block)
            sent += 1
            if sent % 100 == 0:
                ami.ping()
                pings += 1
                actionID = ami._prefix + "-%d" % pings
                batch.append(b"Response: Success\r\nActionID: %s\r\nPing: Pong\r\n\r\n"
                             % actionID.encode())
        ami.dataReceived(b"".join(batch))
        transport.clear()
        clock.advance(0.001)
        if not baseline and sent >= warmup:
            gc.collect()
            baseline = rss()
    elapsed = time.perf_counter() - start
    gc.collect()
    final = rss()
    growth = (final - baseline) / baseline * 100
    print("soak: %d events, %d pings in %.1f s (%.0f events/s)" % (sent, pings, elapsed, sent / elapsed))
    print("  handler calls: %d catch-all, %d Hangup" % (counts["all"], counts["hangup"]))
    print("  RSS after warm-up %.1f MiB, at end %.1f MiB: growth %.2f%% (target < 5%%) %s"
          % (baseline / 2**20, final / 2**20, growth, "OK" if growth < 5 else "OVER"))
    print("  pending actions %d, delayed calls %d (target 0, 0)"
          % (ami.pendingCount, len(clock.getDelayedCalls())))


def scaling(events: int) -> None:
    block = (b"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: Local/1@x-1;1\r\n"
             b"Uniqueid: 1.1\r\nApplication: Wait\r\n\r\n")
    stream = block * events
    chunks = [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]
    results = []
    for registrations in (1, 100, 10000):
        ami = AMIProtocol(clock=task.Clock())
        ami.makeConnection(StringTransport())
        ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")
        hits = [0]
        ami.registerEvent("Newexten", lambda a, e, hits=hits: hits.__setitem__(0, hits[0] + 1))
        for index in range(registrations - 1):
            if index % 2:
                ami.registerEvent("OtherEvent%d" % index, lambda a, e: None)
            else:
                ami.registerEvent("Pattern%d*" % index, lambda a, e: None)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for chunk in chunks:
                ami.dataReceived(chunk)
            best = min(best, time.perf_counter() - start)
        assert hits[0] == 3 * events
        results.append((registrations, best))
    print("dispatch scaling, %d events each:" % events)
    for registrations, best in results:
        print("  %6d registrations: %.3f s, %.2f us/event" % (registrations, best, best / events * 1e6))
    print("  10,000 vs 1 registration: %.2fx" % (results[-1][1] / results[0][1]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000000)
    parser.add_argument("--scaling-events", type=int, default=200000)
    args = parser.parse_args()
    soak(args.events)
    scaling(args.scaling_events)
