"""The FastAGI server: Asterisk connects here from ``AGI(agi://host:4573/script,args)``.

::

    from starpy import fastagi

    async def hello(agi):
        await agi.answer()
        await agi.streamFile("hello-world")
        await agi.hangup()

    factory = fastagi.FastAGIFactory(hello)
    fastagi.listenFastAGI(factory, 4573)          # 127.0.0.1 by default

and in ``extensions.conf``::

    exten => 100,n,AGI(agi://127.0.0.1:4573/hello,arg1)

Each connection is a :class:`FastAGIProtocol`, an
:class:`~starpy.agi.AGISession` carrying every AGI command.  Its
``variables`` hold the ``agi_*`` environment (lower-case keys), and
``arguments``, ``scriptPath`` and ``scriptQuery`` the parsed dialplan
arguments and script path.  Commands are sent one at a time; the others
wait in a queue.  :class:`FastAGIRouter` sends each script path to its own
handler.  FastAGI has no authentication: listen on loopback, or give
``allowedClients``.
"""
from __future__ import annotations

import ipaddress
import logging
from collections import deque
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
    Union,
    cast,
)
from urllib.parse import parse_qs

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IListeningPort,
    IReactorTCP,
    IReactorTime,
)
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.python.failure import Failure

from starpy import error
from starpy.agi import AGISession, Handler, InSequence, QueuedCommand, runHandler
from starpy.codec.agi import (
    DEFAULT_MAX_ENVIRONMENT_LINES,
    DEFAULT_MAX_LINE_LENGTH,
    ENCODING,
    AGIDecoder,
    AGIEnvironment,
    AGIHangupSignal,
    AGIReply,
)

__all__ = [
    "FastAGIProtocol",
    "FastAGIFactory",
    "FastAGIRouter",
    "InSequence",
    "listenFastAGI",
    "runHandler",
    "log",
]

log = logging.getLogger("starpy.fastagi")

