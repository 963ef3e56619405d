"""The AGI session: lifecycle, the command queue it owns, history, tracing, observers.

:class:`AGISession` is the session core plus the command methods of
:class:`ChannelCommands <starpy.agi._commands.ChannelCommands>` and
:class:`MediaCommands <starpy.agi._mediacommands.MediaCommands>` and upstream's
result helpers.  Private to :mod:`starpy.agi`, which re-exports it.
"""
from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections import deque
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Set, Tuple, cast

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from starpy import error
from starpy._idioms import OneShot, Waiters, defaultReactor
from starpy.agi._arguments import (
    FITS_EVERY_ASTERISK,
    LINES,
    LINES_KEPT,
    cachedLine,
    plainArguments,
    replaceableOnInstances,
)
from starpy.agi._commands import ChannelCommands
from starpy.agi._mediacommands import MediaCommands
from starpy.agi._queue import DEAD_SAFE_COMMANDS, NOT_CONVERTED, CommandQueue, QueuedCommand
from starpy.agi._results import (
    UpstreamResultHelpers,
    failureText,
    lineConversion,
    maskReply,
    resultInt,
)
from starpy.codec.agi import (
    ENCODING,
    ENCODING_ERRORS,
    AGIReply,
    Argument,
    encodeCommandLine,
    formatCommand,
    maxCommandBytes,
    usualResultInt,
)
from starpy.trace import WireTracer

__all__ = ["AGISession"]

log = logging.getLogger("starpy.agi")


def checkCommandTimeout(seconds: Optional[float]) -> None:
    """Refuse a command timeout (:attr:`AGISession.commandTimeout`) that is
    not ``None`` nor a finite number of seconds above 0.

    :raises TypeError: not a number (``bool`` included).
    :raises ValueError: 0 or less, infinite or NaN.
    """
    if seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("commandTimeout must be a number or None, not %r" % (seconds,))
    if not 0 < seconds < math.inf:  # also refuses NaN
        raise ValueError("commandTimeout must be a finite number of seconds above 0, not %r"
                         % (seconds,))


