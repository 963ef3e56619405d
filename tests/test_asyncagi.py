"""Tests for AsyncAGI over AMI (starpy.asyncagi) and the fake AsyncAGI
(starpy.testing.asyncagi)."""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator, List, Optional, Tuple
from urllib.parse import unquote

import pytest
from twisted.internet import defer, task
from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport

from starpy import agi as agimodule
from starpy import asyncagi, error, manager, menu
from starpy.codec.ami import AMIParser, Message
from starpy.testing.agi import SimulatedChannel
from starpy.testing.ami import FakeAMIServerFactory, MemoryConnection, loginInMemory
from starpy.testing.asyncagi import FakeAsyncAGI, encode
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failedWith, failure, result
from tests.wire import connect

from . import transcripts

# -- helpers -----------------------------------------------------------------------


class Raw:
    """An AMIProtocol on a StringTransport, fed captured bytes."""

    def __init__(self) -> None:
        self.clock = task.Clock()
        self.ami = manager.AMIProtocol(clock=self.clock)
        self.transport = StringTransport()
        connect(self.ami, self.transport)
        self._parser = AMIParser(expectBanner=False)

    def banner(self) -> None:
        self.ami.dataReceived(b"Asterisk Call Manager/11.0.0\r\n")

    def sent(self) -> List[Message]:
        data = self.transport.value()
        self.transport.clear()
        return self._parser.feed(data)


def useCommandIDs(dispatcher: asyncagi.AsyncAGIDispatcher, *ids: str) -> None:
    """Make *dispatcher* tag its commands with *ids*, in order."""
    it: Iterator[str] = iter(ids)
    dispatcher._newCommandID = lambda: next(it)  # type: ignore[method-assign]


def withoutActionID(message: Message) -> List[Tuple[str, str]]:
    return [(n, v) for n, v in message.headers() if n.lower() != "actionid"]


#: Captured actions our client never sends: to a channel that does not exist,
#: and after the session ended.
NOT_OURS = ("bad", "after", "late")


def replay(name: str, raw: Raw,
           skip: Callable[[Message], bool] = lambda m: m["commandid"] in NOT_OURS) -> int:
    """Feed transcript *name* to *raw*; each captured ``Action: AGI`` must
    match what the client sent (ActionID aside), and the captured response's
    ActionID is rewritten to ours.  Returns how many actions were matched."""
    received = b"".join(data for way, data in transcripts.exchanges(name) if way == "<<")
    assert received == transcripts.raw(name)  # the .txt and the .raw agree
    ids: dict[bytes, bytes] = {}
    matched = 0
    ours: List[Message] = []
    for way, data in transcripts.exchanges(name):
        if way == transcripts.SENT:
            (captured,) = AMIParser(expectBanner=False).feed(data)
            if captured.get("action") != "AGI" or "commandid" not in captured or skip(captured):
                continue
            ours.extend(raw.sent())
            mine = ours.pop(0)
            assert withoutActionID(mine) == withoutActionID(captured)
            ids[b"ActionID: " + captured["actionid"].encode() + b"\r\n"] = (
                b"ActionID: " + mine["actionid"].encode() + b"\r\n")
            matched += 1
        else:
            for old, new in ids.items():
                data = data.replace(old, new)
            raw.ami.dataReceived(data)
    return matched


def advance(clock: task.Clock, connection: MemoryConnection, seconds: float) -> None:
    """Let *seconds* pass, moving bytes after every timed call."""
    target = clock.seconds() + seconds
    connection.flush()
    while True:
        due = [c.getTime() for c in clock.getDelayedCalls() if c.getTime() <= target]
        if not due:
            break
        clock.advance(max(0.0, min(due) - clock.seconds()))
        connection.flush()
    clock.advance(max(0.0, target - clock.seconds()))
    connection.flush()


