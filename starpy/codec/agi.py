"""Sans-IO codec for the AGI wire format (FastAGI, classic AGI and AsyncAGI).

Nothing here knows about Twisted, sockets or logging: bytes or text go in,
values come out, and the reverse.

Reading (Asterisk to us):

* :class:`AGIDecoder` turns a byte stream into events: first one
  :class:`AGIEnvironment` (the ``agi_*`` block ended by an empty line), then
  :class:`AGIReply` (a final reply), :class:`AGIInterimReply` (``100
  result=0 Trying...``) and :class:`AGIHangupSignal` (the unsolicited
  ``HANGUP`` line).  Line length and the size of the environment block are
  bounded; breaking a bound raises :class:`AGIProtocolError <starpy.error.AGIProtocolError>`.
* :class:`AGIEnvironmentParser` and :class:`AGIReplyReader` are the two
  halves of the decoder, usable line by line; :func:`parseEnvironment` and
  :func:`parseReplyText` read whole texts (AsyncAGI's URL-decoded ``Env`` and
  ``Result`` headers).

Writing (us to Asterisk):

* :func:`quoteArgument` quotes one argument the way res_agi's ``parse_args``
  reads it back: double quotes group words, a backslash escapes the next
  character, single quotes are literal, an empty argument is ``""``.
* :func:`formatCommand` builds a command line, :func:`encodeCommand` its bytes.
* :func:`agiBufferSize` and :func:`maxCommandBytes` say how long a command
  line the Asterisk of a given ``agi_version`` reads as one command;
  :func:`encodeCommandLine` refuses a line it would split.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Dict, List, Optional, Tuple, Union

from starpy.error import AGIProtocolError, AGIReplyError, LocalProtocolError

__all__ = [
    "Argument",
    "AGIEnvironment",
    "AGIReply",
    "AGIInterimReply",
    "AGIHangupSignal",
    "HANGUP_SIGNAL",
    "AGIEvent",
    "AGIEnvironmentParser",
    "AGIReplyReader",
    "AGIDecoder",
    "DEFAULT_MAX_LINE_LENGTH",
    "DEFAULT_MAX_ENVIRONMENT_LINES",
    "DEFAULT_MAX_USAGE_LINES",
    "AGI_BUFFER_SMALL",
    "AGI_BUFFER_LARGE",
    "MAX_WORDS",
    "ENCODING",
    "agiBufferSize",
    "maxCommandBytes",
    "encodeCommandLine",
    "parseEnvironment",
    "dialplanArguments",
    "parseReplyLine",
    "parseUsualReply",
    "parseReplyText",
    "quoteArgument",
    "formatCommand",
    "encodeCommand",
]

#: Text encoding of the wire.  ``surrogateescape`` keeps bytes that are not
#: UTF-8 intact in both directions.
ENCODING = "utf-8"
_ERRORS = "surrogateescape"

DEFAULT_MAX_LINE_LENGTH = 16384
DEFAULT_MAX_ENVIRONMENT_LINES = 512
DEFAULT_MAX_USAGE_LINES = 1024

#: What a command argument may be: text, or a number written in decimal.
Argument = Union[str, int, float]


# -- Events -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AGIEnvironment:
    """The environment block Asterisk sends first.

    :ivar variables: ``agi_*`` keys (lower-cased) to their values, in the
        order Asterisk sent them.
    """

    variables: Dict[str, str]


@dataclass(slots=True)
class AGIReply:
    """A complete, final reply to one command (treat it as read-only).

    :ivar code: the status: 200, 510, 511, 520 (or whatever Asterisk sent).
    :ivar result: the text after ``result=`` (``"0"``, ``"-1"``, ``"49"``,
        the digits of GET DATA, possibly ``""``), or ``None`` if absent.
    :ivar data: the text inside the parentheses after the result (may hold
        spaces and parentheses), or ``None`` if there were none.
    :ivar extra: ``key=value`` pairs after the result and data (``endpos``,
        speech ``score0``...); double-quoted values are unquoted.
    :ivar text: free text after the result that is not ``key=value`` pairs
        (``"Gosub complete"``), or the message of a non-200 reply.
    :ivar usage: for a 520 block, the usage lines between the first and the
        last line, joined with ``"\\n"``, markup left as is.
    :ivar raw: the reply as received: its line(s) joined with ``"\\n"``.
    :ivar interim: the ``100`` lines that preceded it, raw.
    """

    code: int
    result: Optional[str] = None
    data: Optional[str] = None
    extra: Dict[str, str] = field(default_factory=dict)
    text: str = ""
    usage: str = ""
    raw: str = ""
    interim: Tuple[str, ...] = ()

    def resultAsInt(self) -> int:
        """Return :attr:`result` as an int.

        :raises ~starpy.error.AGIReplyError: the result is missing or not a
            number (it is also a ``ValueError``).
        """
        result = self.result
        if result is None:
            raise AGIReplyError("reply has no result: %r" % (self.raw,), reply=self.raw)
        try:
            return int(result)
        except ValueError:
            raise AGIReplyError("result is not a number: %r" % (self.raw,),
                                reply=self.raw) from None


@dataclass(frozen=True, slots=True)
class AGIInterimReply:
    """An interim ``100`` line (``100 result=0 Trying...``), not a reply."""

    raw: str


@dataclass(frozen=True, slots=True)
class AGIHangupSignal:
    """The unsolicited ``HANGUP`` line: the channel hung up.

    It answers no command; the reply to the pending command comes later.
    """


#: The one instance of :class:`AGIHangupSignal`.
HANGUP_SIGNAL = AGIHangupSignal()

AGIEvent = Union[AGIEnvironment, AGIReply, AGIInterimReply, AGIHangupSignal]


# -- Environment block --------------------------------------------------------


class AGIEnvironmentParser:
    """Read the ``key: value`` lines of the environment block, one at a time.

    :param maxLines: the most lines the block may have (the empty line
        that ends it not counted).
    """

    def __init__(self, maxLines: int = DEFAULT_MAX_ENVIRONMENT_LINES) -> None:
        self.maxLines = maxLines
        self._variables: Dict[str, str] = {}
        self._count = 0
        self.done = False

    def feedLine(self, line: str) -> Optional[AGIEnvironment]:
        """Take one line (without its newline).

        :return: the complete :class:`AGIEnvironment` once the empty line
            that ends the block arrives, else ``None``.
        :raises AGIProtocolError: a line is not ``key: value``, the block
            is too long, or the block already ended.
        """
        return self.feedLines([line])[0]

    def feedLines(self, lines: List[str], start: int = 0) -> Tuple[Optional[AGIEnvironment], int]:
        """Take ``lines[start:]`` (without newlines) until the block ends.

        :return: ``(environment, next)``: the complete
            :class:`AGIEnvironment` (or ``None`` if the block has not ended
            yet) and the index of the first line not consumed.
        :raises AGIProtocolError: as :meth:`feedLine`.
        """
        if self.done:
            raise AGIProtocolError("environment block already complete")
        variables = self._variables
        count = self._count
        maxLines = self.maxLines
        for index, line in enumerate(lines[start:] if start else lines, start + 1):
            if line[-1:] == "\r":
                line = line[:-1]
            if not line:
                self.done = True
                self._count = count
                return AGIEnvironment(variables), index
            count += 1
            if count > maxLines:
                raise AGIProtocolError("environment block longer than %d lines" % (maxLines,))
            key, sep, value = line.partition(": ")
            if not sep:
                key, sep, value = line.partition(":")
                key = key.strip()
                if not sep or not key:
                    raise AGIProtocolError("not an environment line: %r" % (line[:100],))
            elif not key or key[-1] == " " or key[0] == " ":
                key = key.strip()
                if not key:
                    raise AGIProtocolError("not an environment line: %r" % (line[:100],))
            variables[key.lower()] = value
        self._count = count
        return None, len(lines)


    def _feedPlainText(self, text: str) -> Optional[Tuple[Optional[AGIEnvironment], Optional[str]]]:
        """Take the block's lines in *text* (complete lines joined with
        ``"\\n"``, no CR, the block not ended yet) if each of them is a
        plain ``key: value`` line (the key lower-case letters, digits and
        ``_``, as Asterisk sends them) and they are no more than the block
        may still have: then they are read in one pass of a regular
        expression, with no Python work per line.

        :return: ``(environment, rest)``: the environment once the block
            has ended (else ``None``), and the text of the lines after the
            empty line that ends it (``None`` if there are none); or
            ``None``: nothing was taken, :meth:`feedLines` reads the lines.

        (The environment of each reference W3 session: 1,000 sessions in
        ``bench/w3_driver.py``, a loop over the lines without a count nor a
        CR check per line took 946 to 928 M instructions, this pass 849 to
        844 M, hash seed 0, bench/RESULTS.md; a loop of partition() over
        the lines measured 83 K instructions per block, this pass 72 K.)
        """
        stop = text.find("\n\n")
        if stop >= 0:
            block = text[:stop]
            rest: Optional[str] = text[stop + 2 :]
        elif text[-1:] == "\n":
            block = text[:-1]
            rest = None
        else:
            block = text
            rest = None
            stop = -2  # the block goes on in the next chunk
        if not block:
            return None  # an empty first line: feedLines says what it is
        count = block.count("\n") + 1
        if count > self.maxLines - self._count:
            return None
        pairs = _PLAIN_ENVIRONMENT_LINE.findall(block)
        if len(pairs) != count:
            return None  # a line of another form: feedLines reads them all
        variables = self._variables
        variables.update(pairs)
        self._count += count
        if stop == -2:
            return None, None
        self.done = True
        return AGIEnvironment(variables), rest


#: One ``key: value`` line of the environment as Asterisk writes it (see
#: :meth:`AGIEnvironmentParser._feedPlainText`): for such a key,
#: ``line.partition(": ")`` and ``key.lower()`` give the same.
_PLAIN_ENVIRONMENT_LINE = re.compile(r"^([a-z0-9_]+): (.*)$", re.MULTILINE)


def parseEnvironment(
    text: str, maxLines: int = DEFAULT_MAX_ENVIRONMENT_LINES
) -> Dict[str, str]:
    """Parse a whole environment block (AsyncAGI's decoded ``Env`` header).

    The text may end with the empty line or not.

    :return: lower-cased keys to values.
    :raises AGIProtocolError: as :meth:`AGIEnvironmentParser.feedLine`.
    """
    parser = AGIEnvironmentParser(maxLines)
    for line in text.split("\n"):
        env = parser.feedLine(line)
        if env is not None:
            return env.variables
    return parser._variables


#: The names of the first dialplan arguments, made once.
_ARGUMENT_KEYS = tuple("agi_arg_%d" % (index,) for index in range(1, 17))


def dialplanArguments(variables: Dict[str, str]) -> List[str]:
    """The dialplan's arguments of an environment: ``agi_arg_1``,
    ``agi_arg_2``... up to the first number missing.

    ``AGI(agi://host/script,a,,b)`` gives ``["a", "", "b"]``.
    """
    arguments: List[str] = []
    for key in _ARGUMENT_KEYS:  # names made once: the usual few arguments
        if key not in variables:
            return arguments
        arguments.append(variables[key])
    key = "agi_arg_%d" % (len(arguments) + 1,)
    while key in variables:
        arguments.append(variables[key])
        key = "agi_arg_%d" % (len(arguments) + 1,)
    return arguments


# -- Replies ------------------------------------------------------------------

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


# -- Byte stream decoder --------------------------------------------------------


class AGIDecoder:
    """Decode Asterisk's side of an AGI byte stream into :data:`AGIEvent` values.

    :param maxLineLength: the longest line accepted, in bytes, newline not
        counted.
    :param maxEnvironmentLines: the most lines of the environment block.
    :param maxUsageLines: the most lines of one 520 usage block.
    :param expectEnvironment: ``False`` to start directly with replies.
    """

    def __init__(
        self,
        maxLineLength: int = DEFAULT_MAX_LINE_LENGTH,
        maxEnvironmentLines: int = DEFAULT_MAX_ENVIRONMENT_LINES,
        maxUsageLines: int = DEFAULT_MAX_USAGE_LINES,
        expectEnvironment: bool = True,
    ) -> None:
        self.maxLineLength = maxLineLength
        self._buffer = b""
        self._environment: Optional[AGIEnvironmentParser] = (
            AGIEnvironmentParser(maxEnvironmentLines) if expectEnvironment else None
        )
        # The reply reader, made when a reply goes the general way (FastAGI
        # reads the usual ones without it: 695 to 693 M instructions over
        # 1,000 W3 sessions in bench/w3_driver.py).
        self._replies: Optional[AGIReplyReader] = None
        self._maxUsageLines = maxUsageLines
        # Whether no line is begun, the environment is read and no 100 line
        # or 520 block is pending: what usualReplyLine needs, kept by feed()
        # and feedLine() (one test instead of five per reply, 724 to 722 M
        # instructions over 1,000 W3 sessions in bench/w3_driver.py).
        self._idle = not expectEnvironment

    def _noteIdle(self) -> None:
        replies = self._replies
        self._idle = (not self._buffer and self._environment is None
                      and (replies is None or (replies._usage is None and not replies._interim)))

    def _reader(self) -> AGIReplyReader:
        replies = self._replies
        if replies is None:
            replies = self._replies = AGIReplyReader(self._maxUsageLines)
        return replies

    def feed(self, data: bytes) -> List[AGIEvent]:
        """Take some bytes; return the events of the lines they complete.

        :raises AGIProtocolError: a bound was broken or a line is not AGI.
            The decoder must not be used after that.
        """
        try:
            return self._read(data)
        finally:
            self._noteIdle()

    def _read(self, data: bytes) -> List[AGIEvent]:
        limit = self.maxLineLength
        if self._buffer:
            data = self._buffer + data
        elif (self._environment is None and data[-1:] == b"\n"
              and data.find(b"\n") == len(data) - 1 and len(data) <= limit + 1):
            # One whole reply line, the usual chunk once the environment is
            # read: no split, no list of lines (measured with callgrind on
            # the reference W3 workload, bench/RESULTS.md).
            event = self._reader().feedLine(data[:-1].decode(ENCODING, _ERRORS))
            return [] if event is None else [event]
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) > limit:
                self._buffer = b""
                raise AGIProtocolError("line longer than %d bytes" % (limit,))
            self._buffer = data
            return []
        if len(data) - end - 1 > limit:
            self._buffer = b""
            raise AGIProtocolError("line longer than %d bytes" % (limit,))
        self._buffer = data[end + 1 :]
        # A newline byte never occurs inside a UTF-8 sequence: complete lines
        # can be decoded together.
        text = data[:end].decode(ENCODING, _ERRORS)
        if end > limit:
            for line in text.split("\n"):
                if len(line) > limit:
                    raise AGIProtocolError("line longer than %d bytes" % (limit,))
        events: List[AGIEvent] = []
        environment = self._environment
        if environment is not None:
            taken = None
            if not environment.done and "\r" not in text:
                taken = environment._feedPlainText(text)
            if taken is not None:
                env, rest = taken
                if env is None:
                    return events
                self._environment = None
                events.append(env)
                if rest is None:
                    return events
                lines = rest.split("\n")
            else:
                lines = text.split("\n")
                env, index = environment.feedLines(lines)
                if env is None:
                    return events
                self._environment = None
                events.append(env)
                if index:
                    lines = lines[index:]
        else:
            lines = text.split("\n")
        readReply = self._reader().feedLine
        for line in lines:
            event = readReply(line)
            if event is not None:
                events.append(event)
        return events

    def feedUsualReply(self, data: bytes) -> Optional[AGIReply]:
        """Take *data* if it is exactly one usual final reply line.

        :return: its :class:`AGIReply` (see :meth:`usualReplyLine`), or
            ``None``: then nothing was taken, and :meth:`feed` reads *data*.
        """
        line = self.usualReplyLine(data)
        return None if line is None else parseUsualReply(line)

    def usualReplyLine(self, data: bytes) -> Optional[str]:
        """Take *data* if it is exactly one final ``200 result=`` line, and
        return that line, decoded, without its newline: the usual chunk
        once the environment is read, with no line begun before it, no
        ``100`` line or ``520`` block pending, no CR.  The line is not
        parsed: :func:`parseUsualReply` gives the reply :meth:`feed` would.
        (1,000 reference W3 sessions in ``bench/w3_driver.py``: 967 to
        946 M instructions with the protocol's path that used the first
        form of this, its checks reordered 891 to 887 M; the line handed
        on unparsed, see bench/RESULTS.md.)

        :return: the line, or ``None``: then nothing was taken, and
            :meth:`feed` reads *data*.
        """
        end = len(data) - 1
        if (not self._idle or data[:11] != b"200 result=" or data[end] != 10
                or end > self.maxLineLength or data[end - 1] == 13):  # CR: feed drops it
            return None
        body = data[:end]
        if 10 in body:  # (not data.find(): its arguments are parsed the slow way)
            return None
        return body.decode("utf-8", "surrogateescape")

    def feedLine(self, line: str) -> Optional[AGIEvent]:
        """Take one decoded line (without newline); return its event if any."""
        try:
            environment = self._environment
            if environment is not None:
                env = environment.feedLine(line)
                if env is not None:
                    self._environment = None
                return env
            return self._reader().feedLine(line)
        finally:
            self._noteIdle()

    def wholeEnvironment(self, data: bytes) -> Optional[AGIEnvironment]:
        """Take *data* if it is exactly a whole environment block in its
        usual form (:meth:`AGIEnvironmentParser._feedPlainText
        <starpy.codec.agi.AGIEnvironmentParser._feedPlainText>`), nothing
        read before it and nothing after: how Asterisk's block arrives.
        (No event list; 695 to 690 M instructions over 1,000 reference W3
        sessions in ``bench/w3_driver.py``, with the protocol's path.)

        :return: the environment, or ``None``: then nothing was taken, and
            :meth:`feed` reads *data*.
        """
        environment = self._environment
        if (environment is None or self._buffer or environment._count
                or data[-2:] != b"\n\n" or len(data) > self.maxLineLength):
            return None
        text = data[:-1].decode(ENCODING, _ERRORS)
        if "\r" in text or "\n\n" in text:  # (a line after the block's end)
            return None
        taken = environment._feedPlainText(text)
        if taken is None:
            return None
        self._environment = None
        self._noteIdle()
        return taken[0]

    @property
    def readingEnvironment(self) -> bool:
        """Whether the environment block is still being read."""
        return self._environment is not None


# -- Writing commands ------------------------------------------------------------

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
        data = line.encode(ENCODING, _ERRORS) + b"\n"
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
