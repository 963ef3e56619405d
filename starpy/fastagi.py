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
:class:`AGISession <starpy.agi.AGISession>` carrying every AGI command.  Its
``variables`` hold the ``agi_*`` environment (lower-case keys), and
``arguments``, ``scriptPath`` and ``scriptQuery`` the parsed dialplan
arguments and script path.  Commands are sent one at a time; the others
wait in a queue.  :class:`FastAGIRouter` sends each script path to its own
handler.  FastAGI has no authentication: listen on loopback, or give
``allowedClients``.

Accepted connections get TCP keepalive, so the operating system notices
an Asterisk host that vanished; a per-command timeout
(``commandTimeout``, off by default) bounds the wait for each reply.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Set,
    Union,
    cast,
)
from urllib.parse import parse_qs

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IReactorTCP,
    IReactorTime,
)
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.python.failure import Failure

from starpy import error
from starpy._deadlines import Deadline, Deadlines
from starpy._idioms import Waiters, abortTransport, defaultReactor
from starpy.agi import AGISession, Handler, InSequence, QueuedCommand, runHandler
from starpy.codec.agi import (
    DEFAULT_MAX_ENVIRONMENT_LINES,
    DEFAULT_MAX_LINE_LENGTH,
    ENCODING,
    AGIDecoder,
    AGIEnvironment,
    AGIHangupSignal,
    AGIReply,
    dialplanArguments,
)

__all__ = [
    "FastAGIProtocol",
    "FastAGIFactory",
    "FastAGIRouter",
    "FastAGIService",
    "InSequence",
    "listenFastAGI",
    "DEFAULT_BACKLOG",
    "runHandler",
    "log",
]

log = logging.getLogger("starpy.fastagi")


