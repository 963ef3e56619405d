#!/usr/bin/env python3
"""Call the caller back after a call and tell them how long it lasted.

The caller dials into the FastAGI (extension ``s``) and enters an account
number; the AGI lets them go on with their call.  Over the AMI the
application watches for the ``Hangup`` of their channel; once the call is
over it originates a call back to their phone into this same FastAGI (a
fresh extension per callback, caught with ``APPLICATION.waitForCallOn``) and
says how long the call took.  If the callback is not answered it retries.
AMI and FastAGI come from starpy.conf.

The dialplan lines it expects (``extensions.conf``)::

    [callduration]
    exten => s,1,Answer()
     same => n,AGI(agi://127.0.0.1:4573)
     same => n,Dial(PJSIP/200)            ; the call being timed
     same => n,Hangup()
    exten => _X.,1,Answer()                 ; the callbacks (one extension each)
     same => n,AGI(agi://127.0.0.1:4573)
     same => n,Hangup()

and an AMI user that may read ``call`` events and write ``originate``.

Run it::

    python examples/calldurationcallback.py          # reads starpy.conf
    python examples/calldurationcallback.py --fake   # fake Asterisk: one call, one callback
"""
from __future__ import annotations

import argparse
import itertools
import logging
from typing import Any, Optional

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from starpy import error, manager, utilapplication

from _run import forever, portNumber, runExample, stopListening

log = logging.getLogger("callduration")

_tokens = itertools.count(100000)


def sleep(clock: Any, seconds: float) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    clock.callLater(seconds, d.callback, None)
    return d


class CallTracker:
    """One caller, from the first AGI to the callback that reports the duration."""

    ourContext = "callduration"

    def __init__(self, application: utilapplication.UtilApplication,
                 callbackDelay: float = 2.0, retries: int = 5, retryDelay: float = 30.0) -> None:
        self.application = application
        self.clock = application.clock
        self.callbackDelay = callbackDelay
        self.retries = retries
        self.retryDelay = retryDelay
        self.token = str(next(_tokens))        # the callback's extension
        self.account = ""
        self.startTime = 0.0
        self.stopTime = 0.0
        self.ami: Optional[manager.AMIProtocol] = None

    async def recordChannelInfo(self, agi: Any) -> Deferred[bool]:
        """Read the account, log into the AMI, watch for the hangup, let the caller go.

        Returns the Deferred of the rest of the work (which fires with True
        once the duration was reported).
        """
        uniqueid = agi.variables["agi_uniqueid"]
        # Everything before the last "-" of the channel name is the phone.
        callbackChannel = agi.variables["agi_channel"].rsplit("-", 1)[0]
        loggingIn = self.application.amiSpecifier.login()
        self.account, _ = await agi.getData("your-account", timeout=5.0, maxDigits=7)
        self.ami = ami = await loggingIn
        hungUp: Deferred[Any] = Deferred()

        def onHangup(protocol: Any, event: Any) -> None:
            if event["uniqueid"] == uniqueid:
                handle.cancel()
                self.stopTime = self.clock.seconds()
                hungUp.callback(event)

        handle = ami.registerEvent("Hangup", onHangup)
        self.startTime = self.clock.seconds()
        log.info("timing the call of %s for account %s", callbackChannel, self.account)
        agi.finish()                           # let the caller go about their business
        return Deferred.fromCoroutine(self.callBack(hungUp, callbackChannel))

    async def callBack(self, hungUp: Deferred[Any], callbackChannel: str) -> bool:
        assert self.ami is not None
        try:
            await hungUp
            await sleep(self.clock, self.callbackDelay)   # time to put the handset down
            for _attempt in range(self.retries):
                self.ami.originate(callbackChannel, self.ourContext, self.token, 1,
                                   timeout=15).addErrback(lambda failure: None)
                try:
                    agi = await self.application.waitForCallOn(self.token, 15)
                except utilapplication.CallWaitTimeout:
                    log.info("no answer from %s; retrying in %g s", callbackChannel,
                             self.retryDelay)
                    await sleep(self.clock, self.retryDelay)
                    continue
                await self.sayDuration(agi)
                return True
            log.error("unable to reach %s, giving up", callbackChannel)
            return False
        finally:
            await self.ami.logoff()

    async def sayDuration(self, agi: Any) -> None:
        duration = int(self.stopTime - self.startTime)
        minutes, seconds = divmod(duration, 60)
        print("call to account %s took %d minute(s) %d second(s)" % (
            self.account, minutes, seconds), flush=True)
        try:
            await agi.wait(1.0)
            if minutes:
                await agi.sayNumber(minutes)
                await agi.streamFile("minutes")
            await agi.sayNumber(seconds)
            await agi.streamFile("seconds")
        except error.AGIError as e:
            log.warning("could not tell the duration: %s", e)
        agi.finish()


