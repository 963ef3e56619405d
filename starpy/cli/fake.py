"""``starpy fake``: StarPy's fake Asterisk on loopback, to try the other
sub-commands (and your own code) without an Asterisk.

It runs the fake AMI server (:class:`starpy.testing.ami.FakeAMIServerFactory`)
on ``127.0.0.1`` and prints the ``starpy.conf`` lines that reach it; with
``--calls N`` it also places N scripted FastAGI calls, one after another
(:class:`starpy.testing.agi.SimulatedChannel`, :func:`placeCallTCP <starpy.testing.agi.placeCallTCP>`),
to a FastAGI server such as one started with ``starpy serve``.  Each call is
also a channel of the fake AMI server while it lasts (``Newchannel`` and
``Hangup`` events, listed by ``CoreShowChannels``; an AMI ``Hangup`` hangs
the caller up), and one line per call says what the server did.  At the end
the AMI sessions are closed cleanly, so the last call's ``Hangup`` event
still reaches them.
"""
from __future__ import annotations

import argparse
import logging
from typing import Any, Optional, TextIO

from twisted.internet import defer
from twisted.internet import error as netError

import starpy.cli._status as _status
from starpy.cli.ami import CommandError
from starpy.codec.agi import commandName
from starpy.testing.agi import SimulatedChannel, Transcript, placeCallTCP, spacedDigits
from starpy.testing.ami import DEFAULT_USERS, FakeAMIServerFactory, FakeAMIServerProtocol, FakeChannel

__all__ = ["runFake", "FakeAsterisk", "configText"]

log = logging.getLogger(__name__)

#: Seconds the AMI sessions have, at the end, to take what was sent to them.
CLOSE_TIMEOUT = 2.0


class FakeAsterisk(FakeAMIServerFactory):
    """The fake AMI server of ``starpy fake``: its FastAGI calls are channels
    too, and an AMI ``Hangup`` of one hangs its caller up.

    :ivar callers: the calls in progress, by channel name.
    :ivar hungUpOverAMI: the names of the calls that an AMI ``Hangup`` ended.
    """

    def __init__(self, reactor: Any) -> None:
        super().__init__(clock=reactor)
        self.callers: dict[str, SimulatedChannel] = {}
        self.hungUpOverAMI: set[str] = set()
        self._whenClosed: list[defer.Deferred[None]] = []

    def hangupChannel(self, name: str, cause: int = 16, emit: bool = True) -> Optional[FakeChannel]:
        caller = self.callers.pop(name, None)
        if caller is not None and not caller.hungUp:
            self.hungUpOverAMI.add(name)
            caller.hangup()
        return super().hangupChannel(name, cause, emit)

    def sessionClosed(self, session: FakeAMIServerProtocol) -> None:
        super().sessionClosed(session)
        if not self.sessions:
            waiting, self._whenClosed = self._whenClosed, []
            for d in waiting:
                if not d.called:  # else closeSessions timed out already
                    d.callback(None)

    def closeSessions(self, timeout: float = CLOSE_TIMEOUT) -> defer.Deferred[None]:
        """Close every AMI session cleanly (what was sent to it still goes
        out); fires once all are closed, or after *timeout* seconds."""
        if not self.sessions:
            return defer.succeed(None)
        closed: defer.Deferred[None] = defer.Deferred()
        self._whenClosed.append(closed)
        self.disconnect()
        return closed.addTimeout(timeout, self.clock, onTimeoutCancel=lambda result, t: None)


def configText(port: int) -> str:
    """The ``starpy.conf`` lines that reach the fake on *port*."""
    user = DEFAULT_USERS[0]
    return ("[AMI]\nserver = 127.0.0.1\nport = %d\nusername = %s\nsecret = %s\n"
            % (port, user.username, user.secret))


def _commandName(line: bytes) -> str:
    """The name of the AGI command of *line* (``WAIT FOR DIGIT``), or its
    first word if no AGI command has that name."""
    text = line.decode("utf-8", "replace")
    name = commandName(text)
    if name != "other":
        return name
    words = text.upper().split(None, 1)
    return words[0] if words else ""


