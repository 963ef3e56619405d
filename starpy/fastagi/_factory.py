"""The FastAGI server factory and router (private: ``starpy.fastagi``
re-exports them)."""
from __future__ import annotations

import ipaddress
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Set,
    Union,
)

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IReactorTime,
)
from twisted.internet.protocol import ServerFactory

from starpy._deadlines import Deadline, Deadlines
from starpy._idioms import defaultReactor
from starpy.agi import Handler, checkCommandTimeout, runHandler
from starpy.codec.agi import (
    DEFAULT_MAX_ENVIRONMENT_LINES,
    DEFAULT_MAX_LINE_LENGTH,
)
from starpy.fastagi._common import log
from starpy.fastagi._protocol import FastAGIProtocol


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
                        agi.channelName, agi.scriptPath)
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
        limit).  Asterisk sends it at once on connecting.  One timer of
        *clock* serves every connection: it may stay armed while sessions
        are open (firing, it drops only peers still silent) and is
        cancelled once no session is open.
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
        checkCommandTimeout(commandTimeout)
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

    def environmentArrived(self, agi: FastAGIProtocol) -> None:
        """*agi* sent its environment, or closed: its deadline goes.

        The timer stays while sessions are open: when it fires with nothing
        due it stops, and the next connection arms it again; it is
        cancelled once no session is open (:meth:`sessionEnded`).  One
        delayed call per environment timeout under load, not one armed and
        cancelled per connection (measured on the reference W3 workload,
        bench/RESULTS.md, "W3, fifth round").
        """
        wait = self._awaiting.pop(agi, None)
        if wait is not None:
            wait.done = True

    def _environmentExpired(self, wait: _EnvironmentWait) -> None:
        wait.done = True
        del self._awaiting[wait.agi]
        wait.agi.environmentTimedOut(wait.timeout)

    @property
    def sessions(self) -> Set[FastAGIProtocol]:
        """The sessions whose connection is open (a copy)."""
        return set(self._sessions)

    def sessionEnded(self, agi: FastAGIProtocol) -> None:
        """*agi*'s connection closed: the factory forgets it (and its
        environment deadline, if the block never came)."""
        self._sessions.discard(agi)
        if not agi.environmentSeen:
            self.environmentArrived(agi)
        if not self._sessions and self._environmentDeadlines is not None:
            self._environmentDeadlines.clear()  # nothing left to time: no timer

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
        agi.factory = agi.server = self
        self._sessions.add(agi)
        self._awaitEnvironment(agi)
        return agi

    def _sessionReady(self, agi: FastAGIProtocol) -> None:
        runHandler(agi, self.mainFunction)
