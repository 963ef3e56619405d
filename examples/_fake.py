"""Shared by the examples' ``--fake`` mode: StarPy's built-in fake Asterisk.

Not an example itself.  The FastAGI examples serve a call that the fake
Asterisk of :mod:`starpy.testing.agi` places over loopback TCP, with short
sound files so the call takes a fraction of a second; the AMI examples log
into the fake AMI server of :mod:`starpy.testing.ami`.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

from starpy.testing.agi import SimulatedChannel, Transcript, placeCallTCP
from starpy.testing.ami import FakeAMIServerFactory
from starpy.utilapplication import UtilApplication

from _run import portNumber

#: Every prompt the examples play, a twentieth of a second long.
SOUNDS: Dict[str, float] = {name: 0.05 for name in (
    "beep", "hello-world", "at-tone-time-exactly", "thank-you-for-calling", "your-account",
    "vm-goodbye", "enter-some-digits", "press-1", "to-hear-callerid", "minutes", "seconds",
    "vm-and", "auth-thankyou")}

USERNAME = "starpy"
SECRET = "starpy-secret"


def fakeChannel(**fields: Any) -> SimulatedChannel:
    """A simulated caller whose prompts and spoken items are short."""
    fields.setdefault("sounds", dict(SOUNDS))
    fields.setdefault("sayItemDuration", 0.005)
    fields.setdefault("name", "PJSIP/alice-00000001")
    fields.setdefault("callerId", "1000")
    fields.setdefault("callerIdName", "Alice")
    return SimulatedChannel(**fields)


async def placeFakeCall(reactor: Any, port: int, channel: SimulatedChannel,
                        show: bool = True) -> Transcript:
    """Have the fake Asterisk call 127.0.0.1:*port*; print the transcript."""
    transcript = await placeCallTCP(reactor, "127.0.0.1", port, channel)
    if show:
        for command, reply in transcript.exchanges():
            print("  >> %-40s << %s" % (command.decode().strip(),
                                       " | ".join(reply.decode().strip().splitlines())))
        print("  (call ended: %s)" % (transcript.agiStatus,))
    return transcript


def startFakeAMI(reactor: Any) -> Tuple[FakeAMIServerFactory, int]:
    """A fake AMI server on a free loopback port: ``(server, port)``."""
    server = FakeAMIServerFactory(clock=reactor)
    port = server.listen(0, reactor=reactor)
    return server, portNumber(port)


def fakeApplication(reactor: Any, amiPort: Optional[int] = None) -> UtilApplication:
    """A :class:`UtilApplication` with every default (no starpy.conf read),
    FastAGI on a free port, and the AMI pointed at the fake server."""
    application = UtilApplication(os.devnull, reactor=reactor)
    application.agiSpecifier.port = 0
    if amiPort is not None:
        ami = application.amiSpecifier
        ami.username, ami.secret, ami.port = USERNAME, SECRET, amiPort
    return application
