#!/usr/bin/env python3
"""The IVR menus of StarPy's documentation, served over FastAGI.

The top menu plays ``atlantic`` and offers ``0``, ``#``, ``*`` (exit), ``1``
(a sub-menu saying digits and the date and time) and ``2`` (enter an
extension of 3 to 5 digits).  The choice is left in the channel variable
``MENU_CHOICE`` for the dialplan: the keys of each level separated by
spaces (``"2 555"``), ``exit``, ``none`` (nothing valid chosen) or ``hangup``.

The dialplan lines it expects (``extensions.conf``)::

    [ivr]
    exten => 200,1,Answer()
    exten => 200,n,AGI(agi://127.0.0.1:4573/menu)
    exten => 200,n,Verbose(1,menu choice: ${MENU_CHOICE})
    exten => 200,n,Hangup()

Run it::

    python examples/menu.py                 # listen on 127.0.0.1:4573
    python examples/menu.py --port 4574 -v  # another port, debug logs
    python examples/menu.py --fake          # no Asterisk: scripted calls

With ``--fake`` the server listens on a free port and StarPy's fake Asterisk
(:mod:`starpy.testing.agi`) places a few scripted calls to it over TCP,
printing the choice each one left.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starpy import error, fastagi  # noqa: E402
from starpy.agi import AGISession  # noqa: E402
from starpy.cli.demo import atlanticMenu  # noqa: E402
from starpy.testing.agi import SimulatedChannel, placeCallTCP  # noqa: E402

from _run import forever, portNumber, runExample, stopListening  # noqa: E402

log = logging.getLogger("menuexample")

#: The menus of StarPy's documentation ("Menu Objects Usage"), defined once in
#: starpy.cli.demo: the sub-menu's DateTimePrompt says the time of the call.
ATLANTIC = atlanticMenu()


async def ivr(agi: AGISession) -> None:
    """Answer, run the menu, leave the choice in ``MENU_CHOICE``."""
    try:
        await agi.answer()
        chain = await ATLANTIC(agi)
        choice = " ".join(digits for option, digits in chain)
    except error.MenuExit:
        choice = "exit"
    except error.MenuFinished as e:
        log.info("no valid choice: %s", e)
        choice = "none"
    except error.AGIHangup:
        choice = "hangup"
    log.info("%s chose %r", agi.variables.get("agi_channel"), choice)
    await agi.setVariable("MENU_CHOICE", choice)   # works on a hung-up channel too


def factory(reactor: Any = None) -> fastagi.FastAGIFactory:
    return fastagi.FastAGIFactory(fastagi.FastAGIRouter({"menu": ivr}), clock=reactor)


# -- --fake: scripted calls to the server -------------------------------------------------------

#: (what the caller does, DTMF schedule, when the caller hangs up).  The
#: fake's sounds last 0.3 s so the calls take well under a second each; each
#: key falls inside a command (Asterisk drops keys pressed between two).
CALLS: List[Tuple[str, Sequence[Tuple[float, str]], Optional[float]]] = [
    ("presses 0", [(0.05, "0")], None),
    ("presses 2, then 5 5 5 #", [(0.05, "2"), (0.1, "5"), (0.2, "5"), (0.3, "5"),
                                 (0.4, "#")], None),
    ("presses 1, * to come back, then #", [(0.05, "1"), (0.15, "*"), (0.3, "#")], None),
    ("presses 9, then hangs up", [(0.05, "9")], 0.2),
]


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    port: Any = await fastagi.listenFastAGI(factory(reactor), 0, reactor=reactor)
    number = portNumber(port)
    try:
        for index, (what, dtmf, hangupAt) in enumerate(CALLS, 1):
            channel = SimulatedChannel(
                request="agi://127.0.0.1:%d/menu" % (number,), context="ivr", extension="200",
                priority=2, name="PJSIP/caller-%08d" % (index,), dtmf=dtmf, hangupAt=hangupAt,
                sounds={"atlantic": 0.3, "extension": 0.3}, sayItemDuration=0.005)
            await placeCallTCP(reactor, "127.0.0.1", number, channel)
            print("call %d %s: MENU_CHOICE=%s" % (index, what,
                                                  channel.variables.get("MENU_CHOICE")))
    finally:
        await stopListening(port)


async def real(reactor: Any, options: argparse.Namespace) -> None:
    listening: Any = await fastagi.listenFastAGI(factory(), options.port, options.interface,
                                                 reactor=reactor)
    print("FastAGI menu on %s:%d (Ctrl-C to stop)" % (options.interface,
                                                     portNumber(listening)), flush=True)
    await forever()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument("--interface", default="127.0.0.1")


def run(argv: Optional[List[str]] = None) -> None:
    runExample("StarPy's documented IVR menus over FastAGI.", fake, real, arguments, argv)


if __name__ == "__main__":
    run()
