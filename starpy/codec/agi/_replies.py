"""Reply lines: ``200 result=...``, interim ``100`` lines, ``520`` usage blocks, ``HANGUP``.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Dict, List, Optional, Tuple, Union

from starpy.codec.agi._events import (
    DEFAULT_MAX_USAGE_LINES,
    HANGUP_SIGNAL,
    AGIHangupSignal,
    AGIInterimReply,
    AGIReply,
)
from starpy.error import AGIProtocolError

_KEY_VALUES = re.compile(r'(?:\s+[A-Za-z_][A-Za-z0-9_-]*=(?:"[^"]*"|\S*))*\s*\Z')
_KEY_VALUE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)=("[^"]*"|\S*)')


def _parseKeyValues(text: str) -> Dict[str, str]:
    pairs: Dict[str, str] = {}
    for key, value in _KEY_VALUE.findall(text):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        pairs[key] = value
    return pairs


def _splitData(rest: str) -> Tuple[Optional[str], str]:
    """Split ``(data) tail`` into data and tail.

    The data ends at the last ``)`` after which only ``key=value`` pairs
    (or nothing) follow, so data may itself hold spaces and parentheses.
    """
    end = len(rest)
    while True:
        close = rest.rfind(")", 1, end)
        if close < 0:
            return None, rest
        tail = rest[close + 1 :]
        if not tail or (tail[0].isspace() and _KEY_VALUES.match(tail)):
            return rest[1:close], tail
        end = close


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def _parseResult200(line: str) -> Optional[AGIReply]:
    """Parse the usual final replies, *line* starting with ``200 result=``:
    a bare result, a result and ``(data)`` ending the line, or a result and
    one plain ``key=value``; ``None`` for any other form
    (:func:`parseReplyLine` reads it).  Each gives what
    :func:`parseReplyLine` gives.

    (The W3 replies: 1,000 reference sessions went from 1,116 to 1,056 M
    instructions in ``bench/w3_driver.py``, bench/RESULTS.md.)
    """
    space = line.find(" ", 11)
    if space < 0:
        return AGIReply(200, line[11:], None, {}, "", "", line)
    rest = line[space + 1 :]
    first = rest[:1]
    if first == "(":
        # The data ends at the last ")": here the end of the line.
        if rest[-1:] == ")":
            return AGIReply(200, line[11:space], rest[1:-1], {}, "", "", line)
    elif first != " " and '"' not in rest and " " not in rest and rest.isprintable():
        # No whitespace at all (every whitespace but the space is not
        # printable), no quotes: one key=value or nothing of the kind.
        key, equals, value = rest.partition("=")
        if equals and (key == "endpos" or _KEY.match(key) is not None):
            return AGIReply(200, line[11:space], None, {key: value}, "", "", line)
    return None


# Readers of the usual final reply lines (``200 result=...``, no CR or LF)
# straight to the value a command gives, with no AGIReply: the AGI session's
# fast path (844 to 812 M instructions over 1,000 reference W3 sessions in
# bench/w3_driver.py, bench/RESULTS.md).  Each returns None for a line of
# another form, which then goes through parseUsualReply.  *failOnMinusOne*:
# a result of -1 is the command's failure, left to the general path too.
# (No str.find() here: its arguments are parsed the slow way, about 600
# instructions a call; partition and "in" are not: 710 to 697 M.)


def usualResultInt(line: str, failOnMinusOne: bool) -> Optional[int]:
    """The result of *line* as an int (``200 result=49`` gives 49)."""
    text = line[11:]
    if " " in text:
        text = text.partition(" ")[0]
    if failOnMinusOne and text == "-1":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def usualData(line: str, failOnMinusOne: bool) -> Optional[str]:
    """The data of ``200 result=1 (data)``."""
    # The data ends at the last ")", here the line's end.
    if line[11:14] == "1 (" and line[-1:] == ")":
        return line[14:-1]
    return None


def usualCodeAndEndpos(line: str, failOnMinusOne: bool) -> Optional[Tuple[int, int]]:
    """``(result, endpos)`` of ``200 result=N endpos=M``."""
    text, space, rest = line[11:].partition(" ")
    if not space or rest[:7] != "endpos=":
        return None
    endpos = rest[7:]
    if (failOnMinusOne and text == "-1") or not (endpos.isascii() and endpos.isdigit()):
        return None
    try:
        return int(text), int(endpos)
    except ValueError:
        return None


def usualExecText(line: str, failOnMinusOne: bool) -> Optional[str]:
    """EXEC's reply text after ``200 result=`` (upstream's text of the
    reply); ``None`` for -2 (no such application), which fails the command."""
    text = line[11:]
    if (text.partition(" ")[0] if " " in text else text) == "-2":
        return None
    return text


def parseUsualReply(line: str) -> AGIReply:
    """Parse a final reply *line* that starts with ``200 result=`` (no CR,
    no newline), as :func:`parseReplyLine` does: the usual forms read
    without the general parser."""
    reply = _parseResult200(line)
    return reply if reply is not None else parseReplyLine(line)


def parseReplyLine(line: str) -> AGIReply:
    """Parse one single-line reply (``200 ...``, ``510 ...``, ``511 ...``).

    :raises AGIProtocolError: the line does not start with a 3-digit status.
    """
    if line.endswith("\r"):
        line = line[:-1]
    status = line[:3]
    if len(line) < 3 or not status.isdigit() or (len(line) > 3 and line[3] not in " -"):
        raise AGIProtocolError("not an AGI reply line: %r" % (line[:100],))
    code = int(status)
    rest = line[4:]
    if code != 200 and code != 100:
        return AGIReply(code=code, text=rest, raw=line)
    if not rest.startswith("result="):
        return AGIReply(code=code, text=rest, raw=line)
    space = rest.find(" ", 7)
    if space < 0:
        return AGIReply(code=code, result=rest[7:], raw=line)
    result = rest[7:space]
    rest = rest[space + 1 :]
    data: Optional[str] = None
    if rest.startswith("("):
        data, rest = _splitData(rest)
    extra: Dict[str, str] = {}
    text = ""
    stripped = rest.strip()
    if stripped:
        if _KEY_VALUES.match(" " + stripped):
            extra = _parseKeyValues(stripped)
        else:
            text = stripped
    return AGIReply(code=code, result=result, data=data, extra=extra, text=text, raw=line)


class AGIReplyReader:
    """Turn reply lines into events, one line at a time.

    ``200``/``510``/``511``/single-line ``520`` give an :class:`AGIReply`;
    a ``520-`` line opens a usage block that ends at the line starting with
    ``520 `` and gives one :class:`AGIReply` with :attr:`AGIReply.usage`;
    ``100`` lines give :class:`AGIInterimReply` (and are remembered in the
    next reply's ``interim``); ``HANGUP`` gives :data:`HANGUP_SIGNAL`.

    :param maxUsageLines: the most lines a 520 block may have.
    """

    def __init__(self, maxUsageLines: int = DEFAULT_MAX_USAGE_LINES) -> None:
        self.maxUsageLines = maxUsageLines
        self._usage: Optional[List[str]] = None
        self._interim: List[str] = []

    @property
    def inUsageBlock(self) -> bool:
        """Whether a ``520-`` block has started and not yet ended."""
        return self._usage is not None

    @property
    def pending(self) -> bool:
        """Whether a ``520-`` block or ``100`` interim lines wait for the
        reply that ends them."""
        return self._usage is not None or bool(self._interim)

    def feedLine(
        self, line: str
    ) -> Union[AGIReply, AGIInterimReply, AGIHangupSignal, None]:
        """Take one line (without its newline).

        :return: an event, or ``None`` while inside a 520 usage block.
        :raises AGIProtocolError: the line is not AGI, or a usage block is
            too long.
        """
        if line[-1:] == "\r":
            line = line[:-1]
        usage = self._usage
        if usage is None and line[:11] == "200 result=" and not self._interim:
            reply = _parseResult200(line)
            return reply if reply is not None else parseReplyLine(line)
        if usage is not None:
            if line.startswith("520 "):
                self._usage = None
                first = usage[0]
                interim = tuple(self._interim)
                self._interim = []
                return AGIReply(
                    code=520,
                    text=first[4:],
                    usage="\n".join(usage[1:]),
                    raw="\n".join(usage + [line]),
                    interim=interim,
                )
            if len(usage) > self.maxUsageLines:
                raise AGIProtocolError(
                    "520 usage block longer than %d lines" % (self.maxUsageLines,)
                )
            usage.append(line)
            return None
        if line.startswith("200 "):
            reply = parseReplyLine(line)
        elif line == "HANGUP":
            return HANGUP_SIGNAL
        elif line.startswith("100"):
            self._interim.append(line)
            return AGIInterimReply(line)
        elif line.startswith("520-"):
            self._usage = [line]
            return None
        else:
            reply = parseReplyLine(line)
            if reply.code == 520:
                reply = AGIReply(code=520, text=reply.text, raw=line)
        if self._interim:
            interim = tuple(self._interim)
            self._interim = []
            reply = replace(reply, interim=interim)
        return reply


def parseReplyText(text: str) -> AGIReply:
    """Parse the text of one whole reply (AsyncAGI's decoded ``Result``).

    Interim ``100`` lines are kept in :attr:`AGIReply.interim`; a 520 block
    may span several lines.

    :raises AGIProtocolError: the text holds no complete reply.
    """
    reader = AGIReplyReader()
    for line in text.split("\n"):
        if not line:
            continue
        event = reader.feedLine(line)
        if isinstance(event, AGIReply):
            return event
    raise AGIProtocolError("no complete AGI reply in %r" % (text[:200],))
