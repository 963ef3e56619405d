"""A model of how Asterisk 22 reads what an AMI client sends (``main/manager.c``).

Written from the rules in ``shared/asterisk/WIRE.md`` ("How Asterisk 22 reads
what a client sends"), to check StarPy's bytes against Asterisk's reader
rather than against StarPy's own parser:

* ``get_input``: bytes are read into ``inbuf[1025]``, 1024 usable; a read
  takes at most the room left.  A line ends at CRLF (or a bare LF) found in
  the buffer; its text is a C string (it ends at the first NUL).  When the
  buffer is full and holds no line end, the buffer is discarded except its
  last byte and the message is marked "line too long".
* ``do_message``: header lines accumulate until an empty line; at most 128
  (``AST_MAX_MANHEADERS``) are kept, more mark the message "too many lines".
  At the empty line the message is either processed or answered with an
  error.
* ``astman_get_header``: a header is found by the name before the first
  ``:``; its value is what follows, leading bytes below 33 (spaces and
  control characters) skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple, Union

INBUF_SIZE = 1025
USABLE = INBUF_SIZE - 1
MAX_HEADERS = 128

LINE_TOO_LONG = "Failed to parse message: line too long"
TOO_MANY_LINES = "Too many lines in message or allocation failure"


@dataclass
class ReadAction:
    """One action as Asterisk reads it: its header lines, as C strings."""

    lines: List[bytes]

    def headers(self) -> List[Tuple[str, Optional[str]]]:
        """``(name, value)`` per line as ``astman_get_header`` sees it
        (``value`` is ``None`` for a line without a colon)."""
        pairs: List[Tuple[str, Optional[str]]] = []
        for line in self.lines:
            name, colon, rest = line.partition(b":")
            value: Optional[str] = None
            if colon:
                skip = 0
                while skip < len(rest) and rest[skip] < 33:
                    skip += 1
                value = rest[skip:].decode("utf-8", "surrogateescape")
            pairs.append((name.decode("utf-8", "surrogateescape"), value))
        return pairs


@dataclass
class ReadError:
    """An action Asterisk refused while reading it, with its error message."""

    message: str


Outcome = Union[ReadAction, ReadError]


@dataclass
class ManagerReader:
    """Feed bytes (optionally with the size of each ``read()``); collect outcomes."""

    inbuf: bytearray = field(default_factory=bytearray)
    lines: List[bytes] = field(default_factory=list)
    lineTooLong: bool = False
    headerLoss: bool = False
    outcomes: List[Outcome] = field(default_factory=list)

    def feed(self, data: bytes, readSizes: Iterable[int] = ()) -> List[Outcome]:
        sizes = iter(readSizes)
        position = 0
        while True:
            line = self._getLine()
            if line is not None:
                self._lineReceived(line)
                continue
            if position >= len(data):
                return self.outcomes
            room = USABLE - len(self.inbuf)
            size = max(1, min(room, next(sizes, room)))
            self.inbuf += data[position:position + size]
            position += size

    def _getLine(self) -> Optional[bytes]:
        buffer = self.inbuf
        for x in range(len(buffer)):
            if buffer[x] == 13 and x + 1 < len(buffer) and buffer[x + 1] == 10:
                used = 2
            elif buffer[x] == 10:
                used = 1
            else:
                continue
            line = bytes(buffer[:x]).split(b"\0", 1)[0]
            del buffer[:x + used]
            return line
        if len(buffer) >= USABLE:
            # No line end in a full buffer: discarded but for its last byte.
            del buffer[:-1]
            self.lineTooLong = True
        return None

    def _lineReceived(self, line: bytes) -> None:
        if line:
            if len(self.lines) < MAX_HEADERS:
                self.lines.append(line)
            else:
                self.headerLoss = True
            return
        if self.headerLoss:
            self.outcomes.append(ReadError(TOO_MANY_LINES))
        elif self.lineTooLong:
            self.outcomes.append(ReadError(LINE_TOO_LONG))
            self.lineTooLong = False
        else:
            self.outcomes.append(ReadAction(self.lines))
        self.lines = []
        self.headerLoss = False
