"""starpy.pool: several fake Asterisk servers in memory on one Clock, with
faults (a restart, a refused login, a server that never answers) while the
others keep delivering."""
from __future__ import annotations

from typing import Any, List, Tuple

import pytest
from twisted.application.service import IService, MultiService
from twisted.internet import defer, task
from twisted.internet import error as netError
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, manager, pool
from starpy.codec.ami import Message
from starpy.testing.ami import FakeAMIServerFactory, MemoryEndpoint
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failure, result, unfired


class ClosingTransport(StringTransport):
    """A StringTransport that tells its protocol, on the next turn of the
    clock as a reactor would, when the client closes it."""

    protocol: Any = None
    clock: Any = None

    def loseConnection(self) -> None:
        if not self.disconnecting:
            StringTransport.loseConnection(self)
            self.clock.callLater(0, self.protocol.connectionLost,
                                 Failure(ConnectionDone("closed by the client")))

    abortConnection = loseConnection


class SilentEndpoint:
    """Connects, but the server never sends a byte."""

    def __init__(self, clock: task.Clock) -> None:
        self.clock = clock
        self.transports: List[StringTransport] = []

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        proto = factory.buildProtocol(None)
        transport = ClosingTransport()
        transport.protocol, transport.clock = proto, self.clock
        proto.makeConnection(transport)
        self.transports.append(transport)
        return defer.succeed(proto)

    def pump(self) -> None:
        pass


class Fleet:
    """A pool and its fake servers."""

    def __init__(self, **poolArgs: Any) -> None:
        self.clock = task.Clock()
        self.pool = pool.AMIPool(clock=self.clock, **poolArgs)
        self.servers: dict[str, FakeAMIServerFactory] = {}
        self.endpoints: dict[str, Any] = {}
        self.changes: List[Tuple[str, str, str]] = []
        self.pool.onStateChange(lambda status, previous: self.changes.append(
            (status.name, previous, status.state)))

    def add(self, name: str, username: str = "starpy", secret: str = "starpy-secret",
            silent: bool = False, **serverArgs: Any) -> pool.PoolServer:
        endpoint: Any
        if silent:
            endpoint = SilentEndpoint(self.clock)
        else:
            server = FakeAMIServerFactory(clock=self.clock, **serverArgs)
            self.servers[name] = server
            endpoint = MemoryEndpoint(server)
        self.endpoints[name] = endpoint
        factory = manager.AMIFactory(username, secret, reactor=self.clock, timeout=10.0)
        return self.pool.addServer(name, factory, endpoint, retryPolicy=lambda attempt: 1.0)

    def pump(self) -> None:
        for endpoint in self.endpoints.values():
            endpoint.pump()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pump()

    def stop(self) -> None:
        stopped = self.pool.stopService()
        self.pump()
        self.clock.advance(0)  # closings the endpoints deliver on the next turn
        result(stopped)
        assert self.clock.getDelayedCalls() == []


def hangup(server: FakeAMIServerFactory, uniqueid: str) -> None:
    server.emitEvent("Hangup", privilege="call,all", Uniqueid=uniqueid)


def test_poolIsAMultiserviceStartingAndStoppingEveryServer() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.add("pbx2")
    assert isinstance(fleet.pool, MultiService) and IService.providedBy(fleet.pool)
    assert [s.state for s in fleet.pool.statuses().values()] == [pool.STOPPED] * 2
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.readyServers() == ["pbx1", "pbx2"]
    for name in ("pbx1", "pbx2"):
        status = fleet.pool.status(name)
        assert status.state == pool.LOGGED_IN and status.booted and status.lastError is None
        ami = fleet.pool.protocol(name)
        assert ami is not None and ami.serverName == name
    # connecting, logged in, booted: in that order for each
    assert fleet.changes == [
        ("pbx1", pool.STOPPED, pool.CONNECTING), ("pbx2", pool.STOPPED, pool.CONNECTING),
        ("pbx1", pool.CONNECTING, pool.BOOTING), ("pbx1", pool.BOOTING, pool.LOGGED_IN),
        ("pbx2", pool.CONNECTING, pool.BOOTING), ("pbx2", pool.BOOTING, pool.LOGGED_IN),
    ]
    fleet.stop()
    assert [s.state for s in fleet.pool.statuses().values()] == [pool.STOPPED] * 2
    assert all(not server.sessions for server in fleet.servers.values())