class Fake:
    """The fake Asterisk with AsyncAGI, a logged-in client and a dispatcher."""

    def __init__(self, main: Optional[asyncagi.Handler] = None, oldForm: bool = False,
                 **options: Any) -> None:
        self.clock = task.Clock()
        self.server = FakeAMIServerFactory(clock=self.clock, seed=7)
        self.fake = FakeAsyncAGI(self.server, oldForm=oldForm)
        self.ami, self.connection = loginInMemory(
            self.server, manager.AMIFactory("starpy", "starpy-secret", reactor=self.clock))
        self.events: List[Message] = []
        self.watch = self.ami.registerEvent(None, lambda ami, event: self.events.append(event))
        self.dispatcher = asyncagi.AsyncAGIDispatcher(self.ami, main, **options)
        self.dispatcher.startService()

    def run(self, seconds: float = 0.0) -> None:
        advance(self.clock, self.connection, seconds)

    def agiActions(self) -> List[Message]:
        return [m for m in self.server.received if m.get("action") == "AGI"]

    def assertQuiet(self) -> None:
        """Nothing left: no pending action, command, session, waiter, timer
        or handler, and the fake server saw no script error."""
        self.run(0)
        self.dispatcher.stopService()
        self.watch.cancel()
        assert self.ami.pendingCount == 0
        assert self.dispatcher.sessions == {}
        assert self.dispatcher._commands == {}
        assert self.dispatcher._waiters == {}
        assert len(self.ami.dispatcher) == 0
        assert self.clock.getDelayedCalls() == []
        assert self.server.errors == []


# -- replays of the captures ----------------------------------------------------------


def test_replayAsyncagiCaptureThroughTheClient() -> None:
    raw = Raw()
    sessions: List[asyncagi.AsyncAGISession] = []
    outcomes: List[Any] = []

    async def main(agi: asyncagi.AsyncAGISession) -> None:
        sessions.append(agi)
        outcomes.append(await agi.answer())
        outcomes.append(await agi.getVariable("CHANNEL"))
        attempts: List[Callable[[], Deferred[Any]]] = [lambda: agi.sendCommand("STREAM FILE"),
                                                       lambda: agi.sendCommand("FOO BAR")]
        for attempt in attempts:
            try:
                await attempt()
            except error.AGICommandFailure as e:
                outcomes.append(e)
        outcomes.append(await agi.streamFile("beep"))
        try:
            await agi.databaseGet("fam", "key")
        except error.AGICommandFailure as e:
            outcomes.append(e)
        outcomes.append(await agi.gosub("sub-test", "s", 1, "viaasync"))
        outcomes.append(await agi.asyncagiBreak())
        await agi.whenClosed().addCallback(outcomes.append)

    dispatcher = asyncagi.AsyncAGIDispatcher(raw.ami, main, context="asyncagi",
                                             extension="300", clock=raw.clock)
    useCommandIDs(dispatcher, "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x9")
    dispatcher.startService()
    assert replay("asyncagi", raw) == 8

    (agi,) = sessions
    assert agi.uniqueid == "1795488621.11"
    assert agi.channel == "Local/300@asyncagi-00000005;2"
    assert agi.linkedid == "1795488621.10"
    assert (agi.context, agi.extension) == ("asyncagi", "300")
    assert agi.variables["agi_request"] == "async"
    assert agi.variables["agi_channel"] == "Local/300@asyncagi-00000005;2"
    assert agi.variables["agi_accountcode"] == ""
    assert agi.variables["agi_threadid"] == "139680038282944"
    assert list(agi.variables)[0] == "agi_request" and len(agi.variables) == 20
    answer, channelName, usage, invalid, beep, dbMissing, gosub, broke, closed = outcomes
    assert answer == 0
    assert channelName == "Local/300@asyncagi-00000005;2"
    assert isinstance(usage, error.AGIUsageError)
    assert usage.usage.startswith("Send the given file, allowing playback")
    assert isinstance(invalid, error.AGIInvalidCommand)
    assert beep == (0, 3404)
    assert isinstance(dbMissing, error.AGICommandFailure)
    assert gosub == 0  # the final 200 line, after the interim 100 line
    assert broke == 0 and closed is None
    assert agi.closed and not agi.hungUp
    # The trailing NOOP without CommandID, the bad channel, the Hangups:
    # nothing of ours reacts, nothing more is sent.
    assert raw.sent() == []
    assert dispatcher.sessions == {} and dispatcher._commands == {}
    assert raw.ami.pendingCount == 0 and raw.clock.getDelayedCalls() == []
    dispatcher.stopService()
    assert len(raw.ami.dispatcher) == 0


