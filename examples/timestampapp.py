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

from starpy import error, fastagi, utilapplication

from _run import forever, portNumber, runExample, stopListening
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


async def real(reactor: Any, options: argparse.Namespace) -> None:
    APPLICATION = utilapplication.UtilApplication(reactor=reactor)   # reads starpy.conf
    await APPLICATION.agiSpecifier.run(announce)                     # every call
    await forever()


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeApplication, fakeChannel, placeFakeCall

    APPLICATION = fakeApplication(reactor)
    port = await APPLICATION.agiSpecifier.run(lambda agi: announce(agi, ahead=0.5))
    try:
        await placeFakeCall(reactor, portNumber(port), fakeChannel(extension="1235"))
    finally:
        await stopListening(port)


if __name__ == "__main__":
    fastagi.log.setLevel(logging.INFO)
    runExample(__doc__.splitlines()[0], fake, real)
