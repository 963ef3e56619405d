#!/usr/bin/env python3
"""Watch how many channels are open and warn when a threshold is passed.

Tracks open channels from AMI events (``Newchannel``, ``Hangup``) after
loading the current ones with ``CoreShowChannels``: the way to notice a PRI
(or any scarce trunk) running out of channels, or to decide whether to let
low-priority calls through.  Logs into the AMI configured in starpy.conf.

No dialplan lines are needed; the AMI user needs the ``call`` read class and
``reporting`` write class (for CoreShowChannels) in manager.conf.  A real
application would count only the channels of the scarce resource: see
:meth:`ChannelTracker.interestingEvent`.

Run it::

    python examples/priexhaustion.py [--threshold 20]
    python examples/priexhaustion.py --fake   # scripted channels on the fake Asterisk
"""
from __future__ import annotations

import argparse
import logging
from typing import Any, Dict

from starpy import manager, utilapplication

from _run import runExample

log = logging.getLogger("priexhaustion")


class ChannelTracker:
    """The open channels, by uniqueid, and what to do when their count changes."""

    def __init__(self, thresholdCount: int = 20) -> None:
        self.channels: Dict[str, Any] = {}
        self.thresholdCount = thresholdCount

    async def start(self, ami: manager.AMIProtocol) -> None:
        """Subscribe to channel events, then load the channels already open."""
        ami.registerEvent("Newchannel", self.onChannelNew)
        ami.registerEvent("Hangup", self.onChannelHangup)
        for event in (await ami.coreShowChannels()).events:
            self.onChannelNew(ami, event)

    def interestingEvent(self, event: Any) -> bool:
        """Whether the channel counts (e.g. only ``DAHDI/`` channels of a PRI).

        It must answer the same for a channel's Newchannel and Hangup.
        """
        return True

    def onChannelNew(self, ami: Any, event: Any) -> None:
        if self.interestingEvent(event) and event["uniqueid"] not in self.channels:
            self.channels[event["uniqueid"]] = event
            self.onChannelChange(event, opening=True)

    def onChannelHangup(self, ami: Any, event: Any) -> None:
        if not self.interestingEvent(event):
            return
        if self.channels.pop(event["uniqueid"], None) is None:
            log.warning("hangup of unknown channel %s", event.get("channel"))
            return
        self.onChannelChange(event, opening=False)

    def onChannelChange(self, event: Any, opening: bool) -> None:
        """The count changed: warn above the threshold (enforce limits here)."""
        count = len(self.channels)
        text = "%s %s: %d channel%s open" % ("+" if opening else "-", event.get("channel"),
                                              count, "" if count == 1 else "s")
        if opening and count > self.thresholdCount:
            text += "  WARNING: over the threshold of %d" % (self.thresholdCount,)
            log.warning("channel count %d is over the threshold", count)
        print(text, flush=True)


async def fakeTraffic(server: Any, ami: manager.AMIProtocol) -> None:
    """Open three channels and close two on the fake Asterisk."""
    for name in ("DAHDI/1-1", "DAHDI/2-1", "DAHDI/3-1"):
        channel = server.addChannel(name)
        server.emitEvent("Newchannel", privilege="call,all", Channel=name,
                         Uniqueid=channel.uniqueid)
    server.hangupChannel("DAHDI/1-1")
    server.hangupChannel("PJSIP/100-00000001")
    await ami.ping()            # answered after the events: they have all been handled


async def real(reactor: Any, options: argparse.Namespace) -> None:
    application = utilapplication.UtilApplication(reactor=reactor)   # reads starpy.conf
    ami = await application.amiSpecifier.login()
    tracker = ChannelTracker(options.threshold or 20)
    await tracker.start(ami)
    await ami.whenClosed()


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    from _fake import fakeApplication, startFakeAMI

    server, amiPort = startFakeAMI(reactor)
    server.addChannel("PJSIP/100-00000001", context="default", exten="100")
    ami = await fakeApplication(reactor, amiPort).amiSpecifier.login()
    tracker = ChannelTracker(options.threshold or 2)
    await tracker.start(ami)
    await fakeTraffic(server, ami)
    await ami.logoff()
    await server.stopListening()


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=int, default=None,
                        help="warn above this many channels (default 20; 2 with --fake)")


if __name__ == "__main__":
    runExample(__doc__.splitlines()[0], fake, real, arguments)
