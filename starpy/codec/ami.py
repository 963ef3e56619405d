"""The AMI wire format, sans-IO: framing, messages and their encoding.

Asterisk's Manager Interface sends one banner line
(``Asterisk Call Manager/11.0.0\\r\\n``, with no blank line after it) and then
messages: ``Key: Value\\r\\n`` lines closed by an empty ``\\r\\n``.  Clients
send actions in the same form.

:class:`AMIParser` turns received bytes into :class:`Message` objects;
:func:`formatAction` turns an action into bytes.  Nothing here knows about
Twisted, sockets or logging.

Decoding policy: bytes are decoded as UTF-8 with the ``surrogateescape``
error handler, so invalid bytes never raise and a value read can be sent back
byte for byte (:func:`formatAction` encodes with the same handler).  Such a
value holds lone surrogates (``'\\udcff'`` for the byte ``0xff``); use
``value.encode('utf-8', 'surrogateescape')`` to get the original bytes.
"""
from __future__ import annotations

import re
from typing import (
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

__all__ = [
    "AMICodecError",
    "AMIParser",
    "bannerVersion",
    "Message",
    "HeaderInput",
    "formatAction",
    "formatMessage",
    "SECRET_HEADERS",
    "DEFAULT_MAX_MESSAGE_SIZE",
]

DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
"""Default bound on one message (and so on one line), in bytes: 1 MiB."""

SECRET_HEADERS = frozenset(("secret", "key"))
"""Lower-case names of headers whose values never appear in reprs or logs."""

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"
_END_COMMAND = "--END COMMAND--"
_FOLLOWS_HEADERS = frozenset(("response", "privilege", "actionid", "message"))
# "Name: value" with at most one space removed after the colon; names hold no
# spaces.  Used for the fast path of _parseBlock.
_UNSAFE = re.compile(r"[\r\n]")
_HEADER_LINE = re.compile(r"^([^:\r\n ]+): ?([^\r\n]*)", re.MULTILINE)

Header = Tuple[str, str]
HeaderValue = Union[str, int, float, Sequence[Union[str, int, float]]]
HeaderInput = Union[Mapping[str, HeaderValue], Iterable[Tuple[str, Union[str, int, float]]], None]
"""Headers for an action: a mapping (a sequence value repeats the header)
or an iterable of ``(name, value)`` pairs (repeat a name to repeat it)."""


class AMICodecError(ValueError):
    """The byte stream cannot be AMI (for instance a message over the size bound).

    The parser that raised it is unusable afterwards: the connection should be
    closed.
    """


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

    _headers: List[Header]
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

    def headers(self) -> List[Header]:
        """All ``(Name, value)`` pairs in wire order, names in their original case."""
        return list(self._headers)

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
        lines = ["%s: %s" % (name, _mask(name, value)) for name, value in self._headers]
        lines.extend("| " + line for line in self.body)
        return "\n".join(lines)

    def __repr__(self) -> str:
        shown = ", ".join("%s: %r" % (name, _mask(name, value)) for name, value in self._headers)
        return "<Message %s%s>" % (shown, " +%d body lines" % len(self.body) if self.body else "")

    def __reduce__(self) -> tuple[object, ...]:
        return (Message, (self._headers, self.body))


def _mask(name: str, value: str) -> str:
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

    def __init__(
        self, maxMessageSize: int = DEFAULT_MAX_MESSAGE_SIZE, expectBanner: bool = True
    ) -> None:
        if maxMessageSize < 16:
            raise ValueError("maxMessageSize must be at least 16 bytes, not %r" % (maxMessageSize,))
        self.maxMessageSize = maxMessageSize
        self.banner: Optional[str] = None
        self._needBanner = expectBanner
        self._buffer = b""
        self._failed = False

    def feed(self, data: bytes) -> List[Message]:
        """Add received bytes; return the messages they complete (maybe none).

        :raises AMICodecError: a message or line exceeds the bound, or the
            parser already failed.
        """
        if self._failed:
            raise AMICodecError("parser already failed")
        buffer = self._buffer + data if self._buffer else data
        if self._needBanner:
            end = buffer.find(b"\n")
            if end < 0:
                self._buffer = buffer
                self._checkSize()
                return []
            self.banner = buffer[:end].rstrip(b"\r").decode(_ENCODING, _ERRORS)
            self._needBanner = False
            buffer = buffer[end + 1:]
        messages: List[Message] = []
        start = 0
        parse = self._parseBlock
        while True:
            end = buffer.find(b"\r\n\r\n", start)
            if end < 0:
                break
            if buffer.startswith(b"Response: Follows", start) and (
                buffer.find(b"--END COMMAND--", start, end) < 0
            ):
                # Old (Asterisk < 14) command output may hold blank lines:
                # it runs to the --END COMMAND-- marker, not the first blank.
                marker = buffer.find(b"--END COMMAND--", end)
                if marker < 0:
                    break
                end = buffer.find(b"\r\n\r\n", marker)
                if end < 0:
                    break
            if end - start > self.maxMessageSize:
                self._fail()
            if end > start:
                messages.append(parse(buffer[start:end]))
            start = end + 4
        rest = buffer[start:]
        # Tolerate a stray blank line between messages.
        while rest.startswith(b"\r\n"):
            rest = rest[2:]
        self._buffer = rest
        self._checkSize()
        return messages

    def _checkSize(self) -> None:
        if len(self._buffer) > self.maxMessageSize:
            self._fail()

    def _fail(self) -> None:
        self._failed = True
        self._buffer = b""
        raise AMICodecError(
            "AMI message exceeds the bound of %d bytes" % (self.maxMessageSize,)
        )

    @staticmethod
    def _parseBlock(block: bytes) -> Message:
        text = block.decode(_ENCODING, _ERRORS)
        pairs: List[Header] = _HEADER_LINE.findall(text)
        # Fast path: every line a header, no name repeated, not old output.
        if len(pairs) == text.count("\n") + 1 and not text.startswith("Response: Follows"):
            values = {name.lower(): value for name, value in pairs}
            if len(values) == len(pairs):
                return Message._fromParsed(pairs, values, None, [])
        return AMIParser._parseLines(text)

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
    """The output lines of an old-style ``Response: Follows`` message.

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
        raise ValueError("invalid AMI header name %r" % (name,))
    if "\r" in value or "\n" in value:
        shown = "********" if name.lower() in SECRET_HEADERS else repr(value)
        raise ValueError("AMI header %r has a CR or LF in its value: %s" % (name, shown))


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


def formatMessage(headers: Iterable[Tuple[str, Union[str, int, float]]]) -> bytes:
    """Encode ``(name, value)`` pairs as one AMI message (CRLF lines, blank line).

    Values are converted with ``str()``; booleans are not special here.

    :raises ValueError: a name is empty, has a colon or surrounding spaces,
        or a name or value holds CR or LF (nothing is encoded then).
    """
    return _encode(list(headers))


def formatAction(action: str, headers: HeaderInput = None, actionID: Optional[str] = None) -> bytes:
    """Encode action *action* with *headers* (and an ``ActionID`` if given).

    The ``Action`` header comes first, then ``ActionID``, then *headers* in
    order; a mapping value that is a list or tuple repeats the header (e.g.
    several ``Variable`` headers).

    :raises ValueError: as :func:`formatMessage`, or if *headers* also holds
        an ``Action`` or ``ActionID`` header.
    """
    if not headers and actionID is not None and not _UNSAFE.search(action + actionID):
        # The common case of an action without headers (Ping, CoreStatus...).
        return ("Action: %s\r\nActionID: %s\r\n\r\n" % (action, actionID)).encode(
            _ENCODING, _ERRORS)
    pairs: List[Tuple[str, Union[str, int, float]]] = [("Action", action)]
    if actionID is not None:
        pairs.append(("ActionID", actionID))
    if headers:
        for name, value in _pairs(headers):
            if name.lower() in ("action", "actionid"):
                raise ValueError("header %r is set by the protocol, not in the headers" % (name,))
            pairs.append((name, value))
    return _encode(pairs)
