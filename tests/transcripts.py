"""Read the captured Asterisk transcripts in tests/fixtures.

A ``*.txt`` transcript has one wire line per row: a timestamp, ``>>`` (sent to
Asterisk) or ``<<`` (received from it), and the line as a Python bytes
literal.  ``##`` rows are the capturing tool's comments.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

FIXTURES = Path(__file__).parent / "fixtures"

SENT = ">>"
RECEIVED = "<<"


def lines(name: str) -> List[Tuple[float, str, bytes]]:
    """``(time, direction, line bytes)`` for every wire line of transcript *name*."""
    result = []
    for row in (FIXTURES / (name + ".txt")).read_text().splitlines():
        parts = row.split(None, 2)
        if len(parts) == 3 and parts[1] in (SENT, RECEIVED):
            result.append((float(parts[0]), parts[1], ast.literal_eval(parts[2])))
    return result


def raw(name: str) -> bytes:
    """The exact bytes Asterisk sent in transcript *name*."""
    return (FIXTURES / (name + ".raw")).read_bytes()


def exchanges(name: str) -> List[Tuple[str, bytes]]:
    """The transcript as ``(direction, bytes)`` runs: consecutive lines of one
    direction joined, split after each blank (message-ending) line."""
    runs: List[Tuple[str, bytes]] = []
    current = b""
    direction = None
    for _, way, data in lines(name):
        if direction is not None and way != direction and current:
            runs.append((direction, current))
            current = b""
        direction = way
        current += data
        if data in (b"\r\n", b"\n"):
            runs.append((way, current))
            current = b""
    if current and direction is not None:
        runs.append((direction, current))
    return runs