def test_agiexecRandomCommandIdsAreNotOurs() -> None:
    """AGIExecStart/End carry Asterisk's own CommandId: a dispatcher whose
    command id happens to equal it still waits for AsyncAGIExec."""
    raw = Raw()
    replies: List[Any] = []

    def main(agi: asyncagi.AsyncAGISession) -> None:
        agi.answer().addBoth(replies.append)

    dispatcher = asyncagi.AsyncAGIDispatcher(raw.ami, main)
    useCommandIDs(dispatcher, "78902270")  # the AGIExecStart/End id
    dispatcher.startService()
    runs = [data for way, data in transcripts.exchanges("asyncagi") if way == "<<"]
    start = next(i for i, data in enumerate(runs) if b"Event: AsyncAGIStart" in data)
    for data in runs[:start + 1]:
        raw.ami.dataReceived(data)
    (sent,) = raw.sent()
    assert sent["commandid"] == "78902270"
    for data in runs[start + 1:]:
        if b"Event: AsyncAGIExec" in data:
            break
        raw.ami.dataReceived(data.replace(b"act-x1", sent["actionid"].encode()))
    assert replies == []  # AGIExecStart and AGIExecEnd did not answer it
    dispatcher.stopService()
    assert isinstance(replies[0].value, error.AGIHangup)
    assert raw.ami.pendingCount == 0


def test_replayAsyncagiHangupCaptureFailsTheCommandInFlight() -> None:
    raw = Raw()
    seen: List[Any] = []

    async def main(agi: asyncagi.AsyncAGISession) -> None:
        hungUp = agi.whenHungUp()
        first = agi.streamFile("beep")
        queued = agi.sayDigits("123")
        for d in (first, queued):
            try:
                await d
            except error.AGIHangup as e:
                seen.append(e)
        await hungUp.addCallback(seen.append)
        try:
            await agi.noop()
        except error.AGIHangup as e:
            seen.append(e)
        seen.append(agi.hungUp)

    dispatcher = asyncagi.AsyncAGIDispatcher(raw.ami, main, clock=raw.clock)
    dispatcher.startService()
    replay("asyncagi-hangup", raw)
    inFlight, queued, hungUp, late, marked = seen
    assert "AsyncAGIEnd" in inFlight.text and inFlight.command == 'STREAM FILE beep ""'
    assert queued.command == 'SAY DIGITS 123 ""'
    assert hungUp is None
    assert late.text == "AGI session has ended"
    assert marked is True  # HangupRequest came before AsyncAGIEnd
    sent = raw.sent()
    assert [m["command"] for m in sent] == ['STREAM FILE beep ""']  # one in flight only
    # Its acknowledgement comes late: nothing breaks.
    raw.ami.dataReceived(b"Response: Success\r\nActionID: %s\r\nMessage: Added AGI command"
                         b" to queue\r\n\r\n" % sent[0]["actionid"].encode())
    assert raw.ami.pendingCount == 0 and dispatcher._commands == {}
    dispatcher.stopService()


def test_errorResponseFailsTheCommandWithAsterisksMessage() -> None:
    raw = Raw()
    outcomes: List[Any] = []
    def main(agi: asyncagi.AsyncAGISession) -> None:
        agi.noop().addBoth(outcomes.append)  # returns None: the session stays open

    dispatcher = asyncagi.AsyncAGIDispatcher(raw.ami, main)
    dispatcher.startService()
    raw.banner()
    runs = [data for way, data in transcripts.exchanges("asyncagi-hangup") if way == "<<"]
    start = next(data for data in runs if b"Event: AsyncAGIStart" in data)
    raw.ami.dataReceived(start)
    (sent,) = raw.sent()
    errorResponse = next(data for data in runs if b"Response: Error" in data)
    raw.ami.dataReceived(errorResponse.replace(b"act-late", sent["actionid"].encode()))
    (rejected,) = outcomes
    assert isinstance(rejected.value, asyncagi.AsyncAGIRejected)
    assert isinstance(rejected.value, error.AGIHangup)
    assert rejected.value.message == "Channel Local/300@asyncagi-00000006;2 does not exist."
    assert rejected.value.command == "NOOP"
    assert raw.ami.pendingCount == 0
    dispatcher.stopService()


