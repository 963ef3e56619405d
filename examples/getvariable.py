#!/usr/bin/env python3
"""Print a call's AGI environment and a list of channel variables.

Each variable is read with ``agi.getVariable``; one Asterisk does not know is
printed as UNDEFINED.  Served through UtilApplication (starpy.conf) for
extension ``s``.

The dialplan lines it expects (``extensions.conf``)::

    [getvariable]
    exten => s,1,Set(FAVOURITE=blue)
     same => n,AGI(agi://127.0.0.1:4573)
     same => n,Hangup()

Run it::

    python examples/getvariable.py          # reads starpy.conf
    python examples/getvariable.py --fake   # no Asterisk: the fake one calls once
"""
from __future__ import annotations

import argparse
import logging
from typing import Any

from starpy import error, utilapplication

from _run import forever, portNumber, runExample, stopListening

log = logging.getLogger("getvariable")

#: Channel variables (and functions) to show.
VARIABLES = ["CHANNEL", "UNIQUEID", "CONTEXT", "EXTEN", "PRIORITY", "CALLERID(num)",
             "CALLERID(name)", "LANGUAGE()", "FAVOURITE", "NO_SUCH_VARIABLE"]


async def printVariables(agi: Any) -> None:
    """Print the environment, then each variable of :data:`VARIABLES`."""
    print("AGI variables")
    for key, value in sorted(agi.variables.items()):
        print("  %s: %s" % (key, value))
    print("Channel variables")
    for name in VARIABLES:
        try:
            value = await agi.getVariable(name)
        except error.AGICommandFailure:  # not set
            print("  %r -- UNDEFINED" % (name,))
        else:
            print("  %r -- %r" % (name, value))


async def real(reactor: Any, options: argparse.Namespace) -> None:
    APPLICATION = utilapplication.UtilApplication(reactor=reactor)   # reads starpy.conf
    APPLICATION.handleCallsFor("s", printVariables)
    await APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
    await forever()


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeApplication, fakeChannel, placeFakeCall

    application = fakeApplication(reactor)
    application.handleCallsFor("s", printVariables)
    port = await application.agiSpecifier.run(application.dispatchIncomingCall)
    channel = fakeChannel(extension="s", context="getvariable", variables={"FAVOURITE": "blue"})
    try:
        await placeFakeCall(reactor, portNumber(port), channel, show=False)
    finally:
        await stopListening(port)


if __name__ == "__main__":
    runExample(__doc__.splitlines()[0], fake, real)
