"""The AMI sub-commands of ``starpy``: ``events``, ``action`` and ``originate``.

Each is an ``async`` function taking the reactor, the parsed arguments and
the output streams, returning an exit status (see :mod:`starpy.cli` for the
statuses).  Problems a user can fix end in :class:`CommandError`, which the
CLI prints as one line.
"""
from __future__ import annotations

import argparse
import codecs
import fnmatch
import json
import re
from typing import Any, Callable, List, Match, Optional, Sequence, TextIO, Tuple, cast

from twisted.internet import defer
from twisted.internet import error as netError

import starpy.cli._status as _status
from starpy import error, manager
from starpy.amiactions import USE_DEFAULT, AMIActions, variableAssignment
from starpy.appconfig import StarpyConfigError
from starpy.codec.ami import HeaderInput, Message, formatAction, maskSecret
from starpy.error import CommandError  # defined there; exported here too
from starpy.utilapplication import UtilApplication

__all__ = [
    "CommandError",
    "loadApplication",
    "loginFor",
    "EventFilter",
    "formatMessage",
    "formatJSON",
    "SERVER_KEY",
    "printable",
    "escapingStream",
    "parseAssignments",
    "checkSendable",
    "runEvents",
    "startMetrics",
    "runAction",
    "runOriginate",
]



def loadApplication(args: argparse.Namespace, reactor: Any) -> UtilApplication:
    """The :class:`UtilApplication` of ``-c``/``$STARPY_CONF``/``starpy.conf``.

    :raises CommandError: with ``EXIT_BAD_CONFIG`` on any configuration problem.
    """
    try:
        return UtilApplication(getattr(args, "config", None), reactor=reactor)
    except StarpyConfigError as e:
        raise CommandError(_status.EXIT_BAD_CONFIG, str(e)) from None


async def loginFor(application: UtilApplication, **options: Any) -> manager.AMIProtocol:
    """Log into the configured AMI, turning failures into :class:`CommandError`.

    ``EXIT_BAD_CONFIG`` without a username, ``EXIT_LOGIN_FAILED`` when the
    login is refused, ``EXIT_UNREACHABLE`` when Asterisk cannot be reached
    (connection refused, DNS, timeout, connection dropped during login).
    """
    codes = _status
    spec = application.amiSpecifier
    try:
        return await spec.login(**options)
    except StarpyConfigError as e:
        raise CommandError(codes.EXIT_BAD_CONFIG, str(e)) from None
    except error.AMIAuthenticationError as e:
        raise CommandError(codes.EXIT_LOGIN_FAILED, "login as %r at %s refused: %s" % (
            spec.username, spec.describeTarget(), e.message or "authentication failed")) from None
    except (netError.ConnectError, error.AMITimeout, error.AMIConnectionLost,
            OSError) as e:
        raise CommandError(codes.EXIT_UNREACHABLE, "cannot reach Asterisk's AMI at %s: %s" % (
            spec.describeTarget(), _oneLine(e))) from None


