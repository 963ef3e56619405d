#!/usr/bin/env python3
"""The talking clock of timestamp.py, set up by starpy.conf through UtilApplication.

Announces the time 7 s ahead with seconds ("HMS"), beeps 0.05 s before it,
then thanks the caller.  Every call goes to the one handler
(``APPLICATION.agiSpecifier.run(announce)``, no dispatch).

The dialplan lines it expects (``extensions.conf``)::

    [timestamp]
    exten => 1235,1,Answer()
     same => n,AGI(agi://127.0.0.1:4573)
     same => n,Hangup()

Run it::

    python examples/timestampapp.py          # reads starpy.conf [FastAGI]
    python examples/timestampapp.py --fake   # the fake Asterisk calls once
"""
from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from twisted.internet import defer, task

from starpy import error, fastagi, utilapplication
from timestamp import announceTime

log = logging.getLogger("dateandtime")

AHEAD = 7.0


async def announce(agi: Any, ahead: float = AHEAD) -> None:
    """Announce, beep, thank; a failure is logged."""
    try:
        target = await announceTime(agi, ahead, format="HMS", lead=0.05)
        await agi.streamFile("thank-you-for-calling")
    except error.AGIError as e:
        log.error("announcing the time failed: %s", e)
    else:
        print("announced %s" % time.strftime("%H:%M:%S", time.localtime(target)), flush=True)


async def fake(reactor: Any) -> None:
    from _fake import fakeApplication, fakeChannel, placeFakeCall

    APPLICATION = fakeApplication(reactor)
    port = await APPLICATION.agiSpecifier.run(lambda agi: announce(agi, ahead=0.5))
    try:
        await placeFakeCall(reactor, port.getHost().port, fakeChannel(extension="1235"))
    finally:
        await port.stopListening()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake", action="store_true", help="use the built-in fake Asterisk")
    options = parser.parse_args()
    logging.basicConfig()
    fastagi.log.setLevel(logging.INFO)
    if options.fake:
        task.react(lambda reactor: defer.ensureDeferred(fake(reactor)))
    else:
        from twisted.internet import reactor

        APPLICATION = utilapplication.UtilApplication()
        reactor.callWhenRunning(APPLICATION.agiSpecifier.run, announce)  # type: ignore[attr-defined]
        reactor.run()  # type: ignore[attr-defined]