class FastAGIProtocol(Protocol, AGISession):
    """One FastAGI connection from Asterisk: an :class:`~starpy.agi.AGISession`.

    :ivar variables: the ``agi_*`` environment, keys lower-case.
    :ivar arguments: the dialplan arguments (``agi_arg_1``...) as a list.
    :ivar scriptPath: the script path of the AGI URL without leading slash
        or query (``"hello"`` for ``agi://host/hello?x=1``).
    :ivar scriptQuery: the query of the script path, parsed
        (``{"x": ["1"]}``).

    :param onReady: called with the protocol once the environment is read.
    :param clock: for :meth:`wait`; the global reactor if ``None``.
    :param maxLineLength: the longest line accepted from Asterisk.
    :param maxEnvironmentLines: the most lines of the environment block.
    :param environmentTimeout: seconds the peer has to send the whole
        environment block before the connection is dropped (``None``: no
        limit).
    """

    handlerLog = log

    def __init__(
        self,
        onReady: Optional[Callable[[FastAGIProtocol], object]] = None,
        clock: Optional[IReactorTime] = None,
        maxLineLength: int = DEFAULT_MAX_LINE_LENGTH,
        maxEnvironmentLines: int = DEFAULT_MAX_ENVIRONMENT_LINES,
        environmentTimeout: Optional[float] = None,
    ) -> None:
        AGISession.__init__(self, clock)
        self.environmentTimeout = environmentTimeout
        self.environmentSeen = False
        self._environmentTimer: Optional[IDelayedCall] = None
        self.arguments: List[str] = []
        self.scriptPath = ""
        self.scriptQuery: Dict[str, List[str]] = {}
        self._onReady = onReady
        self._decoder = AGIDecoder(maxLineLength, maxEnvironmentLines)

    # -- Twisted ----------------------------------------------------------------

    def connectionMade(self) -> None:
        """Start the clock on the environment block, if it has a time limit."""
        if self.environmentTimeout is not None:
            self._environmentTimer = self.clock.callLater(
                self.environmentTimeout, self._environmentTimedOut)

    def _environmentTimedOut(self, timeout: Optional[float] = None) -> None:
        self._environmentTimer = None
        log.warning("%s: no complete AGI environment within %g s, dropping the connection",
                    self._name(), timeout if timeout is not None else self.environmentTimeout)
        transport = self.transport
        if transport is not None:
            abort = getattr(transport, "abortConnection", None)
            (abort or transport.loseConnection)()
        self._endSession("no AGI environment in time")

    def _stopEnvironmentTimer(self) -> None:
        timer, self._environmentTimer = self._environmentTimer, None
        if timer is not None and timer.active():
            timer.cancel()

    def dataReceived(self, data: bytes) -> None:
        """Decode Asterisk's bytes and dispatch the events."""
        if self.closed:
            return
        try:
            events = self._decoder.feed(data)
        except error.AGIProtocolError as e:
            log.error("%s: protocol error, dropping the connection: %s", self._name(), e)
            self._abort(e)
            return
        tracing = self.tracing
        for event in events:
            if isinstance(event, AGIReply):
                if tracing:
                    self.tracer.received(list(event.interim) + event.raw.split("\n"))
                self._replyReceived(event)
            elif isinstance(event, AGIHangupSignal):
                if tracing:
                    self.tracer.received(["HANGUP"])
                self.hangupReceived()
            elif isinstance(event, AGIEnvironment):
                if tracing:
                    self.tracer.received(["%s: %s" % item for item in event.variables.items()]
                                         + [""])
                self._environmentReceived(event.variables)
            else:
                log.debug("%s: interim reply %r", self._name(), event.raw)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Fail the pending commands with AGIHangup and end the session."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: connection closed", self._name())
        self._stopEnvironmentTimer()
        self._endSession("FastAGI connection closed before the reply")
        factory = getattr(self, "factory", None)
        if isinstance(factory, FastAGIFactory):
            factory._sessionEnded(self)

    # -- AGISession ------------------------------------------------------------------

    def finish(self) -> None:
        """Close the connection: Asterisk's AGI() ends and the dialplan goes on.

        Commands still waiting fail with :class:`~starpy.error.AGIHangup`.
        :meth:`whenClosed` fires once the connection is closed.
        """
        transport = self.transport
        if transport is not None and not self.closed:
            transport.loseConnection()

    # -- internals -------------------------------------------------------------------

    def _transmit(self, command: QueuedCommand) -> None:
        line = command.line
        if self._tracer is not None and self._tracer.enabled:
            self._tracer.sent([line])
        self.transport.write(  # type: ignore[union-attr]
            line.encode(ENCODING, "surrogateescape") + b"\n")

    def _replyReceived(self, reply: AGIReply) -> None:
        current = self._current
        if current is None:
            log.warning("%s: reply with no command waiting: %r", self._name(), reply.raw)
            return
        self._commandDone(current, reply)

    def _abort(self, reason: Exception) -> None:
        transport = self.transport
        if transport is not None:
            transport.loseConnection()
        self._endSession("protocol error: %s" % (reason,))

    def _endSession(self, why: str) -> None:
        """End the session, then fail every command still waiting with AGIHangup."""
        pending = self._takePending()
        self.sessionClosed()
        self._failCommands(pending, why)

    def _environmentReceived(self, variables: Dict[str, str]) -> None:
        self.environmentSeen = True
        if self._environmentTimer is not None:
            self._stopEnvironmentTimer()
        factory = getattr(self, "factory", None)
        if isinstance(factory, FastAGIFactory):
            factory._environmentArrived()
        self.variables = variables
        arguments: List[str] = []
        key = "agi_arg_1"
        while key in variables:
            arguments.append(variables[key])
            key = "agi_arg_%d" % (len(arguments) + 1,)
        self.arguments = arguments
        script = variables.get("agi_network_script", "")
        path, _, query = script.partition("?")
        self.scriptPath = path.strip("/")
        self.scriptQuery = parse_qs(query, keep_blank_values=True) if query else {}
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: environment read, script %r", self._name(), self.scriptPath)
        if self._onReady is not None:
            self._onReady(self)