def _oneLine(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escapeSurrogate(match: Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # the byte surrogateescape decoding kept
        return "\\x%02x" % (code - 0xDC00)
    return "\\u%04x" % code


def printable(text: str, encoding: Optional[str] = None) -> str:
    """*text* as a stream of *encoding* (default UTF-8) can write it.

    The AMI codec keeps a byte that is not UTF-8 (Latin-1 text, say) as a
    lone surrogate; it is shown as ``\\xNN``, that byte's value.  A
    character the encoding cannot write is shown as ``\\xNN``, ``\\uNNNN``
    or ``\\UNNNNNNNN``.  Text that needs neither is returned as it is.
    """
    try:
        encoding = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        encoding = "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    text = _SURROGATE.sub(_escapeSurrogate, text)
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)


class _EscapingStream:
    """Writes to *stream* what :func:`printable` makes of each text."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding: Optional[str] = getattr(stream, "encoding", None)

    def write(self, text: str) -> int:
        return self.stream.write(printable(text, self.encoding))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def escapingStream(stream: TextIO) -> TextIO:
    """*stream*, writing every text through :func:`printable`: a value from
    Asterisk that is not valid in the stream's encoding is shown escaped
    instead of raising ``UnicodeEncodeError``."""
    if isinstance(stream, _EscapingStream):
        return cast(TextIO, stream)
    return cast(TextIO, _EscapingStream(stream))


def formatMessage(message: Message) -> str:
    """*message* as AMI writes it (``Name: value`` lines), secrets masked."""
    return message.dump()


SERVER_KEY = "_server"
"""The key :func:`formatJSON` adds for the server an event came from."""


def _jsonText(text: str) -> str:
    # A byte that was not UTF-8 (kept by the codec as a lone surrogate) is
    # written as the text \xNN, as the plain output shows it: JSON has no
    # bytes, and a lone surrogate is not valid in UTF-8 output.
    return _SURROGATE.sub(_escapeSurrogate, text)


def formatJSON(message: Message, server: Optional[str] = None) -> str:
    """*message* as one line of JSON: an object of every header, names in
    their original case (as first seen), in wire order; a repeated header's
    values as a list; secrets masked as in :func:`formatMessage`; the server
    name under :data:`SERVER_KEY` when given.  Lines that are not headers
    (old-style command output) go in a list under ``"_body"``.

    The line is ASCII only (other characters as JSON ``\\u`` escapes), so
    whatever the output encoding, it is written as it is.
    """
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in message.headers():
        key = names.setdefault(name.lower(), _jsonText(name))
        value = _jsonText(maskSecret(name, value))
        if key not in values:
            values[key] = value
        elif isinstance(values[key], list):
            values[key].append(value)
        else:
            values[key] = [values[key], value]
    if message.body:
        values["_body"] = [_jsonText(line) for line in message.body]
    if server is not None:
        values[SERVER_KEY] = server
    return json.dumps(values, ensure_ascii=True, separators=(",", ":"))


class EventFilter:
    """Which events ``starpy events`` prints.

    A pattern without ``=`` is a glob on the event name (any case); the event
    must match one of them (or there are none).  ``Header=glob`` must match
    the header's value (any case) for the event to be printed; all such
    patterns must match.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.names: List[str] = []
        self.headers: List[Tuple[str, str]] = []
        for pattern in patterns:
            name, equals, value = pattern.partition("=")
            if equals:
                self.headers.append((name.strip().lower(), value.lower()))
            else:
                self.names.append(pattern.lower())

    def __call__(self, event: Message) -> bool:
        """Whether *event* passes."""
        name = (event.get("event") or "").lower()
        if self.names and not any(fnmatch.fnmatchcase(name, p) for p in self.names):
            return False
        for header, pattern in self.headers:
            values = event.getAll(header)
            if not any(fnmatch.fnmatchcase(v.lower(), pattern) for v in values):
                return False
        return True


def parseAssignments(items: Sequence[str], what: str) -> List[Tuple[str, str]]:
    """``['Key=Value', ...]`` as pairs.

    :raises CommandError: with ``EXIT_USAGE`` for an item without ``=``.
    """
    pairs = []
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise CommandError(_status.EXIT_USAGE, "%s %r is not Key=Value" % (what, item))
        pairs.append((key, value))
    return pairs


#: The shape of the ActionID an :class:`AMIProtocol <starpy.manager.AMIProtocol>` adds
#: (process id, protocol id, counter), for encoding an action before login.
_ACTION_ID_SHAPE = "4194304-ffffff-1000000"


class _Rehearsal(AMIActions):
    """Builds actions as :class:`AMIProtocol <starpy.manager.AMIProtocol>` does and encodes
    them, sending nothing: whatever the library refuses (a CR or LF, a
    header it sets itself, a line or header count Asterisk would not read)
    is known before connecting."""

    defaultTimeout: Optional[float] = None

    def sendAction(self, action: str, headers: HeaderInput = None,
                   timeout: Optional[float] = USE_DEFAULT,
                   expectEvent: Optional[str] = None) -> "defer.Deferred[Any]":
        formatAction(action, headers, _ACTION_ID_SHAPE)
        return defer.succeed(None)


def checkSendable(what: str, send: Callable[[AMIActions], object]) -> None:
    """Call ``send(rehearsal)`` with a :class:`_Rehearsal` standing in for the
    protocol; a refusal becomes a usage error naming *what*.

    :raises CommandError: with ``EXIT_USAGE`` when the library refuses it
        (:class:`LocalProtocolError <starpy.error.LocalProtocolError>`, or a
        ``TypeError`` for an argument of the wrong type).
    """
    try:
        send(_Rehearsal())
    except (error.LocalProtocolError, TypeError) as e:
        raise CommandError(_status.EXIT_USAGE, "cannot send %s: %s" % (what, _oneLine(e))) \
            from None


def checkMetricsOption(args: argparse.Namespace) -> Optional[Tuple[str, int]]:
    """The ``--metrics HOST:PORT`` of *args*, parsed, or ``None``.

    :raises CommandError: with ``EXIT_USAGE`` for a bad address, or when the
        ``metrics`` extra (``prometheus_client``) is not installed.
    """
    text = getattr(args, "metrics", None)
    if text is None:
        return None
    try:
        from starpy import metrics
    except ImportError as e:
        raise CommandError(_status.EXIT_USAGE, "--metrics needs StarPy's metrics extra "
                           "(pip install 'starpy[metrics]'): %s" % (_oneLine(e),)) from None
    try:
        return metrics.parseAddress(text)
    except ValueError as e:
        raise CommandError(_status.EXIT_USAGE, "--metrics: %s" % (e,)) from None


def startMetrics(address: Tuple[str, int], reactor: Any, err: TextIO) -> Tuple[Any, Any]:
    """Serve a new :class:`StarpyMetrics <starpy.metrics.StarpyMetrics>` over HTTP at
    *address*; returns it and the listening port.

    :raises CommandError: with ``EXIT_BAD_CONFIG`` when it cannot listen.
    """
    from starpy import metrics

    numbers = metrics.StarpyMetrics()
    try:
        port = numbers.listen(reactor, address[0], address[1])
    except netError.CannotListenError as e:
        raise CommandError(_status.EXIT_BAD_CONFIG, "--metrics: cannot listen on %s:%d: %s" % (
            address[0], address[1], e.socketError)) from None
    host = port.getHost()
    print("# metrics on http://%s:%d/metrics" % (address[0], host.port), file=err, flush=True)
    return numbers, port


async def runEvents(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``starpy events``: print live events until interrupted (or ``--count``);
    with ``--json``, one JSON object per event per line (:func:`formatJSON`),
    the server named by ``--server-name`` (default: its address)."""
    codes = _status
    if args.count is not None and args.count < 1:
        raise CommandError(codes.EXIT_USAGE, "--count must be 1 or more")
    for pattern in args.patterns:
        name, equals, _ = pattern.partition("=")
        if equals and not name.strip():
            raise CommandError(codes.EXIT_USAGE,
                               "pattern %r: no header name before '='" % (pattern,))
    if getattr(args, "server_name", None) is not None and not getattr(args, "json", False):
        raise CommandError(codes.EXIT_USAGE, "--server-name applies to --json output only")
    metricsAddress = checkMetricsOption(args)
    out, err = escapingStream(out), escapingStream(err)
    application = loadApplication(args, reactor)
    served = startMetrics(metricsAddress, reactor, err) if metricsAddress else None
    try:
        return await _printEvents(application, args, out, err,
                                  None if served is None else served[0])
    finally:
        if served is not None:
            await served[1].stopListening()


async def _printEvents(application: UtilApplication, args: argparse.Namespace, out: TextIO,
                       err: TextIO, numbers: Any) -> int:
    codes = _status
    matches = EventFilter(args.patterns)
    spec = application.amiSpecifier
    ami = await loginFor(application)
    if numbers is not None:
        numbers.watchProtocol(ami, getattr(args, "server_name", None) or spec.describeTarget())
    print("# logged in to %s as %s; Ctrl-C to stop" % (spec.describeTarget(), spec.username),
          file=err, flush=True)
    printed = [0]
    failed: List[BaseException] = []
    closed = ami.whenClosed()
    asJSON = bool(getattr(args, "json", False))
    serverName = getattr(args, "server_name", None) or spec.describeTarget()

    def stop() -> None:
        ami.logoff().addErrback(lambda f: None)

    def onEvent(protocol: Any, event: Message) -> None:
        if failed or not matches(event) or (args.count is not None and printed[0] >= args.count):
            return
        try:
            if asJSON:
                out.write(formatJSON(event, serverName) + "\n")
            else:
                out.write(formatMessage(event) + "\n\n")
            out.flush()
        except (OSError, ValueError) as e:  # stdout closed (a pipe whose reader left)
            failed.append(e)
            stop()
            return
        printed[0] += 1
        if args.count is not None and printed[0] >= args.count:
            stop()

    handle = ami.registerEvent(None, onEvent)
    try:
        await closed
    finally:
        handle.cancel()
        _stopReconnecting(ami)
    if failed:
        raise CommandError(codes.EXIT_FAILURE, "cannot write the events: %s" % (
            _oneLine(failed[0]),))
    if args.count is not None and printed[0] >= args.count:
        return int(codes.EXIT_OK)
    raise CommandError(codes.EXIT_UNREACHABLE, "the connection to Asterisk was lost")


async def runAction(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``starpy action Name Key=Value ...``: send one action, print what comes back."""
    codes = _status
    if not args.name.strip():
        raise CommandError(codes.EXIT_USAGE, "the action NAME is empty")
    headers = parseAssignments(args.headers, "header")
    checkSendable("the action", lambda ami: ami.sendAction(args.name, headers))
    out, err = escapingStream(out), escapingStream(err)
    application = loadApplication(args, reactor)
    ami = await loginFor(application)
    try:
        result = await ami.sendAction(args.name, headers)
    except error.AMICommandFailure as e:
        if isinstance(e.response, Message):
            out.write(formatMessage(e.response) + "\n\n")
        raise CommandError(codes.EXIT_ACTION_FAILED, str(e)) from None
    except error.AMIError as e:
        raise CommandError(codes.EXIT_UNREACHABLE, _oneLine(e)) from None
    finally:
        await _logoff(ami)
    if isinstance(result, manager.EventList):
        for message in result:  # the response, the items, the closing event
            out.write(formatMessage(message) + "\n\n")
        count = len(result.events)
        print("# %d item%s" % (count, "" if count == 1 else "s"), file=err)
    else:
        out.write(formatMessage(result) + "\n\n")
    return int(codes.EXIT_OK)


async def runOriginate(reactor: Any, args: argparse.Namespace, out: TextIO,
                       err: TextIO) -> int:
    """``starpy originate``: originate a call and print its ``OriginateResponse``."""
    codes = _status
    if not args.channel.strip():
        raise CommandError(codes.EXIT_USAGE, "CHANNEL is empty")
    if not (0 < args.timeout < float("inf")):
        raise CommandError(codes.EXIT_USAGE, "--timeout must be more than 0 seconds")
    variables = parseAssignments(args.variable, "variable")
    for name, value in variables:
        try:
            variableAssignment(name, value)
        except error.LocalProtocolError as e:
            raise CommandError(codes.EXIT_USAGE, str(e)) from None
    out, err = escapingStream(out), escapingStream(err)
    application = loadApplication(args, reactor)
    options: dict[str, Any] = dict(timeout=args.timeout, callerid=args.callerid,
                                   account=args.account, asynchronous=True,
                                   variable=["%s=%s" % pair for pair in variables] or None)
    if args.application:
        options.update(application=args.application, data=args.data)
    else:
        options.update(context=args.context or application.agiSpecifier.context,
                       exten=args.exten, priority=args.priority)
    checkSendable("the originate", lambda ami: ami.originate(args.channel, **options))
    ami = await loginFor(application)
    try:
        event: Optional[Message] = await ami.originate(args.channel, **options)
    except error.AMIOriginateFailure as e:
        if isinstance(e.response, Message):
            out.write(formatMessage(e.response) + "\n\n")
        raise CommandError(codes.EXIT_ACTION_FAILED, "originate to %s: %s" % (
            args.channel, _oneLine(e))) from None
    except error.AMICommandFailure as e:
        raise CommandError(codes.EXIT_ACTION_FAILED, _oneLine(e)) from None
    except error.AMIError as e:
        raise CommandError(codes.EXIT_UNREACHABLE, _oneLine(e)) from None
    finally:
        await _logoff(ami)
    assert event is not None
    out.write(formatMessage(event) + "\n\n")
    return int(codes.EXIT_OK)


def _stopReconnecting(ami: manager.AMIProtocol) -> None:
    """A command ends with its connection: the factory must not make it again."""
    factory = getattr(ami, "factory", None)
    if isinstance(factory, manager.AMIFactory):
        factory.stopTrying()


async def _logoff(ami: manager.AMIProtocol) -> None:
    _stopReconnecting(ami)
    try:
        await ami.logoff()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        pass