class Application(utilapplication.UtilApplication):
    """The call duration callback application."""

    callbackDelay = 2.0
    trackers: "list[Deferred[bool]]"

    def onS(self, agi: Any) -> Deferred[Any]:
        """A caller wants their call timed."""
        tracker = CallTracker(self, callbackDelay=self.callbackDelay)

        def failed(reason: Failure) -> bool:
            log.error("tracking failed: %s", reason.getTraceback())
            return False

        def started(rest: Deferred[bool]) -> None:
            self.trackers.append(rest.addErrback(failed))

        return Deferred.fromCoroutine(tracker.recordChannelInfo(agi)).addCallback(
            started).addErrback(agi.jumpOnError, difference=100)


async def real(reactor: Any, options: argparse.Namespace) -> None:
    application = Application(reactor=reactor)          # reads starpy.conf
    application.trackers = []
    application.handleCallsFor("s", application.onS)
    await application.agiSpecifier.run(application.dispatchIncomingCall)
    await forever()


async def fake(reactor: Any, options: argparse.Namespace) -> None:
    import os

    from starpy.testing.agi import spacedDigits

    from _fake import SECRET, USERNAME, fakeChannel, placeFakeCall, startFakeAMI

    server, amiPort = startFakeAMI(reactor)
    application = Application(os.devnull, reactor=reactor)
    application.trackers = []
    application.callbackDelay = 0.1
    application.agiSpecifier.port = 0
    ami = application.amiSpecifier
    ami.username, ami.secret, ami.port = USERNAME, SECRET, amiPort
    application.handleCallsFor("s", application.onS)
    port = await application.agiSpecifier.run(application.dispatchIncomingCall)
    number = portNumber(port)
    callbacks = []

    def originate(session: Any, action: Any) -> Any:
        """The fake Asterisk rings the phone, which answers: a FastAGI call."""
        print("callback: originate %s -> %s,%s" % (action["channel"], action["context"],
                                                    action["exten"]))
        channel = fakeChannel(name=action["channel"] + "-00000002", context=action["context"],
                              extension=action["exten"], uniqueId="1700000000.2")
        callbacks.append(defer.ensureDeferred(placeFakeCall(reactor, number, channel)))
        return [("Message", "Originate successfully queued")]

    server.script("Originate", originate)
    server.addChannel("PJSIP/alice-00000001", uniqueid="1700000000.1")
    print("first call (account 1234):")
    await placeFakeCall(reactor, number, fakeChannel(extension="s", context="callduration",
                                                     dtmf=spacedDigits("1234#", start=0.1,
                                                                       interval=0.05)))
    server.hangupChannel("PJSIP/alice-00000001")       # the caller hangs up
    (reported,) = await defer.gatherResults(application.trackers)
    await callbacks[0]
    await stopListening(port)
    await server.stopListening()
    print("reported: %s" % (reported,))


if __name__ == "__main__":
    log.setLevel(logging.INFO)
    runExample(__doc__.splitlines()[0], fake, real)
