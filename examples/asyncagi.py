#!/usr/bin/env python3
"""Originate a call into AsyncAGI and play a short menu over AMI.

    python examples/asyncagi.py [--host 127.0.0.1] [--port 5038] \\
        [--user starpy] [--secret-env AMI_SECRET] [--channel PJSIP/100]
    python examples/asyncagi.py --fake

The call is placed with ``Originate`` into ``AGI(agi:async)``; once the
channel answers, the menu runs over AMI: "press 1 or 2", one digit, the
digit said back, then ``ASYNCAGI BREAK`` hands the channel back.  The AMI
user needs the ``originate`` and ``agi`` write classes and the ``agi`` read
class.  No dialplan is needed for the originated channel itself; to send
incoming calls to AsyncAGI instead, use::

    exten => 300,1,Answer()
     same => n,AGI(agi:async)

The secret is read from an environment variable (default ``AMI_SECRET``).
``--fake`` runs against StarPy's fake Asterisk (a simulated caller who
presses 2), no Asterisk needed.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Optional

from starpy import asyncagi, error, manager
from starpy.agi import AGISession, digitChar

from _run import runExample, secretFromEnvironment


async def menu(agi: AGISession) -> Optional[str]:
    """Play the prompt; return the digit pressed (1 or 2), or None."""
    await agi.answer()
    for _attempt in range(3):
        code, endpos = await agi.streamFile("hello-world", "12")  # 49 for "1", 0: none
        if not code:
            code = await agi.waitForDigit(5.0)
        digit = digitChar(code)
        if digit in ("1", "2"):
            await agi.sayDigits(digit)
            return digit
        await agi.streamFile("beep")
    return None


async def run(reactor: Any, args: argparse.Namespace, secret: str) -> None:
    ami = await manager.AMIFactory(args.user, secret, reactor=reactor).login(args.host, args.port)
    dispatcher = asyncagi.AsyncAGIDispatcher(ami)
    dispatcher.startService()
    try:
        agi = await dispatcher.originate(args.channel, timeout=args.timeout)
        print("call up on %s" % (agi.channel,))
        try:
            digit = await menu(agi)
            print("pressed %s" % (digit,) if digit else "no choice")
        except error.AGIHangup:
            print("the caller hung up")
        agi.finish()
        await agi.whenClosed()
        print("back to the dialplan")
    except error.AMIOriginateFailure as failure:
        print("call failed (reason %s)" % (failure.reason,), file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await dispatcher.stopService()
        await ami.logoff()


async def real(reactor: Any, args: argparse.Namespace) -> None:
    await run(reactor, args, secretFromEnvironment(args.secret_env, args.user))


async def fake(reactor: Any, args: argparse.Namespace) -> None:
    from starpy.testing.agi import SimulatedChannel
    from starpy.testing.asyncagi import FakeAsyncAGI

    from _fake import SECRET, startFakeAMI

    server, args.port = startFakeAMI(reactor)
    args.host = "127.0.0.1"
    FakeAsyncAGI(server).channelFactory = lambda action: SimulatedChannel(dtmf=[(0.3, "2")])
    try:
        await run(reactor, args, SECRET)
    finally:
        await server.stopListening()


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--user", default="starpy")
    parser.add_argument("--secret-env", default="AMI_SECRET",
                        help="environment variable holding the AMI secret")
    parser.add_argument("--channel", default="Local/300@asyncagi")
    parser.add_argument("--timeout", type=float, default=60.0)


if __name__ == "__main__":
    runExample("Originate into AsyncAGI and play a menu.", fake, real, options)
