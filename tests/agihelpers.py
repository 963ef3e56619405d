"""Helpers for the AGI tests: Asterisk's argument parser and the captures."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

from twisted.internet import task
from twisted.internet.interfaces import IDelayedCall

from starpy.fastagi import FastAGIFactory

FIXTURES = Path(__file__).parent / "fixtures"


def asteriskParseArgs(line: str) -> List[str]:
    """Split a command line as res_agi.c's ``parse_args`` does.

    A test-side re-implementation of Asterisk's rules, written from the C
    state machine: double quotes toggle quoting (and start a word when they
    open on whitespace), a backslash makes the next character literal,
    space and tab separate words outside quotes, everything else is literal.
    """
    words: List[str] = []
    current: List[str] = []
    quoted = escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                words.append("")
                current = []
                whitespace = False
            escaped = False
            continue
        if char in " \t" and not quoted and not escaped:
            if not whitespace:
                words[-1] = "".join(current)
            whitespace = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            words.append("")
            current = []
            whitespace = False
        current.append(char)
        words[-1] = "".join(current)
        escaped = False
    return words


def loadTranscript(name: str) -> List[Tuple[str, bytes]]:
    """Read ``tests/fixtures/<name>.txt`` as (direction, bytes) rows.

    Direction is ``">>"`` (sent to Asterisk) or ``"<<"`` (received).
    Comment rows (``##``) are dropped.
    """
    rows: List[Tuple[str, bytes]] = []
    for line in (FIXTURES / (name + ".txt")).read_text().splitlines():
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[1] not in (">>", "<<"):
            continue
        value = ast.literal_eval(parts[2])
        assert isinstance(value, bytes)
        rows.append((parts[1], value))
    return rows


def transcriptExchanges(name: str) -> Tuple[bytes, List[Tuple[bytes, bytes]]]:
    """Return (environment bytes, [(command sent, reply bytes received)])."""
    rows = loadTranscript(name)
    env = b""
    index = 0
    while index < len(rows) and rows[index][0] == "<<":
        env += rows[index][1]
        index += 1
    exchanges: List[Tuple[bytes, bytes]] = []
    while index < len(rows):
        direction, sent = rows[index]
        assert direction == ">>"
        index += 1
        received = b""
        while index < len(rows) and rows[index][0] == "<<":
            received += rows[index][1]
            index += 1
        exchanges.append((sent, received))
    return env, exchanges


def sessionTimers(clock: task.Clock, factory: FastAGIFactory) -> List[IDelayedCall]:
    """The delayed calls on *clock* other than *factory*'s environment timer.

    The factory keeps one timer for the environment blocks while any of its
    sessions is open (``FastAGIFactory.environmentArrived``); for
    connections built at time 0 it is due at the factory's
    ``environmentTimeout``.  What is left is what the sessions armed
    (command timeouts, waits).
    """
    due = factory.environmentTimeout
    return [call for call in clock.getDelayedCalls() if call.getTime() != due]