def test_oldSubeventFormFromRawBytes() -> None:
    raw = Raw()
    replies: List[Any] = []
    sessions: List[asyncagi.AsyncAGISession] = []

    def main(agi: asyncagi.AsyncAGISession) -> Deferred[Any]:
        sessions.append(agi)
        return agi.answer().addCallback(replies.append)

    dispatcher = asyncagi.AsyncAGIDispatcher(raw.ami, main)
    useCommandIDs(dispatcher, "c1", "c2")
    dispatcher.startService()
    raw.banner()
    env = encode("agi_request: async\nagi_channel: SIP/33-0001\nagi_uniqueid: 1234.5\n"
                 "agi_context: default\nagi_extension: test\n\n")
    raw.ami.dataReceived(b"Event: AsyncAGI\r\nPrivilege: agi,all\r\nSubEvent: Start\r\n"
                         b"Channel: SIP/33-0001\r\nEnv: %s\r\n\r\n" % env.encode())
    (answer,) = raw.sent()
    assert answer["channel"] == "SIP/33-0001" and answer["command"] == "ANSWER"
    raw.ami.dataReceived(b"Response: Success\r\nActionID: %s\r\n\r\n"
                         b"Event: AsyncAGI\r\nPrivilege: agi,all\r\nSubEvent: Exec\r\n"
                         b"Channel: SIP/33-0001\r\nCommandID: c1\r\n"
                         b"Result: 200%%20result%%3D0%%0A\r\n\r\n" % answer["actionid"].encode())
    assert replies == [0]
    assert sessions[0].uniqueid == "1234.5" and sessions[0].context == "default"
    (brk,) = raw.sent()
    assert brk["command"] == "ASYNCAGI BREAK"
    raw.ami.dataReceived(b"Response: Success\r\nActionID: %s\r\n\r\n"
                         b"Event: AsyncAGI\r\nSubEvent: Exec\r\nChannel: SIP/33-0001\r\n"
                         b"CommandID: c2\r\nResult: 200%%20result%%3D0%%0A\r\n\r\n"
                         b"Event: AsyncAGI\r\nSubEvent: End\r\nChannel: SIP/33-0001\r\n\r\n"
                         % brk["actionid"].encode())
    assert sessions[0].closed and dispatcher.sessions == {}
    dispatcher.stopService()


# -- end to end with the fake Asterisk --------------------------------------------------


def test_menuLikeSessionOverTheFakeAsterisk() -> None:
    log: List[Any] = []

    async def main(agi: agimodule.AGISession) -> None:
        await agi.answer()
        for _attempt in range(3):
            digit, endpos = await agi.streamFile("hello-world", "123")
            if not digit:
                digit = await agi.waitForDigit(3.0)
            log.append(digit)
            if digit == ord("2"):
                digits, timedOut = await agi.getData("beep", 2.0, 3)
                log.append((digits, timedOut))
                await agi.sayDigits(digits)
                break
            await agi.streamFile("beep")
        await agi.setVariable("CHOICE", "2")

    f = Fake(main)
    channel = SimulatedChannel(name="PJSIP/100-00000001", uniqueId="1700000000.7",
                               request="async", context="asyncagi", extension="300",
                               priority=2, dtmf=[(0.5, "9"), (2.0, "2"), (3.0, "4"), (3.5, "5"),
                                                 (4.0, "6")])
    call = f.fake.startCall(channel)
    f.run(30)
    assert log == [ord("2"), ("456", False)]
    assert channel.variables["CHOICE"] == "2"
    commands = [command for command, _, _ in call.executed]
    assert commands == ["ANSWER", 'STREAM FILE hello-world 123', "WAIT FOR DIGIT 3000",
                        'GET DATA beep 2000 3',
                        'SAY DIGITS 456 ""', "SET VARIABLE CHOICE 2", "ASYNCAGI BREAK"]
    # One Action: AGI at a time, each with its own CommandID.
    ids = [m["commandid"] for m in f.agiActions()]
    assert len(set(ids)) == len(ids) == 7
    # What the client saw: the noise with Asterisk's ids, then the end.
    names = [e["event"] for e in f.events]
    assert names.count("AGIExecStart") == names.count("AsyncAGIExec") == 7
    assert set(e["commandid"] for e in f.events if e["event"] == "AGIExecEnd").isdisjoint(ids)
    assert names[-3:] == ["AsyncAGIEnd", "VarSet", "Hangup"]
    assert call.ended and call.agiStatus == "SUCCESS"
    assert f.fake.calls == {} and "PJSIP/100-00000001" not in f.server.channels
    f.assertQuiet()