class AGISession(ChannelCommands, MediaCommands, UpstreamResultHelpers, ABC):
    """One AGI session: every AGI command, over a transport.

    The session owns a :class:`CommandQueue <starpy.agi.CommandQueue>`
    (:attr:`commands`): one command in flight, the rest waiting.  A
    transport (FastAGI, classic AGI, AsyncAGI) gives the session the
    function that puts a command on the wire (*transmit*), feeds the queue
    the replies (:meth:`CommandQueue.replyArrived
    <starpy.agi.CommandQueue.replyArrived>`), and provides :meth:`finish`.
    It calls :meth:`hangupReceived` when the channel hangs up and
    :meth:`sessionClosed` when the session can carry no more commands.  A
    transport with no use for the queue overrides :meth:`sendCommandLine`
    instead.

    :ivar variables: the ``agi_*`` environment, lower-case keys.
    :ivar hungUp: whether the channel is known to have hung up.
    :ivar closed: whether the session has ended (no command can be sent).
    :ivar finishing: whether :meth:`finish` was called: nothing more is sent.
    :ivar commands: the session's :class:`CommandQueue <starpy.agi.CommandQueue>`.
    :ivar history: the last :attr:`HISTORY_LENGTH` commands with their
        replies (or why they failed), oldest first, for failure reports.
    :ivar tracer: the session's :class:`WireTracer <starpy.trace.WireTracer>` (see
        :meth:`setTrace`).
    :ivar wireTracer: the same once made (by :attr:`tracer` or
        :meth:`setTrace`), else ``None``: a transport tests
        ``wireTracer is not None and wireTracer.enabled`` on its hot path.

    :param clock: the clock :meth:`wait <starpy.agi._commands.ChannelCommands.wait>`
        and :attr:`commandTimeout` use; the global reactor if ``None``.
    :param transmit: puts one :class:`QueuedCommand <starpy.agi.QueuedCommand>`
        on the wire; the transport then feeds the queue its reply.
    """

    #: How many commands :attr:`history` keeps.
    HISTORY_LENGTH = 20

    #: Where :func:`runHandler <starpy.agi.runHandler>` reports a failed
    #: handler; each transport names its own module's logger
    #: (``starpy.fastagi``, ``starpy.asyncagi``).
    handlerLog = log

    #: How failure reports name the transport: ``"AGI handler failed on ..."``.
    transportName = "AGI"

    #: The hangup policy of the session's queue
    #: (:attr:`CommandQueue.sendWaitingAfterHangup
    #: <starpy.agi.CommandQueue.sendWaitingAfterHangup>`): whether a command
    #: queued before the channel hung up is still sent (Asterisk then
    #: answers it, ``511`` if a dead channel refuses it), or fails with
    #: :class:`AGIHangup <starpy.error.AGIHangup>` unsent unless it is
    #: dead-safe.  FastAGI sends it; AsyncAGI, whose channel is leaving
    #: AGI, does not.
    sendQueuedAfterHangup = True

    #: Whether the command methods may queue a command themselves: true
    #: unless a transport overrides :meth:`sendCommandLine` (see :meth:`_command`).
    _queueDirect = True

    #: Whether :meth:`checkCommandLine` is the default one, so that a line short
    #: enough for every Asterisk has the same bytes in every session.
    _plainLines = True

    def __init_subclass__(cls, **named: Any) -> None:
        super().__init_subclass__(**named)
        cls._queueDirect = cls.sendCommandLine is AGISession.sendCommandLine
        cls._plainLines = cls.checkCommandLine is AGISession.checkCommandLine

    def __init__(self, clock: Optional[IReactorTime] = None,
                 transmit: Optional[Callable[[QueuedCommand], None]] = None) -> None:
        # Made on first use: most sessions never trace nor wait.
        self._history: Optional[Deque[Tuple[str, str]]] = None
        self.wireTracer: Optional[WireTracer] = None
        self._hangupWaiters: Optional[Waiters[None]] = None
        self._closing: Optional[OneShot[None]] = None
        self._waits: Optional[Set[Deferred[int]]] = None
        self._onClose: Optional[Deferred[None]] = None
        self.variables: Dict[str, str] = {}
        self.hungUp = False
        self.closed = False
        self.finishing = False
        self._clock = clock
        # The class's flags as instance attributes, which CPython 3.11 reads
        # faster; _direct is false once sendCommandLine is replaced here.
        self._direct = self._queueDirect
        self._plain = self._plainLines
        self._sendCommandLineReplacement: Optional[Callable[[str], Deferred[AGIReply]]] = None
        # (The queue holds the session's functions until it is closed, when
        # sessionClosed() has it let them go: no cycle outlives the session.)
        self.commands = CommandQueue(transmit, self._settle, self._commandExpired,
                                     self.sendQueuedAfterHangup, self._settleLine)
        self._masking = 0
        # The command-line limit of the Asterisk in agi_version, cached:
        # (agi_version, limit).
        self._limit: Tuple[Optional[str], int] = (None, 0)

    # -- sending command lines ----------------------------------------------------

    @replaceableOnInstances("_direct", "_queueDirect")
    def sendCommandLine(self, line: str) -> Deferred[AGIReply]:
        """Send one command line (without newline) and return its reply.

        The line goes out now if no command is in flight, else after the
        ones before it.  The Deferred fires with the final :class:`AGIReply
        <starpy.codec.agi.AGIReply>` of that command (any code:
        :meth:`sendCommand <starpy.agi._commands.ChannelCommands.sendCommand>`
        interprets it), and fails with
        :class:`AGIHangup <starpy.error.AGIHangup>` if the session has ended
        or been finished (nothing is sent then) or ends first.  What happens
        to a command queued before a hangup is the transport's
        :attr:`sendQueuedAfterHangup`.  Cancelling a queued command removes
        it; one in flight cannot be unsent (its reply is then dropped).

        A line the connected Asterisk would not read back as one command
        fails the Deferred with ``ValueError`` and is not sent (see
        :meth:`checkCommandLine`).
        """
        if self.closed or self.finishing:
            return defer.fail(error.AGIHangup(line, None, "%s session has ended"
                                              % (self.transportName,)))
        try:
            data = self.checkCommandLine(line)
        except ValueError:
            return defer.fail(Failure())
        return self.commands.submit(line, data)

    def checkCommandLine(self, line: str) -> Optional[bytes]:
        """Check *line* for this transport; return its bytes (newline
        included), or ``None`` if the transport encodes it otherwise.

        The default is FastAGI's and classic AGI's rule: the line must fit
        the command buffer of the Asterisk named by ``agi_version``
        (:func:`maxCommandBytes <starpy.codec.agi.maxCommandBytes>`: 8191
        bytes with the newline since Asterisk 20.16, 21.11, 22.6 and 23,
        2047 before and when the version is unknown), whose tail Asterisk
        would run as another command, and hold no CR, LF or NUL.  A
        transport with another rule overrides this.

        :raises ValueError: Asterisk would not read *line* as one command.
        """
        version = self.variables.get("agi_version")
        cached, limit = self._limit
        if version is not cached or not limit:
            limit = maxCommandBytes(version)
            self._limit = (version, limit)
        try:
            data = line.encode(ENCODING, ENCODING_ERRORS)
        except UnicodeEncodeError:
            data = b"\n"  # the slow path below says what is wrong
        # (int membership: much cheaper than a bytes one; 10 LF, 13 CR, 0 NUL)
        if len(data) >= limit or 10 in data or 13 in data or 0 in data:
            return encodeCommandLine(line, limit)  # raises, or the line is fine
        return data + b"\n"

    # -- the command timeout ------------------------------------------------

    @property
    def commandTimeout(self) -> Optional[float]:
        """Seconds a command may wait for its reply, or ``None`` (the default): no limit.

        When a command gets no reply in time its Deferred fails with
        :class:`AGICommandTimeout <starpy.error.AGICommandTimeout>` and the session ends
        (:meth:`abortSession`: FastAGI drops the connection, as a late reply
        would answer the wrong command), so every other waiting command
        fails with :class:`AGIHangup <starpy.error.AGIHangup>`.  Set it
        longer than the longest command the application runs: ``STREAM
        FILE`` of a long prompt, ``WAIT FOR DIGIT -1``, ``RECORD FILE``,
        ``EXEC Dial`` last as long as the caller lets them.  A new value
        applies to the command in flight from now on, and to the next ones.

        :raises ValueError: (on setting) as :func:`checkCommandTimeout`.
        """
        return self.commands.timeout

    @commandTimeout.setter
    def commandTimeout(self, seconds: Optional[float]) -> None:
        checkCommandTimeout(seconds)
        if seconds is not None:
            self.commands.setTimeout(seconds, self.clock)
        else:
            self.commands.setTimeout(None, None)

    def _commandExpired(self, command: QueuedCommand, timeout: float) -> None:
        log.warning("%s: no reply to %r within %g s; ending the AGI session",
                    self.channelName, command.line, timeout)
        self.abortSession("no reply to %s within %g seconds" % (command.line, timeout))

    def abortSession(self, why: str) -> None:
        """End the session at once: a command got no reply in time
        (:attr:`commandTimeout`).

        The default finishes the session; FastAGI drops the connection.
        """
        self.finish()

    @property
    def pendingCount(self) -> int:
        """How many commands are in flight or queued."""
        return self.commands.pendingCount

    def beginFinish(self, why: str) -> bool:
        """The start of every transport's :meth:`finish`: mark the session
        :attr:`finishing` and fail its queued commands (not the one in
        flight) with AGIHangup(*why*).

        :return: false if it was closed or finishing already (``finish()``
            then has nothing to do).
        """
        if self.closed or self.finishing:
            return False
        self.finishing = True
        self.commands.dropWaiting(why)
        return True

    # -- what a transport provides or calls ------------------------------------------

    @abstractmethod
    def finish(self) -> None:
        """End the AGI session (FastAGI: close the connection).

        Commands still waiting fail with :class:`AGIHangup <starpy.error.AGIHangup>`.
        """

    def hangupReceived(self) -> None:
        """Mark the channel hung up (``HANGUP`` line, SIGHUP, 511 reply).

        A pending command is not answered by this.  From now on, commands a
        dead channel refuses fail at once with
        :class:`AGIHangup <starpy.error.AGIHangup>`; the dead-safe ones
        (:data:`DEAD_SAFE_COMMANDS <starpy.agi.DEAD_SAFE_COMMANDS>`) are still sent.
        """
        if self.hungUp:
            return
        self.hungUp = True
        self.commands.hangupReceived()
        log.debug("%s: channel hung up", self.channelName)
        waiters, self._hangupWaiters = self._hangupWaiters, None
        if waiters is not None:
            waiters.fire(None)

    def sessionClosed(self, reason: str = "AGI session has ended") -> None:
        """Mark the session ended: every later command fails at once.

        Transports call this when the connection (or AsyncAGI) ends.
        Pending :meth:`wait <starpy.agi._commands.ChannelCommands.wait>` calls fail with :class:`AGIHangup
        <starpy.error.AGIHangup>` and :meth:`whenHungUp` and
        :meth:`whenClosed` fire; then the commands in flight and queued
        fail with AGIHangup(*reason*).
        """
        if self.closed:
            return
        self.closed = True
        commands = self.commands
        waits, self._waits = self._waits, None
        if waits:
            for waiting in waits:
                waiting.cancel()
        hangupWaiters, self._hangupWaiters = self._hangupWaiters, None
        if hangupWaiters is not None:
            hangupWaiters.fire(None)
        if self._closing is not None:
            self._closing.fire(None)
        commands.failAll(reason)

    # -- observers -------------------------------------------------------------

    def whenHungUp(self) -> Deferred[None]:
        """Return a new Deferred that fires (with ``None``) once the channel
        hangs up or the session ends; at once if that already happened.
        Cancelling it stops waiting."""
        if self.hungUp or self.closed:
            return defer.succeed(None)
        if self._hangupWaiters is None:
            self._hangupWaiters = Waiters()
        return self._hangupWaiters.wait()

    def onClose(self) -> Deferred[None]:
        """Upstream StarPy's close notification: a Deferred that *fails*
        (with ``twisted.internet.error.ConnectionDone``) once the
        session has ended; the same Deferred on every call.

        :meth:`whenClosed`, which fires with ``None``, is the primary form.
        """
        if self._onClose is None:
            def ended(ignored: None) -> None:
                raise ConnectionDone("AGI session ended")

            self._onClose = self.whenClosed().addCallback(ended)
        return self._onClose

    def whenClosed(self) -> Deferred[None]:
        """Return a new Deferred that fires (with ``None``) once the session
        has ended (FastAGI: the connection closed); at once if it has.
        Cancelling it stops waiting."""
        if self.closed:
            return defer.succeed(None)
        if self._closing is None:
            self._closing = OneShot()
        return self._closing.when()

    # -- names, history, tracing -------------------------------------------------

    @property
    def clock(self) -> IReactorTime:
        """The clock used by :meth:`wait <starpy.agi._commands.ChannelCommands.wait>`
        and :attr:`commandTimeout`."""
        if self._clock is None:
            self._clock = cast(IReactorTime, defaultReactor())
        return self._clock

    @property
    def channelName(self) -> str:
        """How logs name the session: ``agi_channel``, or the transport's name."""
        return self.variables.get("agi_channel", "AGI")

    @property
    def history(self) -> Deque[Tuple[str, str]]:
        """The last :attr:`HISTORY_LENGTH` commands as ``(line, reply)``, oldest first."""
        if self._history is None:
            self._history = deque(maxlen=self.HISTORY_LENGTH)
        return self._history

    def _remember(self, line: str, reply: str) -> None:
        history = self._history
        if history is None:
            history = self._history = deque(maxlen=self.HISTORY_LENGTH)
        if self._masking:
            reply = maskReply(reply)
        history.append((line, reply))

    @contextmanager
    def maskingReplies(self) -> Iterator[None]:
        """Hide the replies of the commands answered inside the ``with`` block.

        Asterisk's replies are kept in :attr:`history` (and so in
        :meth:`failureReport`) and in the wire trace with only their status
        code: a DTMF reply such as ``200 result=52`` spells the key pressed,
        so :class:`CollectPassword <starpy.menu.CollectPassword>` collects inside this.
        Commands sent stay visible.  Blocks may nest::

            with agi.maskingReplies():
                digit = await agi.waitForDigit(5)
        """
        self._masking += 1
        try:
            yield
        finally:
            self._masking -= 1

    @property
    def maskingActive(self) -> bool:
        """Whether replies are being hidden (see :meth:`maskingReplies`)."""
        return self._masking > 0

    @property
    def tracer(self) -> WireTracer:
        """The session's :class:`WireTracer <starpy.trace.WireTracer>` (made on first use)."""
        if self.wireTracer is None:
            self.wireTracer = WireTracer("AGI")
        return self.wireTracer

    @property
    def tracing(self) -> bool:
        """Whether wire tracing is on for this session."""
        return self.wireTracer is not None and self.wireTracer.enabled

    def traceReceived(self, lines: List[str]) -> None:
        """Trace *lines* received from Asterisk on :attr:`tracer`, each
        reply with only its status code while :meth:`maskingReplies` is on."""
        if self._masking:
            lines = [maskReply(line) for line in lines]
        self.tracer.received(lines)

    def setTrace(self, enabled: bool = True) -> None:
        """Log every line sent and received in this session (or stop).

        See :mod:`starpy.trace`: DEBUG records on the ``starpy.wire`` logger.
        """
        self.tracer.enabled = enabled

    def failureReport(self, reason: Failure) -> str:
        """One readable text explaining a failed handler, for a single log entry.

        It holds the traceback of *reason*, the call's AGI environment and
        the last commands of the session with their replies.
        """
        return failureText(self.transportName, self.channelName, self.variables,
                           self.history, reason)

    # -- commands ------------------------------------------------------------------

    def _command(
        self,
        convert: Optional[Callable[[AGIReply], Any]],
        command: str,
        *arguments: Argument,
        failOnMinusOne: bool = True,
    ) -> Deferred[Any]:
        """Send a command; check its reply, then pass it through *convert*.

        With *failOnMinusOne* false, a ``200 result=-1`` reply goes to
        *convert* (the commands upstream StarPy did not check).
        """
        key = (command, arguments)
        try:
            cached = cachedLine(key)
        except TypeError:  # an argument that is not hashable (formatCommand says why)
            cached = None
        if cached is not None:
            # True or 1.0 where the line was made for 1: plainArguments,
            # inlined (855 to 853 M instructions over 1,000 W3 sessions in
            # bench/w3_driver.py).
            for argument in arguments:
                kind = argument.__class__
                if kind is not str and kind is not int:
                    cached = None
                    break
        data: Optional[bytes]
        if cached is not None:
            line, data = cached
        else:
            try:
                line = formatCommand(command, *arguments)
            except (ValueError, TypeError):
                return defer.fail(Failure())
            data = None
        if self.closed or self.finishing:
            self._remember(line, "(not sent: the AGI session has ended)")
            return defer.fail(error.AGIHangup(line, None, "AGI session has ended"))
        if self.hungUp and command.upper() not in DEAD_SAFE_COMMANDS:
            self._remember(line, "(not sent: the channel has hung up)")
            return defer.fail(error.AGIHangup(line, None, "channel has hung up"))
        if not self._direct:
            # A transport's own sendCommandLine, or one wrapped on this
            # session (starpy.metrics times commands so): go through it.
            sent = self.sendCommandLine(line)
            return sent.addBoth(self._settle, QueuedCommand(line, sent, None,
                                                            (convert, failOnMinusOne)))
        # sendCommandLine inlined, and the reply checked before the Deferred
        # fires (the queue's settle function) instead of by a callback added
        # to it: measured with callgrind on the reference W3 workload
        # (bench/RESULTS.md).
        if data is None or not self._plain:
            try:
                data = self.checkCommandLine(line)
            except ValueError:
                failure = Failure()
                self._remember(line, "(no reply: %s)" % (failure.getErrorMessage(),))
                return defer.fail(failure)
            if (data is not None and len(data) <= FITS_EVERY_ASTERISK and self._plain
                    and plainArguments(arguments)):
                if len(LINES) >= LINES_KEPT:
                    LINES.clear()
                LINES[key] = (line, data)
        return self.commands.submit(line, data, (convert, failOnMinusOne))

    def _settle(self, result: Any, command: QueuedCommand) -> Any:
        """The queue's settle function: note a checked command's outcome in
        the history, and turn its reply into its result (a Failure for
        an error reply); never raises."""
        line = command.line
        if result.__class__ is not AGIReply:  # (one test on the usual path)
            if isinstance(result, Failure):
                self._remember(line, "(no reply: %s)" % (result.getErrorMessage(),))
                return result
            if isinstance(result, str):  # not sent: the queue says why
                self._remember(line, result)
                return None
        history = self._history
        if history is None or self._masking:
            self._remember(line, result.raw)
        else:
            history.append((line, result.raw))
        try:
            code = result.code
            if code == 200:
                convert, failOnMinusOne = command.check  # type: ignore[misc]
                value = result.result
                if value == "-1" and failOnMinusOne:
                    raise error.AGICommandFailure(line, 200, result.raw)
                if value is None:
                    raise error.AGIReplyError("200 reply without result=", line, result.raw)
                if convert is None:
                    return result
                try:
                    return convert(result)
                except (ValueError, OverflowError) as e:
                    # A value that should be a number and is not: the reply is
                    # malformed, whichever conversion noticed it.
                    message = e.message if isinstance(e, error.AGIReplyError) else str(e)
                    raise error.AGIReplyError(
                        "malformed reply (%s): %r" % (message, result.raw), line, result.raw
                    ) from e
            if code == 510:
                raise error.AGIInvalidCommand(line, 510, result.text)
            if code == 511:
                self.hangupReceived()
                raise error.AGIDeadChannel(line, 511, result.text)
            if code == 520:
                raise error.AGIUsageError(line, 520, result.text, result.usage)
            raise error.AGICommandFailure(line, code, result.raw)
        except BaseException:
            return Failure()

    def _settleLine(self, line: str, command: QueuedCommand) -> Any:
        """The queue's settleLine function (see :data:`LINE_CONVERSIONS
        <starpy.agi._results.LINE_CONVERSIONS>`)."""
        convert, failOnMinusOne = command.check  # type: ignore[misc]
        if convert is resultInt:  # the most used conversion, without a look-up
            value = usualResultInt(line, failOnMinusOne)
        else:
            fromLine = lineConversion(convert)
            if fromLine is None and convert.__class__ is partial:  # EXEC (722 to 713 M)
                fromLine = lineConversion(convert.func)
            value = None if fromLine is None else fromLine(line, failOnMinusOne)
        if value is None:
            return NOT_CONVERTED
        history = self._history
        if history is None or self._masking:
            self._remember(command.line, line)
        else:
            history.append((command.line, line))
        return value
