"""The AMI client against hostile or broken peers and careless callers (issue 11)."""
from __future__ import annotations

import logging
import math
import random
from typing import Any, List

import pytest
from twisted.internet import task
from twisted.python.failure import Failure

from starpy import error, manager
from starpy.codec.ami import AMICodecError
from starpy.dispatch import EventDispatcher
from starpy.testing.memory import MemoryEndpoint
from starpy.testing.pytest_plugin import LoggedErrors
from tests.amireader import ManagerReader, ReadAction
from tests.deferreds import failedWith, failure, result, unfired
from tests.test_manager import BANNER, Client, acceptLogin, ends, unwrapped

SSH_BANNER = b"SSH-2.0-OpenSSH_9.6\r\n"


# -- a peer that is not AMI (item 6) -------------------------------------------------


def test_loginToANonAmiPeerSendsNothingAndFailsAtOnce(
        caplog: pytest.LogCaptureFixture) -> None:
    client = Client(banner=False)
    d = client.ami.login("starpy", "starpy-secret")
    with caplog.at_level(logging.WARNING, "starpy.manager"):
        client.feed(SSH_BANNER)
    reason = failure(d)
    assert reason.check(error.AMIProtocolError)
    assert "SSH-2.0-OpenSSH_9.6" in str(reason.value) and "not an AMI server" in str(reason.value)
    assert client.transport.value() == b""  # no Username, no Secret
    assert client.transport.disconnecting
    assert "SSH-2.0-OpenSSH_9.6" in caplog.text
    later = client.ami.login("starpy", "starpy-secret")
    assert failure(later).check(error.AMIProtocolError)
    assert client.transport.value() == b""
    client.ami.connectionLost(Failure(ConnectionError("closed")))
    assert failure(client.ami.whenBanner()).check(error.AMIProtocolError)
    assert client.clock.getDelayedCalls() == []


