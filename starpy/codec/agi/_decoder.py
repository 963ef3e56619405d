"""The byte-stream decoder: environment first, then replies.
"""
from __future__ import annotations

from typing import List, Optional

from starpy.codec.agi._environment import AGIEnvironmentParser
from starpy.codec.agi._events import (
    DEFAULT_MAX_ENVIRONMENT_LINES,
    DEFAULT_MAX_LINE_LENGTH,
    DEFAULT_MAX_USAGE_LINES,
    ENCODING,
    ENCODING_ERRORS,
    AGIEnvironment,
    AGIEvent,
)
from starpy.codec.agi._replies import AGIReplyReader
from starpy.error import AGIProtocolError


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
                      and (replies is None or not replies.pending))

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
            event = self._reader().feedLine(data[:-1].decode(ENCODING, ENCODING_ERRORS))
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
        text = data[:end].decode(ENCODING, ENCODING_ERRORS)
        if end > limit:
            for line in text.split("\n"):
                if len(line) > limit:
                    raise AGIProtocolError("line longer than %d bytes" % (limit,))
        events: List[AGIEvent] = []
        environment = self._environment
        if environment is not None:
            taken = None
            if not environment.done and "\r" not in text:
                taken = environment.feedPlainText(text)
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
        return body.decode(ENCODING, ENCODING_ERRORS)

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
        usual form (:meth:`AGIEnvironmentParser.takeWholeBlock
        <starpy.codec.agi.AGIEnvironmentParser.takeWholeBlock>`), nothing
        read before it and nothing after: how Asterisk's block arrives.
        (No event list; 695 to 690 M instructions over 1,000 reference W3
        sessions in ``bench/w3_driver.py``, with the protocol's path.)

        :return: the environment, or ``None``: then nothing was taken, and
            :meth:`feed` reads *data*.
        """
        environment = self._environment
        if (environment is None or self._buffer or environment.linesRead
                or data[-2:] != b"\n\n" or len(data) > self.maxLineLength):
            return None
        env = environment.takeWholeBlock(data[:-2].decode(ENCODING, ENCODING_ERRORS))
        if env is None:
            return None
        self._environment = None
        self._noteIdle()
        return env

    @property
    def readingEnvironment(self) -> bool:
        """Whether the environment block is still being read."""
        return self._environment is not None