class FastAGIRouter:
    """Send each FastAGI script path to its own handler.

    ::

        router = FastAGIRouter({"hello": hello}, default=fallback)
        router.route("menu", menu)
        factory = FastAGIFactory(router)

    Paths are compared without leading or trailing slashes and without the
    query (``agi://host/menu?lang=fr`` goes to ``"menu"``).  With no route
    and no default, the call is logged and finished.
    """

    def __init__(
        self,
        routes: Optional[Mapping[str, Handler]] = None,
        default: Optional[Handler] = None,
    ) -> None:
        self.routes: Dict[str, Handler] = {}
        self.default = default
        for path, handler in (routes or {}).items():
            self.route(path, handler)

    def route(self, path: str, handler: Handler) -> None:
        """Send calls for script *path* to *handler*."""
        self.routes[path.strip("/")] = handler

    def __call__(self, agi: FastAGIProtocol) -> Any:
        """Call the handler of ``agi.scriptPath`` and return what it returns."""
        handler = self.routes.get(agi.scriptPath, self.default)
        if handler is None:
            log.warning("%s: no handler for script %r; finishing",
                        agi.variables.get("agi_channel", "?"), agi.scriptPath)
            agi.finish()
            return None
        return handler(agi)


def _parseAllowed(
    allowed: Iterable[str],
) -> List[Union[ipaddress.IPv4Network, ipaddress.IPv6Network]]:
    return [ipaddress.ip_network(entry, strict=False) for entry in allowed]


