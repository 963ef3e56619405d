"""The fake caller: Asterisk's side of one FastAGI connection, the loop of
res_agi's ``run_agi()`` and the waits of running commands.

Private to :mod:`starpy.testing.agi`, which re-exports the public names.
"""

from __future__ import annotations

import collections
import logging
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from starpy._idioms import OneShot, defaultReactor
from starpy.testing._agiusage import USAGE
from starpy.testing._cscan import isFalse, isTrue
from starpy.testing.agi._channel import FRAME_MS, SAMPLE_RATE, SimulatedChannel
from starpy.testing.agi._commands import findCommand
from starpy.testing.agi._parsing import agiBufferForVersion, parseAGIArguments
from starpy.testing.agi._transcript import Transcript, TranscriptEntry
from starpy.testing.agi._waits import (
    DEAD_CHANNEL,
    FAILURE,
    SHOWUSAGE,
    Command,
    CommandRun,
    Outcome,
    Play,
    Sleep,
    Wait,
    WaitDigit,
)

log = logging.getLogger("starpy.testing.agi")

# ---------------------------------------------------------------------------
# The protocol


class FakeAGICaller(Protocol):
    """Asterisk's side of one FastAGI call.

    Connect it to a FastAGI server with any transport; on connection it sends
    the environment block, then answers each command line.  It never closes
    the connection itself (neither does Asterisk), except after a line
    starting with ``failure`` or, with ``AGIEXITONHANGUP=yes``, after hangup.

    :ivar channel: the :class:`SimulatedChannel`; its state changes as the call
        goes.
    :ivar transcript: the :class:`Transcript`, growing as the call goes.
    """

    def __init__(
        self, channel: SimulatedChannel | None = None, clock: IReactorTime | None = None
    ) -> None:
        """
        :param channel: the simulated channel; a default one if None.
        :param clock: where time comes from; the global reactor if None.
        """
        self.channel = channel if channel is not None else SimulatedChannel()
        self.clock: IReactorTime = clock if clock is not None else defaultReactor()
        self.transcript = Transcript()
        self._start = 0.0
        self._buffer = b""
        self._maxLine = self._lineLimit()
        self._lines: collections.deque[bytes] = collections.deque()
        self._running: CommandRun | None = None
        self._command: Command | None = None
        self._wait: Wait | None = None
        self._waitStart = 0.0
        self._waitTimer: IDelayedCall | None = None
        self._scheduled: list[IDelayedCall] = []
        self._dead = False
        self._inLoop = False
        self._sigHup = True
        self._exitOnHangup = False
        #: The ``SPEECH CREATE`` object (engine, grammars, settings), or None.
        self.speech: dict[str, object] | None = None
        #: The pending ``SET AUTOHANGUP``, or None.
        self.autoHangup: IDelayedCall | None = None
        self._finished: OneShot[Transcript] = OneShot()

    # -- public API

    @property
    def finished(self) -> bool:
        """True once the connection is closed."""
        return self.transcript.finished

    @property
    def busy(self) -> bool:
        """True while a command runs (plays, waits...).  A line that the
        server sends meanwhile may interrupt it, as in Asterisk."""
        return self._running is not None

    def whenFinished(self) -> Deferred[Transcript]:
        """A Deferred that fires with the :class:`Transcript` when the connection
        closes (normally: the server closed it).  It never fails."""
        return self._finished.when()

    def now(self) -> float:
        """Seconds since the call connected."""
        return self.clock.seconds() - self._start

    def _lineLimit(self) -> int:
        channel = self.channel
        size = channel.agiBuffer
        if size is None:
            size = agiBufferForVersion(channel.version)
        return size - 1

    # -- Protocol

    def connectionMade(self) -> None:
        self._start = self.clock.seconds()
        self._maxLine = self._lineLimit()
        channel = self.channel
        self._sigHup = not isFalse(channel.variables.get("AGISIGHUP"))
        self._exitOnHangup = isTrue(channel.variables.get("AGIEXITONHANGUP"))
        channel.onHangup = self._channelHungUp
        for when, digit in channel.dtmf:
            self._scheduled.append(
                self.clock.callLater(max(0.0, when), self._digitArrived, digit)
            )
        if channel.hangupAt is not None:
            self._scheduled.append(
                self.clock.callLater(max(0.0, channel.hangupAt), self._callerHangsUp)
            )
        for key, value in channel.environment():
            self._write(f"{key}: {value}\n".encode("utf-8", "surrogateescape"))
        self._write(b"\n")
        if channel.hungUp:
            self._runLoop()

    def dataReceived(self, data: bytes) -> None:
        if self.finished:
            return
        self._buffer += data
        maxLine = self._maxLine
        while True:
            # fgets(buf, AGI_BUF_LEN): a newline within the first
            # AGI_BUF_LEN - 1 bytes ends the command; else the full buffer
            # is one command and the rest starts the next one.
            newline = self._buffer.find(b"\n", 0, maxLine)
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            elif len(self._buffer) >= maxLine:
                line, self._buffer = self._buffer[:maxLine], self._buffer[maxLine:]
            else:
                break
            self._lines.append(line)
        # res_agi polls the socket while it plays or waits: new data there
        # ends STREAM FILE, SAY, GET DATA... at once, without a reply.
        wait = self._wait
        if wait is not None and not isinstance(wait, Sleep) and wait.watchControl:
            self._resolve("control")
        self._runLoop()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.finished:
            return
        self.note("connection closed by the AGI server")
        self.transcript.finished = True
        for call in self._scheduled + [self._waitTimer, self.autoHangup]:
            if call is not None and call.active():
                call.cancel()
        self._scheduled = []
        self._waitTimer = self.autoHangup = None
        self.channel.onHangup = None
        if self._running is not None:
            self._running.close()
            self._running = None
            self._wait = None
        self._finished.fire(self.transcript)

    # -- output and notes

    def _write(self, data: bytes) -> None:
        if self.finished or self.transport is None:
            return
        self.transcript.entries.append(TranscriptEntry(self.now(), "<<", data))
        self.transport.write(data)

    def reply(self, text: str) -> None:
        """Send one reply line (for the command handlers)."""
        self._write(text.encode("utf-8", "surrogateescape") + b"\n")

    def note(self, text: str) -> None:
        """Add a note (``##``) to the transcript (for the command handlers)."""
        self.transcript.entries.append(TranscriptEntry(self.now(), "##", text.encode("utf-8")))

    # -- the loop of res_agi's run_agi()

    def _runLoop(self) -> None:
        if self._inLoop:
            return
        self._inLoop = True
        try:
            while self._running is None and not self.finished:
                if self.channel.hungUp and not self._dead:
                    self._dead = True
                    if self.transcript.agiStatus == "SUCCESS":
                        self.transcript.agiStatus = "HANGUP"
                    if self._sigHup:
                        self._write(b"HANGUP\n")
                    if self._exitOnHangup:
                        self._endAGI("AGIEXITONHANGUP: the AGI ends on hangup")
                        return
                    continue
                if not self._lines:
                    return
                self._execute(self._lines.popleft())
        finally:
            self._inLoop = False

    def _endAGI(self, why: str) -> None:
        self.note(why)
        if self.transport is not None:
            self.transport.loseConnection()

    def _execute(self, raw: bytes) -> None:
        self.transcript.entries.append(TranscriptEntry(self.now(), ">>", raw))
        if raw[:7].lower() == b"failure":
            self.transcript.agiStatus = "FAILURE"
            self._endAGI("'failure' line: the AGI ends")
            return
        text = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        argv = parseAGIArguments(text)
        command = findCommand(argv)
        if command is None:
            self.reply("510 Invalid or unknown command")
            return
        if self._dead and not command.deadSafe:
            self.reply(DEAD_CHANNEL)
            return
        log.debug("fake Asterisk runs %r", argv)
        result = command.handler(self, argv)
        self._command = command
        if isinstance(result, int):
            self._finishCommand(result)
        else:
            self._running = result
            self._step(None)

    def _step(self, outcome: Outcome | None) -> None:
        run = self._running
        assert run is not None
        try:
            wait = run.send(cast(Outcome, outcome))
        except StopIteration as stop:
            self._running = None
            self._finishCommand(stop.value)
            self._runLoop()
            return
        self._startWait(wait)

    def _finishCommand(self, code: int) -> None:
        command = self._command
        assert command is not None
        if code == SHOWUSAGE:
            self.reply("520-Invalid command syntax.  Proper usage follows:")
            for line in USAGE[command.name].split("\n"):
                self.reply(line)
            self.reply("520 End of proper usage.")
        elif code == FAILURE and (self._dead or not self.channel.hungUp):
            self.transcript.agiStatus = "FAILURE"

    # -- waits

    def _startWait(self, wait: Wait) -> None:
        self._wait = wait
        self._waitStart = self.clock.seconds()
        if isinstance(wait, Sleep):
            seconds: float | None = wait.seconds
        elif self.channel.hungUp:
            self._resolve("hangup")
            return
        elif isinstance(wait, Play):
            seconds = max(0, wait.total - wait.offset) / SAMPLE_RATE
        else:
            seconds = None if wait.timeoutMs < 0 else wait.timeoutMs / 1000
        if seconds is None:
            return
        if seconds <= 0:
            self._resolve("done" if not isinstance(wait, WaitDigit) else "timeout")
            return
        kind = "timeout" if isinstance(wait, WaitDigit) else "done"
        self._waitTimer = self.clock.callLater(seconds, self._resolve, kind)

    def _resolve(self, kind: str, digit: str = "") -> None:
        wait = self._wait
        if wait is None:
            return
        self._wait = None
        if self._waitTimer is not None and self._waitTimer.active():
            self._waitTimer.cancel()
        self._waitTimer = None
        elapsed = self.clock.seconds() - self._waitStart
        position = 0
        if isinstance(wait, Play):
            if kind == "done":
                position = wait.total
            else:
                frames = int(round(elapsed * 1000)) // FRAME_MS + 1
                position = min(wait.total, wait.offset + frames * SAMPLE_RATE * FRAME_MS // 1000)
                position = max(position, wait.offset)
        self._step(Outcome(kind, digit, position, elapsed))

    def _digitArrived(self, digit: str) -> None:
        wait = self._wait
        if wait is None or isinstance(wait, Sleep):
            self.note(f"DTMF {digit!r} discarded (no command is listening)")
            return
        accepted = wait.stopDigits if isinstance(wait, Play) else wait.digits
        if digit in accepted:
            self.note(f"DTMF {digit!r}")
            self._resolve("digit", digit)
        else:
            self.note(f"DTMF {digit!r} ignored (not an escape digit)")

    def _callerHangsUp(self) -> None:
        if not self.channel.hungUp:
            self.note("the caller hangs up")
            self.channel.hangup()

    def _channelHungUp(self) -> None:
        if self._wait is not None and not isinstance(self._wait, Sleep):
            self._resolve("hangup")
        elif self._running is None:
            self._runLoop()


