"""The AMI sub-commands of ``starpy``: ``events``, ``action`` and ``originate``.

Each is an ``async`` function taking the reactor, the parsed arguments and
the output streams, returning an exit status (see :mod:`starpy.cli` for the
statuses).  Problems a user can fix end in :class:`CommandError`, which the
CLI prints as one line.
"""
from __future__ import annotations

import argparse
import fnmatch
from typing import Any, List, Optional, Sequence, TextIO, Tuple

from twisted.internet import error as netError

from starpy import error, manager
from starpy.amiactions import variableAssignment
from starpy.appconfig import StarpyConfigError
from starpy.codec.ami import Message
from starpy.utilapplication import UtilApplication

__all__ = [
    "CommandError",
    "loadApplication",
    "loginFor",
    "EventFilter",
    "formatMessage",
    "parseAssignments",
    "runEvents",
    "runAction",
    "runOriginate",
]


class CommandError(Exception):
    """A sub-command cannot go on: *message* is printed, *status* returned."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _codes() -> Any:
    from starpy import cli

    return cli


def loadApplication(args: argparse.Namespace, reactor: Any) -> UtilApplication:
    """The :class:`UtilApplication` of ``-c``/``$STARPY_CONF``/``starpy.conf``.

    :raises CommandError: with ``EXIT_BAD_CONFIG`` on any configuration problem.
    """
    try:
        return UtilApplication(getattr(args, "config", None), reactor=reactor)
    except StarpyConfigError as e:
        raise CommandError(_codes().EXIT_BAD_CONFIG, str(e)) from None


async def loginFor(application: UtilApplication, **options: Any) -> manager.AMIProtocol:
    """Log into the configured AMI, turning failures into :class:`CommandError`.

    ``EXIT_BAD_CONFIG`` without a username, ``EXIT_LOGIN_FAILED`` when the
    login is refused, ``EXIT_UNREACHABLE`` when Asterisk cannot be reached
    (connection refused, DNS, timeout, connection dropped during login).
    """
    codes = _codes()
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


def formatMessage(message: Message) -> str:
    """*message* as AMI writes it (``Name: value`` lines), secrets masked."""
    return message.dump()


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
            raise CommandError(_codes().EXIT_USAGE, "%s %r is not Key=Value" % (what, item))
        pairs.append((key, value))
    return pairs


async def runEvents(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``starpy events``: print live events until interrupted (or ``--count``)."""
    codes = _codes()
    application = loadApplication(args, reactor)
    matches = EventFilter(args.patterns)
    ami = await loginFor(application)
    spec = application.amiSpecifier
    print("# logged in to %s as %s; Ctrl-C to stop" % (spec.describeTarget(), spec.username),
          file=err, flush=True)
    printed = [0]
    closed = ami.whenClosed()

    def onEvent(protocol: Any, event: Message) -> None:
        if not matches(event) or (args.count is not None and printed[0] >= args.count):
            return
        printed[0] += 1
        out.write(formatMessage(event) + "\n\n")
        out.flush()
        if args.count is not None and printed[0] >= args.count:
            ami.logoff().addErrback(lambda f: None)

    handle = ami.registerEvent(None, onEvent)
    try:
        await closed
    finally:
        handle.cancel()
    if args.count is not None and printed[0] >= args.count:
        return int(codes.EXIT_OK)
    raise CommandError(codes.EXIT_UNREACHABLE, "the connection to Asterisk was lost")


async def runAction(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``starpy action Name Key=Value ...``: send one action, print what comes back."""
    codes = _codes()
    headers = parseAssignments(args.headers, "header")
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
        out.write(formatMessage(result.response) + "\n\n")
        for item in result:
            out.write(formatMessage(item) + "\n\n")
        out.write(formatMessage(result.complete) + "\n\n")
        print("# %d item%s" % (len(result), "" if len(result) == 1 else "s"), file=err)
    else:
        out.write(formatMessage(result) + "\n\n")
    return int(codes.EXIT_OK)


async def runOriginate(reactor: Any, args: argparse.Namespace, out: TextIO,
                       err: TextIO) -> int:
    """``starpy originate``: originate a call and print its ``OriginateResponse``."""
    codes = _codes()
    variables = parseAssignments(args.variable, "variable")
    for name, value in variables:
        try:
            variableAssignment(name, value)
        except ValueError as e:
            raise CommandError(codes.EXIT_USAGE, str(e)) from None
    application = loadApplication(args, reactor)
    ami = await loginFor(application)
    options: dict[str, Any] = dict(timeout=args.timeout, callerid=args.callerid,
                                   account=args.account, asynchronous=True,
                                   variable=["%s=%s" % pair for pair in variables] or None)
    if args.application:
        options.update(application=args.application, data=args.data)
    else:
        options.update(context=args.context or application.agiSpecifier.context,
                       exten=args.exten, priority=args.priority)
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


async def _logoff(ami: manager.AMIProtocol) -> None:
    try:
        await ami.logoff()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        pass
