"""AMI under faults, against the fake Asterisk, in memory on a Clock.

After every fault: no pending actions, no delayed calls, and no event
handler left registered by the library.
"""
from __future__ import annotations

from typing import Any, List

import pytest
from twisted.internet import defer, task
from twisted.python.failure import Failure

from starpy import error, manager
from starpy.testing.ami import FakeAMIServerFactory, MemoryEndpoint
from starpy.testing.pytest_plugin import LoggedErrors
from tests import transcripts
from tests.wire import connect


def outcome(d: defer.Deferred[Any]) -> List[Any]:
    box: List[Any] = []
    d.addBoth(box.append)
    return box


def setUp(**factoryArgs: Any) -> tuple[task.Clock, FakeAMIServerFactory, MemoryEndpoint,
                                        manager.AMIService]:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    endpoint = MemoryEndpoint(server)
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=clock, timeout=10.0,
                                 **factoryArgs)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 1.0)
    service.startService()
    endpoint.pump()
    return clock, server, endpoint, service


def tearDown(clock: task.Clock, endpoint: MemoryEndpoint, service: manager.AMIService) -> None:
    service.stopService()
    endpoint.pump()
    ami = service._current
    assert ami is None or ami.pendingCount == 0
    assert clock.getDelayedCalls() == []


def test_serverRestartWithActionsPending() -> None:
    clock, server, endpoint, service = setUp()
    first = service.protocol
    assert first is not None
    hangups: List[str] = []
    service.registerEvent("Hangup", lambda ami, e: hangups.append(e["uniqueid"]))
    registered = len(service.dispatcher)
    server.script("CoreStatus", lambda session, action: defer.Deferred())  # never answered
    server.script("Status", lambda session, action: defer.Deferred())
    waiting = [outcome(first.coreStatus()), outcome(first.status())]
    endpoint.pump()
    server.dropAll()  # Asterisk restarts
    endpoint.pump()
    for box, name in zip(waiting, ["CoreStatus", "Status"], strict=False):
        assert isinstance(box[0], Failure) and isinstance(box[0].value, error.AMIConnectionLost)
        assert box[0].value.action == name
    assert service.protocol is None
    assert outcome(first.ping())[0].check(error.AMIConnectionLost)  # fails at once
    clock.advance(1.0)
    endpoint.pump()
    second = service.protocol
    assert second is not None and second is not first and second.loggedIn
    server.emitEvent("Hangup", privilege="call,all", Uniqueid="1.1")
    endpoint.pump()
    assert hangups == ["1.1"]  # once, not once per connection
    assert len(service.dispatcher) == registered
    tearDown(clock, endpoint, service)


def test_connectionDropsInTheMiddleOfAMessage() -> None:
    clock, server, endpoint, service = setUp()
    ami = service.protocol
    assert ami is not None
    seen: List[Any] = []
    ami.registerEvent(None, lambda a, e: seen.append(e))
    pending = outcome(ami.ping())
    ami.dataReceived(b"Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/1-0000")
    endpoint.connections[-1].serverTransport.abortConnection()
    endpoint.pump()
    assert seen == []  # the half message is never delivered
    assert pending[0].check(error.AMIConnectionLost)
    clock.advance(1.0)
    endpoint.pump()
    fresh = service.protocol
    assert fresh is not None and fresh is not ami
    pong = outcome(fresh.ping())
    endpoint.pump()
    assert pong[0]["ping"] == "Pong"
    tearDown(clock, endpoint, service)


def test_peerSendingOneByteAtATime() -> None:
    whole = manager.AMIProtocol(clock=task.Clock())
    bytewise = manager.AMIProtocol(clock=task.Clock())
    events: dict[str, List[Any]] = {"whole": [], "bytes": []}
    whole.registerEvent(None, lambda a, e: events["whole"].append(e.headers()))
    bytewise.registerEvent(None, lambda a, e: events["bytes"].append(e.headers()))
    from twisted.internet.testing import StringTransport
    connect(whole, StringTransport())
    connect(bytewise, StringTransport())
    data = transcripts.raw("events-call")
    whole.dataReceived(data)
    for index in range(len(data)):
        bytewise.dataReceived(data[index:index + 1])
    assert bytewise.amiVersion == "11.0.0"
    assert events["bytes"] == events["whole"] and len(events["whole"]) == 99


def test_eventStormWhileActionsPending() -> None:
    clock, server, endpoint, service = setUp()
    ami = service.protocol
    assert ami is not None
    count = [0]
    ami.registerEvent("Newexten", lambda a, e: count.__setitem__(0, count[0] + 1))
    replies = []
    for index in range(50):
        replies.append(outcome(ami.setVar(None, "V%d" % index, str(index))))
        for _ in range(200):
            server.emitEvent("Newexten", privilege="dialplan,all", Channel="Local/1@x-1;1")
    endpoint.pump()
    values = [outcome(ami.getVar(None, "V%d" % index)) for index in range(50)]
    endpoint.pump()
    assert count[0] == 50 * 200
    assert all(box and box[0]["message"] == "Variable Set" for box in replies)
    assert [box[0] for box in values] == [str(index) for index in range(50)]
    tearDown(clock, endpoint, service)