def _summary(number: int, channel: SimulatedChannel, transcript: Transcript,
             overAMI: bool) -> str:
    names = [_commandName(line) for line in transcript.commands()]
    if "the caller hangs up" in transcript.notes():
        who = "the caller hung up"
    elif overAMI:
        who = "an AMI Hangup hung the caller up"
    elif channel.hungUp:
        who = "the server hung up"
    else:
        who = "the server ended the AGI"
    return "starpy fake: call %d on %s: %d command%s (%s); %s; AGISTATUS=%s" % (
        number, channel.name, len(names), "" if len(names) == 1 else "s",
        ", ".join(names) or "none", who, transcript.agiStatus)


async def _placeCalls(reactor: Any, server: FakeAsterisk, args: argparse.Namespace,
                      out: TextIO) -> int:
    host, port = args.fastagi
    codes = _status
    request = "agi://%s:%d/%s" % (host, port, args.script.lstrip("/"))
    for number in range(1, args.calls + 1):
        name = "PJSIP/caller-%08x" % (number,)
        channel = SimulatedChannel(
            request=request, name=name, uniqueId=server.newUniqueid(),
            extension=args.exten, context=args.context, callerId=args.callerid,
            dtmf=spacedDigits(args.dtmf) if args.dtmf else (), hangupAt=args.hangup_after)
        fake = server.addChannel(name, channel.uniqueId, context=args.context,
                                 exten=args.exten, application="AGI", data=request,
                                 callerIDNum=args.callerid or "<unknown>")
        fake.variables = channel.variables  # AMI Getvar/Setvar see the call's variables
        server.callers[name] = channel
        server.emitEvent([("Event", "Newchannel"), ("Privilege", "call,all")] + fake.headers())
        try:
            transcript = await placeCallTCP(reactor, host, port, channel)
        except netError.ConnectError as e:
            server.callers.pop(name, None)
            server.hangupChannel(name, 0)
            raise CommandError(codes.EXIT_UNREACHABLE, "cannot reach the FastAGI server at "
                               "%s:%d: %s" % (host, port, e.__class__.__name__)) from None
        server.callers.pop(name, None)
        if name in server.channels:
            server.hangupChannel(name)
        print(_summary(number, channel, transcript, name in server.hungUpOverAMI), file=out,
              flush=True)
    return int(codes.EXIT_OK)


async def runFake(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``starpy fake``: the fake Asterisk until interrupted, ``--for``
    seconds, or the end of the ``--calls``."""
    codes = _status
    if args.calls and args.fastagi is None:
        args.fastagi = ("127.0.0.1", 4573)
    if not args.calls and (args.fastagi is not None or args.script or args.dtmf
                           or args.hangup_after is not None):
        raise CommandError(codes.EXIT_USAGE, "--fastagi, --script, --dtmf and --hangup-after "
                           "describe the calls of --calls N")
    server = FakeAsterisk(reactor)
    try:
        port = server.listen(args.ami_port, "127.0.0.1", reactor=reactor)
    except netError.CannotListenError as e:
        raise CommandError(codes.EXIT_BAD_CONFIG, "cannot listen on 127.0.0.1:%d: %s" % (
            args.ami_port, e.socketError)) from None
    number = port.getHost().port  # type: ignore[attr-defined]
    print("starpy fake: fake Asterisk AMI listening on 127.0.0.1:%d" % (number,), file=out)
    print("starpy fake: put this in starpy.conf (or a file given with -c):", file=out)
    for line in configText(number).splitlines():
        print("    " + line, file=out)
    out.flush()
    done: defer.Deferred[int] = defer.Deferred()

    def finish(status: int) -> None:
        if not done.called:
            done.callback(status)

    def fail(failure: Any) -> None:
        if not done.called:
            done.errback(failure)

    timer = None
    if args.for_ is not None:
        timer = reactor.callLater(args.for_, finish, int(codes.EXIT_OK))
    if args.calls:
        calls = defer.ensureDeferred(_placeCalls(reactor, server, args, out))
        # Without --for the run ends after the calls; a call that fails ends it anyway.
        calls.addCallbacks(finish if args.for_ is None else (lambda status: None), fail)
    # Without --calls nor --for, nothing fires done: it runs until interrupted.
    try:
        return await done
    finally:
        if timer is not None and timer.active():
            timer.cancel()
        await server.stopListening(drop=False)
        await server.closeSessions()
        server.dropAll()  # those that did not close in time
