#!/usr/bin/env python3
"""FastAGI benchmark: StarPy's server against a minimal hand-written Twisted server.

    python bench/bench_fastagi.py [--sessions 10000] [--concurrency 50] [--rounds 3]
                                  [--idle 1000]

Both servers run in this process on loopback, in turn, against the same
load-generating client (also in this process): each session sends the
environment block of a real Asterisk (``tests/fixtures/fastagi-hello``) and
answers the same 10 commands with canned replies; the server then closes
the connection and the client starts the next session, keeping
``--concurrency`` sessions open.  The time of the best round of each server
is compared (target: StarPy <= 1.25 x minimal).

Then ``--idle`` sessions are opened and left idle (the handler waits for
the hangup) against each server, with an idle client in a child process,
and the server-side memory per session is reported (tracemalloc, and RSS).
"""
from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from twisted.internet import protocol, reactor  # noqa: E402
from twisted.internet.defer import Deferred  # noqa: E402
from twisted.protocols.basic import LineOnlyReceiver  # noqa: E402

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


class MinimalAGI(LineOnlyReceiver):
    """What one would write by hand: read the env, send 10 lines, close."""

    delimiter = b"\n"

    def connectionMade(self) -> None:
        self.env: Dict[bytes, bytes] = {}
        self.readingEnv = True
        self.step = 0

    def lineReceived(self, line: bytes) -> None:
        if self.readingEnv:
            if line:
                key, _, value = line.partition(b": ")
                self.env[key] = value
                return
            self.readingEnv = False
        elif line.startswith(b"200 result="):
            self.step += 1
        else:
            self.transport.loseConnection()  # type: ignore[union-attr]
            return
        if self.step < len(SCRIPT):
            self.sendLine(SCRIPT[self.step][0])
        else:
            self.transport.loseConnection()  # type: ignore[union-attr]


class MinimalFactory(protocol.ServerFactory):
    protocol = MinimalAGI


class IdleMinimalAGI(LineOnlyReceiver):
    """Minimal server, idle variant: reads the env and waits."""

    delimiter = b"\n"
    factory: "IdleMinimalFactory"

    def connectionMade(self) -> None:
        self.env: Dict[bytes, bytes] = {}

    def lineReceived(self, line: bytes) -> None:
        if line:
            key, _, value = line.partition(b": ")
            self.env[key] = value
        else:
            self.factory.ready += 1


class IdleMinimalFactory(protocol.ServerFactory):
    protocol = IdleMinimalAGI
    ready = 0


# -- the load-generating client --------------------------------------------------------------


class FakeAsterisk(protocol.Protocol):
    """Asterisk's side of one session: env block, canned replies."""

    factory: "LoadFactory"

    def connectionMade(self) -> None:
        self.buffer = b""
        self.transport.write(ENV)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        buffer = self.buffer + data
        *lines, self.buffer = buffer.split(b"\n")
        write = self.transport.write  # type: ignore[union-attr]
        for line in lines:
            write(REPLIES[line])

    def connectionLost(self, reason: Any = protocol.connectionDone) -> None:
        self.factory.sessionDone()


class LoadFactory(protocol.ClientFactory):
    protocol = FakeAsterisk

    def __init__(self, port: int, sessions: int, concurrency: int) -> None:
        self.port = port
        self.toStart = sessions
        self.running = 0
        self.finished = 0
        self.done: Deferred[None] = Deferred()
        for _ in range(min(concurrency, sessions)):
            self._start()

    def _start(self) -> None:
        self.toStart -= 1
        self.running += 1
        reactor.connectTCP("127.0.0.1", self.port, self)  # type: ignore[attr-defined]

    def sessionDone(self) -> None:
        self.running -= 1
        self.finished += 1
        if self.toStart > 0:
            self._start()
        elif self.running == 0:
            self.done.callback(None)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        print("connection failed:", reason.getErrorMessage(), file=sys.stderr)
        self.sessionDone()


async def timeServer(factory: protocol.ServerFactory, sessions: int, concurrency: int) -> float:
    port = reactor.listenTCP(0, factory, backlog=200, interface="127.0.0.1")  # type: ignore[attr-defined]
    try:
        gc.collect()
        start = time.perf_counter()
        load = LoadFactory(port.getHost().port, sessions, concurrency)
        await load.done
        elapsed = time.perf_counter() - start
        assert load.finished == sessions
    finally:
        await port.stopListening()
    return elapsed


# -- idle memory -------------------------------------------------------------------------------


