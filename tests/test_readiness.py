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


def sayFullyBooted(server: FakeAMIServerFactory, endpoint: MemoryEndpoint) -> None:
    """The one session's Asterisk says FullyBooted (to a user without the
    'system' read class too), and it is delivered."""
    [session] = server.sessions
    session.sendEvent([("Event", "FullyBooted"), ("Privilege", "system,all"),
                       ("Status", "Fully Booted")], force=True)
    endpoint.pump()


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
    sayFullyBooted(server, endpoint)
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
    sayFullyBooted(server, endpoint)
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


# -- what an observer learns of the wait (AMIPool builds its states on it) ----


def test_onBootingThenOnLoginWithTheOutcome() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=60.0)
    heard: List[Any] = []
    service.onBooting(lambda ami: heard.append(("booting", ami, service.booted)))
    service.onLogin(lambda ami: heard.append(("login", ami, service.booted)))
    service.startService()
    endpoint.pump()
    [(what, ami, booted)] = heard
    assert what == "booting" and ami.loggedIn and booted is False
    assert service.protocol is None  # the login does not count yet
    sayFullyBooted(server, endpoint)
    assert heard[1:] == [("login", ami, True)] and service.booted
    tearDown(clock, endpoint, service)


def test_aWaitEndedByTheBoundIsNotBooted(caplog: pytest.LogCaptureFixture) -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=5.0)
    booting: List[Any] = []
    service.onBooting(booting.append)
    outcome: List[bool] = []
    service.onLogin(lambda ami: outcome.append(service.booted))
    service.startService()
    endpoint.pump()
    booting[0].serverName = "pbx9"  # named, as a pool's protocols are
    clock.advance(5.0)
    assert outcome == [False] and logins == booting
    assert "AMI server pbx9: no FullyBooted within 5.0 s" in caplog.text
    # a FullyBooted after the wait changes nothing: booted tells how the login counted
    sayFullyBooted(server, endpoint)
    assert service.booted is False
    tearDown(clock, endpoint, service)


def test_withoutWaitingNothingIsBootingNorBooted() -> None:
    clock, server, endpoint, service, logins = setUp()
    booting: List[Any] = []
    service.onBooting(booting.append)
    service.startService()
    endpoint.pump()  # FullyBooted arrives with the login
    assert len(logins) == 1 and booting == [] and service.booted is False
    tearDown(clock, endpoint, service)


def test_eachLoginStartsUnbootedAndALostBootingLoginFails(
        loggedErrors: LoggedErrors) -> None:
    clock, server, endpoint, service, logins = setUp(waitBooted=True, bootTimeout=60.0)
    heard: List[str] = []
    service.onBooting(lambda ami: heard.append("booting %s" % (service.booted,)))
    service.onLogin(lambda ami: heard.append("login %s" % (service.booted,)))
    service.onLoginFailed(lambda ami, f: heard.append(
        "failed %s" % (f.check(error.AMIConnectionLost).__name__,)))
    service.startService()
    endpoint.pump()  # FullyBooted arrives with the login
    assert heard == ["booting False", "login True"]
    server.addUser("starpy", "starpy-secret", read="call")  # no FullyBooted from now on
    server.dropAll()
    endpoint.pump()
    clock.advance(1.0)
    endpoint.pump()
    assert heard[2:] == ["booting False"] and service.booted is False
    server.dropAll()  # lost while booting: a failed login, retried
    endpoint.pump()
    assert loggedErrors.flush(match="AMI login failed, will retry")
    assert heard[3:] == ["failed AMIConnectionLost"]
    server.addUser("starpy", "starpy-secret")  # the system class again
    clock.advance(1.0)
    endpoint.pump()
    assert heard[4:] == ["booting False", "login True"] and len(logins) == 2
    tearDown(clock, endpoint, service)


def test_aCancelledBootingObserverIsNotCalled() -> None:
    clock, server, endpoint, service, logins = setUp(waitBooted=True)
    booting: List[Any] = []
    handle = service.onBooting(booting.append)
    handle.cancel()
    service.startService()
    endpoint.pump()
    assert booting == [] and len(logins) == 1 and service.booted
    tearDown(clock, endpoint, service)
