#!/usr/bin/env python3
"""A test of the IVR menu classes (:mod:`starpy.menu`), served over FastAGI.

A port of upstream StarPy's ``menutest`` example.  The calls for extension
``s`` go (through :class:`~starpy.utilapplication.UtilApplication`) to a
three-part menu:

* the top level plays ``menutest-toplevel``: ``*`` leaves the menu, ``0``
  and ``#`` end it with that choice, ``1`` opens a second-level menu, ``2``
  asks for 3 to 5 digits; an invalid key is reported (``pm-invalid-option``)
  and the menu starts again;
* the second level plays ``menutest-secondlevel``: ``*`` goes back to the
  top, ``0`` and ``#`` end the whole menu; invalid keys are not reported;
* the digit entry plays ``menutest-digits`` and takes 3 to 5 digits, ended
  by ``#`` or a pause.

Record the three prompts yourself (any format Asterisk plays, in its sounds
directory), or change the names below to stock sounds.  The outcome is left
in the channel variable ``MENUTEST_RESULT`` for the dialplan: the keys of
each level separated by spaces (``"1 #"``, ``"2 456"``), ``exit`` (``*`` at
the top), ``none`` (no valid choice) or ``hangup``.

The dialplan lines it expects (``extensions.conf``)::

    [menutest]
    exten => s,1,Answer()
     same => n,AGI(agi://127.0.0.1:4573)
     same => n,Verbose(1,menu test result: ${MENUTEST_RESULT})
     same => n,Hangup()

    ; from a phone's context:
    exten => 600,1,Goto(menutest,s,1)

The FastAGI port and interface come from ``starpy.conf`` (``[FastAGI]``).
Run it::

    python examples/menutest.py           # serve Asterisk's calls
    python examples/menutest.py -v        # with debug logs
    python examples/menutest.py --fake    # no Asterisk: scripted calls

With ``--fake`` the server starts on a free loopback port and StarPy's fake
Asterisk (:mod:`starpy.testing.agi`) places scripted calls to that same
server in memory, on a simulated clock (so the keys always land in the
prompt meant to receive them, however loaded the machine), and prints the
result of each call.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import task  # noqa: E402

from starpy import error, fastagi  # noqa: E402
from starpy.agi import AGISession  # noqa: E402
from starpy.cli.demo import atlanticMenu  # noqa: E402
from starpy.testing.agi import SimulatedChannel, placeCallInMemory  # noqa: E402
from starpy.utilapplication import UtilApplication  # noqa: E402

from _run import forever, portNumber, runExample, stopListening  # noqa: E402

log = logging.getLogger("menutest")

#: Upstream's menu test is StarPy's documented menu with its own prompts
#: (starpy.cli.demo.atlanticMenu): "*" leaves at any time; "0" and "#" end
#: with that choice; "1" opens a second level, where invalid keys are not
#: reported and "*" goes back up; "2" collects three to five digits.
#: Invalid keys at the top level are reported.
MAIN_MENU = atlanticMenu(prompt="menutest-toplevel", subPrompt="menutest-secondlevel",
                         digitsPrompt="menutest-digits", tellInvalid=True)


def describe(chain: Sequence[Tuple[Any, str]]) -> str:
    """``[(SubMenu 1, "1"), (Option #, "#")]`` -> ``"1 #"``."""
    return " ".join(digits for option, digits in chain)


async def menuTest(agi: AGISession) -> str:
    """Run the menu test on one call; leave the outcome in ``MENUTEST_RESULT``."""
    channel = agi.variables.get("agi_channel", "?")
    log.info("new menu test call on %s", channel)
    try:
        result = describe(await MAIN_MENU(agi))
    except error.MenuExit:
        result = "exit"
    except error.MenuFinished as e:
        log.info("%s: no valid choice (%s)", channel, e)
        result = "none"
    except error.AGIHangup:
        result = "hangup"
    log.info("%s: final result %r", channel, result)
    await agi.setVariable("MENUTEST_RESULT", result)  # allowed on a hung-up channel too
    return result


def application(configFile: Optional[str] = None, reactor: Any = None) -> UtilApplication:
    """The application: calls for extension ``s`` run :func:`menuTest`."""
    app = UtilApplication(configFile, reactor=reactor)
    app.handleCallsFor("s", menuTest)
    return app


# -- --fake: scripted calls ----------------------------------------------------------------

#: Prompt lengths in the simulated calls, in seconds.
SOUNDS = {"menutest-toplevel": 3.0, "menutest-secondlevel": 2.0, "menutest-digits": 2.0,
          "pm-invalid-option": 1.0}

#: (what the caller does, DTMF schedule, when the caller hangs up).  Times
#: are seconds from the start of the call; each key lands well inside the
#: prompt or wait that should receive it (the clock is simulated, so
#: exactly there).
CALLS: List[Tuple[str, Sequence[Tuple[float, str]], Optional[float]]] = [
    ("presses 0", [(1.0, "0")], None),
    ("presses 1, then # in the second level", [(1.0, "1"), (2.0, "#")], None),
    ("presses 1, * to come back, then 0", [(1.0, "1"), (2.0, "*"), (3.0, "0")], None),
    ("presses 2, then enters 4 5 6 #", [(1.0, "2"), (1.5, "4"), (2.0, "5"), (2.5, "6"),
                                        (3.0, "#")], None),
    ("presses 2, enters 1 2 # (too short), then 7 8 9 0 #",
     [(1.0, "2"), (1.5, "1"), (2.0, "2"), (2.5, "#"), (4.0, "7"), (4.5, "8"), (5.0, "9"),
      (5.5, "0"), (6.0, "#")], None),
    # While a prompt plays only the menu's keys stop it: "5" is pressed
    # after the prompt, during the wait for a key.
    ("presses 5 (invalid, told so), then #", [(4.0, "5"), (6.0, "#")], None),
    ("presses * to leave the menu", [(1.0, "*")], None),
    ("presses nothing at all", [], None),
    ("hangs up during the first prompt", [], 1.0),
]


def played(commands: Sequence[bytes]) -> List[str]:
    """The sound files a call's commands played, in order."""
    files = []
    for command in commands:
        words = command.decode("utf-8", "replace").split()
        if words[:2] == ["STREAM", "FILE"] and len(words) > 2:
            files.append(words[2])
    return files


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    clock = task.Clock()
    app = application(os.devnull, reactor=clock)  # no starpy.conf: every default
    factory = app.agiSpecifier.factory(app.dispatchIncomingCall)
    port: Any = await fastagi.listenFastAGI(factory, 0, "127.0.0.1", reactor=reactor)
    print("menu test server on 127.0.0.1:%d; %d scripted calls in memory"
          % (portNumber(port), len(CALLS)))
    try:
        for index, (what, dtmf, hangupAt) in enumerate(CALLS, 1):
            channel = SimulatedChannel(
                request="agi://127.0.0.1:%d" % (portNumber(port),), context="menutest",
                extension="s", priority=2, name="PJSIP/caller-%08d" % (index,),
                uniqueId="1700000000.%d" % (index,), dtmf=dtmf, hangupAt=hangupAt,
                sounds=dict(SOUNDS))
            transcript = placeCallInMemory(factory, channel, clock).runUntilFinished(600)
            print("call %d %s: MENUTEST_RESULT=%s" % (
                index, what, channel.variables.get("MENUTEST_RESULT")))
            print("    played: %s" % (", ".join(played(transcript.commands())) or "nothing",))
    finally:
        await stopListening(port)
    if clock.getDelayedCalls():
        raise RuntimeError("timers left after the calls: %r" % (clock.getDelayedCalls(),))


async def real(reactor: Any, options: argparse.Namespace) -> None:
    app = application(reactor=reactor)  # starpy.conf, ~/.starpy.conf or $STARPY_CONF
    port = await app.agiSpecifier.run(app.dispatchIncomingCall)
    print("menu test on port %d (Ctrl-C to stop)" % (portNumber(port),), flush=True)
    await forever()


def run(argv: Optional[List[str]] = None) -> None:
    runExample("A test of StarPy's IVR menus over FastAGI.", fake, real, argv=argv)


if __name__ == "__main__":
    run()