def test_realMenuOverAsyncagi() -> None:
    """starpy.menu's Menu runs unchanged over AsyncAGI."""
    chains: List[Any] = []

    async def main(agi: agimodule.AGISession) -> None:
        ivr = menu.Menu(prompt="hello-world", tellInvalid=False,
                        options=[menu.Option("1"), menu.Option("2")], maxRepetitions=2)
        chains.append(await ivr(agi))

    f = Fake(main)
    call = f.fake.startCall(SimulatedChannel(name="PJSIP/200-00000001",
                                             uniqueId="1700000000.9", request="async",
                                             dtmf=[(0.5, "2")]))
    f.run(60)
    ((option, digits),) = chains[0]
    assert digits == "2"
    assert call.executed[0][0].startswith("STREAM FILE hello-world")
    assert call.executed[-1][0] == "ASYNCAGI BREAK"
    f.assertQuiet()


def test_hangupMidCommandOnTheFake() -> None:
    outcomes: List[Any] = []

    def main(agi: asyncagi.AsyncAGISession) -> Deferred[Any]:
        playing = agi.streamFile("long")
        queued = agi.sayNumber(42)
        agi.whenHungUp().addCallback(lambda _: outcomes.append(("hungUp", agi.hungUp)))
        both: List[Deferred[Any]] = [playing, queued]
        return defer.DeferredList(both, consumeErrors=True).addCallback(
            outcomes.append)

    f = Fake(main)
    channel = SimulatedChannel(name="PJSIP/300-00000001", uniqueId="1700000000.3",
                               request="async", hangupAt=2.0, sounds={"long": 10.0})
    call = f.fake.startCall(channel)
    f.run(1.0)
    assert len(f.agiActions()) == 1  # SAY NUMBER waits behind STREAM FILE
    f.run(5.0)
    (playing, queued), = [o for o in outcomes if isinstance(o, list)]
    assert not playing[0] and playing[1].check(error.AGICommandFailure)
    assert "result=-1" in playing[1].value.text
    assert not queued[0] and queued[1].check(error.AGIHangup)
    assert ("hungUp", True) in outcomes
    assert len(f.agiActions()) == 1
    assert call.agiStatus == "HANGUP"
    names = [e["event"] for e in f.events]
    # As Asterisk: the hangup request, the interrupted command's result, the end.
    assert names[-6:] == ["HangupRequest", "AGIExecEnd", "AsyncAGIExec", "AsyncAGIEnd",
                          "VarSet", "Hangup"]
    assert queued[1].value.text == "channel has hung up"  # never sent
    f.assertQuiet()


def test_hangupWhileIdleEndsTheSessionAndLaterCommandsFailAtOnce() -> None:
    sessions: List[asyncagi.AsyncAGISession] = []
    f = Fake(sessions.append)  # a plain return: the session stays open
    call = f.fake.startCall(SimulatedChannel(name="PJSIP/301-00000001", uniqueId="17.1",
                                             request="async"))
    f.run(0)
    (agi,) = sessions
    assert not agi.closed
    call.hangup()
    f.run(0)
    assert agi.closed and agi.hungUp
    assert isinstance(failure(agi.answer()).value, error.AGIHangup)
    assert f.agiActions() == []
    f.assertQuiet()


