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

With ``--selftest`` the server listens on a free port and a tiny scripted
"Asterisk" calls it once (pressing 2), printing each line on the wire.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, protocol, task  # noqa: E402
from twisted.internet.defer import Deferred  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402

from starpy import error, fastagi  # noqa: E402
from starpy.agi import digitChar  # noqa: E402

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


# -- --selftest: a scripted Asterisk side -------------------------------------------

SELFTEST_REPLIES = {
    "ANSWER": "200 result=0\n",
    "SAY DATETIME": "200 result=0\n",
    "WAIT FOR DIGIT": "200 result=50\n",           # the caller presses 2
    "SAY DIGITS": "200 result=0\n",
    "STREAM FILE": "200 result=0 endpos=7200\n",
    "HANGUP": "200 result=1\nHANGUP\n",
}


class ScriptedAsterisk(protocol.Protocol):
    """Plays Asterisk for one call: environment block, then canned replies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.buffer = b""
        self.lines: List[str] = []
        self.done: Deferred[List[str]] = Deferred()

    def connectionMade(self) -> None:
        env: Dict[str, str] = {
            "agi_network": "yes", "agi_network_script": "hello",
            "agi_request": "agi://127.0.0.1:%d/hello" % (self.port,),
            "agi_channel": "Local/100@fastagi-00000001;2", "agi_language": "en",
            "agi_callerid": "1000", "agi_calleridname": "Self Test", "agi_context": "fastagi",
            "agi_extension": "100", "agi_priority": "2", "agi_arg_1": "arg1",
        }
        block = "".join("%s: %s\n" % item for item in env.items()) + "\n"
        self.transport.write(block.encode())  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for raw in lines:
            line = raw.decode()
            reply = next((text for prefix, text in SELFTEST_REPLIES.items()
                          if line.startswith(prefix)), "510 Invalid or unknown command\n")
            print(">> %s" % (line,))
            for answer in reply.splitlines():
                print("<< %s" % (answer,))
            self.lines.append(line)
            self.transport.write(reply.encode())  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        print("## the server closed the connection")
        self.done.callback(self.lines)


async def selftest(reactor: Any) -> None:
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    factory = fastagi.FastAGIFactory(fastagi.FastAGIRouter({"hello": main}), clock=reactor)
    port = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    number = port.getHost().port
    try:
        caller = ScriptedAsterisk(number)
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", number), caller)
        lines = await caller.done
    finally:
        await port.stopListening()
    expected = ["ANSWER", "SAY DATETIME", "WAIT FOR DIGIT 5000", "SAY DIGITS 2 \"\"",
                "STREAM FILE vm-goodbye \"\"", "HANGUP"]
    if [line.split(" ")[0] for line in lines] != [e.split(" ")[0] for e in expected] or \
            lines[2:] != expected[2:]:
        raise SystemExit("selftest failed: %r" % (lines,))
    print("selftest passed")


async def serve(reactor: Any, port: int, interface: str) -> None:
    router = fastagi.FastAGIRouter({"hello": main})
    listening = await fastagi.listenFastAGI(fastagi.FastAGIFactory(router), port, interface,
                                            reactor=reactor)
    log.warning("FastAGI listening on %s:%d (Ctrl-C to stop)", interface,
                listening.getHost().port)
    await Deferred()  # run until interrupted


def run(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Hello, FastAGI.")
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--selftest", "--fake", action="store_true", dest="selftest",
                        help="call it once, no Asterisk")
    parser.add_argument("-v", "--verbose", action="store_true")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if options.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if options.selftest:
        task.react(lambda reactor: defer.ensureDeferred(selftest(reactor)))
    else:
        task.react(lambda reactor: defer.ensureDeferred(
            serve(reactor, options.port, options.interface)))


if __name__ == "__main__":
    run()
