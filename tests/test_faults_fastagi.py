"""FastAGI under faults: slow peers, refused peers, a server stopped mid-call."""
from __future__ import annotations

from typing import Any, List

import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, fastagi
from starpy.testing.agi import SimulatedChannel, placeCallInMemory, placeCallTCP
from starpy.testing.pytest_plugin import LoggedErrors
from tests.wire import connect, portNumber

ENV_START = b"agi_network: yes\nagi_network_script: hello\nagi_channel: PJSIP/slow-1\n"


def test_peerThatNeverEndsItsEnvironmentIsDropped() -> None:
    clock = task.Clock()
    started: List[Any] = []
    factory = fastagi.FastAGIFactory(started.append, clock=clock, environmentTimeout=5.0)
    agi = factory.buildProtocol(None)
    assert agi is not None
    transport = StringTransport()
    connect(agi, transport)
    agi.dataReceived(ENV_START)
    clock.advance(4.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting
    assert agi.closed and started == []
    agi.connectionLost(Failure(ConnectionError("dropped")))
    assert factory.sessions == set()
    assert clock.getDelayedCalls() == []


def test_environmentInTimeDropsNobodyAndTheTimerGoesWithTheLastSession() -> None:
    clock = task.Clock()
    started: List[Any] = []
    factory = fastagi.FastAGIFactory(started.append, clock=clock, environmentTimeout=5.0)
    agi = factory.buildProtocol(None)
    assert agi is not None
    transport = StringTransport()
    connect(agi, transport)
    agi.dataReceived(ENV_START + b"\n")
    assert started == [agi]
    # The factory's one timer may outlive the block while a session is
    # open; firing, it drops nobody and is not armed again.
    clock.advance(5.0)
    assert not transport.disconnecting and not agi.closed
    assert clock.getDelayedCalls() == []
    late = factory.buildProtocol(None)
    assert late is not None
    connect(late, StringTransport())
    assert len(clock.getDelayedCalls()) == 1
    late.dataReceived(ENV_START + b"\n")
    late.connectionLost(Failure(ConnectionError("closed")))
    assert len(clock.getDelayedCalls()) == 1  # agi is still open
    agi.connectionLost(Failure(ConnectionError("closed")))
    assert clock.getDelayedCalls() == []  # no session open: no timer


def test_oneEnvironmentTimerServesEveryConnection() -> None:
    clock = task.Clock()
    factory = fastagi.FastAGIFactory(lambda agi: None, clock=clock, environmentTimeout=5.0)
    armed: List[Any] = []
    callLater = clock.callLater

    def counting(*args: Any, **named: Any) -> Any:
        call = callLater(*args, **named)
        armed.append(call)
        return call

    clock.callLater = counting  # type: ignore[method-assign]
    sessions = []
    for _ in range(100):
        agi = factory.buildProtocol(None)
        assert agi is not None
        connect(agi, StringTransport())
        agi.dataReceived(ENV_START + b"\n")
        sessions.append(agi)
        if len(sessions) > 10:
            sessions.pop(0).connectionLost(Failure(ConnectionError("closed")))
        clock.advance(0.1)
    # 10 simulated seconds with sessions always open: the timer fired twice
    # with nothing due, not armed and cancelled once per connection.
    assert len(armed) <= 3
    for agi in sessions:
        agi.connectionLost(Failure(ConnectionError("closed")))
    assert clock.getDelayedCalls() == []


def test_finishAllEndsCallsInProgressCleanly(loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    outcomes: List[Any] = []

    async def patient(agi: fastagi.FastAGIProtocol) -> None:
        try:
            await agi.waitForDigit(30)
        except error.AGIHangup as e:
            outcomes.append(e)
            raise

    factory = fastagi.FastAGIFactory(patient, clock=clock)
    calls = [placeCallInMemory(factory, SimulatedChannel(name="PJSIP/c-%d" % i), clock)
             for i in range(3)]
    for call in calls:
        call.flush()
    assert len(factory.sessions) == 3
    done: List[Any] = []
    factory.finishAll().addBoth(done.append)
    for call in calls:
        call.flush()
    assert done == [None]
    assert len(outcomes) == 3 and factory.sessions == set()
    # patient() re-raises the hangup: each handler is logged as failed.
    logged = loggedErrors.flush(match="AGIHangup: WAIT FOR DIGIT 30000: FastAGI connection closed")
    assert [e.message.splitlines()[0] for e in logged] == [
        "AGI handler failed on PJSIP/c-%d" % i for i in range(3)]
    for call in calls:
        transcript = call.runUntilFinished()
        assert transcript.commands() == [b"WAIT FOR DIGIT 30000"]
        assert transcript.agiStatus == "SUCCESS"  # the server closed while the channel was up


@pytest_twisted.ensureDeferred
async def test_stoppingTheServerFinishesCallsInProgress(loggedErrors: LoggedErrors) -> None:
    handlers: List[Any] = []
    bothWaiting: defer.Deferred[None] = defer.Deferred()

    async def patient(agi: fastagi.FastAGIProtocol) -> None:
        await agi.answer()
        waiting = agi.waitForDigit(60)  # written to the socket now
        handlers.append(agi)
        if len(handlers) == 2:
            bothWaiting.callback(None)
        await waiting

    factory = fastagi.FastAGIFactory(patient)
    port = await fastagi.listenFastAGI(factory, 0, reactor=reactor)
    number = portNumber(port)
    calls = [placeCallTCP(reactor, "127.0.0.1", number, SimulatedChannel(
        request="agi://127.0.0.1:%d/hello" % number, name="PJSIP/tcp-%d" % i)) for i in range(2)]
    await bothWaiting
    await defer.maybeDeferred(port.stopListening)
    transcripts = await defer.gatherResults(calls)
    assert [t.commands() for t in transcripts] == [[b"ANSWER", b"WAIT FOR DIGIT 60000"]] * 2
    assert all(agi.closed for agi in handlers)
    assert factory.sessions == set()
    # patient() lets the hangup escape: each handler is logged as failed.
    logged = loggedErrors.flush(match="AGIHangup: WAIT FOR DIGIT 60000")
    assert sorted(e.message.splitlines()[0] for e in logged) == [
        "AGI handler failed on PJSIP/tcp-%d" % i for i in range(2)]


def test_oneSlowPeerAmongManyIsDroppedAlone() -> None:
    clock = task.Clock()
    started: List[Any] = []
    factory = fastagi.FastAGIFactory(started.append, clock=clock, environmentTimeout=5.0)
    peers = []
    for _index in range(5):
        agi = factory.buildProtocol(None)
        assert agi is not None
        transport = StringTransport()
        connect(agi, transport)
        peers.append((agi, transport))
        clock.advance(0.5)  # peers connect at t=0, 0.5, 1.0, 1.5, 2.0
    for index, (agi, _transport) in enumerate(peers):
        if index != 2:
            agi.dataReceived(ENV_START + b"\n")
    assert len(clock.getDelayedCalls()) == 1  # one timer for the factory, not one each
    clock.advance(3.4)  # t=5.9; peer 2 connected at t=1.0: its 5 s end at t=6.0
    assert not peers[2][1].disconnecting
    clock.advance(0.1)
    assert peers[2][1].disconnecting
    assert [agi for agi, _ in peers if agi.closed] == [peers[2][0]]
    assert len(started) == 4
    assert clock.getDelayedCalls() == []


def test_environmentDeadlinesStayBoundedBehindAStuckPeer() -> None:
    clock = task.Clock()
    factory = fastagi.FastAGIFactory(lambda agi: None, clock=clock, environmentTimeout=10.0)
    stuck = factory.buildProtocol(None)
    assert stuck is not None
    connect(stuck, StringTransport())
    deadlines = factory._environmentDeadlines
    assert deadlines is not None
    for _index in range(1000):
        agi = factory.buildProtocol(None)
        assert agi is not None
        connect(agi, StringTransport())
        agi.dataReceived(ENV_START + b"\n")
        agi.finish()
        agi.connectionLost(Failure(ConnectionError("done")))
        assert len(deadlines) <= 2 * len(factory.sessions) + 65
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(10.0)
    assert stuck.closed
    stuck.connectionLost(Failure(ConnectionError("dropped")))
    assert clock.getDelayedCalls() == [] and len(deadlines) == 0


def test_aPeerThatLeavesBeforeItsEnvironmentTakesItsDeadlineAlong() -> None:
    clock = task.Clock()
    factory = fastagi.FastAGIFactory(lambda agi: None, clock=clock, environmentTimeout=5.0)
    first, second = factory.buildProtocol(None), factory.buildProtocol(None)
    assert first is not None and second is not None
    connect(first, StringTransport())
    clock.advance(1.0)
    connect(second, StringTransport())
    first.connectionLost(Failure(ConnectionError("gone")))
    assert len(clock.getDelayedCalls()) == 1
    second.connectionLost(Failure(ConnectionError("gone too")))
    assert clock.getDelayedCalls() == []
    assert factory.sessions == set()