def test_commandToAChannelGoneUnnoticedIsRejected() -> None:
    sessions: List[asyncagi.AsyncAGISession] = []
    f = Fake(sessions.append)
    f.fake.startCall(SimulatedChannel(name="PJSIP/302-00000001", uniqueId="17.2",
                                      request="async"))
    f.run(0)
    f.server.hangupChannel("PJSIP/302-00000001", emit=False)
    d = sessions[0].answer()
    f.run(0)
    rejected = failure(d).value
    assert isinstance(rejected, asyncagi.AsyncAGIRejected)
    assert rejected.message == "Channel PJSIP/302-00000001 does not exist."
    sessions[0].finish()
    f.run(0)
    assert sessions[0].closed  # the refused break ends it locally
    f.fake.calls.clear()
    f.assertQuiet()


def test_filterByContextAndExtension() -> None:
    ran: List[str] = []
    f = Fake(lambda agi: ran.append(agi.channel), context=["asyncagi"], extension="300")
    for n, (context, extension) in enumerate([("asyncagi", "300"), ("other", "300"),
                                              ("asyncagi", "301")]):
        f.fake.startCall(SimulatedChannel(name="PJSIP/f-%d" % n, uniqueId="18.%d" % n,
                                          request="async", context=context,
                                          extension=extension))
    f.run(0)
    assert ran == ["PJSIP/f-0"]
    assert list(f.dispatcher.sessions) == ["18.0"]
    f.dispatcher.sessions["18.0"].finish()
    f.run(0)
    for call in list(f.fake.calls.values()):
        call.hangup()
    f.run(0)
    f.assertQuiet()


def test_failingHandlerIsLoggedAndSessionFinished(loggedErrors: LoggedErrors) -> None:
    async def main(agi: asyncagi.AsyncAGISession) -> None:
        await agi.answer()
        raise RuntimeError("handler bug")

    f = Fake(main)
    call = f.fake.startCall(SimulatedChannel(name="PJSIP/e-1", uniqueId="19.1",
                                             request="async"))
    f.run(0)
    [logged] = loggedErrors.flush(match="RuntimeError: handler bug")
    assert logged.message.startswith("AsyncAGI handler failed on PJSIP/e-1")
    assert "Traceback" in logged.text
    assert [c for c, _, _ in call.executed] == ["ANSWER", "ASYNCAGI BREAK"]
    assert call.ended
    f.assertQuiet()


def test_failingFakeApplicationReachesTheTest(loggedErrors: LoggedErrors) -> None:
    """An EXEC application of the fake channel that raises is a script
    failure of the fake server: logged at ERROR, so the test sees it."""
    def broken(channel: SimulatedChannel, options: str) -> int:
        raise LookupError("fake application bug")

    async def main(agi: asyncagi.AsyncAGISession) -> None:
        await agi.execute("Broken")

    f = Fake(main)
    f.fake.startCall(SimulatedChannel(name="PJSIP/e-3", uniqueId="19.3", request="async",
                                      applications={"Broken": broken}))
    f.run(0)
    [logged] = loggedErrors.flush(LookupError)
    assert logged.origin == "starpy.testing.ami"
    assert "script for 'AGI' failed" in logged.message
    assert [e.check(LookupError) for e in f.server.errors] == [LookupError]


def test_raisingSynchronousHandlerIsLoggedAndFinished(
        loggedErrors: LoggedErrors) -> None:
    def main(agi: asyncagi.AsyncAGISession) -> None:
        raise ValueError("at once")

    f = Fake(main)
    call = f.fake.startCall(SimulatedChannel(name="PJSIP/e-2", uniqueId="19.2",
                                             request="async"))
    f.run(0)
    [logged] = loggedErrors.flush(match="ValueError: at once")
    assert logged.message.startswith("AsyncAGI handler failed on PJSIP/e-2")
    assert [c for c, _, _ in call.executed] == ["ASYNCAGI BREAK"]
    f.assertQuiet()


