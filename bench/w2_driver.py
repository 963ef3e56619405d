"""The reference W1 and W2 AMI workloads driven in process, for counting work.

The reference harness (``../shared/bench/run.py --workloads
w1_events,w2_ping_c1,w2_ping_c100``) measures CPU seconds over TCP, which
on a shared 2-core machine moves by several percent from run to run.  This
driver runs the same work with no sockets, through the same public calls as
``../shared/bench/adapters/project_ami.py``:

- ``--workload ping``: *N* ``Ping`` actions sent with ``sendAction`` by
  *concurrency* workers (``inlineCallbacks``, each checking that the reply
  carries an ActionID not seen before), the fake Asterisk's replies
  (``peers/fake_ami.py``: ``Response: Success``, the echoed ActionID,
  ``Ping: Pong``, a timestamp) fed back in one later ``dataReceived`` call
  per round of writes, as the reactor would;
- ``--workload events``: the fake Asterisk's event stream
  (``fake_ami.build_stream``), fed in 64 KiB chunks (Twisted's TCP read
  size) to a catch-all handler.

The protocol runs on the global reactor as its clock, with the default
30 s action timeout, as the adapter's ``AMIFactory`` gives it; the reactor is
not started, but its ``runUntilCurrent()`` runs after each chunk fed, as in
each turn of its loop (it files the new timers, drops the cancelled ones and
runs what is due).  ``--lib floor`` runs
``limit_twisted``'s AMI protocol on the same transport instead.

Count instructions with callgrind, subtracting a run with ``--setup-only``
(imports, and the event stream built but not fed)::

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/w2_driver.py --workload ping -n 20000 -c 100
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg0.%p \\
        .venv/bin/python bench/w2_driver.py --workload ping -n 20000 -c 100 --setup-only

or see where the time goes with ``--profile`` (cProfile, sorted by own time).
The fake peer (``fake_ami.py``, for the event stream; ``--lib floor``) is
imported from ``../shared/bench`` beside the project root, or from
``$STARPY_BENCH``.
"""
from __future__ import annotations

import argparse
from typing import Any, Callable, List, Optional, Set

from _harness import runMaybeProfiled, useHarness
from twisted.internet import defer

GREETING = b"Asterisk Call Manager/9.0.0\r\n"
CHUNK = 65536


class Transport:
    """Just enough of a TCP transport: what is written waits in ``out``."""

    disconnecting = False

    def __init__(self) -> None:
        self.out: List[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def writeSequence(self, data: List[bytes]) -> None:
        self.out.extend(data)

    def loseConnection(self) -> None:
        self.disconnecting = True

    abortConnection = loseConnection

    def getPeer(self) -> Any:
        return None

    getHost = getPeer


def pingReplies(written: bytes) -> bytes:
    """What ``fake_ami.py`` answers to the Pings in *written*."""
    replies = []
    for block in written.split(b"\r\n\r\n")[:-1]:
        actionID = b""
        for line in block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"actionid":
                actionID = value.strip()
        replies.append(b"Response: Success\r\nActionID: " + actionID
                       + b"\r\nPing: Pong\r\nTimestamp: 1700000000.000000\r\n\r\n")
    return b"".join(replies)


def projectClient(onEvent: Callable[[Any], None]) -> Any:
    from twisted.internet import reactor

    from starpy.manager import AMIProtocol

    ami = AMIProtocol(clock=reactor)  # type: ignore[arg-type]
    ami.makeConnection(Transport())  # type: ignore[arg-type]
    ami.dataReceived(GREETING)
    ami.registerEvent(None, lambda protocol, event: onEvent(event))

    def ping() -> Any:
        return ami.sendAction("Ping")

    return ami, ping, "actionid"


def floorClient(onEvent: Callable[[Any], None]) -> Any:
    useHarness("adapters")
    import limit_twisted_ami as floor

    ami = floor.AMI(onEvent)
    ami.makeConnection(Transport())
    counter = [0]

    def ping() -> Any:
        counter[0] += 1
        return ami.action("Ping", "bench-%d" % counter[0])

    return ami, ping, "ActionID"


def runPings(lib: str, count: int, concurrency: int, setupOnly: bool = False) -> None:
    ami, ping, key = CLIENTS[lib](lambda event: None)
    if setupOnly:
        return
    transport = ami.transport
    seen: Set[str] = set()
    state = {"next": 0, "mismatched": 0}

    @defer.inlineCallbacks
    def worker() -> Any:
        while state["next"] < count:
            state["next"] += 1
            response = yield ping()
            got = response.get(key)
            if got is None or got in seen:
                state["mismatched"] += 1
            else:
                seen.add(got)

    from twisted.internet import reactor

    turn = reactor.runUntilCurrent  # type: ignore[attr-defined]
    done = defer.gatherResults([worker() for _ in range(concurrency)])
    while transport.out:
        written = b"".join(transport.out)
        transport.out = []
        ami.dataReceived(pingReplies(written))
        turn()
    if not done.called or state["mismatched"] or len(seen) != count:
        raise SystemExit("%d of %d Pings answered, %d mismatched"
                         % (len(seen), count, state["mismatched"]))


def runEvents(lib: str, count: int, concurrency: int, setupOnly: bool = False) -> None:
    useHarness("peers")
    import fake_ami

    stream, _ = fake_ami.build_stream(count) if count else (b"", None)
    state = {"count": 0, "uid": 0, "done": False}

    def onEvent(event: Any) -> None:
        if lib == "floor":
            name, user, uniqueid = event["Event"], event.get("UserEvent"), "Uniqueid"
        else:
            name, user, uniqueid = event["event"], event.get("userevent"), "uniqueid"
        if name == "UserEvent" and user == "BenchDone":
            state["done"] = True
            return
        state["count"] += 1
        state["uid"] += len(event[uniqueid])

    ami = CLIENTS[lib](onEvent)[0]
    if setupOnly:
        return
    for start in range(0, len(stream), CHUNK):
        ami.dataReceived(stream[start:start + CHUNK])
    if count and (not state["done"] or state["count"] != count):
        raise SystemExit("%d of %d events handled" % (state["count"], count))


CLIENTS = {"project": projectClient, "floor": floorClient}
WORKLOADS = {"ping": runPings, "events": runEvents}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=sorted(CLIENTS), default="project")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="ping")
    parser.add_argument("-n", type=int, default=20000, help="Pings or events")
    parser.add_argument("-c", "--concurrency", type=int, default=100,
                        help="Pings in flight")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--setup-only", action="store_true",
                        help="import and prepare, send and feed nothing")
    options = parser.parse_args(argv)
    # Import and build everything once first, so that --setup-only counts it.
    WORKLOADS[options.workload](options.lib, 0, options.concurrency)
    run = WORKLOADS[options.workload]
    if options.setup_only:
        run(options.lib, options.n, options.concurrency, True)
        return
    runMaybeProfiled(options.profile, run, options.lib, options.n, options.concurrency)


if __name__ == "__main__":
    main()
