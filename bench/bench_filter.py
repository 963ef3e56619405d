"""The gain of the pushed event filter on a firehose of mixed events.

    .venv/bin/python bench/bench_filter.py [--events 100000] [--repeat 3]

A fake Asterisk (:class:`starpy.testing.ami.FakeAMIServerFactory`, in a child
process so that its work is not counted) sends each session that asks a
firehose of N events over loopback TCP: the events of the captured
``events-call`` transcript (VarSet, Newexten, DeviceStateChange, Newstate,
Newchannel, NewCallerid, Hangup, Cdr, DialBegin, BridgeEnter... 20 kinds),
cycled, then closes.  The client, an :class:`~starpy.manager.AMIProtocol`
logged in, registers handlers for three kinds (Newchannel, Hangup,
DialBegin) and runs once without and once with the pushed filter
(``pushEventFilter()``, what ``AMIService(pushFilter=True)`` calls after
each login; the fake then filters as Asterisk 22 does).  Reported: the client process's CPU time from asking
for the firehose to the end of the connection, the bytes it read and the
events its handlers got (the same both ways).  Best of ``--repeat`` rounds,
the two modes alternating.
"""
from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, interfaces, reactor, task  # noqa: E402
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol  # noqa: E402
from zope.interface import implementer  # noqa: E402

from starpy.codec.ami import AMIParser, Message  # noqa: E402
from starpy.manager import AMIFactory  # noqa: E402
from starpy.testing.ami import FakeAMIServerFactory, FakeAMIServerProtocol  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "events-call.raw"
WANTED = ("Newchannel", "Hangup", "DialBegin")
BATCH = 200


def mixedEvents() -> List[List[tuple[str, str]]]:
    """The queued events of the capture (not list replies: no ActionID)."""
    messages = AMIParser().feed(FIXTURE.read_bytes())
    return [m.headers() for m in messages
            if "event" in m and "actionid" not in m and m["event"] != "FullyBooted"]


# -- the server (child process) ---------------------------------------------------


@implementer(interfaces.IPushProducer)
class Firehose:
    """Emits *count* events to one session, pausing when its transport is full."""

    def __init__(self, session: FakeAMIServerProtocol, events: List[Any], count: int) -> None:
        self.session = session
        self.events = itertools.islice(itertools.cycle(events), count)
        self.paused = False
        self.done = False
        assert session.transport is not None
        session.transport.registerProducer(self, True)
        reactor.callLater(0, self.run)  # type: ignore[attr-defined]

    def run(self) -> None:
        while not self.paused and not self.done and self.session.connected:
            batch = list(itertools.islice(self.events, BATCH))
            if not batch:
                self.done = True
                assert self.session.transport is not None
                self.session.transport.unregisterProducer()
                self.session.disconnect()
                return
            for pairs in batch:
                self.session.sendEvent(pairs)
            reactor.callLater(0, self.run)  # type: ignore[attr-defined]
            return

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        if self.paused:
            self.paused = False
            reactor.callLater(0, self.run)  # type: ignore[attr-defined]

    def stopProducing(self) -> None:
        self.done = True


def serve() -> None:
    events = mixedEvents()
    server = FakeAMIServerFactory(clock=reactor)

    def firehose(session: FakeAMIServerProtocol, action: Message) -> Any:
        session.respond(action, [("Message", "Firehose follows")])
        Firehose(session, events, int(action.get("count", "1000")))
        return None

    server.script("Firehose", firehose)
    port = server.listen(0, reactor=reactor)
    print(port.getHost().port, flush=True)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


# -- the client ---------------------------------------------------------------------


async def oneRun(port: int, count: int, push: bool) -> Dict[str, float]:
    factory = AMIFactory("starpy", "starpy-secret", reactor=reactor)
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    ami = await connectProtocol(endpoint, factory.buildProtocol(None))
    await ami.login()
    handled = [0]

    def handler(protocol: Any, event: Any) -> None:
        event.get("uniqueid")
        handled[0] += 1

    ami.registerEvent(list(WANTED), handler)
    if push:
        # what AMIService(pushFilter=True) does after each login
        assert await ami.pushEventFilter()
    received = [0]
    original = ami.dataReceived

    def counting(data: bytes) -> None:
        received[0] += len(data)
        original(data)

    ami.dataReceived = counting  # type: ignore[method-assign]
    closed = ami.whenClosed()
    started = time.process_time()
    ami.sendAction("Firehose", {"Count": str(count)}, timeout=None).addErrback(lambda f: None)
    await closed
    cpu = time.process_time() - started
    return {"cpu": cpu, "bytes": float(received[0]), "handled": float(handled[0])}


async def main(args: argparse.Namespace) -> None:
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE,
                             env=dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent)))
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        best: Dict[bool, Optional[Dict[str, float]]] = {False: None, True: None}
        rounds: Dict[bool, List[float]] = {False: [], True: []}
        await oneRun(port, 2000, False)  # warm-up
        for _ in range(args.repeat):
            for push in (False, True):
                figures = await oneRun(port, args.events, push)
                rounds[push].append(figures["cpu"])
                current = best[push]
                if current is None or figures["cpu"] < current["cpu"]:
                    best[push] = figures
        mixed = mixedEvents()
        kinds = len({dict(pairs)["Event"] for pairs in mixed})
        print("firehose of %d events (the %d of the capture cycled, %d kinds); handlers for %s"
              % (args.events, len(mixed), kinds, ", ".join(WANTED)))
        for push, label in ((False, "no filter      "), (True, "pushed filter  ")):
            figures = best[push]
            assert figures is not None
            print("  %s client CPU %.3f s  read %.1f MB  handled %d events  (rounds %s)"
                  % (label, figures["cpu"], figures["bytes"] / 1e6, figures["handled"],
                     " / ".join("%.3f" % r for r in rounds[push])))
        plain, pushed = best[False], best[True]
        assert plain is not None and pushed is not None
        print("  CPU with the filter: %.1f%% of without (%.1fx less); bytes %.1f%%"
              % (100 * pushed["cpu"] / plain["cpu"], plain["cpu"] / pushed["cpu"],
                 100 * pushed["bytes"] / plain["bytes"]))
    finally:
        child.terminate()
        child.wait()


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
        parser.add_argument("--events", type=int, default=100000)
        parser.add_argument("--repeat", type=int, default=3)
        arguments = parser.parse_args()
        task.react(lambda _reactor: defer.ensureDeferred(main(arguments)))