def idleClient(port: int, count: int) -> None:
    """Child process: open *count* sessions, send the env, stay idle until stdin closes."""
    from twisted.internet import stdio

    class Idle(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.write(ENV)  # type: ignore[union-attr]

    class Stop(protocol.Protocol):
        def connectionLost(self, reason: Any = None) -> None:
            reactor.stop()  # type: ignore[attr-defined]

    factory = protocol.ClientFactory()
    factory.protocol = Idle
    for _ in range(count):
        reactor.connectTCP("127.0.0.1", port, factory)  # type: ignore[attr-defined]
    stdio.StandardIO(Stop())
    reactor.run()  # type: ignore[attr-defined]


def rssKiB() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def idleMemory(factory: protocol.ServerFactory, count: int,
                     readyCount: Callable[[], int]) -> tuple[float, float]:
    port = reactor.listenTCP(0, factory, backlog=count, interface="127.0.0.1")  # type: ignore[attr-defined]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    rssBefore = rssKiB()
    child = subprocess.Popen(
        [sys.executable, __file__, "--idle-client", str(port.getHost().port), str(count)],
        stdin=subprocess.PIPE,
    )
    from twisted.internet import task

    deadline = time.monotonic() + 60
    while readyCount() < count and time.monotonic() < deadline:
        await task.deferLater(reactor, 0.05, lambda: None)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    rssAfter = rssKiB()
    tracemalloc.stop()
    ready = readyCount()
    assert child.stdin is not None
    child.stdin.close()
    child.wait()
    await port.stopListening()
    for _ in range(20):
        await task.deferLater(reactor, 0.01, lambda: None)
    if ready < count:
        print("only %d of %d idle sessions became ready" % (ready, count), file=sys.stderr)
    return (after - before) / max(ready, 1), (rssAfter - rssBefore) * 1024 / max(ready, 1)


# -- main ------------------------------------------------------------------------------------------


async def run(options: argparse.Namespace) -> Dict[str, Any]:
    results: Dict[str, Any] = {"minimal": [], "starpy": []}
    starpyFactory = fastagi.FastAGIFactory(starpyHandler, clock=reactor)  # type: ignore[arg-type]
    # warm-up
    await timeServer(MinimalFactory(), 500, options.concurrency)
    await timeServer(starpyFactory, 500, options.concurrency)
    for _ in range(options.rounds):
        results["minimal"].append(
            await timeServer(MinimalFactory(), options.sessions, options.concurrency))
        results["starpy"].append(
            await timeServer(starpyFactory, options.sessions, options.concurrency))
        print("round: minimal %.3fs, starpy %.3fs" % (results["minimal"][-1],
                                                     results["starpy"][-1]), flush=True)
    if options.idle:
        idleMinimal = IdleMinimalFactory()
        results["idleMinimal"] = await idleMemory(idleMinimal, options.idle,
                                                  lambda: idleMinimal.ready)
        ready: List[fastagi.FastAGIProtocol] = []

        def idleHandler(agi: fastagi.FastAGIProtocol) -> Deferred[None]:
            ready.append(agi)
            return agi.whenHungUp()

        results["idleStarpy"] = await idleMemory(
            fastagi.FastAGIFactory(idleHandler, clock=reactor),  # type: ignore[arg-type]
            options.idle, lambda: len(ready))
        ready.clear()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--idle-client", nargs=2, type=int, metavar=("PORT", "COUNT"),
                        help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.idle_client:
        idleClient(*options.idle_client)
        return 0
    outcome: Dict[str, Any] = {}

    def done(results: Dict[str, Any]) -> None:
        outcome.update(results)

    def failed(reason: Any) -> None:
        reason.printTraceback()

    d = Deferred.fromCoroutine(run(options))
    d.addCallbacks(done, failed).addBoth(lambda _: reactor.stop())  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    if not outcome:
        return 1
    minimal, starpy = min(outcome["minimal"]), min(outcome["starpy"])
    print()
    print("Python %s, Twisted reactor %s, %d sessions x %d commands, %d concurrent, best of %d"
          % (sys.version.split()[0], type(reactor).__name__, options.sessions, len(SCRIPT),
             options.concurrency, options.rounds))
    print("minimal server: %.3f s (%.0f sessions/s)" % (minimal, options.sessions / minimal))
    print("StarPy server:  %.3f s (%.0f sessions/s)" % (starpy, options.sessions / starpy))
    print("ratio StarPy / minimal: %.2f (target <= 1.25)" % (starpy / minimal,))
    if "idleStarpy" in outcome:
        for name, key in (("minimal", "idleMinimal"), ("StarPy", "idleStarpy")):
            traced, rss = outcome[key]
            print("idle session memory, %s: %.1f KiB traced, %.1f KiB RSS per session (%d open)"
                  % (name, traced / 1024, rss / 1024, options.idle))
    return 0 if starpy / minimal <= 1.25 else 2


if __name__ == "__main__":
    sys.exit(main())
