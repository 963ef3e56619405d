"""What the docstrings and the README say about CollectDigits on its own,
SimulatedChannel's defaults, spacedDigits and listenFastAGI's result."""
from __future__ import annotations

from typing import Any, List

import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.internet.task import Clock

from starpy import fastagi, menu
from starpy.testing.agi import SimulatedChannel, placeCallInMemory, spacedDigits
from tests.wire import portNumber


def test_spacedDigitsAsDocumented() -> None:
    assert spacedDigits("12#") == [(2.0, "1"), (3.0, "2"), (4.0, "#")]
    assert spacedDigits("5", start=0.5, interval=3) == [(0.5, "5")]


def test_aBareSimulatedChannel() -> None:
    channel = SimulatedChannel()
    environment = dict(channel.environment())
    assert (environment["agi_request"], environment["agi_channel"], environment["agi_context"],
            environment["agi_extension"], environment["agi_version"]) == (
        "agi://127.0.0.1:4573/", "PJSIP/caller-00000001", "default", "s", "22.10.1")
    assert channel.state == 6 and channel.dtmf == () and channel.hangupAt is None
    assert sorted(channel.sounds) == ["beep", "hello-world"]
    assert sorted(channel.applications) == ["Answer", "Hangup", "Log", "NoOp", "Set", "Verbose"]


def test_collectDigitsOnItsOwnIsAChainOfOnePair() -> None:
    results: List[Any] = []
    collect = menu.CollectDigits(soundFile="extension", maxDigits=5)
    handled = menu.CollectDigits(soundFile="extension", minDigits=0,
                                 onSuccess=lambda agi, chain: ("handled", chain))

    async def main(agi: Any) -> None:
        results.append(await collect(agi))
        results.append(await handled(agi))
        agi.finish()

    clock = Clock()
    channel = SimulatedChannel(sounds={"extension": 2.0},
                               dtmf=spacedDigits("555#", 1.0, 0.5) + [(10.0, "#")])
    placeCallInMemory(fastagi.FastAGIFactory(main, clock=clock), channel,
                      clock).runUntilFinished()
    assert results == [[(collect, "555")], ("handled", [(handled, "")])]
    assert results[0][-1][1] == "555"


@pytest_twisted.ensureDeferred
async def test_listenFastagiFiresWithTheListeningPort() -> None:
    port = await fastagi.listenFastAGI(fastagi.FastAGIFactory(lambda agi: agi.finish()),
                                       port=0, reactor=reactor)
    number = portNumber(port)
    assert number > 0
    await defer.maybeDeferred(port.stopListening)
    again = reactor.listenTCP(number, protocol.ServerFactory(), interface="127.0.0.1")
    await defer.maybeDeferred(again.stopListening)
