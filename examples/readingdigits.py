#!/usr/bin/env python3
"""Read digits from the caller in three ways, and count the calls served.

1. ``waitForDigit``: one digit, any key, within a timeout;
2. ``streamFile`` with escape digits, then ``waitForDigit`` (a menu choice
   that may interrupt the prompt);
3. ``getData``: several digits ending with ``#`` or a timeout.

Then it says the number of calls served so far and the digits read.  A
plain FastAGIFactory (no starpy.conf), listening on 127.0.0.1:4573.

The dialplan lines it expects (``extensions.conf``)::

    [readingdigits]
    exten => 123,1,Answer()
     same => n,AGI(agi://127.0.0.1:4573/digits)
     same => n,Hangup()

Run it::

    python examples/readingdigits.py [--port 4573]
    python examples/readingdigits.py --fake   # the fake Asterisk calls twice, pressing keys
"""
from __future__ import annotations

import argparse
import logging
from typing import Any, List, Optional

from twisted.internet import defer

from starpy import error, fastagi
from starpy.agi import digitChar

from _run import forever, portNumber, runExample, stopListening

log = logging.getLogger("readingdigits")


class DialPlan:
    """Counts the calls it serves; each call reads digits three ways."""

    def __init__(self, digitTimeout: float = 5.0) -> None:
        self.count = 0
        self.digitTimeout = digitTimeout

    def __call__(self, agi: Any) -> defer.Deferred[Optional[List[str]]]:
        return defer.Deferred.fromCoroutine(self.serve(agi))

    async def serve(self, agi: Any) -> Optional[List[str]]:
        try:
            await agi.answer()
        except error.AGIError as e:
            log.warning("unable to answer %s: %s", agi.variables.get("agi_channel"), e)
            return None
        self.count += 1
        await agi.wait(0.5)
        # Keys come back as their ASCII codes (49 for "1"), 0 for none.
        first = digitChar(await agi.waitForDigit(self.digitTimeout))  # one key
        code, _ = await agi.streamFile("press-1", escapeDigits="123")
        if not code:
            code = await agi.waitForDigit(self.digitTimeout)         # a menu choice
        choice = digitChar(code)
        entered, timedOut = await agi.getData("enter-some-digits", timeout=self.digitTimeout,
                                              maxDigits=4)
        digits = [first, choice, entered]
        print("call %d: waitForDigit %r, choice %r, getData %r%s" % (
            self.count, first, choice, entered, " (timed out)" if timedOut else ""), flush=True)
        await agi.sayNumber(self.count, "*")
        if entered:
            await agi.sayDigits(entered)
        return digits


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from starpy.testing.agi import spacedDigits

    from _fake import fakeChannel, placeFakeCall

    dialplan = DialPlan(digitTimeout=0.5)   # short timeouts: the fake runs in real time
    port = await fastagi.listenFastAGI(fastagi.FastAGIFactory(dialplan, clock=reactor), 0,
                                       reactor=reactor)
    number = portNumber(port)
    try:
        # presses 7, then 2 during the prompt, then 4 5 #
        await placeFakeCall(reactor, number, fakeChannel(
            request="agi://127.0.0.1/digits", extension="123",
            dtmf=[(0.55, "7"), (0.6, "2")] + spacedDigits("45#", start=0.75, interval=0.05)))
        # presses nothing at first, 3 after the prompt, then 9 and lets getData time out
        await placeFakeCall(reactor, number, fakeChannel(
            request="agi://127.0.0.1/digits", extension="123",
            dtmf=[(0.6, "1"), (0.7, "3"), (0.9, "9")]))
    finally:
        await stopListening(port)


async def real(reactor: Any, options: argparse.Namespace) -> None:
    listening = await fastagi.listenFastAGI(fastagi.FastAGIFactory(DialPlan()), options.port,
                                            reactor=reactor)
    print("FastAGI listening on port %d (Ctrl-C to stop)" % (portNumber(listening),),
          flush=True)
    await forever()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=4573)


if __name__ == "__main__":
    runExample(__doc__.splitlines()[0], fake, real, arguments)