def test_originateIntoAsyncagiFiresWithTheSessionOfThatCall() -> None:
    f = Fake()  # no mainFunction: only originated sessions are taken
    f.fake.channelFactory = lambda action: SimulatedChannel(dtmf=[(1.0, "5")])
    other = f.fake.startCall(SimulatedChannel(name="PJSIP/other", uniqueId="20.1",
                                              request="async"))
    d = f.dispatcher.originate("Local/300@asyncagi", channelId="orig-1",
                               arguments=["lang", "fr"], callerid='"Bob" <200>')
    f.run(0)
    agi = result(d)
    assert isinstance(agi, asyncagi.AsyncAGISession)
    assert agi.uniqueid == "orig-1"
    assert agi.channel.startswith("Local/300@asyncagi-") and agi.channel.endswith(";1")
    assert agi.arguments == ["lang", "fr"]
    (originate,) = [m for m in f.server.received if m.get("action") == "Originate"]
    assert originate["application"] == "AGI" and originate["data"] == "agi:async,lang,fr"
    assert originate["async"] == "true" and originate["channelid"] == "orig-1"
    digit = agi.waitForDigit(5)
    f.run(2)
    assert result(digit) == ord("5")
    agi.finish()
    f.run(0)
    assert agi.closed
    assert "PJSIP/other" in f.fake.calls and f.dispatcher.sessions == {}
    other.hangup()
    f.assertQuiet()


def test_originateFailureAndTimeout() -> None:
    f = Fake()
    f.server.failingChannels.append("PJSIP/busy")
    d = f.dispatcher.originate("PJSIP/busy", channelId="o-fail")
    f.run(0)
    assert isinstance(failure(d).value, error.AMIOriginateFailure)
    assert f.dispatcher._waiters == {}
    # Originated, but the channel never reaches AGI(agi:async).
    f.fake.stop()
    d2 = f.dispatcher.originate("PJSIP/100", channelId="o-late", timeout=5.0)
    f.run(4.9)
    assert not d2.called
    f.run(0.2)
    timedOut = failure(d2).value
    assert isinstance(timedOut, error.AMITimeout) and timedOut.timeout == 5.0
    f.assertQuiet()


def test_stopCancelsHandlersSessionsAndWaiters() -> None:
    sessions: List[asyncagi.AsyncAGISession] = []
    f = Fake(sessions.append)
    f.fake.startCall(SimulatedChannel(name="PJSIP/s-1", uniqueId="21.1", request="async",
                                      sounds={"long": 60.0}))
    f.run(0)
    playing = sessions[0].streamFile("long")
    waiting = f.dispatcher.originate("PJSIP/nobody", channelId="o-stop")
    f.fake.stop()
    f.run(1)
    f.dispatcher.stopService()
    assert isinstance(failure(playing).value, error.AGIHangup)
    assert failure(waiting).check(defer.CancelledError)
    assert len(f.ami.dispatcher) == 1  # only the test's own catch-all
    assert not f.dispatcher.running
    assert isinstance(failure(f.dispatcher.originate("PJSIP/x")).value, RuntimeError)
    for call in list(f.fake.calls.values()):
        call.hangup()
    f.run(60)
    f.assertQuiet()


def test_amiConnectionLostEndsSessions() -> None:
    sessions: List[asyncagi.AsyncAGISession] = []
    f = Fake(sessions.append)
    f.fake.startCall(SimulatedChannel(name="PJSIP/l-1", uniqueId="22.1", request="async",
                                      sounds={"long": 60.0}))
    f.run(0)
    playing = sessions[0].streamFile("long")
    queued = sessions[0].answer()
    f.run(1)
    f.server.dropAll()
    f.run(0)
    assert failedWith(playing, error.AGICommandFailure).text == "AMI connection lost"
    assert isinstance(failure(queued).value, error.AGIHangup)
    assert sessions[0].closed and f.dispatcher.sessions == {}
    f.dispatcher.stopService()
    f.watch.cancel()
    assert len(f.ami.dispatcher) == 0 and f.ami.pendingCount == 0


def test_cancelAQueuedCommandRemovesIt() -> None:
    sessions: List[asyncagi.AsyncAGISession] = []
    f = Fake(sessions.append)
    call = f.fake.startCall(SimulatedChannel(name="PJSIP/c-1", uniqueId="23.1",
                                             request="async"))
    f.run(0)
    agi = sessions[0]
    first = agi.streamFile("beep")
    second = agi.sayDigits("1")
    third = agi.noop()
    second.cancel()
    assert agi.pendingCount == 2
    f.run(5)
    assert result(first) == (0, 3404) and result(third) == 0
    assert failure(second).check(defer.CancelledError)
    assert [c for c, _, _ in call.executed] == ['STREAM FILE beep ""', "NOOP"]
    agi.finish()
    f.run(0)
    f.assertQuiet()


