#!/usr/bin/env python3
"""FastAGI server using StarPy's utility application framework.

Says the date and time to the caller with ``InSequence``, as upstream's
hellofastagiapp did; starpy.conf ([FastAGI] port, interface) sets up the
server, and calls are routed with ``APPLICATION.handleCallsFor``: here only
extension ``s`` has a handler (calls for other extensions are logged and
finished).  hellofastagi.py shows a longer call flow with awaited commands.

The dialplan lines it expects (``extensions.conf``)::

    [hellofastagi]
    exten => s,1,Answer()
     same => n,AGI(agi://127.0.0.1:4573)
     same => n,Hangup()

Run it::

    python examples/hellofastagiapp.py          # reads ./starpy.conf or ~/.starpy.conf
    python examples/hellofastagiapp.py --fake   # no Asterisk: the fake one calls once
"""
from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from starpy import fastagi, utilapplication

from _run import forever, portNumber, runExample, stopListening

log = logging.getLogger("hellofastagi")


def testFunction(agi: Any) -> defer.Deferred[Any]:
    """Say the date and time, then finish: a sequence of actions."""
    log.debug("testFunction")
    sequence = fastagi.InSequence()
    sequence.append(agi.sayDateTime, time.time())
    sequence.append(agi.finish)

    def onFailure(reason: Failure) -> None:
        log.error("Failure: %s", reason.getTraceback())
        agi.finish()

    return sequence().addErrback(onFailure)


async def real(reactor: Any, options: argparse.Namespace) -> None:
    APPLICATION = utilapplication.UtilApplication(reactor=reactor)   # reads starpy.conf
    APPLICATION.handleCallsFor("s", testFunction)
    await APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
    await forever()


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeApplication, fakeChannel, placeFakeCall

    APPLICATION = fakeApplication(reactor)
    APPLICATION.handleCallsFor("s", testFunction)
    port = await APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
    try:
        await placeFakeCall(reactor, portNumber(port), fakeChannel(extension="s"))
    finally:
        await stopListening(port)


if __name__ == "__main__":
    fastagi.log.setLevel(logging.INFO)
    runExample(__doc__.splitlines()[0], fake, real)
