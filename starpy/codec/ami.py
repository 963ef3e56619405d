"""The AMI wire format, sans-IO: framing, messages and their encoding.

Asterisk's Manager Interface sends one banner line
(``Asterisk Call Manager/11.0.0\\r\\n``, with no blank line after it) and then
messages: ``Key: Value\\r\\n`` lines closed by an empty ``\\r\\n``.  Clients
send actions in the same form.

:class:`AMIParser` turns received bytes into :class:`Message` objects;
:func:`formatAction` turns an action into bytes.  Nothing here knows about
Twisted, sockets or logging.

Bounds: :class:`AMIParser` costs time linear in the bytes received, however
they are split, and holds at most one message (``maxMessageSize``) of
unparsed bytes.  :func:`formatAction` refuses, with
:class:`LocalProtocolError <starpy.error.LocalProtocolError>` (a ``ValueError``)
and before anything is encoded, an action that Asterisk 22 would not read
back exactly (see :data:`MAX_LINE_BYTES` and :data:`MAX_ACTION_HEADERS`).
What the peer sends wrong raises :class:`AMICodecError`, a
:class:`RemoteProtocolError <starpy.error.RemoteProtocolError>`.

Decoding policy: bytes are decoded as UTF-8 with the ``surrogateescape``
error handler, so invalid bytes never raise and a value read can be sent back
byte for byte (:func:`formatAction` encodes with the same handler).  Such a
value holds lone surrogates (``'\\udcff'`` for the byte ``0xff``); use
``value.encode('utf-8', 'surrogateescape')`` to get the original bytes.
"""
from __future__ import annotations