class FastAGIProtocol(Protocol, AGISession):
    """One FastAGI connection from Asterisk: an :class:`AGISession <starpy.agi.AGISession>`.

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

    # -- Twisted ----------------------------------------------------------------

    def connectionMade(self) -> None:
        """Turn TCP keepalive on.

        The time limit on the environment block is the factory's
        (:attr:`FastAGIFactory.environmentTimeout`): one timer for all its
        connections."""
        if self.tcpKeepAlive:
            setKeepAlive = getattr(self.transport, "setTcpKeepAlive", None)
            if setKeepAlive is not None:
                try:
                    setKeepAlive(True)
                except OSError as e:  # not a TCP socket after all
                    log.debug("%s: no TCP keepalive: %s", self.channelName, e)

    def _environmentTimedOut(self, timeout: float) -> None:
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
            # with the decoder's feedUsualReply 967 to 946 M; its line
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
        factory = getattr(self, "factory", None)
        if isinstance(factory, FastAGIFactory):
            factory._sessionEnded(self)

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
            data = line.encode(ENCODING, "surrogateescape") + b"\n"
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
        factory = getattr(self, "factory", None)
        if isinstance(factory, FastAGIFactory):
            factory._environmentArrived(self)
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


class _EnvironmentWait(Deadline):
    """A session of :class:`FastAGIFactory` still sending its environment."""

    __slots__ = ("agi", "timeout")

    def __init__(self, agi: FastAGIProtocol, timeout: float) -> None:
        Deadline.__init__(self)
        self.agi = agi
        self.timeout = timeout


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
    :param commandTimeout: seconds each command of a session may wait for
        its reply before it fails with
        :class:`AGICommandTimeout <starpy.error.AGICommandTimeout>` and the connection is
        dropped (``None``, the default: no limit).  Make it longer than the
        longest command the handlers run (``EXEC Dial``, ``RECORD FILE``,
        ``WAIT FOR DIGIT -1`` last as long as the caller lets them); a
        handler may change it per session (``agi.commandTimeout = 30``).
    :param tcpKeepAlive: turn TCP keepalive on for each accepted
        connection (the default), so that a vanished Asterisk host ends the
        session once the operating system gives up on it.

    The factory knows its open sessions (:attr:`sessions`).  When the last
    port listening with it stops, Twisted calls :meth:`stopFactory`, which
    finishes every call in progress: their handlers see
    :class:`AGIHangup <starpy.error.AGIHangup>` and Asterisk's dialplan goes on.
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
        commandTimeout: Optional[float] = None,
        tcpKeepAlive: bool = True,
    ) -> None:
        if commandTimeout is not None and not (
            isinstance(commandTimeout, (int, float)) and commandTimeout > 0
        ):
            raise ValueError("commandTimeout must be above 0 seconds or None, not %r"
                             % (commandTimeout,))
        self.commandTimeout = commandTimeout
        self.tcpKeepAlive = tcpKeepAlive
        self.mainFunction = mainFunction
        self.allowedClients = None if allowedClients is None else _parseAllowed(allowedClients)
        self.clock = clock
        self.maxLineLength = maxLineLength
        self.maxEnvironmentLines = maxEnvironmentLines
        self.environmentTimeout = environmentTimeout
        self._sessions: Set[FastAGIProtocol] = set()
        # Sessions still sending their environment, each with its deadline
        # under one timer for all (not a delayed call per connection); made
        # at the first connection, so that the global reactor is looked up
        # only then (when clock is None).
        self._awaiting: Dict[FastAGIProtocol, _EnvironmentWait] = {}
        self._environmentDeadlines: Optional[Deadlines[_EnvironmentWait]] = None

    def _awaitEnvironment(self, agi: FastAGIProtocol) -> None:
        timeout = self.environmentTimeout
        if timeout is None:
            return
        deadlines = self._environmentDeadlines
        if deadlines is None:
            clock = self.clock if self.clock is not None else defaultReactor()
            deadlines = self._environmentDeadlines = Deadlines(
                clock, self._environmentExpired, self._awaiting.__len__, timeout)
        wait = self._awaiting[agi] = _EnvironmentWait(agi, timeout)
        deadlines.add(wait, timeout)

    def _environmentArrived(self, agi: FastAGIProtocol) -> None:
        """*agi* sent its environment, or closed: its deadline goes."""
        wait = self._awaiting.pop(agi, None)
        if wait is None:
            return
        wait.done = True
        if not self._awaiting and self._environmentDeadlines is not None:
            self._environmentDeadlines.clear()

    def _environmentExpired(self, wait: _EnvironmentWait) -> None:
        wait.done = True
        del self._awaiting[wait.agi]
        wait.agi._environmentTimedOut(wait.timeout)

    @property
    def sessions(self) -> Set[FastAGIProtocol]:
        """The sessions whose connection is open (a copy)."""
        return set(self._sessions)

    def _sessionEnded(self, agi: FastAGIProtocol) -> None:
        self._sessions.discard(agi)
        if not agi.environmentSeen:
            self._environmentArrived(agi)

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
        """Whether a client at *addr* may connect (UNIX sockets always may).

        An IPv4 client of a socket listening on ``::`` shows as the
        IPv4-mapped ``::ffff:a.b.c.d``: it matches the IPv4 entries as
        ``a.b.c.d`` would, and an IPv4 client matches entries written in
        the mapped form (``::ffff:10.0.0.0/104``).
        """
        if self.allowedClients is None:
            return True
        host = getattr(addr, "host", None)
        if host is None:
            return True
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False
        candidates: List[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                candidates.append(address.ipv4_mapped)
        else:
            candidates.append(ipaddress.IPv6Address("::ffff:" + str(address)))
        return any(candidate in network
                   for network in self.allowedClients for candidate in candidates)

    def buildProtocol(self, addr: Optional[IAddress]) -> Optional[FastAGIProtocol]:
        """Build the session, or refuse (``None``) a client not allowed."""
        if not self.isAllowed(addr):
            log.warning("refused FastAGI connection from %s: not in allowedClients", addr)
            return None
        agi = self.protocol(
            self._sessionReady, self.clock, self.maxLineLength, self.maxEnvironmentLines)
        if self.commandTimeout is not None:
            agi.commandTimeout = self.commandTimeout
        if not self.tcpKeepAlive:
            agi.tcpKeepAlive = False
        agi.factory = self
        self._sessions.add(agi)
        self._awaitEnvironment(agi)
        return agi

    def _sessionReady(self, agi: FastAGIProtocol) -> None:
        runHandler(agi, self.mainFunction)


DEFAULT_BACKLOG = 1024
"""Default length of the FastAGI listen queue (:func:`listenFastAGI`,
``[FastAGI] backlog``, ``starpy serve --backlog``).

