"""AsyncAGI: AGI sessions carried over the AMI connection.

A channel that runs ``AGI(agi:async)`` waits for commands sent with
``Action: AGI``; Asterisk announces it with an ``AsyncAGIStart`` event and
reports each command's outcome in an ``AsyncAGIExec`` event.  Here each such
channel becomes an :class:`AsyncAGISession`, an
:class:`AGISession <starpy.agi.AGISession>` with exactly the command API of FastAGI, so
handlers, ``InSequence`` and menus run unchanged::

    from starpy import asyncagi

    async def main(agi):
        await agi.answer()
        await agi.streamFile("hello-world")
        # returning finishes the session: ASYNCAGI BREAK, the dialplan goes on

    dispatcher = asyncagi.AsyncAGIDispatcher(ami, main, context="asyncagi")
    dispatcher.startService()          # registers the AMI event handlers
    ...
    dispatcher.stopService()           # cancels them again

and in ``extensions.conf``::

    exten => 300,1,Answer()
     same => n,AGI(agi:async)

:meth:`AsyncAGIDispatcher.originate` places a call into ``AGI(agi:async)``
and fires with the session of that very call.

How the wire is read (see ``WIRE.md``):

* each command is sent with a fresh ``CommandID``; it completes on the
  ``AsyncAGIExec`` event carrying that id (as ``CommandId``, the last
  header), whose URL-decoded ``Result`` is parsed by the AGI codec
  (:func:`starpy.codec.agi.parseReplyText`: multi-line 520 usage, ``100
  Trying`` then ``200`` for GOSUB).  ``AGIExecStart``/``AGIExecEnd`` carry an
  id of Asterisk's own and are ignored;
* one command is in flight per channel; the others wait in order;
* ``Response: Error`` to ``Action: AGI`` fails the command with
  :class:`AsyncAGIRejected` carrying Asterisk's message;
* ``AsyncAGIEnd``, the channel's ``Hangup``, or the loss of the AMI
  connection ends the session: commands still waiting fail with
  :class:`AGIHangup <starpy.error.AGIHangup>`; ``HangupRequest`` (which Asterisk sends
  before ``AsyncAGIEnd`` when the channel hangs up) marks it hung up;
* the Asterisk 11 form (``Event: AsyncAGI`` with ``SubEvent: Start``,
  ``Exec`` or ``End``) is understood too.

Every AMI client logged in with the ``agi`` read class sees every
``AsyncAGIStart``: give each dispatcher its own *context*/*extension* so
that only one of them runs a handler for a channel.
"""
from __future__ import annotations

import itertools
import logging
import uuid
from contextlib import contextmanager
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Union,
    cast,
)
from urllib.parse import quote, unquote

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy.agi import AGISession, Handler, QueuedCommand, runHandler
from starpy.amiactions import appArguments
from starpy.codec.agi import (
    dialplanArguments,
    encodeCommandLine,
    parseEnvironment,
    parseReplyText,
)
from starpy.codec.ami import MAX_LINE_BYTES, Message
from starpy.dispatch import HandleGroup
from starpy.error import AsyncAGIRejected  # defined there; exported here too
from starpy.interfaces import IAMIConnection, clockOf, currentConnection
from starpy.originate import newChannelId
from starpy.trace import WireTracer

__all__ = [
    "MAX_ORIGINATE_ARGUMENTS",
    "ORIGINATE_ARGUMENTS_BUDGET",
    "AsyncAGISession",
    "AsyncAGIDispatcher",
    "AsyncAGIRejected",
    "Handler",
    "EVENTS",
    "log",
]

log = logging.getLogger("starpy.asyncagi")


_COMMAND_HEADER = "Command: "

#: The AMI events a running dispatcher listens to.
EVENTS = ("AsyncAGIStart", "AsyncAGIExec", "AsyncAGIEnd", "AsyncAGI", "HangupRequest",
          "Hangup", "Rename")


