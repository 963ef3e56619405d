"""The command queue of one AGI session: one command in flight, the rest waiting.

:class:`CommandQueue` is the seam between an
:class:`AGISession <starpy.agi.AGISession>` and its transport.  The session
submits command lines; the transport gives the queue a function that puts
one command on the wire, and tells it when a reply arrived
(:meth:`CommandQueue.replyArrived`, or :meth:`CommandQueue.complete` for a
transport that matches replies itself, as AsyncAGI does by CommandID).
The queue sends the next command, applies the hangup policy and the
per-command deadline, and fails what waits when the session ends.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, List, Optional, Tuple, Union

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy.codec.agi import AGIReply, commandName, parseUsualReply

__all__ = ["DEAD_SAFE_COMMANDS", "isDeadSafe", "QueuedCommand", "CommandQueue", "NOT_CONVERTED"]

#: The commands Asterisk still runs on a hung-up channel: exactly those
#: res_agi marks so.
DEAD_SAFE_COMMANDS = frozenset(
    [
        "SPEECH DESTROY",
        "SPEECH UNLOAD GRAMMAR",
        "GET VARIABLE",
        "GET FULL VARIABLE",
        "DATABASE GET",
        "DATABASE PUT",
        "DATABASE DEL",
        "DATABASE DELTREE",
        "VERBOSE",
        "NOOP",
        "SET VARIABLE",
        "EXEC",
        "ASYNCAGI BREAK",
    ]
)


def isDeadSafe(line: str) -> bool:
    """Whether the command *line* still runs on a hung-up channel
    (:data:`DEAD_SAFE_COMMANDS`)."""
    return commandName(line) in DEAD_SAFE_COMMANDS


#: How a checked command's reply is turned into its result:
#: ``(convert, failOnMinusOne)``, see :class:`QueuedCommand`.
Check = Tuple[Optional[Callable[[AGIReply], Any]], bool]

#: What settles a checked command: called with the reply (or the Failure)
#: and the command, it returns the value its Deferred fires with (a
#: Failure to fail it); it never raises.  Given a string instead, the
#: command was not sent, and the string says so for the session's record.
Settle = Callable[[Any, "QueuedCommand"], Any]

#: What settles a checked command from its final reply line (``200
#: result=...``, see :meth:`CommandQueue.completeLine`): called with the
#: line and the command, it returns what *settle* would return for the
#: parsed reply, or :data:`NOT_CONVERTED` (then the queue parses the line
#: and calls *settle*); it never raises.
SettleLine = Callable[[str, "QueuedCommand"], Any]

#: What a *settleLine* function returns for a line it does not read.
NOT_CONVERTED: Any = object()

#: Unsent after a hangup: what the session's record says of such a command.
NOT_SENT_AFTER_HANGUP = "(not sent: the channel has hung up)"


class QueuedCommand:
    """A command line on its way: queued, in flight, then answered.

    :ivar line: the command line, without newline.
    :ivar deferred: fires with its :class:`AGIReply <starpy.codec.agi.AGIReply>`,
        or, for a checked command, with what the queue's *settle* function
        made of it.
    :ivar tag: what the transport needs to recognise the reply (AsyncAGI's
        CommandID), or ``None``.
    :ivar data: the line's bytes (newline included) as the session checked
        them, or ``None``: the transport encodes the line itself.
    :ivar check: for a command sent by one of the session's command methods,
        ``(convert, failOnMinusOne)``: its reply goes through the queue's
        *settle* function before ``deferred`` fires; ``None``: the reply
        itself is the result.
    """

    __slots__ = ("line", "deferred", "tag", "data", "check")

    def __init__(self, line: str, deferred: Deferred[Any],
                 data: Optional[bytes] = None, check: Optional[Check] = None) -> None:
        self.line = line
        self.deferred = deferred
        self.tag: Optional[str] = None
        self.data = data
        self.check = check

    def __repr__(self) -> str:
        return "<QueuedCommand %r%s>" % (self.line, "" if self.tag is None else " " + self.tag)


#: A command made without its ``__init__`` call: see :meth:`CommandQueue.submit`.
_newCommand: Callable[[type], Any] = object.__new__


def _transmitNothing(command: QueuedCommand) -> None:
    raise NotImplementedError("this AGI session's queue has no transmit function")


class CommandQueue:
    """The commands of one AGI session, in order: one in flight, the rest waiting.

    :param transmit: puts one command on the wire; the transport then calls
        :meth:`replyArrived` (or :meth:`complete`) with its reply.
    :param settle: turns the outcome of a checked command (its
        :class:`AGIReply <starpy.codec.agi.AGIReply>` or a Failure) into the
        value its Deferred fires with (see :data:`Settle`); the session's.
    :param expired: called with the command in flight and the timeout when
        it got no reply in time, before that command fails with
        :class:`AGICommandTimeout <starpy.error.AGICommandTimeout>`: the
        session ends itself there.
    :param sendWaitingAfterHangup: the hangup policy.  Whether a command
        queued before the channel hung up (:meth:`hangupReceived`) is still
        sent (Asterisk then answers it, ``511`` if a dead channel refuses
        it: FastAGI), or fails with :class:`AGIHangup <starpy.error.AGIHangup>`
        unsent unless it is dead-safe (:data:`DEAD_SAFE_COMMANDS`: AsyncAGI,
        whose channel is leaving AGI).

    :ivar inFlight: the command sent and not yet answered, or ``None``.
    :ivar hungUp: whether :meth:`hangupReceived` was called.
    :ivar closed: whether :meth:`failAll` was called: every later
        :meth:`submit` fails at once.
    """

    # (No instance dict: a queue per session, and the reply path reads it.)
    __slots__ = ("inFlight", "hungUp", "closed", "sendWaitingAfterHangup", "_waiting",
                 "_transmit", "_settle", "_settleLine", "_expired", "_canceller", "_timeout",
                 "_deadline", "_timer")

    def __init__(self, transmit: Optional[Callable[[QueuedCommand], None]] = None,
                 settle: Optional[Settle] = None,
                 expired: Optional[Callable[[QueuedCommand, float], None]] = None,
                 sendWaitingAfterHangup: bool = True,
                 settleLine: Optional[SettleLine] = None) -> None:
        self.inFlight: Optional[QueuedCommand] = None
        self.hungUp = False
        self.closed = False
        self.sendWaitingAfterHangup = sendWaitingAfterHangup
        self._waiting: Deque[QueuedCommand] = deque()
        self._transmit = transmit if transmit is not None else _transmitNothing
        self._settle = settle
        self._settleLine = settleLine
        # The canceller of every command's Deferred, bound once (728 to 724 M
        # instructions over 1,000 W3 sessions in bench/w3_driver.py); the
        # cycle it makes is broken by failAll().
        self._canceller: Optional[Callable[[Deferred[Any]], None]] = self.cancel
        self._expired = expired
        # The per-command deadline (setTimeout): one deadline, for the one
        # command in flight, checked by one timer that is re-armed only when
        # it fires before the deadline of the command then in flight.
        self._timeout: Optional[Tuple[float, IReactorTime]] = None
        self._deadline = 0.0
        self._timer: Optional[IDelayedCall] = None

    def __repr__(self) -> str:
        return "<CommandQueue %d pending%s>" % (self.pendingCount,
                                                " closed" if self.closed else "")

    @property
    def pendingCount(self) -> int:
        """How many commands are in flight or waiting."""
        return len(self._waiting) + (self.inFlight is not None)

    # -- submitting ----------------------------------------------------------

    def submit(self, line: str, data: Optional[bytes] = None,
               check: Optional[Check] = None) -> Deferred[Any]:
        """Queue the command *line*: it goes out now if nothing is in flight,
        else once the commands before it are answered.

        :param data: the line's checked bytes, newline included (see
            :attr:`QueuedCommand.data`).
        :param check: see :attr:`QueuedCommand.check`.
        :return: a Deferred firing with its reply (see
            :attr:`QueuedCommand.deferred`); failing at once with
            :class:`AGIHangup <starpy.error.AGIHangup>` if the queue is
            closed.  Cancelling it removes a waiting command; one in flight
            cannot be unsent (its reply is then dropped).
        """
        if self.closed:
            return defer.fail(error.AGIHangup(line, None, "AGI session has ended"))
        # Made without an __init__ call: one Python frame less per command
        # (856 to 852 M instructions over 1,000 W3 sessions in
        # bench/w3_driver.py, PYTHONHASHSEED=0).
        command: QueuedCommand = _newCommand(QueuedCommand)
        command.line = line
        command.deferred = Deferred(self._canceller)
        command.tag = None
        command.data = data
        command.check = check
        if self.inFlight is None:
            self.inFlight = command
            if self._timeout is not None:
                self._armDeadline()
            transmit = self._transmit  # (a slot read, then a call: specialised)
            transmit(command)
        else:
            self._waiting.append(command)
        return command.deferred

    def _transmitNext(self) -> None:
        waiting = self._waiting
        while waiting and not self.closed and self.inFlight is None:
            command = waiting.popleft()
            if self.hungUp and not self.sendWaitingAfterHangup and not isDeadSafe(command.line):
                self._fail(command, error.AGIHangup(command.line, None, "channel has hung up"),
                           NOT_SENT_AFTER_HANGUP)
                continue
            self.inFlight = command
            if self._timeout is not None:
                self._armDeadline()
            self._transmit(command)

    # -- replies -------------------------------------------------------------

    def replyArrived(self, result: Union[AGIReply, Failure]) -> bool:
        """The reply (or a Failure) to the command in flight arrived.

        :return: false if no command was in flight (the reply answers nothing).
        """
        command = self.inFlight
        if command is None:
            return False
        self.complete(command, result)
        return True

    def complete(self, command: QueuedCommand, result: Union[AGIReply, Failure]) -> None:
        """*command* got its reply (or failed with the Failure *result*):
        send the next command, then fire *command*'s Deferred.

        A command that is no longer tracked (cancelled, failed when the
        session ended) is left alone.
        """
        if self.inFlight is command:
            self.inFlight = None
            if self._waiting:
                self._transmitNext()
        deferred = command.deferred
        if deferred.called:
            return  # cancelled by its caller, or failed already
        if command.check is not None:
            settle = self._settle
            if settle is not None:
                result = settle(result, command)
        # Given a Failure, callback is errback (Twisted documents it): no
        # test for one (887 to 881 M instructions over 1,000 W3 sessions in
        # bench/w3_driver.py).
        deferred.callback(result)

    def completeLine(self, command: QueuedCommand, line: str) -> None:
        """*command* got the final reply *line*: one ``200 result=`` line,
        without CR or newline, read with no ``100`` line before it
        (:meth:`AGIDecoder.usualReplyLine
        <starpy.codec.agi.AGIDecoder.usualReplyLine>`).  The same as
        :meth:`complete` with the parsed reply
        (:func:`parseUsualReply <starpy.codec.agi.parseUsualReply>`), but a
        checked command's line goes to the *settleLine* function unparsed:
        it converts the usual replies from the text.
        """
        settleLine = self._settleLine
        if command.check is None or settleLine is None:
            self.complete(command, parseUsualReply(line))
            return
        if self.inFlight is command:
            self.inFlight = None
            if self._waiting:
                self._transmitNext()
        deferred = command.deferred
        if not deferred.called:
            value = settleLine(line, command)
            if value is NOT_CONVERTED:
                value = self._settle(parseUsualReply(line), command)  # type: ignore[misc]
            deferred.callback(value)

    def cancel(self, waiting: Deferred[Any]) -> None:
        """The canceller of every command's Deferred: forget a waiting
        command; one in flight stays (its reply will be dropped)."""
        command = self.inFlight
        if command is None or command.deferred is not waiting:
            for queued in self._waiting:
                if queued.deferred is waiting:
                    command = queued
                    self._waiting.remove(queued)
                    break
            else:
                return
        settle = self._settle
        if command.check is not None and settle is not None:
            settle(Failure(defer.CancelledError()), command)  # noted; Deferred fails itself

    # -- the hangup policy ---------------------------------------------------------

    def hangupReceived(self) -> None:
        """The channel hung up: from now on the waiting commands go out only
        as :attr:`sendWaitingAfterHangup` says."""
        self.hungUp = True

    # -- ending ------------------------------------------------------------------

    def dropWaiting(self, reason: str) -> None:
        """Fail the waiting commands (not the one in flight) with
        :class:`AGIHangup <starpy.error.AGIHangup>` (*reason*)."""
        if not self._waiting:
            return  # the usual finish: nothing waits
        waiting = list(self._waiting)
        self._waiting.clear()
        for command in waiting:
            if not command.deferred.called:
                self._fail(command, error.AGIHangup(command.line, None, reason))

    def failAll(self, reason: str) -> None:
        """Close the queue: the commands in flight and waiting fail with
        :class:`AGIHangup <starpy.error.AGIHangup>` (*reason*), and so does
        every later :meth:`submit`.  The transport's and the session's
        functions are let go (no reference cycle outlives the session)."""
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._stopDeadline()
        if self.inFlight is not None or self._waiting:
            pending: List[QueuedCommand] = []
            if self.inFlight is not None:
                pending.append(self.inFlight)
                self.inFlight = None
            pending.extend(self._waiting)
            self._waiting.clear()
            for command in pending:
                if not command.deferred.called:
                    self._fail(command, error.AGIHangup(command.line, None, reason))
        self._transmit = _transmitNothing
        self._settle = self._settleLine = self._expired = self._canceller = None

    def _fail(self, command: QueuedCommand, reason: BaseException,
              note: Optional[str] = None) -> None:
        failure = Failure(reason)
        settle = self._settle
        if command.check is not None and settle is not None:
            settle(failure if note is None else note, command)
        command.deferred.errback(failure)

    # -- the per-command deadline ------------------------------------------------

    @property
    def timeout(self) -> Optional[float]:
        """Seconds a command in flight may wait for its reply, or ``None``."""
        return None if self._timeout is None else self._timeout[0]

    def setTimeout(self, seconds: Optional[float], clock: Optional[IReactorTime]) -> None:
        """Give each command in flight *seconds* (``None``: no limit) on
        *clock* to get its reply; a command in flight now gets it from now."""
        self._stopDeadline()
        if seconds is None or clock is None:
            self._timeout = None
            return
        self._timeout = (seconds, clock)
        if self.inFlight is not None and not self.closed:
            self._armDeadline()

    def _armDeadline(self) -> None:
        assert self._timeout is not None
        seconds, clock = self._timeout
        self._deadline = clock.seconds() + seconds
        if self._timer is None:
            self._timer = clock.callLater(seconds, self._checkDeadline, self._timeout)

    def _checkDeadline(self, timeout: Tuple[float, IReactorTime]) -> None:
        self._timer = None
        command = self.inFlight
        if command is None or self.closed or self._timeout is not timeout:
            return
        seconds, clock = timeout
        left = self._deadline - clock.seconds()
        if left > 0:  # a later command is in flight: wait for its deadline
            self._timer = clock.callLater(left, self._checkDeadline, timeout)
            return
        self.inFlight = None
        settle, expired = self._settle, self._expired
        if expired is not None:
            expired(command, seconds)
        if not command.deferred.called:
            failure = Failure(error.AGICommandTimeout(
                command.line, None, "no reply within %g seconds" % (seconds,)))
            if command.check is not None and settle is not None:
                settle(failure, command)
            command.deferred.errback(failure)
        if expired is None and self._waiting:
            self._transmitNext()  # no session to end: go on with the next

    def _stopDeadline(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
