#!/usr/bin/env python3
"""Set a channel variable whose name and value hold double quotes, read it back.

StarPy quotes AGI arguments the way Asterisk parses them, so the quotes
arrive intact.  Served through UtilApplication (starpy.conf) for extension ``s``.

The dialplan lines it expects (``extensions.conf``)::

    [setvariable]
    exten => s,1,AGI(agi://127.0.0.1:4573)
     same => n,NoOp(${this"toset})
     same => n,Hangup()

Run it::

    python examples/fastagisetvariable.py          # reads starpy.conf
    python examples/fastagisetvariable.py --fake   # no Asterisk: the fake one calls once
"""
from __future__ import annotations

import argparse
import logging
from typing import Any

from starpy import utilapplication

from _run import forever, portNumber, runExample, stopListening

log = logging.getLogger("fastagisetvariable")

NAME = 'this"toset'
VALUE = 'That"2set'


async def setAndGet(agi: Any) -> None:
    """Set :data:`NAME` to :data:`VALUE`, then print what Asterisk gives back."""
    await agi.setVariable(NAME, VALUE)
    value = await agi.getVariable(NAME)
    print("Retrieved value %r" % (value,))


async def real(reactor: Any, options: argparse.Namespace) -> None:
    APPLICATION = utilapplication.UtilApplication(reactor=reactor)   # reads starpy.conf
    APPLICATION.handleCallsFor("s", setAndGet)
    await APPLICATION.agiSpecifier.run(APPLICATION.dispatchIncomingCall)
    await forever()


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeApplication, fakeChannel, placeFakeCall

    application = fakeApplication(reactor)
    application.handleCallsFor("s", setAndGet)
    port = await application.agiSpecifier.run(application.dispatchIncomingCall)
    channel = fakeChannel(extension="s")
    try:
        await placeFakeCall(reactor, portNumber(port), channel)
    finally:
        await stopListening(port)
    print("channel variable %r is now %r" % (NAME, channel.variables.get(NAME)))


if __name__ == "__main__":
    runExample(__doc__.splitlines()[0], fake, real)
