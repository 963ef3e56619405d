"""``starpy demo``: StarPy at work against the built-in fake Asterisk.

Needs no Asterisk.  Over loopback TCP it starts the fake AMI server of
:mod:`starpy.testing.ami`, logs into it with :class:`~starpy.manager.AMIFactory`,
sends actions (a list action, a CLI command, an AstDB round trip, an
asynchronous Originate) and prints the events that arrive; then it starts a
FastAGI server and has the fake Asterisk caller of :mod:`starpy.testing.agi`
place calls into it, printing each call's AGI transcript.
"""
from __future__ import annotations

from typing import Any, Callable, List, TextIO

from twisted.internet import defer

from starpy import fastagi, manager
from starpy.agi import AGISession
from starpy.testing.agi import SimulatedChannel, placeCallTCP
from starpy.testing.ami import FakeAMIServerFactory

__all__ = ["runDemo", "helloHandler"]

USERNAME = "starpy"
SECRET = "starpy-secret"


async def helloHandler(agi: AGISession) -> None:
    """The FastAGI handler of the demo: a few commands, then hang up."""
    await agi.answer()
    channel = await agi.getVariable("CHANNEL")
    await agi.setVariable("GREETED", "yes, %s" % (agi.variables.get("agi_callerid", "?"),))
    await agi.databaseSet("demo", "lastcaller", agi.variables.get("agi_callerid", "unknown"))
    await agi.streamFile("beep")
    await agi.sayDigits(agi.variables.get("agi_extension", "0"))
    await agi.verbose("demo call on %s done" % (channel,))
    await agi.hangup()


async def _amiPart(reactor: Any, say: Callable[[str], None]) -> None:
    server = FakeAMIServerFactory(clock=reactor)
    port = server.listen(0, reactor=reactor)
    number = port.getHost().port  # type: ignore[attr-defined]
    say("fake Asterisk: AMI listening on 127.0.0.1:%d" % number)
    ami = await manager.AMIFactory(USERNAME, SECRET, md5=True, reactor=reactor).login(
        "127.0.0.1", number)
    say("logged in (MD5 challenge), AMI version %s" % ami.amiVersion)

    events: List[str] = []

    def onEvent(protocol: manager.AMIProtocol, event: Any) -> None:
        detail = event.get("channel") or event.get("userevent") or event.get("status", "")
        events.append(event["event"])
        say("  event  %-20s %s" % (event["event"], detail))

    handle = ami.registerEvent(None, onEvent)
    settings = await ami.coreSettings()
    say("CoreSettings: Asterisk %s" % settings["asteriskversion"])
    for line in await ami.command("core show version"):
        say("CLI: %s" % line)
    await ami.dbPut("demo", "greeting", "hello from StarPy")
    say("DBGet demo/greeting -> %r" % (await ami.dbGet("demo", "greeting"),))
    await ami.userEvent("StarpyDemo", Step="1")
    response = await ami.originate("Local/100@fastagi", "fastagi", "100", 1, timeout=15,
                                   callerid='"Demo" <5551234>', asynchronous=True)
    say("OriginateResponse: %s, channel %s, uniqueid %s"
        % (response["response"], response["channel"], response["uniqueid"]))
    channels = await ami.coreShowChannels()
    say("CoreShowChannels: %d channel(s) %s" % (len(channels), [c["channel"] for c in channels]))
    server.hangupChannel(response["channel"])
    try:
        await ami.hangup("PJSIP/nobody-00000000")
    except Exception as e:  # noqa: BLE001 - shown to the reader
        say("Hangup of a missing channel fails as it should: %s" % e)
    handle.cancel()
    await ami.logoff()
    await defer.maybeDeferred(port.stopListening)
    say("AMI part done: %d events seen" % len(events))


async def _agiPart(reactor: Any, calls: int, say: Callable[[str], None]) -> None:
    factory = fastagi.FastAGIFactory(helloHandler, clock=reactor)
    port = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    number = port.getHost().port  # type: ignore[attr-defined]
    say("FastAGI server listening on 127.0.0.1:%d" % number)
    results = []
    for index in range(calls):
        channel = SimulatedChannel(
            request="agi://127.0.0.1:%d/hello" % number,
            name="PJSIP/demo-%08x" % index,
            callerId="55500%02d" % index,
            extension="%d" % (100 + index),
            sounds={"beep": 0.05},
            sayItemDuration=0.01,
        )
        results.append(placeCallTCP(reactor, "127.0.0.1", number, channel))
    transcripts = await defer.gatherResults(results)
    for index, transcript in enumerate(transcripts):
        say("call %d from %s to extension %d:" % (index + 1, "55500%02d" % index, 100 + index))
        for command, reply in transcript.exchanges():
            say("    %-45s -> %s" % (_text(command), " | ".join(_text(reply).splitlines())))
    await defer.maybeDeferred(port.stopListening)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()


async def runDemo(reactor: Any, out: TextIO, calls: int = 2) -> int:
    """Run the demo on *reactor*, printing to *out*; returns an exit status."""

    def say(text: str) -> None:
        print(text, file=out)

    say("== AMI: manager.AMIFactory(...).login(...) against the fake Asterisk")
    await _amiPart(reactor, say)
    say("")
    say("== FastAGI: fastagi.FastAGIFactory(handler), %d call(s) from the fake Asterisk" % calls)
    await _agiPart(reactor, calls, say)
    say("")
    say("demo finished")
    return 0
