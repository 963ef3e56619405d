"""AMI client benchmarks: StarPy against a minimal hand-written Twisted client.

    .venv/bin/python bench/bench_ami.py [--events 60000] [--pings 100000] [--repeat 3]

1. Event firehose: N realistic events (the 13-18 header events of the
   captured ``events-call`` transcript, cycled) fed in 64 KiB chunks to the
   protocol's ``dataReceived``, each dispatched to a catch-all handler that
   reads one header.  Baseline: a ``LineReceiver`` that builds a dict per
   message and calls the handler.  Target: StarPy <= 1.5x the baseline.
2. Pings: N ``Ping`` actions over loopback TCP with 100 in flight, against one
   small in-process AMI responder.  Baseline: a ``LineReceiver`` client that
   keeps a dict of Deferreds keyed by ActionID.  Target: <= 1.5x.

Each figure is the best of ``--repeat`` runs; both sides run in the same
process, alternately, on the same input.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, protocol, reactor  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402
from twisted.protocols.basic import LineReceiver  # noqa: E402

from starpy.codec.ami import AMIParser  # noqa: E402
from starpy.manager import AMIFactory, AMIProtocol  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "events-call.raw"
CHUNK = 65536


# -- the baseline: what one would write by hand in a few lines ---------------


class MinimalClient(LineReceiver):
    """Lines to dicts, one per message: the usual hand-written AMI client."""

    delimiter = b"\r\n"
    MAX_LENGTH = 1024 * 1024
    banner = True

    def lineReceived(self, line: bytes) -> None:
        if self.banner:
            self.banner = False
            self.current: Dict[str, str] = {}
            return
        if line:
            name, _, value = line.decode("utf-8").partition(": ")
            self.current[name.lower()] = value
            return
        message, self.current = self.current, {}
        self.messageReceived(message)

    def messageReceived(self, message: Dict[str, str]) -> None:
        raise NotImplementedError


class MinimalEventClient(MinimalClient):
    def __init__(self, handler: Callable[[Any, Dict[str, str]], None]) -> None:
        self.handler = handler

    def messageReceived(self, message: Dict[str, str]) -> None:
        if "event" in message:
            self.handler(self, message)


class MinimalPingClient(MinimalClient):
    def __init__(self) -> None:
        self.pending: Dict[str, defer.Deferred[Dict[str, str]]] = {}
        self.counter = itertools.count(1)

    def ping(self) -> defer.Deferred[Dict[str, str]]:
        actionID = str(next(self.counter))
        d: defer.Deferred[Dict[str, str]] = defer.Deferred()
        self.pending[actionID] = d
        self.transport.write(b"Action: Ping\r\nActionID: %s\r\n\r\n" % actionID.encode())
        return d

    def messageReceived(self, message: Dict[str, str]) -> None:
        d = self.pending.pop(message.get("actionid", ""), None)
        if d is not None:
            d.callback(message)


# -- a small, fast AMI responder for the ping benchmark --------------------------


class Responder(protocol.Protocol):
    def connectionMade(self) -> None:
        self.buffer = b""
        self.transport.write(b"Asterisk Call Manager/11.0.0\r\n")

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        *messages, self.buffer = self.buffer.split(b"\r\n\r\n")
        out = []
        for message in messages:
            actionID = b""
            for line in message.split(b"\r\n"):
                if line.startswith(b"ActionID: "):
                    actionID = line[10:]
            if message.startswith(b"Action: Login"):
                out.append(b"Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n" % actionID)
            else:
                out.append(b"Response: Success\r\nActionID: %s\r\nPing: Pong\r\nTimestamp: 1795488568.956296\r\n\r\n" % actionID)
        if out:
            self.transport.write(b"".join(out))


# -- event firehose ---------------------------------------------------------------


def realisticEvents(count: int) -> bytes:
    messages = AMIParser().feed(FIXTURE.read_bytes())
    chosen = [m for m in messages if "event" in m and 13 <= len(m.headers()) <= 18]
    blocks = []
    for message in itertools.islice(itertools.cycle(chosen), count):
        blocks.append("".join("%s: %s\r\n" % pair for pair in message.headers()) + "\r\n")
    return b"Asterisk Call Manager/11.0.0\r\n" + "".join(blocks).encode("utf-8")


def firehose(stream: bytes, count: int, which: str) -> float:
    seen = [0]

    def handler(proto: Any, event: Any) -> None:
        event.get("uniqueid")
        seen[0] += 1

    if which == "starpy":
        client: Any = AMIProtocol(clock=reactor)
        client.registerEvent(None, handler)
    else:
        client = MinimalEventClient(handler)
    client.makeConnection(StringTransport())
    chunks = [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]
    start = time.perf_counter()
    for chunk in chunks:
        client.dataReceived(chunk)
    elapsed = time.perf_counter() - start
    assert seen[0] == count, (which, seen[0], count)
    return elapsed


# -- pings --------------------------------------------------------------------------


async def pingRun(which: str, port: int, total: int, inFlight: int) -> float:
    if which == "starpy":
        client: Any = await AMIFactory("bench", "bench").login("127.0.0.1", port)  # default 30 s timeouts on
        send = client.ping
    else:
        creator = protocol.ClientCreator(reactor, MinimalPingClient)
        client = await creator.connectTCP("127.0.0.1", port)
        send = client.ping
    done = defer.Deferred()
    state = {"sent": 0, "answered": 0}

    def onReply(reply: Any) -> None:
        state["answered"] += 1
        if state["sent"] < total:
            state["sent"] += 1
            send().addCallback(onReply)
        elif state["answered"] == total:
            done.callback(None)

    start = time.perf_counter()
    for _ in range(inFlight):
        state["sent"] += 1
        send().addCallback(onReply)
    await done
    elapsed = time.perf_counter() - start
    client.transport.loseConnection()
    return elapsed


async def main(args: argparse.Namespace) -> None:
    stream = realisticEvents(args.events)
    results: Dict[str, List[float]] = {"starpy": [], "minimal": []}
    for _ in range(args.repeat):
        for which in ("minimal", "starpy"):
            results[which].append(firehose(stream, args.events, which))
    best = {k: min(v) for k, v in results.items()}
    ratio = best["starpy"] / best["minimal"]
    print("event firehose, %d events (%d bytes):" % (args.events, len(stream)))
    print("  minimal LineReceiver: %.3f s (%.0f events/s)" % (best["minimal"], args.events / best["minimal"]))
    print("  starpy AMIProtocol:   %.3f s (%.0f events/s)" % (best["starpy"], args.events / best["starpy"]))
    print("  ratio %.2f (target <= 1.5) %s" % (ratio, "OK" if ratio <= 1.5 else "OVER"))

    factory = protocol.Factory.forProtocol(Responder)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    number = port.getHost().port
    pings: Dict[str, List[float]] = {"starpy": [], "minimal": []}
    for _ in range(args.repeat):
        for which in ("minimal", "starpy"):
            pings[which].append(await pingRun(which, number, args.pings, 100))
    await port.stopListening()
    bestPing = {k: min(v) for k, v in pings.items()}
    ratio = bestPing["starpy"] / bestPing["minimal"]
    print("pings, %d with 100 in flight over loopback TCP:" % args.pings)
    print("  minimal client: %.3f s (%.0f pings/s)" % (bestPing["minimal"], args.pings / bestPing["minimal"]))
    print("  starpy client:  %.3f s (%.0f pings/s)" % (bestPing["starpy"], args.pings / bestPing["starpy"]))
    print("  ratio %.2f (target <= 1.5) %s" % (ratio, "OK" if ratio <= 1.5 else "OVER"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60000)
    parser.add_argument("--pings", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    from twisted.internet import task

    task.react(lambda r: defer.ensureDeferred(main(arguments)))
