#!/usr/bin/env python3
"""FastAGI server using StarPy's utility application framework.

The same as hellofastagi, save that starpy.conf ([FastAGI] port, interface)
sets up the server, and calls are routed with ``APPLICATION.handleCallsFor``:
here only extension ``s`` has a handler (calls for other extensions are logged
and finished).

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

from twisted.internet import defer, task
from twisted.python.failure import Failure

from starpy import fastagi, utilapplication

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


async def fake(reactor: Any) -> None:
    from _fake import fakeApplication, fakeChannel, placeFakeCall

    APPLICATION = fakeApplication(reactor)
    APPLICATION.handleCallsFor("s", testFunction)
    port = await APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
    try:
        await placeFakeCall(reactor, port.getHost().port, fakeChannel(extension="s"))
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
        APPLICATION.handleCallsFor("s", testFunction)
        APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
        reactor.run()  # type: ignore[attr-defined]
