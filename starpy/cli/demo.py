"""``starpy demo``: StarPy at work against the built-in fake Asterisk.

Needs no Asterisk.  Over loopback TCP it

1. starts the fake AMI server of :mod:`starpy.testing.ami`, logs into it with
   :class:`AMIFactory <starpy.manager.AMIFactory>`, sends actions (a list action, a CLI
   command, an AstDB round trip, an asynchronous Originate) and prints the
   events that arrive;
2. starts a FastAGI server running the demo IVR (:data:`DEMO_MENU`, built with
   :mod:`starpy.menu` by :func:`atlanticMenu`) and has the fake Asterisk caller of
   :mod:`starpy.testing.agi` place calls into it.  Each simulated caller
   follows a script (:data:`CALLERS`): a choice, an invalid key, an
   extension entered digit by digit, a trip into a sub-menu and back, a
   hang-up.  The demo prints each call's AGI dialogue and a summary.

The callers press each key 0.3 s into a 0.6 s prompt, so the scripts keep
working on a loaded machine.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

import attrs
from twisted.internet import defer

from starpy import error, fastagi, manager, menu
from starpy.agi import AGISession
from starpy.testing.agi import SimulatedChannel, Transcript, placeCallTCP
from starpy.testing.ami import FakeAMIServerFactory

__all__ = ["runDemo", "atlanticMenu", "ATLANTIC", "DEMO_MENU", "demoIVR", "CALLERS",
           "CallerScript"]

USERNAME = "starpy"
SECRET = "starpy-secret"


def atlanticMenu(prompt: str = "atlantic", subPrompt: "menu.PromptInput" = None,
                 digitsPrompt: str = "extension", tellInvalid: bool = False,
                 **menuOptions: Any) -> menu.Menu:
    """StarPy's documented IVR menu (upstream's "Menu Objects Usage"), the one
    definition the demo, ``examples/menu.py``, ``examples/menutest.py`` and
    the README use.

    The top menu plays *prompt* and offers ``0`` and ``#`` (chosen as they
    are), ``*`` (:class:`ExitOn <starpy.menu.ExitOn>`), ``1`` (a sub-menu
    playing *subPrompt* that offers ``0``, ``#`` and ``*`` back to the top,
    invalid keys not told) and ``2`` (:class:`CollectDigits
    <starpy.menu.CollectDigits>`: 3 to 5 digits after *digitsPrompt*).

    :param subPrompt: the sub-menu's prompt; by default *prompt*, the number
        53 said digit by digit and the date and time of the call.
    :param tellInvalid: whether the top menu tells the caller of an invalid
        key (the documentation's does not).
    :param menuOptions: more arguments for the top
        :class:`Menu <starpy.menu.Menu>` (``maxRepetitions`` is 5 unless
        given, ``invalidPrompt``, ``timeout``...).
    :raises starpy.error.MenuDefinitionError: an argument the models refuse.
    """
    if subPrompt is None:
        subPrompt = [prompt, menu.DigitsPrompt(53), menu.DateTimePrompt()]
    menuOptions.setdefault("maxRepetitions", 5)
    return menu.Menu(
        prompt=prompt,
        tellInvalid=tellInvalid,
        options=[
            menu.Option(option="0"),
            menu.Option(option="#"),
            menu.ExitOn(option="*"),
            menu.SubMenu(
                option="1",
                menu=menu.Menu(
                    prompt=subPrompt,
                    tellInvalid=False,
                    options=[menu.Option(option="0"), menu.Option(option="#"),
                             menu.ExitOn(option="*")],
                ),
            ),
            menu.SubMenu(
                option="2",
                menu=menu.CollectDigits(soundFile=digitsPrompt, maxDigits=5, minDigits=3),
            ),
        ],
        **menuOptions,
    )


#: The menu of StarPy's documentation, as :func:`atlanticMenu` builds it.
ATLANTIC = atlanticMenu()

#: The demo IVR: the ``atlantic`` menu telling the caller about invalid
#: keys, offered three times, its sub-menu without the date (so that the
#: dialogues it prints are the same on every run).
DEMO_MENU = atlanticMenu(subPrompt=["atlantic", menu.DigitsPrompt(53)], tellInvalid=True,
                         invalidPrompt="pm-invalid-option", maxRepetitions=2)


async def demoIVR(agi: AGISession) -> None:
    """The FastAGI handler of the demo: answer, run :data:`DEMO_MENU`, leave
    the outcome in the channel variable ``MENU_CHOICE`` for the dialplan."""
    try:
        await agi.answer()
        chain = await DEMO_MENU(agi)
        choice = " ".join(digits for option, digits in chain)   # as examples/menu.py
    except error.MenuExit:
        choice = "exit"
    except error.MenuFinished:
        choice = "none"
    except error.AGIHangup:
        choice = "hangup"
    await agi.setVariable("MENU_CHOICE", choice)  # dead-safe: works after a hang-up too


@attrs.frozen
class CallerScript:
    """What one simulated caller does: keys at times (seconds after the call
    connects) and maybe a hang-up."""

    description: str
    dtmf: Tuple[Tuple[float, str], ...]
    hangupAt: Optional[float] = None


#: The callers of the demo, used in turn.  Prompts last 0.6 s; every key
#: lands 0.3 s into the command that should read it.
CALLERS: Tuple[CallerScript, ...] = (
    CallerScript("presses 0", ((0.3, "0"),)),
    CallerScript("chooses 2 and enters extension 555#",
                 ((0.3, "2"), (0.6, "5"), (0.9, "5"), (1.2, "5"), (1.5, "#"))),
    CallerScript("presses 9 (not an option), hears why, then presses #",
                 ((0.9, "9"), (1.8, "#"))),
    CallerScript("enters sub-menu 1, presses * to come back, then 0",
                 ((0.3, "1"), (0.6, "*"), (0.9, "0"))),
    CallerScript("enters sub-menu 1 and hangs up", ((0.3, "1"),), hangupAt=0.7),
)

_SOUNDS = {"atlantic": 0.6, "extension": 0.6, "pm-invalid-option": 0.6}


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
    ami.userEvent("StarpyDemo", Step="1")                  # returns its ActionID at once
    response = await ami.originate("Local/100@fastagi", "fastagi", "100", 1, timeout=15,
                                   callerid='"Demo" <5551234>', asynchronous=True)
    say("OriginateResponse: %s, channel %s, uniqueid %s"
        % (response["response"], response["channel"], response["uniqueid"]))
    channels = (await ami.coreShowChannels()).events
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


async def _agiPart(reactor: Any, calls: int, concurrency: int, show: int,
                   say: Callable[[str], None], progress: Optional[TextIO]) -> Dict[str, int]:
    factory = fastagi.FastAGIFactory(fastagi.FastAGIRouter({"menu": demoIVR}), clock=reactor)
    port = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    number = port.getHost().port  # type: ignore[attr-defined]
    say("FastAGI server with the demo IVR listening on 127.0.0.1:%d" % number)
    say("dialplan: exten => 200,n,AGI(agi://127.0.0.1:%d/menu)" % number)
    outcomes: Dict[str, int] = {}
    shown: Dict[int, Tuple[CallerScript, SimulatedChannel, Transcript, str]] = {}
    done = [0]
    started = time.monotonic()
    semaphore = defer.DeferredSemaphore(max(1, concurrency))

    async def call(index: int) -> None:
        script = CALLERS[index % len(CALLERS)]
        channel = SimulatedChannel(
            request="agi://127.0.0.1:%d/menu" % number, context="ivr", extension="200",
            priority=2, name="PJSIP/caller-%08x" % index, callerId="555%04d" % index,
            uniqueId="1700000000.%d" % index, dtmf=script.dtmf, hangupAt=script.hangupAt,
            sounds=dict(_SOUNDS), sayItemDuration=0.05)
        transcript = await placeCallTCP(reactor, "127.0.0.1", number, channel)
        choice = channel.variables.get("MENU_CHOICE", "(none)")
        outcomes[choice] = outcomes.get(choice, 0) + 1
        done[0] += 1
        if index < show:
            shown[index] = (script, channel, transcript, choice)
        if progress is not None:
            progress.write("\r  %d/%d calls done" % (done[0], calls))
            progress.flush()

    def placeOne(index: int) -> defer.Deferred[None]:
        return defer.ensureDeferred(call(index))

    await defer.gatherResults([semaphore.run(placeOne, i) for i in range(calls)])
    if progress is not None:
        progress.write("\n")
    for index in sorted(shown):
        _printCall(say, index, *shown[index])
    await defer.maybeDeferred(port.stopListening)
    elapsed = time.monotonic() - started
    say("")
    say("summary: %d call(s), %d at a time, in %.1f s" % (calls, concurrency, elapsed))
    for choice, count in sorted(outcomes.items(), key=lambda item: (-item[1], item[0])):
        say("  %4d  MENU_CHOICE=%s" % (count, choice))
    return outcomes


def _printCall(say: Callable[[str], None], index: int, script: CallerScript,
               channel: SimulatedChannel, transcript: Transcript, choice: str) -> None:
    say("")
    say("call %d from %s: the caller %s" % (index + 1, channel.callerId, script.description))
    for command, reply in transcript.exchanges():
        say("    %-42s -> %s" % (_text(command), " | ".join(_text(reply).splitlines())))
    say("  => MENU_CHOICE=%s (AGISTATUS %s)" % (choice, transcript.agiStatus))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()


async def runDemo(reactor: Any, out: TextIO, calls: int = 5, concurrency: int = 5,
                  show: Optional[int] = None, progress: Optional[TextIO] = None) -> int:
    """Run the demo on *reactor*, printing to *out*; returns an exit status.

    :param calls: how many IVR calls the fake Asterisk places.
    :param concurrency: how many are in progress at once.
    :param show: print the dialogue of the first *show* calls (default: all
        when there are at most 10, else none).
    :param progress: where to write a progress line (e.g. ``sys.stderr``).
    """

    def say(text: str) -> None:
        print(text, file=out)

    if show is None:
        show = calls if calls <= 10 else 0
    say("== AMI: manager.AMIFactory(...).login(...) against the fake Asterisk")
    await _amiPart(reactor, say)
    say("")
    say("== FastAGI + IVR menus: %d call(s) from the fake Asterisk, %d at a time"
        % (calls, concurrency))
    await _agiPart(reactor, calls, concurrency, show, say, progress)
    say("")
    say("demo finished")
    return 0