def test_eventsOfEveryServerReachAOneServerHandlerWithItsServerName() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.add("pbx2")
    seen: List[Tuple[str, str]] = []

    def onHangup(ami: manager.AMIProtocol, event: Message) -> None:  # as for one AMIProtocol
        assert isinstance(ami, manager.AMIProtocol)
        seen.append((ami.serverName or "?", event["uniqueid"]))

    handle = fleet.pool.registerEvent("Hangup", onHangup)
    fleet.pool.startService()
    fleet.pump()
    hangup(fleet.servers["pbx1"], "1.1")
    hangup(fleet.servers["pbx2"], "1.1")  # the same Uniqueid on another server
    fleet.pump()
    assert seen == [("pbx1", "1.1"), ("pbx2", "1.1")]
    # the same handler works on one protocol alone
    seen.clear()
    lone = fleet.pool.protocol("pbx1")
    assert lone is not None
    handle.cancel()
    hangup(fleet.servers["pbx2"], "2.2")
    fleet.pump()
    assert seen == []
    assert fleet.pool.deregisterEvent("Hangup") == 0
    fleet.stop()


def test_faultyServersWhileTheOthersKeepDelivering(loggedErrors: LoggedErrors) -> None:
    fleet = Fleet()
    fleet.add("good")
    fleet.add("restarts")
    fleet.add("refuses", secret="wrong")
    fleet.add("silent", silent=True)
    seen: List[Tuple[str, str]] = []
    fleet.pool.registerEvent("Hangup", lambda ami, e: seen.append((ami.serverName, e["uniqueid"])))
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.readyServers() == ["good", "restarts"]
    fleet.advance(1.0)  # the refusal comes after Asterisk's delay
    refused = fleet.pool.status("refuses")
    assert refused.state == pool.DOWN
    assert isinstance(refused.lastError, error.AMIAuthenticationError)
    assert loggedErrors.flush(match="AMI login failed, will retry")
    assert fleet.pool.status("silent").state == pool.CONNECTING

    fleet.endpoints["restarts"].refuse = True
    fleet.servers["restarts"].dropAll()
    fleet.pump()
    down = fleet.pool.status("restarts")
    assert down.state == pool.DOWN and isinstance(down.lastError, error.AMIConnectionLost)
    hangup(fleet.servers["good"], "1.1")
    fleet.pump()
    fleet.advance(1.0)  # the restarting server still refuses connections
    down = fleet.pool.status("restarts")
    assert down.state == pool.DOWN and isinstance(down.lastError, netError.ConnectionRefusedError)
    hangup(fleet.servers["good"], "1.2")
    fleet.endpoints["restarts"].refuse = False
    fleet.advance(1.0)
    assert fleet.pool.status("restarts").state == pool.LOGGED_IN
    hangup(fleet.servers["restarts"], "9.1")
    hangup(fleet.servers["good"], "1.3")
    fleet.pump()
    loggedErrors.flush(match="AMI login failed, will retry")  # "refuses" retried meanwhile
    assert [uid for name, uid in seen if name == "good"] == ["1.1", "1.2", "1.3"]
    assert [uid for name, uid in seen if name == "restarts"] == ["9.1"]
    restarts = [change[1:] for change in fleet.changes if change[0] == "restarts"]
    assert restarts == [
        (pool.STOPPED, pool.CONNECTING), (pool.CONNECTING, pool.BOOTING),
        (pool.BOOTING, pool.LOGGED_IN),
        (pool.LOGGED_IN, pool.DOWN),     # dropped
        (pool.DOWN, pool.CONNECTING),    # the retry
        (pool.CONNECTING, pool.DOWN),    # refused
        (pool.DOWN, pool.CONNECTING),    # the next retry
        (pool.CONNECTING, pool.BOOTING), (pool.BOOTING, pool.LOGGED_IN),
    ]
    assert fleet.pool.status("silent").state == pool.CONNECTING
    fleet.stop()