class FastAGIFactory(ServerFactory):
    """Make a :class:`FastAGIProtocol` per Asterisk connection and run *mainFunction* on it.

    :param mainFunction: called with the session once the environment block
        is read; it may return a value, a Deferred or be an ``async def``
        (see :func:`runHandler` for when the session is finished).  A
        :class:`FastAGIRouter` routes by script path.
    :param allowedClients: addresses or networks (``"10.0.0.5"``,
        ``"192.168.1.0/24"``) allowed to connect; others are dropped and
        logged.  ``None`` allows every client.
    :param clock: the clock for ``agi.wait``; the global reactor if ``None``.
    :param maxLineLength: the longest line accepted from Asterisk.
    :param maxEnvironmentLines: the most lines of an environment block.
    :param environmentTimeout: seconds a peer has to send its whole
        environment block before it is dropped (default 10; ``None``: no
        limit).  Asterisk sends it at once on connecting.

    The factory knows its open sessions (:attr:`sessions`).  When the last
    port listening with it stops, Twisted calls :meth:`stopFactory`, which
    finishes every call in progress: their handlers see
    :class:`~starpy.error.AGIHangup` and Asterisk's dialplan goes on.
    """

    protocol = FastAGIProtocol

    def __init__(
        self,
        mainFunction: Handler,
        allowedClients: Optional[Iterable[str]] = None,
        clock: Optional[IReactorTime] = None,
        maxLineLength: int = DEFAULT_MAX_LINE_LENGTH,
        maxEnvironmentLines: int = DEFAULT_MAX_ENVIRONMENT_LINES,
        environmentTimeout: Optional[float] = 10.0,
    ) -> None:
        self.mainFunction = mainFunction
        self.allowedClients = None if allowedClients is None else _parseAllowed(allowedClients)
        self.clock = clock
        self.maxLineLength = maxLineLength
        self.maxEnvironmentLines = maxEnvironmentLines
        self.environmentTimeout = environmentTimeout
        self._sessions: Set[FastAGIProtocol] = set()
        # Sessions still sending their environment, oldest first, under one
        # timer for the oldest deadline (not a delayed call per connection).
        self._awaiting: Deque[Tuple[float, FastAGIProtocol]] = deque()
        self._environmentTimer: Optional[IDelayedCall] = None

    def _clock(self) -> IReactorTime:
        if self.clock is None:
            from twisted.internet import reactor

            return cast(IReactorTime, reactor)
        return self.clock

    def _awaitEnvironment(self, agi: FastAGIProtocol) -> None:
        timeout = self.environmentTimeout
        if timeout is None:
            return
        clock = self._clock()
        self._awaiting.append((clock.seconds() + timeout, agi))
        if self._environmentTimer is None:
            self._environmentTimer = clock.callLater(timeout, self._checkEnvironments)

    def _environmentArrived(self) -> None:
        awaiting = self._awaiting
        while awaiting and (awaiting[0][1].environmentSeen or awaiting[0][1].closed):
            awaiting.popleft()
        if not awaiting and self._environmentTimer is not None:
            if self._environmentTimer.active():
                self._environmentTimer.cancel()
            self._environmentTimer = None

    def _checkEnvironments(self) -> None:
        self._environmentTimer = None
        clock = self._clock()
        now = clock.seconds()
        awaiting = self._awaiting
        while awaiting:
            deadline, agi = awaiting[0]
            if agi.environmentSeen or agi.closed:
                awaiting.popleft()
            elif deadline <= now:
                awaiting.popleft()
                agi._environmentTimedOut(self.environmentTimeout)
            else:
                self._environmentTimer = clock.callLater(deadline - now, self._checkEnvironments)
                break

    @property
    def sessions(self) -> Set[FastAGIProtocol]:
        """The sessions whose connection is open (a copy)."""
        return set(self._sessions)

    def _sessionEnded(self, agi: FastAGIProtocol) -> None:
        self._sessions.discard(agi)
        if not agi.environmentSeen:
            self._environmentArrived()  # drops closed ones at the head

    def finishAll(self) -> Deferred[None]:
        """Finish every open session; fires once all their connections closed."""
        sessions = list(self._sessions)
        closing = [agi.whenClosed() for agi in sessions]
        for agi in sessions:
            agi.finish()
        return defer.gatherResults(closing).addCallback(lambda ignored: None)

    def stopFactory(self) -> None:
        """Twisted calls this when no port listens with us any more: finish the calls."""
        if self._sessions:
            log.info("FastAGI server stopping: finishing %d call(s) in progress",
                     len(self._sessions))
            self.finishAll()

    def isAllowed(self, addr: Optional[IAddress]) -> bool:
        """Whether a client at *addr* may connect (UNIX sockets always may)."""
        if self.allowedClients is None:
            return True
        host = getattr(addr, "host", None)
        if host is None:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.allowedClients)

    def buildProtocol(self, addr: Optional[IAddress]) -> Optional[FastAGIProtocol]:
        """Build the session, or refuse (``None``) a client not allowed."""
        if not self.isAllowed(addr):
            log.warning("refused FastAGI connection from %s: not in allowedClients", addr)
            return None
        agi = self.protocol(
            self._sessionReady, self.clock, self.maxLineLength, self.maxEnvironmentLines)
        agi.factory = self
        self._sessions.add(agi)
        self._awaitEnvironment(agi)
        return agi

    def _sessionReady(self, agi: FastAGIProtocol) -> None:
        runHandler(agi, self.mainFunction)


def listenFastAGI(
    factory: FastAGIFactory,
    port: int = 4573,
    interface: str = "127.0.0.1",
    reactor: Optional[IReactorTCP] = None,
    backlog: int = 50,
) -> Deferred[IListeningPort]:
    """Listen for Asterisk on *interface* (loopback by default) and *port*.

    Use ``interface=""`` (all IPv4) or an address to listen elsewhere, and
    give the factory ``allowedClients`` then: FastAGI has no authentication.
    For TLS or UNIX sockets, use a Twisted endpoint with the factory.

    :return: a Deferred firing with the listening port.
    """
    from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint

    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = cast(IReactorTCP, globalReactor)
    if ":" in interface:
        endpoint: Any = TCP6ServerEndpoint(reactor, port, backlog, interface)
    else:
        endpoint = TCP4ServerEndpoint(reactor, port, backlog, interface)
    return cast("Deferred[IListeningPort]", endpoint.listen(factory))
