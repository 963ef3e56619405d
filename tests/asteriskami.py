"""How Asterisk 22 reads the bytes of an AMI action: a model for the tests.

Written from Asterisk's source (``main/manager.c``, ``main/app.c``,
``res/res_agi.c``, ``apps/app_mixmonitor.c``, ``include/asterisk/app.h``
and ``strings.h``) and the behaviour confirmed on a running Asterisk 22 in
``WIRE.md`` ("How Asterisk 22 reads what a client sends").  The tests feed
it the exact bytes StarPy writes and compare what comes out with what the
application asked for.

Lines (``get_input``/``do_message``)
    A line ends at ``\\r\\n`` or at a lone ``\\n``, which are removed;
    nothing else is trimmed.  An empty line ends the action.

Ordinary headers (``astman_get_header``)
    The first line whose name matches (case-insensitively) and is followed
    by ``:``; leading bytes below ``!`` of its value are skipped, trailing
    ones kept.

``Variable`` headers (``astman_get_variables`` -> ``man_do_variable_value``)
    Every line that starts with ``Variable:`` (any case) counts.  Leading
    bytes below ``!`` of the value are skipped; the rest goes through the
    application-argument splitter (``AST_STANDARD_APP_ARGS``, at most 64
    pieces); each piece is cut at its first ``=`` into name and value
    (``strsep``: nothing further is stripped from the value: its quotes
    and backslashes were already removed by the splitter); a piece without
    ``=`` or with an empty name is skipped.

The application-argument splitter (``__ast_app_separate_args``)
    Comma separates, except inside double quotes or inside ``(...)`` /
    ``[...]`` (which count and nest, inside quotes too, and stay in the
    text); double quotes are removed; a backslash is removed and keeps the
    next byte literally (not counted, not a separator); a ``)`` or ``]``
    with nothing open is kept and ignored; spaces are kept at both ends of
    every piece.  With N pieces allowed, the (N)th is the raw rest of the
    text (quotes and backslashes left in).  A text ending in a comma, or
    whose last piece became empty only by removing its quotes, gives one
    more empty piece.  The exact rules and quirks are in
    :mod:`starpy.testing.appargs`, which implements them (the fake Asterisk
    uses it too; ``test_variables`` pins it against the cases confirmed on
    a real Asterisk).

``Originate`` with ``Application: AGI`` (``agi_exec_full``)
    ``Data`` (an ordinary header) is split by the same splitter into at most
    128 pieces (``MAX_ARGS``): the script (``agi:async``), then the
    arguments the AGI session sees as ``agi_arg_1``...

``MixMonitor`` (``manager_mixmonitor`` -> ``mixmonitor_exec``)
    ``File``, ``Options`` and ``Command`` are joined as ``%s,%s,%s`` and
    split into at most 3 pieces: file, options, and the raw rest as the
    post-processing command.

``Status`` (``action_status``)
    ``Variables`` is split into at most 100 pieces.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from starpy.testing.appargs import (
    AGI_ARGUMENTS,
    separateAppArguments,
    variableValues,
)

__all__ = [
    "readActions",
    "header",
    "variables",
    "agiArguments",
    "mixMonitorArguments",
    "statusVariables",
]

_LINE_END = re.compile(b"\r\n|\n")


def readActions(data: bytes) -> List[List[bytes]]:
    """The actions in *data*, each as its header lines (raw bytes)."""
    actions: List[List[bytes]] = []
    current: List[bytes] = []
    lines = _LINE_END.split(data)
    for line in lines[:-1]:  # the last piece has no line end yet
        if line:
            current.append(line)
        elif current:
            actions.append(current)
            current = []
    return actions


def _skipBlanks(value: bytes) -> bytes:
    start = 0
    while start < len(value) and 0 < value[start] < 33:
        start += 1
    return value[start:]


def header(lines: List[bytes], name: bytes) -> Optional[bytes]:
    """The value of header *name* as ``astman_get_header`` finds it."""
    for line in lines:
        if line[:len(name)].lower() == name.lower() and line[len(name):len(name) + 1] == b":":
            return _skipBlanks(line[len(name) + 1:])
    return None


def variables(lines: List[bytes]) -> List[Tuple[bytes, bytes]]:
    """The ``(name, value)`` pairs of every ``Variable`` header, in order."""
    pairs: List[Tuple[bytes, bytes]] = []
    for line in lines:
        if line[:9].lower() == b"variable:":
            pairs.extend(variableValues(line[9:]))
    return pairs


def agiArguments(lines: List[bytes]) -> List[bytes]:
    """The script and arguments ``AGI()`` makes of the ``Data`` header."""
    return separateAppArguments(header(lines, b"Data") or b"", AGI_ARGUMENTS)


def mixMonitorArguments(lines: List[bytes]) -> List[bytes]:
    """File, options and command as ``mixmonitor_exec`` gets them."""
    joined = b",".join(header(lines, name) or b"" for name in (b"File", b"Options", b"Command"))
    return separateAppArguments(joined, 3)


def statusVariables(lines: List[bytes]) -> List[bytes]:
    """The variable names ``Status`` reads from its ``Variables`` header."""
    return separateAppArguments(header(lines, b"Variables") or b"", 100)