def test_whenAllLoggedInWaitsForEachAndCanBeBounded() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.add("pbx2")
    fleet.endpoints["pbx2"].refuse = True
    fleet.pool.startService()
    fleet.pump()
    everyone = fleet.pool.whenAllLoggedIn()
    bounded = fleet.pool.whenAllLoggedIn(timeout=0.5)
    unfired(everyone)
    fleet.advance(0.5)
    assert failure(bounded).check(error.AMITimeout)
    fleet.endpoints["pbx2"].refuse = False
    fleet.advance(0.5)
    protocols = result(everyone)
    assert sorted(protocols) == ["pbx1", "pbx2"]
    assert protocols["pbx2"].serverName == "pbx2"
    fleet.stop()


def test_actionsToANamedServerOrAChooser() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.add("pbx2")
    fleet.pool.startService()
    fleet.pump()
    pong = fleet.pool.sendAction("pbx2", "Ping")
    fleet.pump()
    assert result(pong)["ping"] == "Pong"
    assert [m["action"] for m in fleet.servers["pbx2"].received] == ["Login", "Ping"]
    assert [m["action"] for m in fleet.servers["pbx1"].received] == ["Login"]
    offered: List[List[str]] = []

    def last(ready: List[str]) -> str:
        offered.append(ready)
        return ready[-1]

    status = fleet.pool.call(last, lambda ami: ami.coreStatus())
    fleet.pump()
    assert result(status)["corecurrentcalls"] == "0"
    assert offered == [["pbx1", "pbx2"]]
    assert fleet.servers["pbx2"].received[-1]["action"] == "CoreStatus"
    assert failure(fleet.pool.sendAction(lambda ready: "elsewhere", "Ping")).check(ValueError)
    assert failure(fleet.pool.sendAction("nope", "Ping")).check(KeyError)
    assert failure(fleet.pool.sendAction(42, "Ping")).check(TypeError)  # type: ignore[arg-type]
    fleet.stop()


def test_aServerNotLoggedInFailsAtOnceOrIsWaitedForBoundedly() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.endpoints["pbx1"].refuse = True
    fleet.pool.startService()
    assert failure(fleet.pool.sendAction("pbx1", "Ping")).check(pool.NoServerReady)
    assert failure(fleet.pool.sendAction(lambda ready: ready[0], "Ping")).check(pool.NoServerReady)
    tooLate = fleet.pool.sendAction("pbx1", "Ping", wait=0.5)
    queued = fleet.pool.sendAction("pbx1", "Ping", wait=5.0)
    fleet.advance(0.5)
    assert failure(tooLate).check(error.AMITimeout)
    fleet.endpoints["pbx1"].refuse = False
    fleet.advance(0.5)  # the retry connects, logs in, boots, then sends
    fleet.pump()
    assert result(queued)["ping"] == "Pong"
    fleet.stop()


def test_aBootingAsteriskIsNotSentActionsUntilFullyBooted() -> None:
    fleet = Fleet()
    fleet.add("pbx1", username="nosystem", secret="s")
    fleet.servers["pbx1"].addUser("nosystem", "s", read="call")  # gets no FullyBooted
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.status("pbx1").state == pool.BOOTING
    assert fleet.pool.protocol("pbx1") is None
    queued = fleet.pool.sendAction("pbx1", "Ping", wait=60.0)
    fleet.pump()
    assert [m["action"] for m in fleet.servers["pbx1"].received] == ["Login"]
    [session] = fleet.servers["pbx1"].sessions
    session.sendEvent([("Event", "FullyBooted"), ("Privilege", "system,all"),
                       ("Status", "Fully Booted")], force=True)  # the boot completes
    fleet.pump()
    status = fleet.pool.status("pbx1")
    assert status.state == pool.LOGGED_IN and status.booted
    fleet.pump()
    assert result(queued)["ping"] == "Pong"
    fleet.stop()


def test_aUserWithoutTheSystemClassIsReadyAfterTheBoundedWait(
        caplog: pytest.LogCaptureFixture) -> None:
    fleet = Fleet(bootTimeout=5.0)
    fleet.add("pbx1", username="limited", secret="limited-secret")
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.status("pbx1").state == pool.BOOTING
    fleet.advance(4.9)
    assert fleet.pool.status("pbx1").state == pool.BOOTING
    fleet.advance(0.1)
    status = fleet.pool.status("pbx1")
    assert status.state == pool.LOGGED_IN and not status.booted
    assert "no FullyBooted within 5.0 s" in caplog.text and "'system' read class" in caplog.text
    fleet.stop()