def test_oldFormEndToEnd() -> None:
    got: List[Any] = []

    async def main(agi: asyncagi.AsyncAGISession) -> None:
        got.append(await agi.getVariable("UNIQUEID"))

    f = Fake(main, oldForm=True)
    call = f.fake.startCall(SimulatedChannel(name="SIP/33-0001", uniqueId="24.1",
                                             request="async"))
    f.run(0)
    assert got == ["24.1"]
    assert {e["event"] for e in f.events} >= {"AsyncAGI"}
    assert "AsyncAGIStart" not in {e["event"] for e in f.events}
    assert call.ended
    f.assertQuiet()


def test_fakeEnvAndResultEncodingMatchTheCapture() -> None:
    """The fake's AsyncAGIStart Env is what Asterisk sends for the same channel."""
    f = Fake()
    f.fake.startCall(SimulatedChannel(
        name="Local/300@asyncagi-00000005;2", uniqueId="1795488621.11", request="async",
        channelType="Local", context="asyncagi", extension="300", priority=2,
        threadId=139680038282944))
    f.run(0)
    (start,) = [e for e in f.events if e["event"] == "AsyncAGIStart"]
    captured = next(data for way, data in transcripts.exchanges("asyncagi")
                    if b"Event: AsyncAGIStart" in data)
    (capturedStart,) = AMIParser(expectBanner=False).feed(captured)
    assert start["env"] == capturedStart["env"]
    assert [n for n, _ in start.headers()] == [n for n, _ in capturedStart.headers()]
    assert encode("100 result=0 Trying...\n200 result=0 Gosub complete\n") == (
        "100%20result%3D0%20Trying...%0A200%20result%3D0%20Gosub%20complete%0A")
    assert unquote(encode("a+b c")) == "a+b c"
    f.fake.calls["Local/300@asyncagi-00000005;2"].hangup()
    f.assertQuiet()


# -- the README -----------------------------------------------------------------------


def test_readmeAsyncagiSectionRuns() -> None:
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("\n## AsyncAGI\n")
    end = readme.find("\n## ", start + 1)
    section = readme[start:end if end > 0 else None]
    assert "exten => 300,1,Answer()" in section and "same => n,AGI(agi:async)" in section
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["pressed 2", "closed: True"]


def test_passwordOverAsyncagiStaysOutOfTheAmiWireTrace(
        caplog: pytest.LogCaptureFixture) -> None:
    """While CollectPassword runs, the AMI trace hides the AsyncAGIExec
    Result (``200 result=52`` spells a key) and DTMF Digit headers."""
    caplog.set_level(logging.DEBUG, logger="starpy.wire")
    entered: List[Any] = []

    async def main(agi: agimodule.AGISession) -> None:
        entered.append(await menu.CollectPassword(expected="4321", soundFile="agent-pass")(agi))
        await agi.getVariable("AFTER")

    f = Fake(main)
    f.ami.setTrace(True)
    f.fake.startCall(SimulatedChannel(
        name="PJSIP/200-00000001", uniqueId="1700000000.9", request="async",
        variables={"AFTER": "kept"}, sounds={"agent-pass": 1.0},
        dtmf=[(1.5, "4"), (2.0, "3"), (2.5, "2"), (3.0, "1"), (3.5, "#")]))
    f.server.emitEvent("DTMFEnd", privilege="dtmf,all", Channel="PJSIP/200-00000001",
                       Digit="4", Direction="Received")
    f.run(60)
    assert entered and entered[0][0][1] == "4321"
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == "starpy.wire")
    for code in (ord(d) for d in "4321#"):
        assert "result%%3D%d" % (code,) not in trace
    assert "Result: (hidden)" in trace
    assert "Digit: 4" not in trace and "Digit: (hidden)" in trace
    assert "kept" in trace                     # after the password, replies show again
    f.assertQuiet()