def test_replyWithUnknownActionIdChangesNothing() -> None:
    clock, server, endpoint, service = setUp()
    ami = service.protocol
    assert ami is not None
    pending = outcome(ami.sendAction("Ping", timeout=None))
    ami.dataReceived(b"Response: Success\r\nActionID: not-ours-1\r\nPing: Pong\r\n\r\n")
    assert ami.pendingCount == 1 and pending == []
    endpoint.pump()
    assert pending[0]["ping"] == "Pong"
    tearDown(clock, endpoint, service)


def test_halfOpenConnectionCaughtByKeepalive() -> None:
    clock, server, endpoint, service = setUp(keepalive=5.0, keepaliveTimeout=2.0)
    first = service.protocol
    assert first is not None
    clock.advance(5.0)
    endpoint.pump()  # Ping answered: still up
    assert service.protocol is first
    server.script("Ping", lambda session, action: defer.Deferred())  # peer gone silent
    clock.advance(5.0)
    endpoint.pump()
    clock.advance(2.0)  # no Pong in time: the client drops the connection
    endpoint.pump()
    assert service.protocol is None
    server.unscript("Ping")
    clock.advance(1.0)
    endpoint.pump()
    second = service.protocol
    assert second is not None and second is not first
    tearDown(clock, endpoint, service)


def test_reconnectWaitsWhileAsteriskIsDown() -> None:
    clock, server, endpoint, service = setUp()
    endpoint.refuse = True
    server.dropAll()
    endpoint.pump()
    ready = outcome(service.whenLoggedIn())
    for _ in range(3):
        clock.advance(1.0)
    assert ready == []
    endpoint.refuse = False
    clock.advance(1.0)
    endpoint.pump()
    assert ready and ready[0].loggedIn
    tearDown(clock, endpoint, service)


@pytest.mark.parametrize("cut", [1, 5, 17, 40])
def test_dropAfterAnyPrefixLeavesNothingPending(cut: int) -> None:
    from twisted.internet.testing import StringTransport
    clock = task.Clock()
    ami = manager.AMIProtocol(clock=clock, defaultTimeout=5.0)
    connect(ami, StringTransport())
    boxes = [outcome(ami.ping()), outcome(ami.status()), outcome(ami.dbGet("f", "k"))]
    stream = transcripts.raw("ami-basic")
    ami.dataReceived(stream[:cut * 37])
    ami.connectionLost(Failure(ConnectionError("dropped")))
    assert all(box and box[0].check(error.AMIConnectionLost) for box in boxes)
    assert ami.pendingCount == 0
    assert clock.getDelayedCalls() == []


def test_aCancelledWaitForTheLoginIsForgotten() -> None:
    clock, server, endpoint, service = setUp()
    endpoint.refuse = True
    server.dropAll()
    endpoint.pump()
    given_up = outcome(service.whenLoggedIn())
    kept = outcome(service.whenLoggedIn())
    given_up_deferred = service.whenLoggedIn()
    given_up_deferred.cancel()
    box = outcome(given_up_deferred)
    assert box and box[0].check(defer.CancelledError)
    assert len(service._loggedIn) == 2
    endpoint.refuse = False
    clock.advance(1.0)
    endpoint.pump()
    assert given_up and kept and kept[0].loggedIn
    assert len(service._loggedIn) == 0
    tearDown(clock, endpoint, service)


def test_aLoginObserverWhoseDeferredFailsIsLoggedAndTheOthersGoOn(
        loggedErrors: LoggedErrors) -> None:
    clock, server, endpoint, service = setUp()
    seen: List[Any] = []
    service.onLogin(lambda ami: defer.fail(RuntimeError("observer broke later")))
    service.onLogin(seen.append)
    server.dropAll()
    endpoint.pump()
    clock.advance(1.0)
    endpoint.pump()
    assert seen and seen[0] is service.protocol
    [logged] = loggedErrors.flush(RuntimeError)
    assert "AMI login observer" in logged.message
    tearDown(clock, endpoint, service)


def test_theBannerOutcomeIsKeptForLaterWaiters() -> None:
    from twisted.internet.testing import StringTransport
    ami = manager.AMIProtocol(clock=task.Clock())
    early = outcome(ami.whenBanner())
    connect(ami, StringTransport())
    ami.dataReceived(b"Asterisk Call Manager/9.0.0\r\n")
    assert early == ["9.0.0"] and outcome(ami.whenBanner()) == ["9.0.0"]
    ami.connectionLost(Failure(ConnectionError("dropped")))
    assert outcome(ami.whenBanner()) == ["9.0.0"]
    assert outcome(ami.whenClosed()) == [None]
