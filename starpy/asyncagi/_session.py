"""One channel in ``AGI(agi:async)``, driven over AMI (private:
``starpy.asyncagi`` re-exports :class:`AsyncAGISession`)."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterator,
    Optional,
    cast,
)

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy.agi import AGISession, QueuedCommand
from starpy.asyncagi._common import COMMAND_HEADER, log
from starpy.codec.agi import (
    decodeAsyncValue,
    dialplanArguments,
    encodeCommandLine,
    parseReplyText,
)
from starpy.codec.ami import MAX_LINE_BYTES, Message
from starpy.error import AsyncAGIRejected  # defined there; exported here too
from starpy.trace import WireTracer

if TYPE_CHECKING:  # pragma: no cover - names for annotations only
    from starpy.asyncagi._dispatcher import AsyncAGIDispatcher


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
        size = len(encodeCommandLine(line)) - 1 + len(COMMAND_HEADER)
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
            self.endSession("AsyncAGI session finished", hungUp=False)

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
            self.endSession("AMI connection lost", hungUp=False)
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

    def execReceived(self, commandID: str, event: Message) -> None:
        command = self.commands.inFlight
        if command is None or command.tag != commandID:
            log.debug("%s: AsyncAGIExec for %s dropped: not in flight", self.channelName,
                      commandID)
            return
        result: Any
        encoded = event.get("result")
        text = "" if encoded is None else decodeAsyncValue(encoded)
        try:
            if encoded is None:
                raise error.AGIProtocolError("AsyncAGIExec without Result: %r" % (event,))
            result = parseReplyText(text)
        except error.AGIProtocolError:
            result = Failure()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: << %r", self.channelName, "(reply hidden)" if self.maskingActive else text)
        self._complete(command, result)

    def _complete(self, command: QueuedCommand, result: Any) -> None:
        """*command* is answered (or failed): forget its CommandID, then pass it on."""
        if command.tag is not None:
            self._dispatcher.forgetCommand(command.tag)
        self.commands.complete(command, result)

    def endSession(self, reason: str, hungUp: bool) -> None:
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
