"""The reference W1 AMI workload driven in process, for counting work.

W1 of the reference harness (``../shared/bench/run.py``): a logged-in
client receives a stream of realistic call events and a catch-all handler
(``registerEvent(None, ...)``, as ``adapters/project_ami.py`` does) counts
them and reads each one's ``Uniqueid``.  This driver feeds the same byte
stream (made by the harness's ``peers/fake_ami.py``) to
``AMIProtocol.dataReceived`` on a ``StringTransport``, in 64 KiB pieces as
the reactor reads them, with no sockets and no other process, so that
callgrind's instruction counts compare two trees exactly.

Count instructions with callgrind, subtracting a run without events (the
stream is generated in both, so only the parsing and dispatch remain)::

    valgrind --tool=callgrind --callgrind-out-file=/tmp/w1.%p \\
        .venv/bin/python bench/w1_driver.py --events 60000
    valgrind --tool=callgrind --callgrind-out-file=/tmp/w1-0.%p \\
        .venv/bin/python bench/w1_driver.py --events 60000 --skip

``--monitor`` attaches a :class:`HandlerMonitor <starpy.dispatch.HandlerMonitor>`
to the dispatcher first (the path that times every handler call);
``--profile`` shows where the time goes (cProfile, by own time).  The
harness is ``shared/bench`` in a folder above the project root, or where
``$STARPY_BENCH`` says.
"""
from __future__ import annotations

import argparse
from typing import Any, List, Optional

from _harness import runMaybeProfiled, useHarness

CHUNK = 65536  # what Twisted's TCP transport reads at most at once


def stream(events: int) -> bytes:
    useHarness("peers")
    import fake_ami

    blob: bytes = fake_ami.build_stream(events)[0]
    return blob


def connect(monitor: bool) -> Any:
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from starpy import dispatch, manager

    ami = manager.AMIFactory("bench", "secret", reactor=Clock()).buildProtocol(None)
    ami.makeConnection(StringTransport())
    ami.dataReceived(b"Asterisk Call Manager/9.0.0\r\n")
    if monitor:
        dispatch.HandlerMonitor().attach(ami.dispatcher)
    return ami


def run(ami: Any, data: bytes) -> int:
    seen = [0, 0, False]  # events, Uniqueid characters, done

    def onEvent(protocol: Any, event: Any) -> None:
        if event["event"] == "UserEvent" and event.get("userevent") == "BenchDone":
            seen[2] = True
            return
        seen[0] += 1
        seen[1] += len(event["uniqueid"])

    ami.registerEvent(None, onEvent)
    received = ami.dataReceived
    for start in range(0, len(data), CHUNK):
        received(data[start:start + CHUNK])
    if not seen[2]:
        raise SystemExit("the stream's end marker did not arrive")
    count: int = seen[0]
    return count


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=60000)
    parser.add_argument("--skip", action="store_true",
                        help="make the stream and the protocol but feed nothing (the baseline)")
    parser.add_argument("--monitor", action="store_true")
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args(argv)
    data = stream(options.events)
    ami = connect(options.monitor)
    if options.skip:
        return
    count = runMaybeProfiled(options.profile, run, ami, data)
    if count != options.events:
        raise SystemExit("%d events of %d" % (count, options.events))


if __name__ == "__main__":
    main()
