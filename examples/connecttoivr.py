#!/usr/bin/env python3
"""Originate a call that connects a channel (a phone) to an IVR in the dialplan.

Logs into the AMI configured in starpy.conf ([AMI]), originates CHANNEL to
CONTEXT,EXTEN,PRIORITY asynchronously, reports the OriginateResponse and logs
off.  Exit status 0 when the call was answered, 1 otherwise.

The dialplan lines it expects (``extensions.conf``), the IVR the phone
is connected to once it answers::

    [outgoing]
    exten => s,1,Answer()
     same => n,AGI(agi://127.0.0.1:4573/ivr)
     same => n,Hangup()

and an AMI user with the ``originate`` write class in manager.conf.

Run it::

    python examples/connecttoivr.py PJSIP/100 [--context outgoing --exten s --priority 1]
    python examples/connecttoivr.py --fake PJSIP/100
"""
from __future__ import annotations

import argparse
import logging
from typing import Any

from starpy import error, manager, utilapplication

from _run import runExample

log = logging.getLogger("connecttoivr")


async def connect(ami: manager.AMIProtocol, channel: str, context: str, exten: str,
                  priority: str, timeout: float) -> bool:
    """Originate *channel* to the IVR; True when it answered."""
    try:
        event = await ami.originate(channel, context, exten, priority, timeout=timeout,
                                    asynchronous=True)
    except error.AMIOriginateFailure as failure:
        print("%s did not answer (reason %s)" % (channel, failure.reason))
        return False
    except error.AMICommandFailure as failure:
        print("Asterisk refused the originate: %s" % (failure.message,))
        return False
    print("%s connected to %s,%s,%s: %s, uniqueid %s" % (
        event["channel"], context, exten, priority, event["response"], event["uniqueid"]))
    return True


async def run(application: utilapplication.UtilApplication,
              options: argparse.Namespace) -> None:
    ami = await application.amiSpecifier.login()
    try:
        answered = await connect(ami, options.channel, options.context, options.exten,
                                 options.priority, options.timeout)
    finally:
        await ami.logoff()
    if not answered:
        raise SystemExit(1)


async def real(reactor: Any, options: argparse.Namespace) -> None:
    await run(utilapplication.UtilApplication(reactor=reactor), options)   # reads starpy.conf


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeApplication, startFakeAMI

    server, amiPort = startFakeAMI(reactor)
    server.failingChannels.append("PJSIP/busy*")
    try:
        await run(fakeApplication(reactor, amiPort), options)
    finally:
        await server.stopListening()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("channel", help="the channel to call, e.g. PJSIP/100")
    parser.add_argument("--context", default="outgoing")
    parser.add_argument("--exten", default="s")
    parser.add_argument("--priority", default="1")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to ring")


if __name__ == "__main__":
    runExample(__doc__.splitlines()[0], fake, real, arguments)
