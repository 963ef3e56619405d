#!/usr/bin/env python3
"""Hello, FastAGI: answer, say the time, read a digit, say it back, hang up.

The dialplan lines it expects (``extensions.conf``)::

    [fastagi]
    exten => 100,1,NoOp(hello FastAGI)
     same => n,AGI(agi://127.0.0.1:4573/hello,arg1)
     same => n,Hangup()
    exten => 100,102,Playback(an-error-has-occurred)   ; where jumpOnError lands
     same => n,Hangup()

The AGI() line is priority 2, so on an error the handler jumps to priority
2 + 100 = 102 (``agi.jumpOnError``).  Any other script path
(``agi://127.0.0.1:4573/other``) is logged and finished.

Run it::

    python examples/hellofastagi.py                 # listen on 127.0.0.1:4573
    python examples/hellofastagi.py --port 4574 -v  # another port, debug logs
    python examples/hellofastagi.py --selftest      # no Asterisk: a scripted caller

With ``--selftest`` (or ``--fake``) the server listens on a free port and
StarPy's fake Asterisk (``starpy.testing``) calls it once, pressing 2; each
command and its reply is printed.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet.defer import Deferred  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402

from starpy import error, fastagi  # noqa: E402
from starpy.agi import digitChar  # noqa: E402

from _run import forever, portNumber, runExample, stopListening  # noqa: E402

log = logging.getLogger("hellofastagi")


async def hello(agi: fastagi.FastAGIProtocol) -> None:
    """The call flow: every command is awaited, times are in seconds."""
    log.info("call on %s from %s, arguments %s", agi.variables["agi_channel"],
             agi.variables["agi_callerid"], agi.arguments)
    await agi.answer()
    await agi.sayDateTime(time.time(), format="IMp")
    code = await agi.waitForDigit(5.0)               # 50 for "2", or 0 after 5 s
    if code:
        await agi.sayDigits(digitChar(code))
    await agi.streamFile("vm-goodbye")
    await agi.hangup()


def main(agi: fastagi.FastAGIProtocol) -> Deferred[Any]:
    """Run :func:`hello`; on an error other than a hangup, jump to priority + 100."""

    def onError(reason: Failure) -> Any:
        if reason.check(error.AGIHangup):
            log.info("caller hung up")
            return None
        return agi.jumpOnError(reason, difference=100)

    return Deferred.fromCoroutine(hello(agi)).addErrback(onError)


# -- --fake: StarPy's fake Asterisk calls once, pressing 2 ----------------------------

EXPECTED = ["ANSWER", "SAY DATETIME", "WAIT FOR DIGIT 5000", 'SAY DIGITS 2 ""',
            'STREAM FILE vm-goodbye ""', "HANGUP"]


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from starpy.testing.agi import spacedDigits

    from _fake import fakeChannel, placeFakeCall

    factory = fastagi.FastAGIFactory(fastagi.FastAGIRouter({"hello": main}), clock=reactor)
    port = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    number = portNumber(port)
    channel = fakeChannel(request="agi://127.0.0.1:%d/hello" % (number,), arguments=["arg1"],
                          context="fastagi", extension="100", priority=2,
                          dtmf=spacedDigits("2", start=0.1))
    try:
        transcript = await placeFakeCall(reactor, number, channel)
    finally:
        await stopListening(port)
    sent = [command.decode().strip() for command in transcript.commands()]
    if [line.split(" ")[0] for line in sent] != [e.split(" ")[0] for e in EXPECTED] or \
            sent[2:] != EXPECTED[2:]:
        raise SystemExit("selftest failed: %r" % (sent,))
    print("selftest passed")


async def real(reactor: Any, options: argparse.Namespace) -> None:
    router = fastagi.FastAGIRouter({"hello": main})
    listening = await fastagi.listenFastAGI(fastagi.FastAGIFactory(router), options.port,
                                            options.interface, reactor=reactor)
    print("FastAGI listening on %s:%d (Ctrl-C to stop)" % (options.interface,
                                                          portNumber(listening)), flush=True)
    await forever()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--selftest", action="store_true", dest="fake",
                        help="the same as --fake")


def run(argv: Optional[List[str]] = None) -> None:
    runExample("Hello, FastAGI.", fake, real, arguments, argv, level=logging.INFO)


if __name__ == "__main__":
    run()
