"""FastAGI soak: 100,000 sessions in one process, memory and leftovers.

    .venv/bin/python bench/bench_fastagi_soak.py [--sessions 100000] [--concurrency 50]

Sessions run in memory (StringTransport, a task.Clock as the clock), each
with the captured environment block of ``fastagi-hello`` and the 10
commands below answered with Asterisk's replies;
``--concurrency`` of them are open at any time, and one in ten is hung up by
the caller in the middle (an unsolicited ``HANGUP`` line, then the
connection drops) so the failure paths run too.  Resident memory (from
/proc/self/statm) is read after a warm-up of 10% of the sessions and at the
end: the target is growth under 5%.  At the end the factory must have no
open session and the clock no delayed call.
"""
from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_ami_soak import rss  # noqa: E402
from twisted.internet import task  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402

from starpy import fastagi  # noqa: E402

ENV = b"".join(
    line + b"\n"
    for line in (HERE.parent / "tests" / "fixtures" / "fastagi-hello.raw")
    .read_bytes()
    .split(b"\n\n", 1)[0]
    .split(b"\n")
) + b"\n"

# The 10 commands of a session, as StarPy writes them, with Asterisk's replies.
SCRIPT: List[tuple[bytes, bytes]] = [
    (b"ANSWER", b"200 result=0\n"),
    (b"GET VARIABLE CHANNEL", b"200 result=1 (Local/100@fastagi-00000002;2)\n"),
    (b'SET VARIABLE FOO "bar baz"', b"200 result=1\n"),
    (b'STREAM FILE hello-world ""', b"200 result=0 endpos=11234\n"),
    (b'SAY NUMBER 42 ""', b"200 result=0\n"),
    (b"WAIT FOR DIGIT 3000", b"200 result=49\n"),
    (b"DATABASE GET fam key", b"200 result=1 (val)\n"),
    (b'VERBOSE "hello from fastagi" 1', b"200 result=1\n"),
    (b"CHANNEL STATUS", b"200 result=6\n"),
    (b"NOOP", b"200 result=0\n"),
]
REPLIES: Dict[bytes, bytes] = dict(SCRIPT)


# -- the two servers ----------------------------------------------------------------------


async def starpyHandler(agi: fastagi.FastAGIProtocol) -> None:
    await agi.answer()
    await agi.getVariable("CHANNEL")
    await agi.setVariable("FOO", "bar baz")
    await agi.streamFile("hello-world")
    await agi.sayNumber(42)
    await agi.waitForDigit(3)
    await agi.databaseGet("fam", "key")
    await agi.verbose("hello from fastagi", 1)
    await agi.channelStatus()
    await agi.noop()


class Session:
    """Asterisk's side of one in-memory session."""

    def __init__(self, factory: fastagi.FastAGIFactory, hangUpAfter: int) -> None:
        self.agi = factory.buildProtocol(None)
        assert self.agi is not None
        self.transport = StringTransport()
        self.agi.makeConnection(self.transport)
        self.hangUpAfter = hangUpAfter
        self.answered = 0
        self.agi.dataReceived(ENV)

    def step(self) -> bool:
        """Answer what the server sent; False once the session is over."""
        if self.transport.disconnecting:
            self.agi.connectionLost(Failure(ConnectionError("closed by the server")))
            return False
        written = self.transport.value()
        if not written:
            return True
        self.transport.clear()
        for line in written.rstrip(b"\n").split(b"\n"):
            if self.answered == self.hangUpAfter:
                self.agi.dataReceived(b"200 result=-1\nHANGUP\n")
                self.agi.connectionLost(Failure(ConnectionError("caller hung up")))
                return False
            self.answered += 1
            self.agi.dataReceived(REPLIES[line])
        return True


def soak(total: int, concurrency: int) -> None:
    logging.getLogger("starpy").setLevel(logging.CRITICAL)  # hangups are logged per call
    clock = task.Clock()
    factory = fastagi.FastAGIFactory(starpyHandler, clock=clock)
    open_: List[Session] = []
    started = 0
    finished = 0
    baseline = 0
    start = time.perf_counter()
    while finished < total:
        while len(open_) < concurrency and started < total:
            started += 1
            open_.append(Session(factory, 4 if started % 10 == 0 else -1))
        still = []
        for session in open_:
            if session.step():
                still.append(session)
            else:
                finished += 1
        open_ = still
        clock.advance(0.01)
        if not baseline and finished >= total // 10:
            gc.collect()
            baseline = rss()
    elapsed = time.perf_counter() - start
    gc.collect()
    final = rss()
    growth = (final - baseline) / baseline * 100
    print("soak: %d FastAGI sessions (%d concurrent, 1 in 10 hung up mid-call) in %.1f s"
          " (%.0f sessions/s)" % (total, concurrency, elapsed, total / elapsed))
    print("  RSS after warm-up %.1f MiB, at end %.1f MiB: growth %.2f%% (target < 5%%) %s"
          % (baseline / 2**20, final / 2**20, growth, "OK" if growth < 5 else "OVER"))
    print("  open sessions %d, delayed calls %d (target 0, 0)"
          % (len(factory.sessions), len(clock.getDelayedCalls())))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    soak(args.sessions, args.concurrency)