MAX_ORIGINATE_ARGUMENTS = 126
"""Most *arguments* :meth:`AsyncAGIDispatcher.originate` passes: ``AGI()``
splits its data into at most 128 pieces (``MAX_ARGS``), the script name
first, and leaves the 128th unsplit and unescaped."""

ORIGINATE_ARGUMENTS_BUDGET = 512
"""Most bytes the ``agi_arg_N: value`` lines of the arguments may take.
Asterisk reads the whole AsyncAGI environment with one 1024-byte read (and
URL-encodes it into 2048 bytes): the fixed ``agi_*`` lines take about 450
of them, and whatever does not fit is cut, the rest then read as the
first command's result."""


def _agiData(arguments: Sequence[Any]) -> str:
    """``agi:async`` and *arguments*, escaped for Asterisk's argument parser.

    :raises ValueError: too many arguments, arguments too long for the
        AsyncAGI environment, or one holds NUL, CR or LF.
    """
    texts = [argument if isinstance(argument, str) else str(argument) for argument in arguments]
    if len(texts) > MAX_ORIGINATE_ARGUMENTS:
        raise error.LocalProtocolError("AsyncAGI originate takes at most %d arguments (%d given): AGI()"
                         " leaves the rest unsplit" % (MAX_ORIGINATE_ARGUMENTS, len(texts)))
    data = appArguments(["agi:async"] + texts, "AsyncAGI argument")
    lines = "".join("agi_arg_%d: %s\n" % (number, text)
                    for number, text in enumerate(texts, 1)).encode("utf-8", "surrogateescape")
    encoded = len(quote(lines, safe=""))
    if len(lines) > ORIGINATE_ARGUMENTS_BUDGET or encoded > 2 * ORIGINATE_ARGUMENTS_BUDGET:
        raise error.LocalProtocolError("AsyncAGI originate arguments take %d bytes of the AGI environment"
                         " (%d URL-encoded); at most %d (%d) fit: Asterisk would cut them"
                         % (len(lines), encoded, ORIGINATE_ARGUMENTS_BUDGET,
                            2 * ORIGINATE_ARGUMENTS_BUDGET))
    return data


