"""Placing fake calls: over any endpoint or TCP, or in memory through
:mod:`starpy.testing.memory`.

Private to :mod:`starpy.testing.agi`, which re-exports the public names.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IReactorTCP,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import ClientFactory
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from starpy._idioms import Waiters
from starpy.testing.agi._caller import FakeAGICaller
from starpy.testing.agi._channel import SimulatedChannel
from starpy.testing.agi._transcript import Transcript
from starpy.testing.memory import MemoryConnection

_CALLER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 40000)
_SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 4573)


class FakeAGICallerFactory(ClientFactory):
    """A client factory for one fake call, for ``reactor.connectTCP`` and
    friends (:func:`placeCall` is simpler with an endpoint).

    :ivar caller: the :class:`FakeAGICaller`, once connected.
    """

    def __init__(
        self, channel: SimulatedChannel | None = None, clock: IReactorTime | None = None
    ) -> None:
        self.channel = channel if channel is not None else SimulatedChannel()
        self.clock = clock
        self.caller: FakeAGICaller | None = None
        self._waiters: Waiters[Transcript] = Waiters()

    def buildProtocol(self, addr: object) -> FakeAGICaller:
        caller = FakeAGICaller(self.channel, self.clock)
        caller.factory = self
        self.caller = caller
        caller.whenFinished().addCallback(self._waiters.fire)
        return caller

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        self._waiters.fail(reason)

    def whenFinished(self) -> Deferred[Transcript]:
        """A Deferred that fires with the :class:`Transcript` when the server closes
        the connection, or fails with the reason the connection failed."""
        if self.caller is not None:
            return self.caller.whenFinished()
        return self._waiters.wait()


def placeCall(
    endpoint: IStreamClientEndpoint,
    channel: SimulatedChannel | None = None,
    clock: IReactorTime | None = None,
) -> Deferred[Transcript]:
    """Place a fake call to the FastAGI server at ``endpoint``.

    :param clock: time for the simulated channel; the global reactor if None.
    :return: a Deferred that fires with the :class:`Transcript` when the server
        closes the connection, or fails with the connection error (for
        example ``twisted.internet.error.ConnectionRefusedError``).
    """
    caller = FakeAGICaller(channel, clock)
    connected: Deferred[FakeAGICaller] = connectProtocol(endpoint, caller)
    return connected.addCallback(lambda protocol: protocol.whenFinished())


def placeCallTCP(
    reactor: IReactorTCP,
    host: str = "127.0.0.1",
    port: int = 4573,
    channel: SimulatedChannel | None = None,
) -> Deferred[Transcript]:
    """Place a fake call over TCP, as ``AGI(agi://host:port/...)`` does.

    ``reactor`` must also provide IReactorTime; it is the channel's clock.
    See :func:`placeCall` for the result.
    """
    clock = reactor if IReactorTime.providedBy(reactor) else None
    return placeCall(TCP4ClientEndpoint(reactor, host, port), channel, clock)


class InMemoryCall:
    """A fake call connected to a server protocol in memory, on a
    ``twisted.internet.task.Clock``.  Nothing moves until you :meth:`flush`, :meth:`advance` or
    :meth:`runUntilFinished`.

    :ivar caller: the :class:`FakeAGICaller`.
    :ivar server: the server's protocol.
    :ivar clock: the clock both sides should use.
    """

    def __init__(self, caller: FakeAGICaller, server: IProtocol, clock: Clock) -> None:
        self.caller = caller
        self.server = server
        self.clock = clock
        #: The :class:`MemoryConnection <starpy.testing.memory.MemoryConnection>`
        #: between them; each flush round also runs the clock's calls due now.
        self.connection = MemoryConnection(server, caller, _CALLER_ADDRESS, _SERVER_ADDRESS, clock)
        self.connection.flush()

    @property
    def transcript(self) -> Transcript:
        """The call's :class:`Transcript` so far."""
        return self.caller.transcript

    @property
    def finished(self) -> bool:
        """True once the server closed the connection."""
        return self.caller.finished

    def whenFinished(self) -> Deferred[Transcript]:
        """See :meth:`FakeAGICaller.whenFinished`."""
        return self.caller.whenFinished()

    def flush(self) -> None:
        """Deliver all bytes written so far, both ways, until quiet (running
        the clock's calls due now on the way)."""
        self.connection.flush()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, delivering bytes after
        every timed event on the way."""
        target = self.clock.seconds() + seconds
        self.flush()
        while True:
            due = [c.getTime() for c in self.clock.getDelayedCalls() if c.getTime() <= target]
            if not due:
                break
            self.clock.advance(max(0.0, min(due) - self.clock.seconds()))
            self.flush()
        self.clock.advance(max(0.0, target - self.clock.seconds()))
        self.flush()

    def runUntilFinished(self, limit: float = 3600.0) -> Transcript:
        """Run simulated time until the server closes the connection.

        :param limit: most simulated seconds to run.
        :return: the :class:`Transcript`.
        :raises RuntimeError: if the call is still open after ``limit``
            seconds, or nothing is left to happen (the server waits for
            something that never comes, such as a real reactor's timer).
        """
        deadline = self.clock.seconds() + limit
        self.flush()
        while not self.finished:
            calls = self.clock.getDelayedCalls()
            if not calls:
                raise RuntimeError(
                    "the fake call is stuck: the server neither sends a command"
                    " nor closes the connection, and nothing is scheduled"
                )
            nextTime = min(c.getTime() for c in calls)
            if nextTime > deadline:
                raise RuntimeError(f"the fake call is still open after {limit} s")
            self.clock.advance(max(0.0, nextTime - self.clock.seconds()))
            self.flush()
        return self.transcript


def placeCallInMemory(
    serverFactory: IProtocolFactory,
    channel: SimulatedChannel | None = None,
    clock: Clock | None = None,
) -> InMemoryCall:
    """Connect a fake call to a protocol of ``serverFactory`` in memory.

    The environment block is delivered at once.  Give the server the same
    ``clock`` if it has timers of its own.

    :return: an :class:`InMemoryCall`; use its ``runUntilFinished()`` to play the
        call out.
    """
    clock = clock if clock is not None else Clock()
    server = serverFactory.buildProtocol(_CALLER_ADDRESS)
    if server is None:
        raise ValueError("the server factory refused the connection")
    caller = FakeAGICaller(channel, clock)
    return InMemoryCall(caller, server, clock)