import re
from typing import (
    Any,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from starpy.error import AMICodecError, LocalProtocolError  # AMICodecError: exported here too

__all__ = [
    "AMICodecError",
    "AMIParser",
    "bannerVersion",
    "Message",
    "HeaderInput",
    "formatAction",
    "formatMessage",
    "SECRET_HEADERS",
    "maskSecret",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_LINE_BYTES",
    "MAX_ACTION_HEADERS",
    "checkHeaderLine",
]

DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
"""Default bound on one message (and so on one line), in bytes: 1 MiB."""

MAX_LINE_BYTES = 1022
"""The longest action line Asterisk 22 reads whole, in bytes, CRLF excluded.

``manager.c`` reads a line into ``inbuf[1025]`` of which 1024 bytes are
usable, and only takes a line once its CRLF is in that buffer: the line and
its CRLF must fit in 1024 bytes, so the line itself holds at most 1022.  A
longer line is discarded and the whole action answered with ``Failed to
parse message: line too long``.  Counted in bytes after UTF-8 encoding,
``Name: value`` together."""

MAX_ACTION_HEADERS = 128
"""The most header lines Asterisk 22 takes in one action (``AST_MAX_MANHEADERS``),
``Action`` and ``ActionID`` included; past that it answers ``Too many lines in
message``."""

SECRET_HEADERS = frozenset(("secret", "key"))
"""Lower-case names of headers whose values never appear in reprs or logs."""

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"
_END_COMMAND = "--END COMMAND--"
_MARKER = b"--END COMMAND--"
# Framing states of AMIParser: a plain message ends at the first blank line;
# an old-style "Response: Follows" one at the first blank line after the
# marker (_SEEK_MARKER: marker not found yet; _AFTER_MARKER: found).
_PLAIN, _SEEK_MARKER, _AFTER_MARKER = range(3)
_SKIPPED = re.compile(rb": [\x00- ]|:[\x00-\x1f]")  # a value's leading blank: Asterisk skips it
_FOLLOWS_HEADERS = frozenset(("response", "privilege", "actionid", "message"))
# Header names seen by AMIParser's fast path, mapped to their lower-case
# form; bounded (emptied when full) so a peer inventing names costs a
# lower() per line, never memory.
_LOWER_NAMES: dict[str, str] = {}
_MAX_LOWER_NAMES = 4096


def _lowerName(name: str) -> Optional[str]:
    """The lower-case key of header *name*, cached; ``None`` when *name* is
    not one the fast path takes (empty, or holding a colon, space or line end)."""
    if not name or ":" in name or " " in name or "\r" in name or "\n" in name:
        return None
    if len(_LOWER_NAMES) >= _MAX_LOWER_NAMES:
        _LOWER_NAMES.clear()
    key = _LOWER_NAMES[name] = name.lower()
    return key

Header = Tuple[str, str]
HeaderValue = Union[str, int, float, Sequence[Union[str, int, float]]]
HeaderInput = Union[Mapping[str, HeaderValue], Iterable[Tuple[str, Union[str, int, float]]], None]
"""Headers for an action: a mapping (a sequence value repeats the header)
or an iterable of ``(name, value)`` pairs (repeat a name to repeat it)."""


class Message(dict):  # type: ignore[type-arg]
    """One AMI message (response or event), a ``dict`` with lower-case keys.

    ``message['channel']`` is the (first) value of the ``Channel`` header.
    Header order and repeated headers are kept: :meth:`getAll` returns
    every value of a header (``Output``, ``ChanVariable``, ``Variable``...),
    :meth:`headers` all ``(Name, value)`` pairs as they came, names in their
    original case.  Lines that are not ``Name: value`` are kept in
    :attr:`body` (the output of an old-style ``Response: Follows`` command).

    ``Secret`` and ``Key`` are masked in ``repr()`` and :meth:`dump`.
    """

    __slots__ = ("_headers", "_repeated", "body")

    # The (Name, value) pairs, or, for a message from AMIParser's fast path,
    # the text they are parsed from when first asked for (_pairs).
    _headers: Union[List[Header], str]
    _repeated: Optional[dict[str, List[str]]]
    body: List[str]

    def __init__(self, headers: Iterable[Header] = (), body: Iterable[str] = ()) -> None:
        dict.__init__(self)
        pairs = list(headers)
        self._headers = pairs
        self._repeated = None
        self.body = list(body)
        for name, value in pairs:
            self._add(name.lower(), value)

    def _add(self, key: str, value: str) -> None:
        if key in self:
            repeated = self._repeated
            if repeated is None:
                repeated = self._repeated = {}
            values = repeated.get(key)
            if values is None:
                repeated[key] = [dict.__getitem__(self, key), value]
            else:
                values.append(value)
        else:
            dict.__setitem__(self, key, value)

    @classmethod
    def _fromParsed(
        cls, headers: List[Header], values: dict[str, str],
        repeated: Optional[dict[str, List[str]]], body: List[str],
    ) -> "Message":
        message = cls.__new__(cls)
        dict.update(message, values)
        message._headers = headers
        message._repeated = repeated
        message.body = body
        return message

    def getAll(self, key: str) -> List[str]:
        """Every value of header *key* (any case), in order; ``[]`` if absent."""
        key = key.lower()
        if self._repeated is not None and key in self._repeated:
            return list(self._repeated[key])
        if key in self:
            return [dict.__getitem__(self, key)]
        return []

    def _pairs(self) -> List[Header]:
        headers = self._headers
        if isinstance(headers, str):
            headers = self._headers = AMIParser._parseLines(headers)._pairs()
        return headers

    def headers(self) -> List[Header]:
        """All ``(Name, value)`` pairs in wire order, names in their original case."""
        return list(self._pairs())

    @property
    def name(self) -> Optional[str]:
        """The event name (``Event`` header) or ``None`` for a response."""
        return self.get("event")

    @property
    def actionID(self) -> Optional[str]:
        """The ``ActionID`` header, or ``None``."""
        return self.get("actionid")

    def dump(self) -> str:
        """A readable multi-line rendering for logs, secrets masked."""
        lines = ["%s: %s" % (name, maskSecret(name, value)) for name, value in self._pairs()]
        lines.extend("| " + line for line in self.body)
        return "\n".join(lines)

    def __repr__(self) -> str:
        shown = ", ".join("%s: %r" % (name, maskSecret(name, value)) for name, value in self._pairs())
        return "<Message %s%s>" % (shown, " +%d body lines" % len(self.body) if self.body else "")

    def __reduce__(self) -> tuple[object, ...]:
        return (Message, (self._pairs(), self.body))


def maskSecret(name: str, value: str) -> str:
    """*value*, or ``'********'`` when header *name* holds a secret
    (:data:`SECRET_HEADERS`, any case): what logs and displays show."""
    return "********" if name.lower() in SECRET_HEADERS else value


def bannerVersion(banner: str) -> Optional[str]:
    """The version in an AMI banner (``'11.0.0'`` from
    ``'Asterisk Call Manager/11.0.0'``), or ``None`` if *banner* is not one."""
    prefix, slash, version = banner.partition("/")
    if not slash or "Call Manager" not in prefix:
        return None
    return version.strip()


class AMIParser:
    """Incremental AMI parser: feed bytes, get complete messages.

    :param maxMessageSize: the largest message (hence line) accepted, in
        bytes; a bigger one raises :class:`AMICodecError` from :meth:`feed`.
    :param expectBanner: whether the stream starts with the
        ``Asterisk Call Manager/<version>`` line (true for a client; a server
        parsing actions passes ``False``).

    After the banner line is read, :attr:`banner` holds it (without CRLF).
    Lines that are not ``Name: value`` are kept in the ``body`` of their
    message rather than dropped: for an old-style ``Response: Follows``
    message that is the command output; for any other message they are
    malformed lines, which the protocol logs.
    """

    # The unparsed bytes are kept in one bytearray grown in place, and each
    # search resumes where the previous one stopped (_scan), so a message
    # arriving in many small pieces costs time linear in its size instead of
    # a copy and a rescan of everything buffered per piece.  While no partial
    # message is buffered, a received chunk is searched as it is, uncopied.
    _bufferType = bytearray

    def __init__(
        self, maxMessageSize: int = DEFAULT_MAX_MESSAGE_SIZE, expectBanner: bool = True
    ) -> None:
        if maxMessageSize < 16:
            raise ValueError("maxMessageSize must be at least 16 bytes, not %r" % (maxMessageSize,))
        self.maxMessageSize = maxMessageSize
        self.banner: Optional[str] = None
        self._needBanner = expectBanner
        self._buffer: bytearray = self._bufferType()
        # Where the next search in _buffer starts: no terminator (nor marker,
        # in state _SEEK_MARKER) begins before it.
        self._scan = 0
        self._state = _PLAIN
        self._failed = False

    def feed(self, data: bytes) -> List[Message]:
        """Add received bytes; return the messages they complete (maybe none).

        :raises AMICodecError: a message or line exceeds the bound, or the
            parser already failed.
        """
        if self._failed:
            raise AMICodecError("parser already failed")
        if not self._state and not self._needBanner and b"Response: Follows" not in data:
            # The usual chunk: no old-style command output in it (nor begun
            # in a buffered partial message, whose first 19 bytes tell), so
            # every message ends at the next blank line:
            # one split instead of a find() per message (whose arguments are
            # parsed the slow way) and no startswith() on each response.
            # Measured with callgrind on bench/w2_driver.py (W2 with 100 in
            # flight and W1, bench/RESULTS.md).
            limit = self.maxMessageSize
            parse = self._parseBlock
            messages: List[Message] = []
            buffer = self._buffer
            if buffer:
                first = buffer[0]
                if (first == 82 or first == 13) and (
                        len(buffer) < 19 or b"Response: Follows" in buffer[:19]):
                    return self._feedBuffered(data)
                kept = len(buffer)
                buffer += data
                end = buffer.find(b"\r\n\r\n", self._scan)
                if end < 0:
                    scan = len(buffer) - 3
                    self._keep(buffer, 0, scan if scan > 0 else 0, _PLAIN)
                    return messages
                if end > limit:
                    self._fail()
                messages.append(parse(buffer[:end]))
                del buffer[:]
                self._scan = 0
                data = data[end + 4 - kept:]
            parts = data.split(b"\r\n\r\n")
            rest = parts.pop()
            for part in parts:
                if part:  # else a stray blank line between messages
                    if len(part) > limit:
                        self._fail()
                    messages.append(parse(part))
            if rest:
                start = len(data) - len(rest)
                scan = len(data) - 3
                self._keep(data, start, scan if scan > start else start, _PLAIN)
            return messages
        return self._feedBuffered(data)

    def _feedBuffered(self, data: bytes) -> List[Message]:
        """:meth:`feed`'s general way: any state, a partial message buffered."""
        buffer: Any
        if self._buffer:
            buffer = self._buffer
            buffer += data
            scan = self._scan
        else:
            buffer = data
            scan = 0
        start = 0
        if self._needBanner:
            end = buffer.find(b"\n", scan)
            if end < 0:
                self._keep(buffer, 0, len(buffer), _PLAIN)
                return []
            self.banner = bytes(buffer[:end]).rstrip(b"\r").decode(_ENCODING, _ERRORS)
            self._needBanner = False
            start = scan = end + 1
        messages: List[Message] = []
        state = self._state
        parse = self._parseBlock
        limit = self.maxMessageSize
        while True:
            if state:  # not _PLAIN: inside an old-style command output
                end, scan, state = self._followsEnd(buffer, scan, state)
                if end < 0:
                    break
            else:
                end = buffer.find(b"\r\n\r\n", scan)
                if end < 0:
                    scan = len(buffer) - 3
                    if scan < start:
                        scan = start
                    break
                first = buffer[start]
                if first == 82 or first == 13:  # "R" or a stray CRLF first
                    follows = start if first == 82 else start + 2
                    if (buffer.startswith(b"Response: Follows", follows)
                            and (first == 82 or buffer[start + 1] == 10)
                            and buffer.find(_MARKER, follows, end) < 0):
                        # Old (Asterisk < 14) command output may hold blank
                        # lines: it runs to the --END COMMAND-- marker, not
                        # the first blank line.
                        start = follows
                        state = _SEEK_MARKER
                        scan = end
                        continue
            if end - start > limit:
                self._fail()
            if end > start:  # else a stray blank line between messages
                messages.append(parse(buffer[start:end]))
            start = scan = end + 4
        if start == len(buffer):  # all consumed: the common case
            if buffer is self._buffer:
                del buffer[:]
            self._scan = 0
            self._state = state
        else:
            self._keep(buffer, start, scan, state)
        return messages

    @staticmethod
    def _followsEnd(buffer: Any, scan: int, state: int) -> Tuple[int, int, int]:
        """Where an old-style command output ends: ``(end, scan, state)``,
        *end* ``-1`` while incomplete (*scan*, *state*: where to resume)."""
        if state == _SEEK_MARKER:
            found = buffer.find(_MARKER, scan)
            if found < 0:
                return -1, max(scan, len(buffer) - len(_MARKER) + 1), state
            scan = found + len(_MARKER)
        end = buffer.find(b"\r\n\r\n", scan)
        if end < 0:
            return -1, max(scan, len(buffer) - 3), _AFTER_MARKER
        return end, scan, _PLAIN

    def _keep(self, buffer: Any, start: int, scan: int, state: int) -> None:
        """Keep ``buffer[start:]`` (a partial message) for the next :meth:`feed`."""
        if len(buffer) - start > self.maxMessageSize:
            self._fail()
        if buffer is self._buffer:
            if start:
                del buffer[:start]
        elif start < len(buffer):
            self._buffer = self._bufferType(memoryview(buffer)[start:])
        self._scan = scan - start
        self._state = state

    def _fail(self) -> None:
        self._failed = True
        self._buffer = self._bufferType()
        raise AMICodecError(
            "AMI message exceeds the bound of %d bytes" % (self.maxMessageSize,)
        )

    @staticmethod
    def _parseBlock(block: Union[bytes, bytearray]) -> Message:
        text = block.decode(_ENCODING, _ERRORS)
        # Fast path: every line "Name: value" with a name seen before (its
        # lower-case form cached), no name repeated, not old command output.
        # Measured on the reference benchmark's W1 stream (bench/RESULTS.md):
        # 3.5 us per event against 7.6 us for the regex it replaces, and
        # the floor's plain split/partition costs 3.0 us.  The original-case
        # pairs are kept as the text and parsed only if headers() is asked.
        # A name not cached raises KeyError (a subscript, not get() and a
        # test: about 170 instructions less per line, callgrind, W1 and W2 in
        # bench/RESULTS.md); _learnNames then reads the lines again and
        # learns the names.
        message = Message.__new__(Message)
        lines = text.split("\r\n")
        lowerNames = _LOWER_NAMES
        try:
            for line in lines:
                name, sep, value = line.partition(": ")
                if not sep:
                    return AMIParser._parseLines(text)
                message[lowerNames[name]] = value
        except KeyError:
            if not AMIParser._learnNames(lines, message):
                return AMIParser._parseLines(text)
        if len(message) != len(lines) or text[:17] == "Response: Follows":
            return AMIParser._parseLines(text)
        message._headers = text
        message._repeated = None
        message.body = []
        return message

    @staticmethod
    def _learnNames(lines: List[str], message: Message) -> bool:
        """Fill *message* from *lines* as :meth:`_parseBlock`'s loop does,
        learning each name not cached yet; false when a line is not a plain
        ``Name: value`` (then the slow path reads the message)."""
        message.clear()
        for line in lines:
            name, sep, value = line.partition(": ")
            key = (_LOWER_NAMES.get(name) or _lowerName(name)) if sep else None
            if key is None:
                return False
            message[key] = value
        return True

    @staticmethod
    def _parseLines(text: str) -> Message:
        headers: List[Header] = []
        values: dict[str, str] = {}
        repeated: Optional[dict[str, List[str]]] = None
        body: List[str] = []
        lines = text.split("\r\n")
        follows = lines[0] == "Response: Follows"
        for index, line in enumerate(lines):
            name, sep, value = line.partition(":")
            if follows and name.lower() not in _FOLLOWS_HEADERS:
                # Pre-Asterisk-14 command output: the rest is the output.
                body.extend(_commandOutput(lines[index:]))
                break
            if not sep or not name or " " in name:
                if line and line != _END_COMMAND:
                    body.append(line)
                continue
            if value[:1] == " ":
                value = value[1:]
            headers.append((name, value))
            key = name.lower()
            if key in values:
                if repeated is None:
                    repeated = {}
                if key in repeated:
                    repeated[key].append(value)
                else:
                    repeated[key] = [values[key], value]
            else:
                values[key] = value
        return Message._fromParsed(headers, values, repeated, body)


def _commandOutput(lines: List[str]) -> List[str]:
    r"""The output lines of an old-style ``Response: Follows`` message.

    Old Asterisk wrote the CLI output raw (``\n`` line ends) and appended
    ``--END COMMAND--``, sometimes right after the last output character.
    """
    output = "\r\n".join(lines).replace("\r\n", "\n").split("\n")
    while output and not output[-1]:
        output.pop()
    if output and output[-1].endswith(_END_COMMAND):
        last = output.pop()[: -len(_END_COMMAND)]
        if last:
            output.append(last)
    return output


def _pairs(headers: HeaderInput) -> Iterator[Tuple[str, Union[str, int, float]]]:
    if headers is None:
        return
    if isinstance(headers, (dict, Mapping)):
        for name, value in headers.items():
            if isinstance(value, (list, tuple)):
                for item in value:
                    yield name, item
            else:
                yield name, value  # type: ignore[misc]
    else:
        yield from headers


def _checkHeader(name: str, value: str) -> None:
    if not name or ":" in name or "\r" in name or "\n" in name or name != name.strip():
        raise LocalProtocolError("invalid AMI header name %r" % (name,))
    if "\r" in value or "\n" in value:
        shown = "********" if name.lower() in SECRET_HEADERS else repr(value)
        raise LocalProtocolError("AMI header %r has a CR or LF in its value: %s" % (name, shown))


def _encode(pairs: List[Tuple[str, Union[str, int, float]]]) -> bytes:
    lines = ["%s: %s\r\n" % pair for pair in pairs]
    text = "".join(lines)
    # One scan of the whole text instead of one per header: each line holds
    # exactly one LF and one CR, at its end, unless a header smuggles more.
    if text.count("\n") != len(lines) or text.count("\r") != len(lines):
        for name, value in pairs:
            _checkHeader(name, value if isinstance(value, str) else str(value))
    for name, _ in pairs:
        if not name or ":" in name or name[0] == " " or name[-1] == " ":
            _checkHeader(name, "")
    return (text + "\r\n").encode(_ENCODING, _ERRORS)


def checkHeaderLine(line: str) -> str:
    """Check a header line written by hand (``"Name: value"``, no CRLF) as
    :func:`formatAction` checks its headers; return its name.

    :raises starpy.error.LocalProtocolError: (a ``ValueError``) not
        ``Name: value``, or a reason :func:`formatAction` gives.
    """
    name, colon, value = line.partition(":")
    if not colon:
        raise LocalProtocolError("AMI line %r is not 'Name: value'" % (line,))
    value = value[value[:1] == " ":]
    _checkHeader(name, value)
    _checkReadable(name, [(name, value)], (line + "\r\n\r\n").encode(_ENCODING, _ERRORS))
    return name


def formatMessage(headers: Iterable[Tuple[str, Union[str, int, float]]]) -> bytes:
    """Encode ``(name, value)`` pairs as one AMI message (CRLF lines, blank line).

    Values are converted with ``str()``; booleans are not special here.

    :raises starpy.error.LocalProtocolError: (a ``ValueError``) a name is
        empty, has a colon or surrounding spaces,
        or a name or value holds CR or LF (nothing is encoded then).
    """
    return _encode(list(headers))


def formatAction(action: str, headers: HeaderInput = None, actionID: Optional[str] = None) -> bytes:
    """Encode action *action* with *headers* (and an ``ActionID`` if given).

    The ``Action`` header comes first, then ``ActionID``, then *headers* in
    order; a mapping value that is a list or tuple repeats the header (e.g.
    several ``Variable`` headers).

    Besides what :func:`formatMessage` refuses, an action is refused when
    Asterisk 22's reader (``manager.c``) would not read back exactly the
    headers given: a line over :data:`MAX_LINE_BYTES` bytes once encoded
    (Asterisk discards it), more than :data:`MAX_ACTION_HEADERS` lines
    (Asterisk drops the action), a NUL character (Asterisk's C strings end
    there) or a value starting with a space, a tab or another control
    character (Asterisk skips those), or an empty action name.

    :raises starpy.error.LocalProtocolError: (a ``ValueError``) as
        :func:`formatMessage`, for the reasons above
        (naming the limit), or if *headers* also holds an ``Action`` or
        ``ActionID`` header.  Nothing is encoded then.
    """
    if (not headers and actionID is not None and action[:1] > " " and actionID[:1] > " "
            and (action + actionID).isprintable()):
        # The common case of an action without headers (Ping, CoreStatus...).
        data = ("Action: %s\r\nActionID: %s\r\n\r\n" % (action, actionID)).encode(
            _ENCODING, _ERRORS)
        if len(data) <= MAX_LINE_BYTES + 4:  # then no line can be longer
            return data
    pairs: List[Tuple[str, Union[str, int, float]]] = [("Action", action)]
    if actionID is not None:
        pairs.append(("ActionID", actionID))
    if headers:
        for name, value in _pairs(headers):
            if name.lower() in ("action", "actionid"):
                raise LocalProtocolError("header %r is set by the protocol, not in the headers" % (name,))
            pairs.append((name, value))
    data = _encode(pairs)
    # The usual action passes these quick tests; _checkReadable looks closer
    # (and may find that a value merely holds ": " and a blank, which is fine).
    if (len(pairs) > MAX_ACTION_HEADERS or len(data) > MAX_LINE_BYTES + 4 or not action
            or b"\x00" in data or _SKIPPED.search(data)):
        _checkReadable(action, pairs, data)
    return data


def _checkReadable(action: str, pairs: List[Tuple[str, Union[str, int, float]]],
                   data: bytes) -> None:
    """Refuse what Asterisk 22's ``manager.c`` would not read back as sent."""
    if not action:
        raise LocalProtocolError("empty AMI action name")
    if len(pairs) > MAX_ACTION_HEADERS:
        raise LocalProtocolError(
            "AMI action %r has %d header lines; Asterisk reads at most %d per action "
            "(Action and ActionID included)" % (action, len(pairs), MAX_ACTION_HEADERS))
    # One scan of the bytes; the headers are looked at one by one only when
    # it finds a NUL or a blank after ": " (maybe inside a value, harmlessly).
    if b"\x00" in data or _SKIPPED.search(data):
        for name, value in pairs:
            text = str(value)
            if "\x00" in name or "\x00" in text:
                raise LocalProtocolError("AMI header %r has a NUL character in its %s" % (
                    name.replace("\x00", "\\x00"), "name" if "\x00" in name else "value"))
            if text[:1] <= " " and text:
                raise LocalProtocolError(
                    "AMI header %r: its value starts with a space or control character, "
                    "which Asterisk drops when it reads the header" % (name,))
    if len(data) > MAX_LINE_BYTES + 4:
        for (name, _), line in zip(pairs, data.split(b"\r\n"), strict=False):
            if len(line) > MAX_LINE_BYTES:
                raise LocalProtocolError(
                    "AMI header %r: the line is %d bytes (UTF-8); Asterisk reads at most "
                    "%d bytes per line, %d with its CRLF" % (
                        name, len(line), MAX_LINE_BYTES, MAX_LINE_BYTES + 2))