class AsyncAGISession(AGISession):
    """One channel in ``AGI(agi:async)``: every AGI command, sent over AMI.

    Made by an :class:`AsyncAGIDispatcher`; do not build it yourself.

    :ivar variables: the ``agi_*`` environment (URL-decoded ``Env``), keys
        lower-case, as for FastAGI.
    :ivar arguments: the dialplan arguments (``AGI(agi:async,a,b)``).
    :ivar uniqueid: the channel's ``Uniqueid``.
    :ivar channel: the channel's name (renames are followed).
    :ivar linkedid: the ``Linkedid`` of the call (``None`` before Asterisk 12).
    :ivar context: the context the channel ran ``AGI()`` in.
    :ivar extension: the extension it ran ``AGI()`` in.
    :ivar startEvent: the ``AsyncAGIStart`` (or old ``AsyncAGI``) event.
    :ivar ami: the AMI protocol the session's commands go through.

    Each command line goes out with ``Action: AGI`` once the commands
    before it are answered; its Deferred fires with the reply parsed from
    the matching ``AsyncAGIExec``.  Besides the failures of every session,
    a line the ``Command`` header cannot carry fails with ``ValueError``,
    nothing sent (:meth:`checkCommandLine`), and a command fails with
    :class:`AsyncAGIRejected` on ``Response: Error``,
    :class:`AGIProtocolError <starpy.error.AGIProtocolError>` on an
    unreadable ``Result``, or the AMI failure (:class:`AMITimeout
    <starpy.error.AMITimeout>` when Asterisk did not acknowledge the
    action).
    """

    handlerLog = log
    transportName = "AsyncAGI"
    sendQueuedAfterHangup = False

    def __init__(self, dispatcher: "AsyncAGIDispatcher", ami: Any, startEvent: Message,
                 variables: Dict[str, str], clock: Optional[IReactorTime]) -> None:
        AGISession.__init__(self, clock, self._sendAction)
        self.variables = variables
        self.startEvent = startEvent
        self.ami = ami
        self.uniqueid: str = startEvent.get("uniqueid") or variables.get("agi_uniqueid", "")
        self.channel: str = startEvent.get("channel") or variables.get("agi_channel", "")
        self.linkedid: Optional[str] = startEvent.get("linkedid")
        self.context: str = startEvent.get("context") or variables.get("agi_context", "")
        self.extension: str = startEvent.get("exten") or variables.get("agi_extension", "")
        self.arguments = dialplanArguments(variables)
        self._dispatcher = dispatcher

    def __repr__(self) -> str:
        return "<AsyncAGISession %s (%s)%s>" % (
            self.channel, self.uniqueid, " closed" if self.closed else "")

    @property
    def channelName(self) -> str:
        """The channel's name (renames followed), for logs."""
        return self.channel or "AsyncAGI"

    # -- AGISession -------------------------------------------------------------

    def checkCommandLine(self, line: str) -> Optional[bytes]:
        r"""Refuse a line ``Action: AGI`` cannot carry whole.

        The command travels as the action's ``Command`` header, which
        Asterisk copies whole (no AGI buffer is involved), but the AMI line
        ``Command: <line>`` must fit in :data:`MAX_LINE_BYTES
        <starpy.codec.ami.MAX_LINE_BYTES>` bytes (1022, its CRLF aside): 1013
        bytes of command at most.

        :raises ValueError: the line holds CR, LF or NUL, or is too long.
        """
        size = len(encodeCommandLine(line)) - 1 + len(_COMMAND_HEADER)
        if size > MAX_LINE_BYTES:
            raise error.LocalProtocolError(
                "AsyncAGI command too long: its AMI line 'Command: ...' would be %d bytes, "
                "and Asterisk reads AMI lines of at most %d bytes (%d with CRLF): %r..."
                % (size, MAX_LINE_BYTES, MAX_LINE_BYTES + 2, line[:60]))
        return None

    def finish(self) -> None:
        """Hand the channel back to the dialplan (``ASYNCAGI BREAK``).

        Queued commands fail with :class:`AGIHangup <starpy.error.AGIHangup>`; the
        command in flight still completes.  The session ends when Asterisk
        sends ``AsyncAGIEnd`` (:meth:`whenClosed <starpy.agi.AGISession.whenClosed>`
        fires then), or at once if Asterisk refuses the break.  On a channel known to have hung up no
        break is sent: Asterisk ends AsyncAGI itself.  Idempotent.
        """
        if not self.beginFinish("AsyncAGI session finished"):
            return
        if self.hungUp:
            return  # Asterisk ends AsyncAGI on a hung-up channel by itself

        def breakFailed(reason: Failure) -> None:
            log.debug("%s: ASYNCAGI BREAK failed: %s", self.channelName,
                      reason.getErrorMessage())
            self._end("AsyncAGI session finished", hungUp=False)

        self.commands.submit("ASYNCAGI BREAK").addCallbacks(lambda reply: None, breakFailed)

    # -- internals ---------------------------------------------------------------

    def _sendAction(self, command: QueuedCommand) -> None:
        """The session queue's transmit function: send ``Action: AGI``."""
        commandID = command.tag = self._dispatcher.trackCommand(self)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: >> %s (CommandID %s)", self.channelName, command.line, commandID)
        try:
            sent: Deferred[Any] = self.ami.sendAction(
                "AGI", [("Channel", self.channel), ("Command", command.line),
                        ("CommandID", commandID)])
        except Exception:
            sent = defer.fail(Failure())
        sent.addCallbacks(self._accepted, self._notAccepted,
                          callbackArgs=(command,), errbackArgs=(command,))

    def _accepted(self, response: Message, command: QueuedCommand) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s queued by Asterisk", self.channelName, command.tag)

    def _notAccepted(self, reason: Failure, command: QueuedCommand) -> None:
        if self.commands.inFlight is not command:
            return  # answered or ended meanwhile
        if reason.check(error.AMIConnectionLost):
            self._end("AMI connection lost", hungUp=False)
            return
        if reason.check(error.AMICommandFailure):
            failed = cast(error.AMICommandFailure, reason.value)
            reason = Failure(AsyncAGIRejected(command.line, failed.message, failed.response))
        self._complete(command, reason)

    @contextmanager
    def maskingReplies(self) -> Iterator[None]:
        """As :meth:`AGISession.maskingReplies`; the AMI connection's wire
        trace also hides the ``Result`` of replies and the ``Digit`` of DTMF
        events meanwhile (they spell the keys pressed)."""
        tracer = getattr(self.ami, "tracer", None)
        reveal = tracer.hide("Result", "Digit") if isinstance(tracer, WireTracer) else None
        try:
            with AGISession.maskingReplies(self):
                yield
        finally:
            if reveal is not None:
                reveal()

    def _execReceived(self, commandID: str, event: Message) -> None:
        command = self.commands.inFlight
        if command is None or command.tag != commandID:
            log.debug("%s: AsyncAGIExec for %s dropped: not in flight", self.channelName,
                      commandID)
            return
        result: Any
        encoded = event.get("result")
        try:
            if encoded is None:
                raise error.AGIProtocolError("AsyncAGIExec without Result: %r" % (event,))
            result = parseReplyText(unquote(encoded))
        except error.AGIProtocolError:
            result = Failure()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: << %r", self.channelName,
                      "(reply hidden)" if self.maskingActive else unquote(encoded or ""))
        self._complete(command, result)

    def _complete(self, command: QueuedCommand, result: Any) -> None:
        """*command* is answered (or failed): forget its CommandID, then pass it on."""
        if command.tag is not None:
            self._dispatcher.forgetCommand(command.tag)
        self.commands.complete(command, result)

    def _end(self, reason: str, hungUp: bool) -> None:
        """The session is over: fail what waits with AGIHangup(*reason*)."""
        if self.closed:
            return
        inFlight = self.commands.inFlight  # the one command with a CommandID
        if inFlight is not None and inFlight.tag is not None:
            self._dispatcher.forgetCommand(inFlight.tag)
        self._dispatcher.sessionEnded(self)
        log.debug("%s: AsyncAGI session ended: %s", self.channelName, reason)
        if hungUp:
            self.hangupReceived()
        self.sessionClosed(reason)


