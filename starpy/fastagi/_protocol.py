"""One FastAGI connection: Asterisk's side of a call, over TCP (private:
``starpy.fastagi`` re-exports :class:`FastAGIProtocol`)."""
from __future__ import annotations

import logging
import socket
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    List,
    Optional,
)
from urllib.parse import parse_qs

from twisted.internet.interfaces import (
    IReactorTime,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from starpy import error
from starpy._idioms import abortTransport, directSocket, sendNow
from starpy.agi import AGISession, QueuedCommand
from starpy.codec.agi import (
    DEFAULT_MAX_ENVIRONMENT_LINES,
    DEFAULT_MAX_LINE_LENGTH,
    ENCODING,
    ENCODING_ERRORS,
    AGIDecoder,
    AGIEnvironment,
    AGIHangupSignal,
    AGIReply,
    dialplanArguments,
)
from starpy.fastagi._common import log

if TYPE_CHECKING:  # pragma: no cover - names for annotations only
    from starpy.fastagi._factory import FastAGIFactory


class FastAGIProtocol(Protocol, AGISession):
    """One FastAGI connection from Asterisk: an :class:`AGISession <starpy.agi.AGISession>`.

    On Twisted's own TCP transport each command line goes to the socket
    when the command is issued (see :meth:`connectionMade`).

    :ivar variables: the ``agi_*`` environment, keys lower-case.
    :ivar arguments: the dialplan arguments (``agi_arg_1``...) as a list.
    :ivar scriptPath: the script path of the AGI URL without leading slash
        or query (``"hello"`` for ``agi://host/hello?x=1``).
    :ivar scriptQuery: the query of the script path, parsed
        (``{"x": ["1"]}``).

    :param onReady: called with the protocol once the environment is read.
    :param clock: for :meth:`wait <starpy.agi.AGISession.wait>`; the global reactor if ``None``.
    :param maxLineLength: the longest line accepted from Asterisk.
    :param maxEnvironmentLines: the most lines of the environment block.
    :param commandTimeout: seconds each command may wait for its reply
        (:attr:`commandTimeout <starpy.agi.AGISession.commandTimeout>`); ``None``: no limit.

    :ivar tcpKeepAlive: whether :meth:`connectionMade` turns TCP keepalive
        on (where the transport supports it); ``True`` by default.

    A subclass (classic AGI's) may override :meth:`environmentReceived`,
    :meth:`protocolError` and :meth:`dropConnection`.
    """

    handlerLog = log

    # Documented as an ivar above.
    tcpKeepAlive = True

    #: The :class:`FastAGIFactory <starpy.fastagi.FastAGIFactory>` serving this
    #: session (it sets this when it builds it), told when the environment
    #: arrives and when the connection ends; ``None`` for a session built
    #: otherwise (classic AGI, tests).
    server: Optional[FastAGIFactory] = None

    #: Why waiting commands fail when the connection ends (the AGIHangup text).
    closedBeforeReply = "FastAGI connection closed before the reply"

    def __init__(
        self,
        onReady: Optional[Callable[[FastAGIProtocol], object]] = None,
        clock: Optional[IReactorTime] = None,
        maxLineLength: int = DEFAULT_MAX_LINE_LENGTH,
        maxEnvironmentLines: int = DEFAULT_MAX_ENVIRONMENT_LINES,
        commandTimeout: Optional[float] = None,
    ) -> None:
        AGISession.__init__(self, clock, self._writeCommand)
        if commandTimeout is not None:
            self.commandTimeout = commandTimeout
        self.environmentSeen = False
        self.arguments: List[str] = []
        self.scriptPath = ""
        self.scriptQuery: Dict[str, List[str]] = {}
        self._onReady = onReady
        self._decoder = AGIDecoder(maxLineLength, maxEnvironmentLines)
        # The socket command lines go straight to, if any: connectionMade.
        self._socket: Optional[socket.socket] = None

    # -- Twisted ----------------------------------------------------------------

    def connectionMade(self) -> None:
        """Turn TCP keepalive on, and choose how command lines are written.

        On Twisted's own TCP transport each command line is sent on the
        socket when the command is issued, not on the reactor's next turn:
        AGI is one command, then its reply, so there is never a second line
        to batch with the first.  While the transport holds bytes unsent
        (the rest of a line the socket did not take whole, bytes written to
        it by hand), has TLS or a producer, or is being aborted, lines go
        through ``transport.write``, behind what it holds.

        The time limit on the environment block is the factory's
        (:attr:`FastAGIFactory.environmentTimeout`): one timer for all its
        connections."""
        transport = self.transport
        self._socket = directSocket(transport)
        if self.tcpKeepAlive:
            setKeepAlive = getattr(transport, "setTcpKeepAlive", None)
            if setKeepAlive is not None:
                try:
                    setKeepAlive(True)
                except OSError as e:  # not a TCP socket after all
                    log.debug("%s: no TCP keepalive: %s", self.channelName, e)

    def environmentTimedOut(self, timeout: float) -> None:
        """The factory's deadline for the environment block passed: drop the peer."""
        log.warning("%s: no complete AGI environment within %g s, dropping the connection",
                    self.channelName, timeout)
        abortTransport(self.transport)
        self._endSession("no AGI environment in time")

    def dataReceived(self, data: bytes) -> None:
        """Decode Asterisk's bytes and dispatch the events.

        Nothing more is dispatched once the session is finished or the
        transport is disconnecting, even from the rest of the same chunk (as
        Twisted's ``LineOnlyReceiver``).
        """
        transport = self.transport
        if self.closed or self.finishing:
            return
        try:
            # (An attribute read, not getattr() with a default: a builtin
            # call per chunk; 673 to 671 M instructions over 1,000 W3
            # sessions in bench/w3_driver.py.)
            if transport.disconnecting:  # type: ignore[union-attr]
                return
        except AttributeError:  # a transport without the flag (or none)
            pass
        commands = self.commands
        current = commands.inFlight
        if current is not None:
            # The usual chunk: one reply to the command in flight (1,429 to
            # 1,399 M instructions over 1,000 reference W3 sessions, then
            # with a one-chunk reply reader in the decoder 967 to 946 M; its line
            # handed to the queue unparsed, 844 to 812 M, bench/RESULTS.md).
            line = self._decoder.usualReplyLine(data)
            if line is not None:
                tracer = self.wireTracer
                if tracer is not None and tracer.enabled:
                    self.traceReceived([line])
                commands.completeLine(current, line)
                return
        elif not self.environmentSeen:
            env = self._decoder.wholeEnvironment(data)  # the usual first chunk
            if env is not None:
                tracer = self.wireTracer
                if tracer is not None and tracer.enabled:
                    tracer.received(["%s: %s" % item for item in env.variables.items()] + [""])
                self.environmentReceived(env.variables)
                return
        try:
            events = self._decoder.feed(data)
        except error.AGIProtocolError as e:
            self.protocolError(e)
            return
        tracer = self.wireTracer  # (not the tracing property: a plain read)
        tracing = tracer is not None and tracer.enabled
        remaining = len(events)
        for event in events:
            remaining -= 1
            if isinstance(event, AGIReply):
                if tracing:
                    self.traceReceived(list(event.interim) + event.raw.split("\n"))
                if not commands.replyArrived(event):
                    log.warning("%s: reply with no command waiting: %r", self.channelName,
                                event.raw)
            elif isinstance(event, AGIHangupSignal):
                if tracing:
                    self.tracer.received(["HANGUP"])
                self.hangupReceived()
            elif isinstance(event, AGIEnvironment):
                if tracing:
                    self.tracer.received(["%s: %s" % item for item in event.variables.items()]
                                         + [""])
                self.environmentReceived(event.variables)
            else:
                log.debug("%s: interim reply %r", self.channelName, event.raw)
            if remaining and (self.finishing or self.closed
                              or getattr(transport, "disconnecting", False)):
                return  # closing: the rest of the chunk is not delivered

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Fail the pending commands with AGIHangup and end the session."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: connection closed", self.channelName)
        self._endSession(self.closedBeforeReply)
        server = self.server
        if server is not None:
            server.sessionEnded(self)

    # -- AGISession ------------------------------------------------------------------

    def finish(self) -> None:
        """Close the connection: Asterisk's AGI() ends and the dialplan goes on.

        From now on nothing more is sent: a command issued after this fails
        at once with :class:`AGIHangup <starpy.error.AGIHangup>`, and so do the queued
        ones; the command in flight fails the same way when the connection
        closes (its reply is no longer read).
        :meth:`whenClosed <starpy.agi.AGISession.whenClosed>` fires once the connection is
        closed.
        """
        if not self.beginFinish("AGI session finished"):
            return
        transport = self.transport
        if transport is not None:
            transport.loseConnection()

    # -- internals -------------------------------------------------------------------

    def _writeCommand(self, command: QueuedCommand) -> None:
        """The session queue's transmit function: write *command*'s line."""
        line = command.line
        tracer = self.wireTracer
        if tracer is not None and tracer.enabled:
            tracer.sent([line])
        data = command.data
        if data is None:
            data = line.encode(ENCODING, ENCODING_ERRORS) + b"\n"
        handle = self._socket
        if handle is not None:
            # Straight to the socket (connectionMade): the reference W3 workload
            # went from 1.39x-1.46x of limit_twisted's CPU time to 1.18x-1.25x
            # (bench/RESULTS.md, "Writing without waiting for the reactor").
            sendNow(self.transport, handle, data)
            return
        self.transport.write(data)  # type: ignore[union-attr]

    def abortSession(self, why: str) -> None:
        """A command timed out: drop the connection, fail what waits."""
        self.finishing = True
        abortTransport(self.transport)
        self._endSession(why)

    def protocolError(self, reason: error.AGIProtocolError) -> None:
        """Asterisk sent something that is not AGI: log it, drop the connection."""
        log.error("%s: protocol error, dropping the connection: %s", self.channelName, reason)
        self.dropConnection(reason)

    def dropConnection(self, reason: Exception) -> None:
        """Close the connection and end the session: what waits fails with
        :class:`AGIHangup <starpy.error.AGIHangup>` naming *reason*."""
        transport = self.transport
        if transport is not None:
            transport.loseConnection()
        self._endSession("protocol error: %s" % (reason,))

    def _endSession(self, why: str) -> None:
        """End the session: every command still waiting fails with AGIHangup(*why*)."""
        self.sessionClosed(why)

    def environmentReceived(self, variables: Dict[str, str]) -> None:
        """The environment block is read: set :attr:`variables`,
        :attr:`arguments` and the script path, then call *onReady*."""
        self.environmentSeen = True
        server = self.server
        if server is not None:
            server.environmentArrived(self)
        self.variables = variables
        self.arguments = dialplanArguments(variables)
        script = variables.get("agi_network_script", "")
        path, _, query = script.partition("?")
        self.scriptPath = path.strip("/")
        self.scriptQuery = parse_qs(query, keep_blank_values=True) if query else {}
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: environment read, script %r", self.channelName, self.scriptPath)
        if self._onReady is not None:
            self._onReady(self)
