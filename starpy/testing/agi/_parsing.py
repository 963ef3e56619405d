"""How res_agi reads a command line: its argument parser, its command
buffer's size per Asterisk release, and C's number scanning.

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
# Asterisk's argument parser and C number scanning


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


_C_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_C_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)


def scanInt(text: str) -> int | None:
    """``sscanf(text, "%d")``: the leading integer, or None."""
    match = _C_INT.match(text)
    if match is None:
        return None
    return max(-(2**31), min(2**31 - 1, int(match.group(1))))


def atoi(text: str) -> int:
    """``atoi(text)``: the leading integer, or 0."""
    value = scanInt(text)
    return 0 if value is None else value


def scanFloat(text: str) -> float | None:
    """``sscanf(text, "%lf")``: the leading number, or None."""
    match = _C_FLOAT.match(text)
    return None if match is None else float(match.group(1))


def isTrue(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"yes", "true", "y", "t", "1", "on"}


def isFalse(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"no", "false", "n", "f", "0", "off"}