def _names(value: Union[str, Iterable[str], None]) -> Optional[FrozenSet[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


class AsyncAGIDispatcher(Service):
    """Turn each channel entering ``AGI(agi:async)`` into a session.

    Like :class:`FastAGIFactory <starpy.fastagi.FastAGIFactory>`, but fed by AMI events.
    It is a Twisted service: :meth:`startService` registers its event
    handlers on *ami*, :meth:`stopService` cancels them and ends the
    sessions it holds (without touching the channels).

    :param ami: a logged-in :class:`AMIProtocol <starpy.manager.AMIProtocol>`, or an
        :class:`AMIService <starpy.manager.AMIService>` (registrations then survive
        reconnections; each session speaks through the connection that
        announced it and ends if that connection is lost).
    :param mainFunction: called with each new :class:`AsyncAGISession`; may
        return a value, a Deferred or be an ``async def``.  When its Deferred
        (or coroutine) completes, the session is finished
        (``ASYNCAGI BREAK``); when it fails, the failure is logged with its
        traceback and the session finished.  A plain return value leaves the
        session open: such a handler finishes it itself.  ``None``: only
        sessions of :meth:`originate` are taken.
    :param context: only channels in this context (or one of these) go to
        *mainFunction*; ``None``: any.
    :param extension: likewise for the extension.
    :param clock: the clock for timeouts and ``agi.wait``; default the AMI
        protocol's (or the service's factory's reactor).

    :ivar sessions: the open sessions by ``Uniqueid``.
    """

    def __init__(
        self,
        ami: Any,
        mainFunction: Optional[Handler] = None,
        context: Union[str, Iterable[str], None] = None,
        extension: Union[str, Iterable[str], None] = None,
        clock: Optional[IReactorTime] = None,
    ) -> None:
        self.ami = ami
        self.mainFunction = mainFunction
        self.contexts = _names(context)
        self.extensions = _names(extension)
        if clock is None:
            clock = clockOf(ami)
        self.clock: Optional[IReactorTime] = clock
        self.sessions: Dict[str, AsyncAGISession] = {}
        self._byName: Dict[str, str] = {}
        self._commands: Dict[str, AsyncAGISession] = {}
        self._waiters: Dict[str, Deferred[AsyncAGISession]] = {}
        self._registration: Optional[HandleGroup] = None
        self._watched: Dict[int, Deferred[None]] = {}
        self._prefix = "starpy-%s-" % (uuid.uuid4().hex[:12],)
        self._counter = itertools.count(1)

    def __repr__(self) -> str:
        return "<AsyncAGIDispatcher %s, %d sessions>" % (
            "running" if self.running else "stopped", len(self.sessions))

    # -- the service -----------------------------------------------------------

    def startService(self) -> None:
        """Register the AMI event handlers (idempotent)."""
        if self._registration is not None:
            return
        Service.startService(self)
        handlers: Sequence[tuple[str, Callable[[Any, Message], None]]] = (
            ("AsyncAGIStart", self._onStart),
            ("AsyncAGIExec", self._onExec),
            ("AsyncAGIEnd", self._onEnd),
            ("AsyncAGI", self._onOldForm),
            ("HangupRequest", self._onHangupRequest),
            ("Hangup", self._onHangup),
            ("Rename", self._onRename),
        )
        self._registration = HandleGroup([self.ami.registerEvent(name, handler)
                                     for name, handler in handlers])

    def stopService(self) -> Deferred[None]:
        """Cancel the event handlers; end the sessions held (their waiting
        commands fail with :class:`AGIHangup <starpy.error.AGIHangup>`) and cancel the
        :meth:`originate` calls still waiting.  The channels stay in
        AsyncAGI.  Returns a Deferred that has fired (with ``None``)."""
        registration, self._registration = self._registration, None
        if registration is not None:
            registration.cancel()
        if self.running:
            Service.stopService(self)
        for session in list(self.sessions.values()):
            session._end("AsyncAGI dispatcher stopped", hungUp=False)
        watched, self._watched = self._watched, {}
        for whenClosed in watched.values():
            whenClosed.cancel()  # leave no waiter on the AMI protocol
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.cancel()
        return defer.succeed(None)

    # -- originate ---------------------------------------------------------------

    def originate(
        self,
        channel: str,
        timeout: float = 60.0,
        channelId: Optional[str] = None,
        arguments: Sequence[str] = (),
        ringTimeout: Optional[float] = None,
        callerid: Optional[str] = None,
        variable: Union[Mapping[str, Any], Iterable[str], None] = None,
        account: Optional[str] = None,
        otherChannelId: Optional[str] = None,
    ) -> Deferred[AsyncAGISession]:
        """Call *channel* and run ``AGI(agi:async)`` on it once it answers.

        Sends ``Originate`` with ``Application: AGI``, ``Data: agi:async``
        (plus *arguments*), ``Async: true`` and ``ChannelId`` set to
        *channelId* (default: a fresh unique id), then waits for the
        ``AsyncAGIStart`` of the channel with that ``Uniqueid``.  That
        session goes to the caller, not to *mainFunction*.

        :param arguments: the session's :attr:`AsyncAGISession.arguments`,
            each escaped for Asterisk's argument parser so that it arrives
            exactly as given (a comma, quote or backslash included).  At
            most :data:`MAX_ORIGINATE_ARGUMENTS`, taking at most
            :data:`ORIGINATE_ARGUMENTS_BUDGET` bytes of the environment;
            more, or a NUL, CR or LF, fails with ``ValueError`` and sends
            nothing.
        :param variable: channel variables, as for
            :meth:`originate <starpy.manager.AMIProtocol.originate>` (escaped too).
        :param timeout: seconds to wait for the session, in all.
        :param ringTimeout: seconds the channel may ring (``Timeout``).
        :return: a Deferred firing with the :class:`AsyncAGISession` of the
            call; failing with :class:`AMIOriginateFailure <starpy.error.AMIOriginateFailure>`
            (not answered, busy...), :class:`AMICommandFailure <starpy.error.AMICommandFailure>`,
            :class:`AMIConnectionLost <starpy.error.AMIConnectionLost>`,
            :class:`AMITimeout <starpy.error.AMITimeout>` after *timeout*, or
            ``CancelledError`` when the dispatcher stops first.
            Cancelling it stops waiting (the call may still go ahead).
        """
        if not self.running:
            return defer.fail(RuntimeError("the AsyncAGI dispatcher is not running"))
        ami = self._currentProtocol()
        if ami is None:
            return defer.fail(error.AMIConnectionLost("Originate", "not logged in"))
        tag = channelId or newChannelId()
        if tag in self._waiters or tag in self.sessions:
            return defer.fail(error.LocalProtocolError("channelId %r is already in use" % (tag,)))
        try:
            data = _agiData(arguments)
        except ValueError as e:
            return defer.fail(e)
        action: List[Deferred[Any]] = []

        def cancel(waiting: Deferred[AsyncAGISession]) -> None:
            if self._waiters.get(tag) is waiting:
                del self._waiters[tag]
            if action and not action[0].called:
                action[0].cancel()

        waiter: Deferred[AsyncAGISession] = Deferred(cancel)
        self._waiters[tag] = waiter
        try:
            sent: Deferred[Any] = ami.originate(
                channel, application="AGI", data=data, asynchronous=True, channelId=tag,
                otherChannelId=otherChannelId, timeout=ringTimeout, callerid=callerid,
                variable=variable, account=account)
        except Exception:
            sent = defer.fail(Failure())
        action.append(sent)

        def failed(reason: Failure) -> None:
            if self._waiters.get(tag) is waiter:
                del self._waiters[tag]
                waiter.errback(reason)
            elif not reason.check(defer.CancelledError):
                log.debug("originate of %s failed after its session: %s", channel,
                          reason.getErrorMessage())

        sent.addCallbacks(lambda response: None, failed)

        def timedOut(result: Any, seconds: float) -> Failure:
            return Failure(error.AMITimeout("Originate into AsyncAGI", seconds))

        if self.clock is not None and not waiter.called:
            waiter.addTimeout(timeout, self.clock, onTimeoutCancel=timedOut)
        return waiter

    # -- event handlers ----------------------------------------------------------

    def _onStart(self, ami: Any, event: Message) -> None:
        self._start(ami, event)

    def _onExec(self, ami: Any, event: Message) -> None:
        ids = event.getAll("commandid")
        if not ids:
            return  # a command sent without CommandID: not ours
        commandID = ids[-1]
        session = self._commands.get(commandID)
        if session is not None:
            session._execReceived(commandID, event)

    def _onEnd(self, ami: Any, event: Message) -> None:
        session = self._find(event)
        if session is not None:
            session._end("AsyncAGI ended (AsyncAGIEnd)", hungUp=False)

    def _onOldForm(self, ami: Any, event: Message) -> None:
        sub = event.get("subevent", "").lower()
        if sub == "start":
            self._onStart(ami, event)
        elif sub == "exec":
            self._onExec(ami, event)
        elif sub == "end":
            self._onEnd(ami, event)

    def _onHangupRequest(self, ami: Any, event: Message) -> None:
        # Asterisk sends it before AsyncAGIEnd when the channel hangs up.
        session = self._find(event)
        if session is not None:
            session.hangupReceived()

    def _onHangup(self, ami: Any, event: Message) -> None:
        session = self._find(event)
        if session is not None:
            session._end("channel hung up", hungUp=True)

    def _onRename(self, ami: Any, event: Message) -> None:
        session = self._find(event)
        newName = event.get("newname")
        if session is not None and newName:
            self._byName.pop(session.channel, None)
            session.channel = newName
            self._byName[newName] = session.uniqueid

    # -- internals ---------------------------------------------------------------

    def _find(self, event: Message) -> Optional[AsyncAGISession]:
        uniqueid = event.get("uniqueid")
        if uniqueid is None:
            uniqueid = self._byName.get(event.get("channel", ""))
        return self.sessions.get(uniqueid) if uniqueid is not None else None

    def _wanted(self, session: AsyncAGISession) -> bool:
        if self.contexts is not None and session.context not in self.contexts:
            return False
        if self.extensions is not None and session.extension not in self.extensions:
            return False
        return True

    def _start(self, ami: Any, event: Message) -> None:
        try:
            variables = parseEnvironment(unquote(event.get("env", "")))
        except error.AGIProtocolError as e:
            log.warning("AsyncAGIStart with an unreadable Env ignored: %s", e)
            return
        session = AsyncAGISession(self, ami, event, variables, self.clock)
        if not session.uniqueid or not session.channel:
            log.warning("AsyncAGIStart without channel or Uniqueid ignored: %r", event)
            return
        waiter = self._waiters.pop(session.uniqueid, None)
        if waiter is None and (self.mainFunction is None or not self._wanted(session)):
            return  # someone else's channel
        previous = self.sessions.get(session.uniqueid)
        if previous is not None:
            previous._end("AsyncAGI restarted on the channel", hungUp=False)
        self.sessions[session.uniqueid] = session
        self._byName[session.channel] = session.uniqueid
        self._watch(ami)
        log.debug("%s: AsyncAGI session started", session.channel)
        if waiter is not None:
            waiter.callback(session)
        else:
            self._run(session)

    def _run(self, session: AsyncAGISession) -> None:
        assert self.mainFunction is not None
        runHandler(session, self.mainFunction)

    def _watch(self, ami: Any) -> None:
        """End the sessions of *ami* when that connection closes."""
        if not IAMIConnection.providedBy(ami) or id(ami) in self._watched:
            return
        waiting: Deferred[None] = ami.whenClosed()

        def closed(ignored: object) -> None:
            if self._watched.get(id(ami)) is waiting:
                del self._watched[id(ami)]
            for session in list(self.sessions.values()):
                if session.ami is ami:
                    session._end("AMI connection lost", hungUp=False)

        if not waiting.called:
            self._watched[id(ami)] = waiting
        waiting.addCallbacks(closed, lambda reason: reason.trap(defer.CancelledError))

    # -- what sessions call ---------------------------------------------------------

    def trackCommand(self, session: AsyncAGISession) -> str:
        """A new ``CommandID`` whose ``AsyncAGIExec`` goes to *session*
        (until :meth:`forgetCommand`)."""
        commandID = self._newCommandID()
        self._commands[commandID] = session
        return commandID

    def forgetCommand(self, commandID: str) -> None:
        """The command *commandID* is answered or given up: its
        ``AsyncAGIExec`` goes nowhere any more."""
        self._commands.pop(commandID, None)

    def sessionEnded(self, session: AsyncAGISession) -> None:
        """*session* is over: forget it (its channel may start AsyncAGI again)."""
        if self.sessions.get(session.uniqueid) is session:
            del self.sessions[session.uniqueid]
        if self._byName.get(session.channel) == session.uniqueid:
            del self._byName[session.channel]

    def _newCommandID(self) -> str:
        return "%s%d" % (self._prefix, next(self._counter))

    def _currentProtocol(self) -> Any:
        return currentConnection(self.ami)
