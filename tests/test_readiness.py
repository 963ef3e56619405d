"""AMIService(waitBooted=True): a login counts once Asterisk said FullyBooted,
or after a bounded wait (a user without the 'system' read class never hears
it); off by default."""
from __future__ import annotations

from typing import Any, List

import pytest
from twisted.internet import task

from starpy import error, manager
from starpy.testing.ami import FakeAMIServerFactory
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failure, result, unfired
from tests.test_pool import MemoryEndpoint


def setUp(username: str = "starpy", secret: str = "starpy-secret",
          **serviceArgs: Any) -> tuple[task.Clock, FakeAMIServerFactory, MemoryEndpoint,
                                       manager.AMIService, List[Any]]:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    server.addUser("nosystem", "s", read="call")
    endpoint = MemoryEndpoint(server)
    factory = manager.AMIFactory(username, secret, reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,  # type: ignore[arg-type]
                                 retryPolicy=lambda attempt: 1.0, **serviceArgs)
    logins: List[Any] = []
    service.onLogin(logins.append)
    return clock, server, endpoint, service, logins


def tearDown(clock: task.Clock, endpoint: MemoryEndpoint, service: manager.AMIService) -> None:
    stopped = service.stopService()
    endpoint.pump()
    result(stopped)
    assert clock.getDelayedCalls() == []


def test_off_by_default_a_login_counts_at_once() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s")
    assert service.waitBooted is False
    service.startService()
    endpoint.pump()
    assert len(logins) == 1 and service.protocol is not None
    tearDown(clock, endpoint, service)


def test_fully_booted_right_after_the_login_counts_at_once() -> None:
    clock, server, endpoint, service, logins = setUp(waitBooted=True, bootTimeout=5.0)
    ready = service.whenLoggedIn()
    service.startService()
    endpoint.pump()  # Asterisk sends the response and FullyBooted together
    assert result(ready) is logins[0]
    tearDown(clock, endpoint, service)


def test_a_booting_asterisk_counts_once_fully_booted() -> None:
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


def test_without_the_system_class_the_wait_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
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


def test_a_connection_lost_while_booting_is_a_failed_login_and_retried(
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


def test_stopping_while_booting_leaves_nothing_behind() -> None:
    clock, server, endpoint, service, logins = setUp("nosystem", "s", waitBooted=True,
                                                     bootTimeout=60.0)
    ready = service.whenLoggedIn()
    service.startService()
    endpoint.pump()
    tearDown(clock, endpoint, service)
    assert failure(ready).check(error.AMIConnectionLost)
    assert logins == []


def test_boot_timeout_must_be_seconds() -> None:
    factory = manager.AMIFactory("u", "s")
    with pytest.raises(ValueError, match="bootTimeout"):
        manager.AMIService(factory, waitBooted=True, bootTimeout=-1)
