#!/usr/bin/env python3
"""A talking clock: "at the tone the time will be exactly HH:MM ... beep".

It announces a time a little ahead (20 s by default), waits until half a
second before it, and plays the beep.  A plain FastAGIFactory on
127.0.0.1:4574 (no starpy.conf).

The dialplan lines it expects (``extensions.conf``)::

    [timestamp]
    exten => 1234,1,Answer()
     same => n,AGI(agi://127.0.0.1:4574)
     same => n,Hangup()

Run it::

    python examples/timestamp.py [--port 4574] [--ahead 20]
    python examples/timestamp.py --fake       # the fake Asterisk calls once
"""
from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from starpy import error, fastagi

from _run import forever, portNumber, runExample, stopListening

log = logging.getLogger("dateandtime")


async def announceTime(agi: Any, ahead: float = 20.0, format: str = "HM",
                       lead: float = 0.5) -> float:
    """Announce the time *ahead* seconds from now, beep at that time (less
    *lead*); return the time announced."""
    await agi.streamFile("at-tone-time-exactly")
    target = time.time() + ahead
    await agi.sayDateTime(target, format=format)
    await agi.wait(max(0.0, target - lead - time.time()))
    await agi.streamFile("beep")
    return target


def makeHandler(ahead: float) -> Any:
    """The FastAGI handler: :func:`announceTime`, a failure logged."""

    async def handler(agi: Any) -> None:
        try:
            target = await announceTime(agi, ahead)
        except error.AGIError as e:
            log.error("announcing the time failed: %s", e)
        else:
            print("announced %s, beeped at %s" % (
                time.strftime("%H:%M:%S", time.localtime(target)),
                time.strftime("%H:%M:%S", time.localtime())), flush=True)

    return handler


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeChannel, placeFakeCall

    ahead = 1.0 if options.ahead is None else options.ahead
    factory = fastagi.FastAGIFactory(makeHandler(ahead), clock=reactor)
    port = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    try:
        await placeFakeCall(reactor, portNumber(port), fakeChannel(extension="1234"))
    finally:
        await stopListening(port)


async def real(reactor: Any, options: argparse.Namespace) -> None:
    ahead = 20.0 if options.ahead is None else options.ahead
    listening = await fastagi.listenFastAGI(fastagi.FastAGIFactory(makeHandler(ahead)),
                                            options.port, reactor=reactor)
    print("FastAGI listening on port %d (Ctrl-C to stop)" % (portNumber(listening),),
          flush=True)
    await forever()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=4574)
    parser.add_argument("--ahead", type=float, default=None,
                        help="seconds ahead to announce (default 20; 1 with --fake)")


if __name__ == "__main__":
    fastagi.log.setLevel(logging.INFO)
    runExample(__doc__.splitlines()[0], fake, real, arguments)
