"""A model of how Asterisk's res_agi reads the commands a client writes.

Written for the tests from the rules of ``res/res_agi.c`` (Asterisk 22,
summarised in WIRE.md, "How Asterisk 22 reads what a client sends"), not
from StarPy's code, so that a test can read StarPy's bytes back the way
Asterisk would:

* **Reading a line** (``run_agi``): each command is read with
  ``fgets(buf, AGI_BUF_LEN, ...)``, repeated for FastAGI until a newline
  arrives or the buffer is full.  ``fgets`` stores at most
  ``AGI_BUF_LEN - 1`` bytes, so a line whose bytes, newline included, number
  more than ``AGI_BUF_LEN - 1`` is cut there and the rest (even a lone
  newline) is read as the next command.  ``AGI_BUF_LEN`` was 2048 and is
  8192 since 20.16.0, 21.11.0, 22.6.0 and 23.0.0.  The trailing newline is
  removed; the line then goes through C string functions, so a NUL byte
  ends it.
* **Splitting arguments** (``parse_args``): outside double quotes, spaces
  and tabs separate words; a double quote toggles quoting and, when it
  opens on whitespace, starts a word (so ``""`` is an empty word); a
  backslash makes the next character literal (``\\"``, ``\\\\``, ``\\ ``);
  quotes and escaping backslashes are removed; every other byte, single
  quotes included, is literal.  Only ``MAX_ARGS - 1`` (127) words are kept.
"""
from __future__ import annotations

from typing import List

#: res_agi's MAX_ARGS - 1: the most words a command line keeps.
MAX_WORDS = 127


def commandLines(data: bytes, bufferSize: int) -> List[bytes]:
    """Cut the bytes a client wrote into the command lines res_agi runs.

    :param bufferSize: ``AGI_BUF_LEN`` (2048 or 8192).
    :return: each command as res_agi hands it on: newline removed, cut at
        the first NUL.  Bytes after the last newline (an incomplete line
        that fits the buffer) are not a command yet and are left out.
    """
    fits = bufferSize - 1
    commands: List[bytes] = []
    rest = data
    while rest:
        newline = rest.find(b"\n", 0, fits)
        if newline >= 0:
            line, rest = rest[:newline], rest[newline + 1:]
        elif len(rest) >= fits:
            line, rest = rest[:fits], rest[fits:]
        else:
            break
        commands.append(line.split(b"\0", 1)[0])
    return commands


def parseArguments(line: bytes) -> List[str]:
    """Split one command line into its words as ``parse_args`` does.

    Works on bytes as the C code does (a multi-byte UTF-8 character never
    holds a space, quote or backslash byte), then decodes each word as UTF-8
    with ``surrogateescape``.
    """
    words: List[bytearray] = []
    quoted = escaped = False
    whitespace = True
    for byte in line:
        char = bytes((byte,))
        if char == b'"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                words.append(bytearray())
                whitespace = False
            continue
        if char in (b" ", b"\t") and not quoted and not escaped:
            whitespace = True
            continue
        if char == b"\\" and not escaped:
            escaped = True
            continue
        escaped = False
        if whitespace:
            if len(words) >= MAX_WORDS:
                continue  # "Too many arguments, truncating"
            words.append(bytearray())
            whitespace = False
        words[-1].append(byte)
    return [bytes(word).decode("utf-8", "surrogateescape") for word in words]


def readCommands(data: bytes, bufferSize: int) -> List[List[str]]:
    """The words of every command res_agi runs from *data*."""
    return [parseArguments(line) for line in commandLines(data, bufferSize)]
