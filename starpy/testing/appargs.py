"""Asterisk's application-argument parser, as a model for tests.

Asterisk splits the arguments of a dialplan application (``Dial(a,b)``,
``AGI(agi:async,x,y)``) and the value of every ``Variable`` header of an
AMI action with one parser (``__ast_app_separate_args`` in ``main/app.c``,
reached through ``AST_STANDARD_APP_ARGS``).  It works on bytes, left to
right, with three counters that are never reset between arguments:

* A ``(`` adds one to the parenthesis depth, a ``)`` takes one off (never
  below zero); ``[`` and ``]`` do the same for the bracket depth.  Both
  count inside double quotes too, and both characters stay in the argument.
* A double quote toggles "quoted" and is removed.
* A backslash is removed and the character after it is kept as it is,
  without any meaning (``\\,`` is a comma inside the argument, ``\\\\`` one
  backslash, ``\\(`` a parenthesis that does not count).  A backslash at the
  very end is removed.
* A comma ends the argument only when the parenthesis depth, the bracket
  depth and "quoted" are all zero.
* Nothing else is special: spaces, tabs, ``=``, ``)`` and ``]`` without an
  opener, and every byte of 0x80 and above are kept; leading and trailing
  blanks are kept.
* The caller gives the number of arguments it takes, N.  After N - 1
  arguments the rest of the text becomes the last argument *without any
  processing* (its quotes and backslashes stay).
* An empty text gives no arguments at all.  A text that ends with the
  delimiter gives one more, empty, argument; so does (a quirk of the
  pointer test Asterisk makes) a last argument that was not empty in the
  text but became empty once its quotes were removed (``a,""`` gives
  ``a``, ``''``, ``''``).

A NUL byte ends the text (C strings).  :func:`separateAppArguments`
reproduces these rules exactly, including the quirks; :func:`variableValues`
adds what ``man_do_variable_value`` in ``main/manager.c`` does with a
``Variable`` header.
"""
from __future__ import annotations

from typing import List, Tuple

__all__ = ["separateAppArguments", "variableValues", "VARIABLE_PIECES", "AGI_ARGUMENTS"]

VARIABLE_PIECES = 64
"""How many ``NAME=value`` pieces Asterisk takes from one ``Variable`` header."""

AGI_ARGUMENTS = 128
"""How many arguments the ``AGI`` application takes (``MAX_ARGS``), script included."""

_COMMA = ord(",")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_OPENERS = {ord("("): 0, ord("["): 1}
_CLOSERS = {ord(")"): 0, ord("]"): 1}


def separateAppArguments(text: bytes, maxArguments: int, delimiter: bytes = b",",
                         removeChars: bool = True) -> List[bytes]:
    """The arguments Asterisk makes of *text*, taking at most *maxArguments*.

    See the module docstring for the rules.  *removeChars* false is the
    ``RAW`` variant: quotes and backslashes stay (a backslash still hides
    the character after it).
    """
    if maxArguments <= 0:
        return []
    delim = delimiter[0]
    end = text.find(b"\0")
    # The C code may step one byte past the terminator (after a trailing
    # backslash): two NULs keep the model inside the buffer.
    buf = bytearray(text if end < 0 else text[:end]) + b"\0\0"
    starts: List[int] = []
    depth = [0, 0]
    quoted = False
    lastDelimiter = -1
    scan = 0
    while buf[scan] and len(starts) < maxArguments - 1:
        starts.append(scan)
        while buf[scan]:
            byte = buf[scan]
            if byte in _OPENERS:
                depth[_OPENERS[byte]] += 1
            elif byte in _CLOSERS:
                if depth[_CLOSERS[byte]]:
                    depth[_CLOSERS[byte]] -= 1
            elif byte == _QUOTE and delim != _QUOTE:
                quoted = not quoted
                if removeChars:
                    del buf[scan]
                    buf.append(0)
                    continue  # the next byte now sits at *scan*
            elif byte == _BACKSLASH:
                if removeChars:
                    del buf[scan]
                    buf.append(0)
                else:
                    scan += 1
                # Either way the byte after the backslash is skipped below.
            elif byte == delim and not depth[0] and not depth[1] and not quoted:
                lastDelimiter = scan
                buf[scan] = 0
                scan += 1
                break
            scan += 1
    if buf[scan] or (scan > 0 and scan - 1 == lastDelimiter):
        starts.append(scan)
    return [bytes(buf[start:buf.index(0, start)]) for start in starts]


def variableValues(headerValue: bytes) -> List[Tuple[bytes, bytes]]:
    """The ``(name, value)`` pairs Asterisk takes from one ``Variable`` header.

    *headerValue* is everything after ``Variable:``.  Leading bytes below
    ``!`` (spaces, tabs, control characters) are skipped; the rest is split
    into at most :data:`VARIABLE_PIECES` pieces by
    :func:`separateAppArguments`; each piece is cut at its first ``=``
    (nothing more is removed: the value's quotes and backslashes were
    already handled by the splitter); a piece without ``=`` or with an
    empty name is ignored.  Pairs come in the order of the header (Asterisk
    itself builds the list backwards).
    """
    start = 0
    while start < len(headerValue) and headerValue[start] < 33 and headerValue[start] != 0:
        start += 1
    pairs = []
    for piece in separateAppArguments(headerValue[start:], VARIABLE_PIECES):
        name, equals, value = piece.partition(b"=")
        if equals and name:
            pairs.append((name, value))
    return pairs