def test_waitingForFullyBootedCanBeTurnedOff() -> None:
    fleet = Fleet(waitBooted=False)
    fleet.add("pbx1", username="limited", secret="limited-secret")
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.status("pbx1").state == pool.LOGGED_IN
    assert (pool.STOPPED, pool.BOOTING) not in [c[1:] for c in fleet.changes]
    fleet.stop()


def test_serversAddedAndRemovedWhileRunning() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    seen: List[str] = []
    fleet.pool.registerEvent("Hangup", lambda ami, e: seen.append(ami.serverName))
    fleet.pool.startService()
    fleet.pump()
    fleet.add("pbx2")  # starts at once: the pool is running
    fleet.pump()
    assert fleet.pool.readyServers() == ["pbx1", "pbx2"]
    hangup(fleet.servers["pbx2"], "1.1")
    fleet.pump()
    assert seen == ["pbx2"]
    fleet.endpoints["pbx1"].refuse = True
    fleet.servers["pbx1"].dropAll()
    fleet.pump()
    waiting = fleet.pool.whenReady("pbx1")
    removed = fleet.pool.removeServer("pbx1")
    fleet.pump()
    result(removed)
    assert failure(waiting).check(pool.NoServerReady)
    assert fleet.changes[-1] == ("pbx1", pool.DOWN, pool.STOPPED)
    assert fleet.pool.servers() == ["pbx2"]
    with pytest.raises(KeyError):
        fleet.pool.status("pbx1")
    fleet.advance(5.0)  # no reconnection of the removed server
    assert len(fleet.endpoints["pbx1"].connections) == 1
    hangup(fleet.servers["pbx2"], "1.2")
    fleet.pump()
    assert seen == ["pbx2", "pbx2"]
    fleet.stop()


def test_observerHandlesAndAFailingObserver(loggedErrors: LoggedErrors) -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    heard: List[str] = []
    handle = fleet.pool.onStateChange(lambda status, previous: heard.append(status.state))

    def broken(status: pool.ServerStatus, previous: str) -> None:
        raise RuntimeError("observer bug")

    fleet.pool.onStateChange(broken)
    fleet.pool.startService()
    fleet.pump()
    assert heard == [pool.CONNECTING, pool.BOOTING, pool.LOGGED_IN]
    assert len(loggedErrors.flush(RuntimeError)) == 3
    handle.cancel()
    handle.cancel()  # idempotent
    fleet.stop()
    loggedErrors.flush(RuntimeError)
    assert heard == [pool.CONNECTING, pool.BOOTING, pool.LOGGED_IN]


def test_cancelledWhenReadyIsForgotten() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.endpoints["pbx1"].refuse = True
    fleet.pool.startService()
    fleet.pump()
    server = fleet.pool.server("pbx1")
    kept = fleet.pool.whenReady("pbx1")
    for _n in range(3):
        cancelled = fleet.pool.whenReady("pbx1")
        cancelled.cancel()
        assert failure(cancelled).check(defer.CancelledError)
    timedOut = fleet.pool.whenReady("pbx1", timeout=1.0)
    fleet.advance(1.0)
    assert failure(timedOut).check(error.AMITimeout)
    assert len(server._waiters) == 1  # only the one still waiting
    allIn = fleet.pool.whenAllLoggedIn()
    assert len(server._waiters) == 2
    allIn.cancel()
    assert failure(allIn).check(defer.CancelledError) and len(server._waiters) == 1
    fleet.stop()
    assert failure(kept).check(pool.NoServerReady) and len(server._waiters) == 0


def test_aStateObserversFailedDeferredIsLogged(loggedErrors: LoggedErrors) -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    heard: List[str] = []

    def later(status: pool.ServerStatus, previous: str) -> defer.Deferred[None]:
        heard.append(status.state)
        return defer.fail(RuntimeError("observer failed later"))

    fleet.pool.onStateChange(later)
    fleet.pool.startService()
    fleet.pump()
    assert heard == [pool.CONNECTING, pool.BOOTING, pool.LOGGED_IN]
    logged = loggedErrors.flush(RuntimeError)
    assert len(logged) == 3 and logged[0].message.startswith("AMI pool state observer")
    fleet.stop()
    loggedErrors.flush(RuntimeError)


