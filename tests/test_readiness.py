"""AMIService(waitBooted=True): a login counts once Asterisk said FullyBooted,
or after a bounded wait (a user without the 'system' read class never hears
it); off by default."""
from __future__ import annotations

from typing import Any, List

import pytest
from twisted.internet import task

from starpy import error, manager
from starpy.testing.ami import FakeAMIServerFactory, MemoryEndpoint
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failure, result, unfired


def setUp(username: str = "starpy", secret: str = "starpy-secret",
          **serviceArgs: Any) -> tuple[task.Clock, FakeAMIServerFactory, MemoryEndpoint,
                                       manager.AMIService, List[Any]]:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    server.addUser("nosystem", "s", read="call")
    endpoint = MemoryEndpoint(server)
    factory = manager.AMIFactory(username, secret, reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 1.0, **serviceArgs)
    logins: List[Any] = []
    service.onLogin(logins.append)
    return clock, server, endpoint, service, logins


def tearDown(clock: task.Clock, endpoint: MemoryEndpoint, service: manager.AMIService) -> None:
    stopped = service.stopService()
    endpoint.pump()
    result(stopped)
    assert clock.getDelayedCalls() == []


def test_offByDefaultALoginCountsAtOnce() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s")
    assert service.waitBooted is False
    service.startService()
    endpoint.pump()
    assert len(logins) == 1 and service.protocol is not None
    tearDown(clock, endpoint, service)


def test_fullyBootedRightAfterTheLoginCountsAtOnce() -> None:
    clock, server, endpoint, service, logins = setUp(waitBooted=True, bootTimeout=5.0)
    ready = service.whenLoggedIn()
    service.startService()
    endpoint.pump()  # Asterisk sends the response and FullyBooted together
    assert result(ready) is logins[0]
    tearDown(clock, endpoint, service)


def test_noBootTimeoutWaitsForFullyBootedWithoutATimer() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=None)
    ready = service.whenLoggedIn()
    service.startService()
    endpoint.pump()
    clock.advance(3600.0)
    unfired(ready)
    assert logins == [] and service.protocol is None
    [session] = server.sessions
    session.sendEvent([("Event", "FullyBooted"), ("Privilege", "system,all"),
                       ("Status", "Fully Booted")], force=True)
    endpoint.pump()
    assert result(ready).loggedIn and len(logins) == 1
    tearDown(clock, endpoint, service)


def test_aBootingAsteriskCountsOnceFullyBooted() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=60.0)
    ready = service.whenLoggedIn()
    booted: List[str] = []
    service.registerEvent("FullyBooted", lambda ami, e: booted.append(e["status"]))
    service.startService()
    endpoint.pump()
    clock.advance(20.0)
    unfired(ready)
    assert logins == [] and service.protocol is None
    [session] = server.sessions
    session.sendEvent([("Event", "FullyBooted"), ("Privilege", "system,all"),
                       ("Status", "Fully Booted")], force=True)
    endpoint.pump()
    assert result(ready).loggedIn and len(logins) == 1
    assert booted == ["Fully Booted"]  # the application's handlers still see it
    tearDown(clock, endpoint, service)


def test_withoutTheSystemClassTheWaitIsBounded(caplog: pytest.LogCaptureFixture) -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=5.0)
    ready = service.whenLoggedIn()
    service.startService()
    endpoint.pump()
    clock.advance(4.9)
    unfired(ready)
    clock.advance(0.1)
    assert result(ready) is logins[0]
    assert "no FullyBooted within 5.0 s" in caplog.text
    assert "'system' read class" in caplog.text
    tearDown(clock, endpoint, service)


def test_aConnectionLostWhileBootingIsAFailedLoginAndRetried(
        loggedErrors: LoggedErrors) -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=60.0)
    failed: List[Any] = []
    service.onLoginFailed(lambda ami, f: failed.append(f))
    service.startService()
    endpoint.pump()
    server.dropAll()
    endpoint.pump()
    assert failed and failed[0].check(error.AMIConnectionLost)
    assert loggedErrors.flush(match="AMI login failed, will retry")
    assert logins == []
    clock.advance(1.0)
    endpoint.pump()
    assert len(endpoint.connections) == 2
    tearDown(clock, endpoint, service)


def test_stoppingWhileBootingLeavesNothingBehind() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=60.0)
    ready = service.whenLoggedIn()
    service.startService()
    endpoint.pump()
    tearDown(clock, endpoint, service)
    assert failure(ready).check(error.AMIConnectionLost)
    assert logins == []


def test_bootTimeoutMustBeSeconds() -> None:
    factory = manager.AMIFactory("u", "s")
    with pytest.raises(ValueError, match="bootTimeout"):
        manager.AMIService(factory, waitBooted=True, bootTimeout=-1)
