"""Writing commands: argument quoting, command lines and the buffer of the
Asterisk that reads them.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Optional

from starpy.codec.agi._events import ENCODING, ENCODING_ERRORS, Argument
from starpy.error import LocalProtocolError

_NEEDS_QUOTES = re.compile(r'[ \t"\\]')
_FORBIDDEN = re.compile(r"[\r\n\x00]")
_NEEDS_QUOTES_OR_FORBIDDEN = re.compile(r'[ \t"\\\r\n\x00]')

#: The size of res_agi's command buffer (``AGI_BUF_LEN``) in the releases
#: before the change to 8 KiB, and after it.
AGI_BUFFER_SMALL = 2048
AGI_BUFFER_LARGE = 8192

#: The most words res_agi's ``parse_args`` keeps (``MAX_ARGS - 1``), the
#: command's own words included; it drops the rest of the line.
MAX_WORDS = 127

#: The first release of each branch that reads commands into 8192 bytes
#: (res_agi "Increase AGI command buffer size from 2K to 8K", July 2025:
#: 20.16.0, 21.11.0, 22.6.0, certified 22.8 and 23.0.0 onwards).  Every
#: earlier release since 1.4, including certified 20.7, uses 2048 bytes.
_LARGE_BUFFER_SINCE = {20: 16, 21: 11, 22: 6}
_FIRST_LARGE_MAJOR = 23
_VERSION = re.compile(r"\s*(?:certified[/-])?(\d+)\.(\d+)")


@lru_cache(maxsize=64)
def agiBufferSize(version: Optional[str]) -> int:
    """The size of the buffer the Asterisk of *version* reads one AGI command into.

    :param version: ``agi_version`` from the environment (``"22.10.1"``,
        ``"certified-20.7-cert3"``, ``"23.0.0-rc1"``).
    :return: :data:`AGI_BUFFER_LARGE` for 20.16+, 21.11+, 22.6+ (and
        certified 22.8) and 23 onwards; :data:`AGI_BUFFER_SMALL` for every
        other release, and when the version is missing or unreadable (a
        development build's ``GIT-master-...``): the smaller is the safe
        guess.
    """
    if not version:
        return AGI_BUFFER_SMALL
    match = _VERSION.match(version)
    if match is None:
        return AGI_BUFFER_SMALL
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= _FIRST_LARGE_MAJOR:
        return AGI_BUFFER_LARGE
    since = _LARGE_BUFFER_SINCE.get(major)
    if since is not None and minor >= since:
        return AGI_BUFFER_LARGE
    return AGI_BUFFER_SMALL


def maxCommandBytes(version: Optional[str]) -> int:
    """The longest command line, in bytes *with* its newline, that the
    Asterisk of *version* reads as one command.

    The rule: res_agi reads a command with ``fgets(buf, AGI_BUF_LEN, ...)``
    (FastAGI repeats it until a newline arrives or the buffer is full), and
    ``fgets`` stores at most ``AGI_BUF_LEN - 1`` bytes.  So a line whose
    UTF-8 bytes, newline included, number at most ``AGI_BUF_LEN - 1``
    (8191 or 2047) is read whole; a longer one is cut after
    ``AGI_BUF_LEN - 1`` bytes and the rest, even if it is only the newline,
    is read and run as the *next* command.
    """
    return agiBufferSize(version) - 1


def _checkWords(command: str, count: int) -> None:
    words = len(command.split()) + count
    if words > MAX_WORDS:
        raise LocalProtocolError(
            "%s with %d arguments has %d words; Asterisk keeps only the first %d"
            % (command, count, words, MAX_WORDS)
        )


def quoteArgument(value: Argument, name: str = "argument") -> str:
    """Quote one command argument so that Asterisk's ``parse_args`` reads back *value*.

    A value with no space, tab, double quote or backslash is sent as is; an
    empty value becomes ``""``; any other value is put in double quotes with
    ``"`` and ``\\`` escaped by a backslash.  Single quotes are literal to
    Asterisk and are left alone.  Ints and finite floats are written in
    decimal.

    :param name: how to name the argument in an error message.
    :raises ValueError: the value holds a CR, LF or NUL, which cannot be
        sent on a line, or is a float that is not finite (NaN, infinity).
    :raises TypeError: the value is not text or a number.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be text or a number, not %r" % (name, value))
    elif isinstance(value, float) and not math.isfinite(value):
        raise LocalProtocolError("%s must be a finite number, not %r" % (name, value))
    else:
        text = str(value)
    if _FORBIDDEN.search(text):
        raise LocalProtocolError(
            "%s holds a line break or NUL, which AGI cannot carry: %r" % (name, text)
        )
    if not text:
        return '""'
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def formatCommand(command: str, *arguments: Argument) -> str:
    """Build one command line (without newline): *command* then its quoted arguments.

    :param command: the command words as Asterisk spells them
        (``"STREAM FILE"``); sent as is.
    :raises ValueError: the command or an argument holds CR, LF or NUL, a
        number is not finite, or the line would have more than
        :data:`MAX_WORDS` words; the message names the argument
        (``argument 2 of STREAM FILE``).
    """
    if not command.isprintable() or not command:
        raise LocalProtocolError("invalid AGI command: %r" % (command,))
    if not arguments:
        return command
    if len(arguments) + (len(command) + 1) // 2 > MAX_WORDS:
        _checkWords(command, len(arguments))
    parts = [command]
    for argument in arguments:
        if isinstance(argument, str) and _NEEDS_QUOTES_OR_FORBIDDEN.search(argument) is None:
            parts.append(argument or '""')
        elif argument.__class__ is int:
            parts.append(str(argument))
        else:
            parts.append(quoteArgument(argument, "argument %d of %s" % (len(parts), command)))
    return " ".join(parts)


def encodeCommandLine(line: str, maxBytes: Optional[int] = None) -> bytes:
    """The bytes of one command line on the wire: UTF-8, ending in ``\\n``.

    :param line: the command line, without newline.
    :param maxBytes: the most bytes, newline included, the line may have
        (:func:`maxCommandBytes`); ``None``: no limit.
    :raises ValueError: the line holds CR, LF or NUL, cannot be encoded
        (a lone surrogate), or is longer than *maxBytes*: Asterisk would
        run its tail as another command.
    """
    if _FORBIDDEN.search(line):
        raise LocalProtocolError("AGI command line holds a line break or NUL: %r" % (line[:200],))
    try:
        data = line.encode(ENCODING, ENCODING_ERRORS) + b"\n"
    except UnicodeEncodeError as e:
        raise LocalProtocolError("AGI command line cannot be encoded as UTF-8: %s" % (e,)) from None
    if maxBytes is not None and len(data) > maxBytes:
        raise LocalProtocolError(
            "AGI command line too long: %d bytes with its newline, and Asterisk reads at "
            "most %d as one command (the rest would run as another command): %r..."
            % (len(data), maxBytes, line[:60])
        )
    return data


def encodeCommand(command: str, *arguments: Argument, maxBytes: Optional[int] = None) -> bytes:
    """Like :func:`formatCommand`, as bytes ending in ``\\n``
    (checked by :func:`encodeCommandLine` against *maxBytes*)."""
    return encodeCommandLine(formatCommand(command, *arguments), maxBytes)


#: The command names of Asterisk's res_agi (``agi_command`` table).
AGI_COMMANDS = frozenset([
    "ANSWER", "ASYNCAGI BREAK", "CHANNEL STATUS", "CONTROL STREAM FILE", "DATABASE DEL",
    "DATABASE DELTREE", "DATABASE GET", "DATABASE PUT", "EXEC", "GET DATA",
    "GET FULL VARIABLE", "GET OPTION", "GET VARIABLE", "GOSUB", "HANGUP", "NOOP",
    "RECEIVE CHAR", "RECEIVE TEXT", "RECORD FILE", "SAY ALPHA", "SAY DATE", "SAY DATETIME",
    "SAY DIGITS", "SAY NUMBER", "SAY PHONETIC", "SAY TIME", "SEND IMAGE", "SEND TEXT",
    "SET AUTOHANGUP", "SET CALLERID", "SET CONTEXT", "SET EXTENSION", "SET MUSIC",
    "SET PRIORITY", "SET VARIABLE", "SPEECH ACTIVATE GRAMMAR", "SPEECH CREATE",
    "SPEECH DEACTIVATE GRAMMAR", "SPEECH DESTROY", "SPEECH LOAD GRAMMAR", "SPEECH RECOGNIZE",
    "SPEECH SET", "SPEECH UNLOAD GRAMMAR", "STREAM FILE", "TDD MODE", "VERBOSE",
    "WAIT FOR DIGIT",
])


def commandName(line: str) -> str:
    """The res_agi command a command *line* runs (``'STREAM FILE'``): the
    longest name of :data:`AGI_COMMANDS` its first words make, as Asterisk
    finds it, or ``'other'``."""
    words = line.split(None, 3)[:3]
    for count in (3, 2, 1):
        candidate = " ".join(words[:count]).upper()
        if candidate in AGI_COMMANDS:
            return candidate
    return "other"