def test_badArgumentsAreRefusedBeforeAnythingChanges() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=fleet.clock)
    with pytest.raises(ValueError, match="already in the pool"):
        endpoint: Any = MemoryEndpoint(FakeAMIServerFactory(clock=fleet.clock))
        fleet.pool.addServer("pbx1", factory, endpoint)
    with pytest.raises(ValueError, match="must not be empty"):
        fleet.pool.addServer("", factory)
    with pytest.raises(TypeError, match="server name"):
        fleet.pool.addServer(1, factory)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AMIFactory"):
        fleet.pool.addServer("pbx2", object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bootTimeout"):
        fleet.pool.addServer("pbx2", factory, bootTimeout=-1)
    with pytest.raises(ValueError, match="bootTimeout"):
        pool.AMIPool(bootTimeout=float("nan"))
    with pytest.raises(TypeError, match="observer"):
        fleet.pool.onStateChange(42)  # type: ignore[arg-type]
    assert fleet.pool.servers() == ["pbx1"]
    assert failure(fleet.pool.whenReady("pbx1")).check(pool.NoServerReady)  # not started
    fleet.stop()


def test_channelsOverThePoolKeyedByServerAndUniqueid() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.add("pbx2")
    for name in ("pbx1", "pbx2"):  # the same Uniqueid on both servers
        fleet.servers[name].addChannel("PJSIP/%s-00000001" % name, "1700000000.1")
    channels = pool.PoolChannels(fleet.pool)
    channels.start()
    fleet.pool.startService()
    fleet.pump()  # each tracker rebuilds after its server's login
    assert sorted(channels.channels) == [("pbx1", "1700000000.1"), ("pbx2", "1700000000.1")]
    assert channels.channel("pbx2", "1700000000.1").name == "PJSIP/pbx2-00000001"
    fleet.servers["pbx1"].hangupChannel("PJSIP/pbx1-00000001")
    fleet.pump()
    assert sorted(channels.channels) == [("pbx2", "1700000000.1")]
    fleet.add("pbx3")  # added while running: tracked too
    fleet.servers["pbx3"].addChannel("PJSIP/pbx3-00000001", "1700000000.1")
    fleet.pump()
    assert sorted(channels.channels) == [("pbx2", "1700000000.1"), ("pbx3", "1700000000.1")]
    assert sorted(name for name, linkedid in channels.calls) == ["pbx2", "pbx3"]
    tracker = channels.tracker("pbx2")
    removed = fleet.pool.removeServer("pbx2")
    fleet.pump()
    result(removed)
    assert "pbx2" not in channels.trackers and tracker.channels == {}
    assert sorted(channels.channels) == [("pbx3", "1700000000.1")]
    channels.stop()
    assert channels.channels == {}
    fleet.stop()


def test_aServerThatNeverAnswersIsDownAfterTheLoginDeadline(
        loggedErrors: LoggedErrors) -> None:
    fleet = Fleet()
    fleet.add("good")
    silent = fleet.add("silent", silent=True)
    seen: List[str] = []
    fleet.pool.registerEvent("Hangup", lambda ami, e: seen.append(e["uniqueid"]))
    fleet.pool.startService()
    fleet.pump()
    fleet.advance(9.9)
    assert fleet.pool.status("silent").state == pool.CONNECTING
    assert silent.amiService.loginTimeout == 10.0
    fleet.advance(0.1)
    status = fleet.pool.status("silent")
    assert status.state == pool.DOWN and isinstance(status.lastError, error.AMITimeout)
    assert loggedErrors.flush(match="AMI login failed, will retry")
    assert fleet.endpoints["silent"].transports[0].disconnecting  # given up
    fleet.advance(0)  # the connection closes
    fleet.advance(1.0)
    assert fleet.pool.status("silent").state == pool.CONNECTING  # and tried again
    assert len(fleet.endpoints["silent"].transports) == 2
    hangup(fleet.servers["good"], "1.1")
    fleet.pump()
    assert seen == ["1.1"] and fleet.pool.readyServers() == ["good"]
    fleet.stop()


def test_poolChannelsIsAServiceOfTheApplication() -> None:
    """PoolChannels is long-lived, so it is a Twisted service: started and
    stopped with its parent; start()/stop() are its older names."""
    from twisted.application.service import IService, MultiService

    fleet = Fleet()
    fleet.add("pbx1")
    fleet.servers["pbx1"].addChannel("PJSIP/pbx1-00000001", "1700000000.1")
    channels = pool.PoolChannels(fleet.pool)
    assert IService.providedBy(channels)
    application = MultiService()
    services: List[IService] = [fleet.pool, channels]
    poolService, channelsService = services
    poolService.setServiceParent(application)
    channelsService.setServiceParent(application)
    application.startService()
    fleet.pump()
    assert channels.running and sorted(channels.channels) == [("pbx1", "1700000000.1")]
    channels.start()  # already running: nothing more
    assert list(channels.trackers) == ["pbx1"]
    tracker = channels.tracker("pbx1")
    channelsService.disownServiceParent()
    assert not channels.running and channels.trackers == {} and tracker.channels == {}
    channels.stop()  # stopped already: nothing
    fleet.stop()


def test_aConnectionLostWhileBootingIsDownAndRetried(
        loggedErrors: LoggedErrors, caplog: pytest.LogCaptureFixture) -> None:
    fleet = Fleet(bootTimeout=5.0)
    fleet.add("pbx1", username="limited", secret="limited-secret")  # gets no FullyBooted
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.status("pbx1").state == pool.BOOTING
    fleet.servers["pbx1"].dropAll()
    fleet.pump()
    status = fleet.pool.status("pbx1")
    assert status.state == pool.DOWN and isinstance(status.lastError, error.AMIConnectionLost)
    # the AMIService's failed login (its wait for FullyBooted lost the connection)
    assert loggedErrors.flush(match="AMI login failed, will retry")
    fleet.endpoints["pbx1"].refuse = True
    fleet.advance(10.0)  # the wait's bound was given up with the connection
    loggedErrors.flush(netError.ConnectionRefusedError)
    assert "no FullyBooted" not in caplog.text
    fleet.endpoints["pbx1"].refuse = False
    fleet.advance(1.0)
    assert fleet.pool.status("pbx1").state == pool.BOOTING
    assert [change[1:] for change in fleet.changes][:4] == [
        (pool.STOPPED, pool.CONNECTING), (pool.CONNECTING, pool.BOOTING),
        (pool.BOOTING, pool.DOWN), (pool.DOWN, pool.CONNECTING)]
    fleet.stop()


def test_poolFullyBootedHandlersGetTheEventOfEachServer() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    fleet.add("pbx2")
    booted: List[Any] = []
    fleet.pool.registerEvent("FullyBooted", lambda ami, e: booted.append(ami.serverName))
    fleet.pool.startService()
    fleet.pump()
    assert booted == ["pbx1", "pbx2"]
    assert all(status.booted for status in fleet.pool.statuses().values())
    fleet.stop()


def test_aPoolFullyBootedHandlerFindsItsServerReady() -> None:
    fleet = Fleet()
    fleet.add("pbx1")
    seen: List[Any] = []

    def onBooted(ami: Any, event: Any) -> None:
        seen.append((fleet.pool.status("pbx1").state, fleet.pool.protocol("pbx1") is ami))

    fleet.pool.registerEvent("FullyBooted", onBooted)
    fleet.pool.startService()
    fleet.pump()
    assert seen == [(pool.LOGGED_IN, True)]
    fleet.stop()


def test_aServersSettingsAreThoseOfItsAMIService() -> None:
    fleet = Fleet(bootTimeout=5.0, pushFilter=True)
    server = fleet.add("pbx1")
    ami = server.amiService
    assert (ami.waitBooted, ami.bootTimeout, ami.pushFilter) == (True, 5.0, True)
    assert (server.waitBooted, server.bootTimeout, server.pushFilter) == (True, 5.0, True)
    server.waitBooted, server.bootTimeout, server.pushFilter = False, 7.0, False
    assert (ami.waitBooted, ami.bootTimeout, ami.pushFilter) == (False, 7.0, False)
    with pytest.raises(TypeError, match="bootTimeout"):
        server.bootTimeout = None  # type: ignore[assignment]  # a pool's wait is bounded
    with pytest.raises(ValueError, match="bootTimeout"):
        server.bootTimeout = -1.0
    assert ami.bootTimeout == 7.0
    fleet.stop()
