"""Handlers that tests run as classic AGI scripts (``python -m starpy agi tests.agiscripts:X``)."""
from __future__ import annotations

from typing import Any

from starpy import error
from starpy.agi import digitChar


async def hello(agi: Any) -> None:
    """Answer, read a variable, play a file, tell what it got."""
    await agi.answer()
    channel = await agi.getVariable("CHANNEL")
    digit, endpos = await agi.streamFile("hello-world", "#")
    await agi.verbose("got %s %s %s %s" % (channel, digitChar(digit), endpos, agi.arguments))


async def hangupAware(agi: Any) -> None:
    """Report hangup state after the channel hangs up (SIGHUP or HANGUP line)."""
    await agi.answer()
    await agi.getVariable("X")
    await agi.verbose("hungUp=%s" % (agi.hungUp,))
    try:
        await agi.streamFile("hello-world")
    except error.AGIHangup:
        await agi.verbose("refused")


def broken(agi: Any) -> None:
    """Fail at once."""
    raise RuntimeError("broken handler")


def finishAtOnce(agi: Any) -> None:
    """Do nothing and finish: the script ends with status 0."""
    agi.finish()
