"""How res_agi reads a command line: its argument parser, its command
buffer's size per Asterisk release (C's number scanning is
:mod:`starpy.testing._cscan`).

Private to :mod:`starpy.testing.agi`, which re-exports the public names.
"""

from __future__ import annotations

import re

#: Most arguments res_agi's parser keeps (``MAX_ARGS - 1``); the rest of the
#: line is dropped.
MAX_ARGUMENTS = 127

#: res_agi reads a command with ``fgets`` into its ``AGI_BUF_LEN``-byte
#: buffer, so at most ``AGI_BUF_LEN - 1`` bytes (newline included) make one
#: command: a longer line is cut there and the rest is read as the next
#: command.  The buffer grew from 2048 to 8192 bytes in 20.16.0, 21.11.0,
#: 22.6.0 (so certified 22.8) and 23.0.0.
_SMALL_AGI_BUFFER = 2048
_LARGE_AGI_BUFFER = 8192
_LARGE_BUFFER_FROM = {20: 16, 21: 11, 22: 6}
_RELEASE = re.compile(r"(?:certified[-/])?([0-9]+)\.([0-9]+)")


def agiBufferForVersion(version: str) -> int:
    """The size of res_agi's command buffer in the Asterisk release *version*
    (as ``agi_version`` spells it); 2048 for anything unrecognised."""
    match = _RELEASE.match(version.strip())
    if match is None:
        return _SMALL_AGI_BUFFER
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= 23 or minor >= _LARGE_BUFFER_FROM.get(major, 1000):
        return _LARGE_AGI_BUFFER
    return _SMALL_AGI_BUFFER
# ---------------------------------------------------------------------------
# Asterisk's argument parser


def parseAGIArguments(line: str, maxArguments: int = MAX_ARGUMENTS) -> list[str]:
    """Split an AGI command line into words exactly as res_agi's
    ``parse_args`` does.

      - spaces and tabs separate words, outside double quotes;
      - double quotes group words and may start or stop in the middle of a
        word (``a"b c"d`` is the one word ``ab cd``); ``""`` is an empty word;
      - a backslash makes the next character literal (``\\"``, ``\\\\``,
        a backslash and a space); a trailing backslash vanishes;
      - single quotes are ordinary characters;
      - after ``maxArguments`` words the rest of the line is dropped (Asterisk
        logs "Too many arguments, truncating").  Asterisk does not check the
        limit when a quote opens a word; the fake drops that word too.

    :param line: one command line, without its newline.
    :return: the words; ``[]`` for an empty line.
    """
    args: list[list[str]] = []
    quoted = False
    escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace and len(args) < maxArguments:
                args.append([])
                whitespace = False
            continue
        if char in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            if len(args) >= maxArguments:
                continue
            args.append([])
            whitespace = False
        args[-1].append(char)
        escaped = False
    return ["".join(arg) for arg in args]