def test_whatAnsweredIsShownEscapedAndCut(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(banner=False)
    banner = client.ami.whenBanner()
    with caplog.at_level(logging.WARNING, "starpy.manager"):
        client.feed(b"\x1b[2J\xff HTTP/1.1 400" + b"x" * 500 + b"\r\n")
    text = str(failure(banner).value)
    assert "\\x1b[2J\\xff HTTP/1.1 400" in text
    assert "\x1b" not in text and "\udcff" not in text
    assert len(text) < 200 and text.endswith("...")


def test_factoryLoginToANonAmiPeerFailsAtOnce() -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    d = factory.login(endpoint=endpoint)
    proto, transport = ends(endpoint.connections[0])
    unfired(d)  # waiting for the banner
    proto.dataReceived(SSH_BANNER)
    assert failure(d).check(error.AMIProtocolError)
    assert b"Secret" not in transport.value() and transport.disconnecting
    clock.advance(0)  # the factory stops its retrying service
    assert clock.getDelayedCalls() == []  # the login deadline is cancelled too


def test_serviceSendsNoCredentialsToANonAmiPeerAndRetries(
        loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 2.0)
    service.startService()
    proto, transport = ends(endpoint.connections[0])
    proto.dataReceived(SSH_BANNER)
    [logged] = loggedErrors.flush(match="not an AMI server: it answered 'SSH-2.0-OpenSSH_9.6'")
    assert transport.value() == b"" and transport.disconnecting
    proto.connectionLost(Failure(ConnectionError("closed")))
    clock.advance(2.0)
    second, secondTransport = ends(endpoint.connections[1])
    acceptLogin(second, secondTransport)
    assert service.protocol is unwrapped(second)
    stopped = service.stopService()
    second.connectionLost(Failure(ConnectionError("stopped")))
    result(stopped)
    assert clock.getDelayedCalls() == []


# -- a server that accepts TCP and says nothing (item 5) ----------------------------


def serviceOn(clock: task.Clock, endpoint: MemoryEndpoint, **kw: Any) -> manager.AMIService:
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    return manager.AMIService(factory, endpoint, clock=clock, **kw)


def test_serviceGivesUpOnASilentServerAfterTheLoginDeadlineAndRetries(
        loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    delays: List[int] = []

    def policy(attempt: int) -> float:
        delays.append(attempt)
        return 5.0

    service = serviceOn(clock, endpoint, retryPolicy=policy, loginTimeout=20.0)
    ready = service.whenLoggedIn()
    service.startService()
    proto, transport = ends(endpoint.connections[0])
    clock.advance(19.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting
    [logged] = loggedErrors.flush(match="AMI banner and login: no reply within 20 seconds")
    proto.connectionLost(Failure(ConnectionError("aborted")))
    clock.advance(5.0)
    assert len(endpoint.connections) == 2
    # The second server answers: the service logs in.
    second, secondTransport = ends(endpoint.connections[1])
    acceptLogin(second, secondTransport)
    assert result(ready) is unwrapped(second)
    assert delays and delays[0] >= 1
    stopped = service.stopService()
    second.connectionLost(Failure(ConnectionError("stopped")))
    result(stopped)
    assert clock.getDelayedCalls() == []


def test_loginDeadlineCoversALoginThatIsNeverAnsweredAndBacksOff(
        loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    attempts: List[int] = []

    def policy(attempt: int) -> float:
        attempts.append(attempt)
        return 2.0 ** attempt

    service = serviceOn(clock, endpoint, retryPolicy=policy)
    assert service.loginTimeout == manager.DEFAULT_LOGIN_TIMEOUT == 10.0
    service.startService()
    for number in range(3):
        if number:
            clock.advance(2.0 ** attempts[-1])
        proto, transport = ends(endpoint.connections[number])
        proto.dataReceived(BANNER)
        assert b"Action: Login" in transport.value()
        clock.advance(manager.DEFAULT_LOGIN_TIMEOUT)
        assert transport.disconnecting
        proto.connectionLost(Failure(ConnectionError("aborted")))
    assert len(attempts) == 3 and attempts[0] < attempts[1] < attempts[2]  # backoff grows
    assert len(loggedErrors.flush(match="AMI login: no reply within 10 seconds")) == 3
    result(service.stopService())  # while waiting to retry
    assert clock.getDelayedCalls() == []


def test_loginDeadlineCanBeTurnedOffAndIsValidated() -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    service = serviceOn(clock, endpoint, loginTimeout=None)
    service.startService()
    proto, transport = ends(endpoint.connections[0])
    clock.advance(3600)
    assert not transport.disconnecting
    service.stopService()
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="loginTimeout"):
            serviceOn(clock, endpoint, loginTimeout=bad)


# -- nothing delivered once the protocol decided to close (item 12) ----------------


def test_eventsAfterARefusedLoginInTheSameChunkAreNotDispatched() -> None:
    client = Client(ids=iter(["bad-login"]))
    seen: List[str] = []
    client.ami.registerEvent(None, lambda ami, e: seen.append(e["event"]))
    d = client.ami.login("starpy", "wrong")
    client.feed(b"Response: Error\r\nActionID: bad-login\r\nMessage: Authentication failed\r\n\r\n"
                b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n")
    assert failure(d).check(error.AMIAuthenticationError)
    assert client.transport.disconnecting
    assert seen == []
    client.feed(b"Event: Hangup\r\nUniqueid: 1.2\r\n\r\n")  # arriving before the close
    assert seen == []


def test_aHandlerClosingTheConnectionStopsTheRestOfTheChunk() -> None:
    client = Client()
    seen: List[str] = []

    def handler(ami: Any, event: Any) -> None:
        seen.append(event["uniqueid"])
        ami.transport.loseConnection()

    client.ami.registerEvent("Hangup", handler)
    client.feed(b"Event: Hangup\r\nUniqueid: 1\r\n\r\nEvent: Hangup\r\nUniqueid: 2\r\n\r\n")
    assert seen == ["1"]


def test_actionsOnAClosingConnectionFailAtOnceAndSendNothing() -> None:
    client = Client(ids=iter(["bad-login", "next"]))
    login = client.ami.login("starpy", "wrong")
    client.feed(b"Response: Error\r\nActionID: bad-login\r\nMessage: Authentication failed\r\n\r\n")
    assert failure(login).check(error.AMIAuthenticationError)
    client.transport.clear()
    reason = failure(client.ami.ping())
    assert reason.check(error.AMIConnectionLost)
    assert "Authentication failed" in str(reason.value)
    assert client.transport.value() == b""
    assert client.ami.pendingCount == 0


# -- the reason of a close is kept (items 15 and 16) ---------------------------------


def test_oversizedMessageFailsWaitingActionsWithTheRealReason(
        loggedErrors: LoggedErrors) -> None:
    client = Client(maxMessageSize=1024)
    ping = client.ami.ping()
    status = client.ami.status()
    client.feed(b"Event: X\r\nA: " + b"x" * 2000)
    [logged] = loggedErrors.flush(match="exceeds the bound of 1024 bytes")
    assert client.transport.disconnecting
    client.ami.connectionLost(Failure(ConnectionError("Connection was closed cleanly.")))
    for d in (ping, status):
        lost = failedWith(d, error.AMIConnectionLost)
        assert "exceeds the bound of 1024 bytes" in str(lost)
        assert "closed cleanly" not in str(lost)
        assert isinstance(lost.__cause__, error.AMIProtocolError)
    assert "exceeds" in str(failure(client.ami.ping()).value)


def test_aBannerOverTheBoundFailsTheLoginWithAProtocolError(
        loggedErrors: LoggedErrors) -> None:
    client = Client(banner=False, maxMessageSize=64)
    d = client.ami.login("u", "s")
    client.feed(b"\x00" * 100)
    [logged] = loggedErrors.flush(match="exceeds the bound of 64 bytes")
    client.ami.connectionLost(Failure(ConnectionError("closed")))
    reason = failure(d)
    assert reason.check(error.AMIProtocolError) and reason.check(AMICodecError)
    assert client.transport.value() == b""


def test_codecErrorsAreProtocolErrors() -> None:
    assert issubclass(AMICodecError, error.AMIProtocolError)
    assert issubclass(AMICodecError, ValueError)  # as before


def test_keepaliveFailureIsTheReasonReported() -> None:
    client = Client(ids=iter(["login", "ping", "status"]), keepalive=10.0, keepaliveTimeout=3.0)
    client.ami.login("u", "s")
    client.reply("login", ("Message", "Authentication accepted"))
    client.clock.advance(10)
    status = client.ami.status(timeout=None)
    client.clock.advance(3)
    assert client.transport.disconnecting
    client.ami.connectionLost(Failure(ConnectionError("aborted")))
    text = str(failure(status).value)
    assert "Ping" in text and "3 seconds" in text


# -- bad timeouts are refused before sending (item 13) -----------------------------


@pytest.mark.parametrize("bad", [-1.0, -0.001, math.nan, math.inf, -math.inf])
def test_badActionTimeoutRefusedBeforeSending(bad: float) -> None:
    client = Client()
    with pytest.raises(ValueError, match="timeout"):
        client.ami.sendAction("Ping", timeout=bad)
    with pytest.raises(ValueError, match="timeout"):
        client.ami.ping(timeout=bad)
    with pytest.raises(ValueError, match="timeout"):
        client.ami.login("u", "s", timeout=bad)
    assert client.transport.value() == b""
    assert client.ami.pendingCount == 0
    assert client.clock.getDelayedCalls() == []


def test_timeoutOfTheWrongTypeRefused() -> None:
    client = Client()
    with pytest.raises(TypeError):
        client.ami.sendAction("Ping", timeout="5")  # type: ignore[arg-type]
    assert client.transport.value() == b""


@pytest.mark.parametrize("bad", [-5.0, math.nan, math.inf])
def test_badDefaultTimeoutsRefusedWhereTheyAreSet(bad: float) -> None:
    with pytest.raises(ValueError):
        manager.AMIProtocol(clock=task.Clock(), defaultTimeout=bad)
    with pytest.raises(ValueError):
        manager.AMIProtocol(clock=task.Clock(), keepalive=bad)
    with pytest.raises(ValueError):
        manager.AMIFactory("u", "s", timeout=bad)
    ami = manager.AMIProtocol(clock=task.Clock())
    with pytest.raises(ValueError):
        ami.defaultTimeout = bad
    assert ami.defaultTimeout == manager.DEFAULT_TIMEOUT


def test_zeroTimeoutAndNoTimeoutStillAllowed() -> None:
    client = Client()
    quick = client.ami.sendAction("Ping", timeout=0)
    forever = client.ami.sendAction("Ping", timeout=None)
    client.clock.advance(0)
    assert failure(quick).check(error.AMITimeout)
    unfired(forever)


# -- timeout bookkeeping proportional to what is pending (item 7) -------------------


def test_answeredActionsOfDistinctTimeoutsLeaveNothingBehind() -> None:
    client = Client(defaultTimeout=None)
    stuck = client.ami.sendAction("Ping", timeout=100_000.0)
    for number in range(20_000):
        d = client.ami.sendAction("Ping", timeout=1.0 + number / 1000.0)
        client.reply(client.lastID(), ("Ping", "Pong"))
        result(d)
    assert client.ami.pendingCount == 1
    assert len(client.ami._actions.deadlines) <= 2 * client.ami.pendingCount + 65
    assert len(client.clock.getDelayedCalls()) == 1  # one timer per connection
    client.clock.advance(100_000.0)
    assert failedWith(stuck, error.AMITimeout).timeout == 100_000.0
    assert len(client.ami._actions.deadlines) == 0 and client.clock.getDelayedCalls() == []


def test_manyPendingActionsKeepWhatTheyNeed() -> None:
    client = Client(defaultTimeout=None)
    waiting = [client.ami.sendAction("Ping", timeout=50.0 + n) for n in range(500)]
    for number in range(5000):
        d = client.ami.sendAction("Ping", timeout=float(number % 97))
        client.reply(client.lastID(), ("Ping", "Pong"))
        result(d)
    assert len(client.ami._actions.deadlines) <= 2 * 500 + 65
    client.clock.advance(600)
    assert all(failure(d).check(error.AMITimeout) for d in waiting)


def test_everyActionTimesOutExactlyAtItsOwnDeadline() -> None:
    rng = random.Random(11)
    client = Client(defaultTimeout=None)
    deadlines: List[float] = []
    ids: List[str] = []
    fired: dict[int, float] = {}

    def timedOut(reason: Failure, index: int) -> None:
        fired[index] = client.clock.seconds()

    for index in range(300):
        timeout = rng.choice([0.5, 1.0, 2.5, 7.0, 30.0]) + rng.randrange(0, 20)
        d = client.ami.sendAction("Ping", timeout=timeout)
        d.addErrback(timedOut, index)
        deadlines.append(client.clock.seconds() + timeout)
        ids.append(client.lastID())
        client.clock.advance(rng.choice([0.0, 0.0, 0.25]))
    answered = set(rng.sample([i for i in range(300) if i not in fired], 120))
    for index in sorted(answered):
        client.reply(ids[index], ("Ping", "Pong"))
    for _ in range(240):
        client.clock.advance(0.25)
    assert set(fired) == set(range(300)) - answered
    for index, when in fired.items():
        assert deadlines[index] <= when < deadlines[index] + 0.25, index
    assert client.clock.getDelayedCalls() == []


# -- the dispatcher's cache is bounded (item 10) ----------------------------------


def test_dispatcherCacheIsBoundedAndStillRight() -> None:
    dispatcher = EventDispatcher()
    seen: List[str] = []
    dispatcher.register("Var*", lambda proto, event: seen.append(event["event"]))
    dispatcher.register("Hangup", lambda proto, event: seen.append("H"))
    for number in range(20_000):
        dispatcher.dispatch(None, {"event": "Custom%d" % number})
        assert len(dispatcher._cache) <= dispatcher.maxCachedNames
    dispatcher.dispatch(None, {"event": "VarSet"})
    dispatcher.dispatch(None, {"event": "Hangup"})
    for number in range(3000):
        dispatcher.dispatch(None, {"event": "Varx%d" % number})
    assert len(dispatcher._cache) <= dispatcher.maxCachedNames == 1024
    assert seen == ["VarSet", "H"] + ["Varx%d" % n for n in range(3000)]


def test_protocolDispatchOfEverNewEventNamesStaysBounded() -> None:
    client = Client()
    count = [0]
    client.ami.registerEvent(None, lambda ami, e: count.__setitem__(0, count[0] + 1))
    chunk = b"".join(b"Event: Name%d\r\n\r\n" % n for n in range(5000))
    client.feed(chunk)
    assert count[0] == 5000
    assert len(client.ami.dispatcher._cache) <= EventDispatcher.maxCachedNames


# -- Asterisk's reader limits hold for every way of sending (item 3) ----------------


def test_everyWayOfSendingRefusesWhatAsteriskWouldNotRead() -> None:
    client = Client()
    with pytest.raises(ValueError, match="1022"):
        client.ami.setVar("PJSIP/100-1", "V", "x" * 1100)
    with pytest.raises(ValueError, match="1022"):
        client.ami.userEvent("Big", Data="\u20ac" * 400)
    with pytest.raises(ValueError, match="128"):
        client.ami.sendAction("Originate", {"Channel": "Local/1@echo",
                                            "Variable": ["V%d=1" % n for n in range(130)]})
    with pytest.raises(ValueError, match="NUL"):
        client.ami.sendMessage({"Action": "Setvar", "Variable": "V", "Value": "a\x00b"})
    refused = failure(client.ami.login("starpy", "secret\x00"))  # sent once the banner is in
    assert refused.check(ValueError) and "secret" not in str(refused.value).replace("Secret", "")
    assert client.transport.value() == b""
    assert client.ami.pendingCount == 0 and client.clock.getDelayedCalls() == []
    client.ami.setVar("PJSIP/100-1", "V", "x" * 900)  # what fits is sent
    (sent,) = client.sent()
    assert sent["value"] == "x" * 900


def test_sendLineMeetsTheSameLimits() -> None:
    client = Client()
    with pytest.raises(error.LocalProtocolError, match="NUL"):
        client.ami.sendLine("Value: a\x00b")
    with pytest.raises(error.LocalProtocolError, match="1022"):
        client.ami.sendLine("Value: " + "x" * 1016)
    client.ami.sendLine("Value: " + "x" * 1015)  # exactly 1022 bytes
    for number in range(127):
        client.ami.sendLine("H%d: v" % number)
    with pytest.raises(error.LocalProtocolError, match="128"):
        client.ami.sendLine("One: more")
    assert client.transport.value() == b""
    client.ami.sendLine("")
    (action,) = ManagerReader().feed(client.transport.value())
    assert isinstance(action, ReadAction) and len(action.lines) == 128
