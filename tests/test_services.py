"""Long-lived objects are Twisted services: AMIService, ChannelTracker,
AsyncAGIDispatcher, the pool and the FastAGI server."""
from __future__ import annotations

from typing import List

from twisted.application.service import IService, MultiService
from twisted.internet import error as netError
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, RaisingMemoryReactor

from starpy import asyncagi, channel, fastagi, manager, pool
from starpy.testing.agi import SimulatedChannel, placeCallInMemory
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failure, result


def test_everyLongLivedObjectIsAService() -> None:
    clock = Clock()
    factory = manager.AMIFactory("u", "s", reactor=clock)
    service = manager.AMIService(factory, "tcp:host=127.0.0.1:port=1", clock=clock)
    objects = [service, channel.ChannelTracker(service),
               asyncagi.AsyncAGIDispatcher(service), pool.AMIPool(clock=clock),
               fastagi.FastAGIService(fastagi.FastAGIFactory(lambda agi: None)),
               pool.PoolChannels(pool.AMIPool(clock=clock))]
    for candidate in objects:
        assert IService.providedBy(candidate), candidate


def test_servicesStartAndStopWithTheirParent() -> None:
    clock = Clock()
    factory = manager.AMIFactory("u", "s", reactor=clock)
    ami = manager.AMIService(factory, "tcp:host=127.0.0.1:port=1", clock=clock)
    tracker = channel.ChannelTracker(ami)
    application = MultiService()
    children: List[IService] = [ami, tracker]
    for child in children:
        child.setServiceParent(application)
    application.startService()
    assert ami.running and tracker.running
    assert tracker._registration is not None      # registered on the service's events
    application.stopService()
    assert not ami.running and not tracker.running
    assert tracker._registration is None
    tracker.start()                                # the first spelling still works
    assert tracker.running
    tracker.stop()
    assert not tracker.running


def test_fastagiServiceListensServesAndStops() -> None:
    reactor = MemoryReactor()
    clock = Clock()
    seen: List[str] = []

    def main(agi: fastagi.FastAGIProtocol) -> None:
        seen.append(agi.variables["agi_channel"])
        agi.finish()

    factory = fastagi.FastAGIFactory(main, clock=clock)
    service = fastagi.FastAGIService(factory, 4573, reactor=reactor, backlog=1024)
    listening = service.whenListening()
    assert failure(listening).check(RuntimeError)          # not running yet
    service.startService()
    port = result(service.whenListening())
    (tcp,) = reactor.tcpServers
    assert (tcp[0], tcp[2], tcp[3]) == (4573, 1024, "127.0.0.1")
    placeCallInMemory(factory, SimulatedChannel(name="PJSIP/1-00000001"), clock) \
        .runUntilFinished()
    assert seen == ["PJSIP/1-00000001"]
    stopped = service.stopService()
    assert result(stopped) is None and not service.running
    assert port is not None


def test_fastagiServiceThatCannotListen(loggedErrors: LoggedErrors) -> None:
    inUse = netError.CannotListenError(  # type: ignore[no-untyped-call]
        "127.0.0.1", 4573, OSError("in use"))
    taken = RaisingMemoryReactor(listenException=inUse)
    service = fastagi.FastAGIService(fastagi.FastAGIFactory(lambda agi: None), reactor=taken)
    service.startService()
    assert failure(service.whenListening()).check(netError.CannotListenError)
    [logged] = loggedErrors.flush(match="cannot listen on 127.0.0.1:4573")
    assert result(service.stopService()) is None


def test_theAmiObjectsProvideTheInterfacesTrackersTypeAgainst() -> None:
    from zope.interface.verify import verifyObject

    from starpy.interfaces import (
        IAMIConnection,
        IAMIEventSource,
        IAMISession,
        clockOf,
        currentConnection,
    )

    clock = Clock()
    factory = manager.AMIFactory("u", "s", reactor=clock)
    protocol = factory.buildProtocol(None)
    service = manager.AMIService(factory, "tcp:host=127.0.0.1:port=1", clock=clock)
    assert verifyObject(IAMIConnection, protocol)
    assert verifyObject(IAMISession, service)
    assert verifyObject(IAMIEventSource, pool.AMIPool(clock=clock))
    assert currentConnection(protocol) is protocol
    assert currentConnection(service) is None            # not logged in
    assert currentConnection(object()) is None
    assert clockOf(protocol) is clock and clockOf(service) is clock


def test_amiServiceStopSoonAndWhenConnectedArePublic() -> None:
    """What AMIFactory.login needs of its AMIService is public: whenConnected
    (ClientService's, failing after N refused attempts) and stopSoon (stop
    at the clock's next turn, retrying nothing meanwhile)."""
    from starpy.testing.memory import MemoryEndpoint

    clock = Clock()
    factory = manager.AMIFactory("u", "s", reactor=clock)
    endpoint = MemoryEndpoint()
    endpoint.refuse = True
    service = manager.AMIService(factory, endpoint, clock=clock)
    connected = service.whenConnected(failAfterFailures=1)
    service.startService()
    refused = failure(connected)
    assert refused.check(netError.ConnectionRefusedError)
    service.stopSoon()
    assert service.running  # not from within the caller's callbacks
    clock.advance(0)
    assert not service.running