Asterisk gives up on a FastAGI connection that is not accepted within
about 2 seconds (``MAX_AGI_CONNECT``): its caller gets no IVR.  With a
queue of 50, 2,000 calls set up 300 at a time, in a process that also
followed a busy AMI connection, lost calls that way; with 1,024 all of
them were served.  The operating system caps the value
(``net.core.somaxconn`` on Linux, 4,096 since 5.4, 128 before)."""


def listenFastAGI(
    factory: FastAGIFactory,
    port: int = 4573,
    interface: str = "127.0.0.1",
    reactor: Optional[IReactorTCP] = None,
    backlog: int = DEFAULT_BACKLOG,
) -> Deferred[IListeningPort]:
    """Listen for Asterisk on *interface* (loopback by default) and *port*.

    Use ``interface=""`` (all IPv4) or an address to listen elsewhere, and
    give the factory ``allowedClients`` then: FastAGI has no authentication.
    For TLS or UNIX sockets, use a Twisted endpoint with the factory.

    :param port: the TCP port; 0 picks any free one (read it back from the
        listening port).
    :param backlog: how many connections may wait to be accepted
        (:data:`DEFAULT_BACKLOG`: survives bursts of calls).
    :return: a Deferred firing with the listening port, an
        ``twisted.internet.interfaces.IListeningPort``:
        ``port.getHost().port`` is the port number (the one chosen for
        ``port=0``), ``port.stopListening()`` stops accepting calls (calls in
        progress go on) and returns a Deferred.  The Deferred fails with
        ``twisted.internet.error.CannotListenError`` when the port is
        taken or the address is not the host's.
    """
    from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint

    if reactor is None:
        reactor = cast(IReactorTCP, defaultReactor())
    if ":" in interface:
        endpoint: Any = TCP6ServerEndpoint(reactor, port, backlog, interface)
    else:
        endpoint = TCP4ServerEndpoint(reactor, port, backlog, interface)
    return cast("Deferred[IListeningPort]", endpoint.listen(factory))


class FastAGIService(Service):
    """A FastAGI server as a Twisted service: listens while it runs.

    ``FastAGIService(FastAGIFactory(main), 4573).setServiceParent(application)``
    serves calls as long as the application runs.  Stopping it stops
    listening, then finishes the calls in progress (its Deferred waits for
    them).  The arguments are :func:`listenFastAGI`'s (*backlog* ``None``:
    its default).
    """

    def __init__(self, factory: FastAGIFactory, port: int = 4573,
                 interface: str = "127.0.0.1", reactor: Optional[IReactorTCP] = None,
                 backlog: Optional[int] = None) -> None:
        self.factory = factory
        self.port = port
        self.interface = interface
        self.reactor = reactor
        self.backlog = backlog
        self._listeningPort: Optional[IListeningPort] = None
        self._failure: Optional[Failure] = None
        self._started: Optional[Deferred[None]] = None
        self._waiters: Waiters[IListeningPort] = Waiters()

    def startService(self) -> None:
        """Start listening.  A failure (the port is taken...) is logged at
        ERROR, and :meth:`whenListening` fails with it."""
        Service.startService(self)
        self._failure = None
        options: Dict[str, Any] = {} if self.backlog is None else {"backlog": self.backlog}
        self._started = listenFastAGI(self.factory, self.port, self.interface, self.reactor,
                                      **options).addCallbacks(self._listened, self._notListening)

    def _listened(self, port: IListeningPort) -> None:
        self._listeningPort = port
        self._waiters.fire(port)

    def _notListening(self, reason: Failure) -> None:
        log.error("FastAGI service cannot listen on %s:%d: %s", self.interface or "*",
                  self.port, reason.getErrorMessage())
        self._failure = reason
        self._waiters.fail(reason)

    def whenListening(self) -> Deferred[IListeningPort]:
        """A new Deferred firing with the listening port once the service
        listens; it fails if the service could not listen, or is not running.
        Cancelling it stops waiting."""
        if self._listeningPort is not None:
            return defer.succeed(self._listeningPort)
        if self._failure is not None:
            return defer.fail(self._failure)
        if not self.running:
            return defer.fail(RuntimeError("the FastAGI service is not running"))
        return self._waiters.wait()

    def stopService(self) -> Deferred[None]:
        """Stop listening, then finish the calls in progress; fires once all
        their connections are closed."""
        Service.stopService(self)
        started, self._started = self._started, None

        def stop(ignored: object) -> Any:
            port, self._listeningPort = self._listeningPort, None
            return port.stopListening() if port is not None else None

        stopping: Deferred[Any] = started if started is not None else defer.succeed(None)
        return stopping.addCallback(stop).addCallback(lambda ignored: self.factory.finishAll())
