"""The AMI client protocol, driven synchronously (StringTransport, task.Clock)."""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Iterator, List

import pytest
from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, manager
from starpy.codec.ami import AMIParser, Message
from starpy.manager import AMIProtocol, EventList
from starpy.testing.memory import MemoryConnection, MemoryEndpoint, MemoryTransport
from starpy.testing.pytest_plugin import LoggedErrors
from tests import transcripts
from tests.deferreds import failedWith, failure, result, unfired
from tests.wire import connect

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class Client:
    """An AMIProtocol on a StringTransport with a Clock, plus helpers."""

    def __init__(self, banner: bool = True, ids: Iterator[str] | None = None, **kw: Any) -> None:
        self.clock = task.Clock()
        self.transport = StringTransport()
        self.ami = AMIProtocol(clock=self.clock, **kw)
        if ids is not None:
            self.ami._newActionID = lambda: next(ids)  # type: ignore[method-assign]
        connect(self.ami, self.transport)
        if banner:
            self.feed(BANNER)

    def feed(self, data: bytes) -> None:
        self.ami.dataReceived(data)

    def sent(self) -> List[Message]:
        data = self.transport.value()
        self.transport.clear()
        return AMIParser(expectBanner=False).feed(data)

    def lastID(self) -> str:
        actionID: str = self.sent()[-1]["actionid"]
        return actionID

    def reply(self, actionID: str, *headers: tuple[str, str]) -> None:
        lines = [b"Response: Success", b"ActionID: " + actionID.encode()]
        lines.extend(("%s: %s" % h).encode() for h in headers)
        self.feed(b"\r\n".join(lines) + b"\r\n\r\n")


# -- login -----------------------------------------------------------------


def test_bannerVersionKept() -> None:
    client = Client()
    assert client.ami.amiVersion == "11.0.0"


def test_plainLoginSendsExactBytesAndFiresWithProtocol() -> None:
    client = Client(ids=iter(["login-1"]))
    d = client.ami.login("starpy", "starpy-secret")
    assert client.transport.value() == (
        b"Action: Login\r\nActionID: login-1\r\nUsername: starpy\r\nSecret: starpy-secret\r\n\r\n")
    client.transport.clear()
    client.feed(b"Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n")
    assert result(d) is client.ami
    assert client.ami.loggedIn


def test_loginWaitsForBanner() -> None:
    client = Client(banner=False)
    d = client.ami.login("u", "s")
    assert client.transport.value() == b""
    client.feed(BANNER)
    assert client.sent()[0]["action"] == "Login"
    unfired(d)


def test_md5LoginMatchesCapture() -> None:
    client = Client(ids=iter(["ch-1", "md5-1"]))
    d = client.ami.login("starpy", "starpy-secret", md5=True)
    runs = [data for way, data in transcripts.exchanges("ami-md5")]
    assert client.transport.value() == runs[1]
    client.transport.clear()
    client.feed(runs[2])  # Challenge: 108329949
    assert client.transport.value() == runs[3]
    key = hashlib.md5(b"108329949starpy-secret").hexdigest()
    assert ("Key: %s" % key).encode() in runs[3]
    client.feed(b"".join(runs[4:]))
    assert result(d) is client.ami


def test_wrongSecretFailsWithAuthenticationErrorAndCloses() -> None:
    client = Client(ids=iter(["bad-login"]))
    d = client.ami.login("starpy", "wrong")
    assert not client.transport.disconnecting
    client.feed(transcripts.raw("ami-badlogin")[len(BANNER):])
    reason = failure(d)
    assert reason.check(error.AMIAuthenticationError)
    assert "Authentication failed" in str(reason.value)
    assert client.transport.disconnecting


def test_eventsOffOnLogin() -> None:
    client = Client()
    client.ami.login("u", "s", events=False)
    assert client.sent()[0]["events"] == "off"


# -- actions and replies ----------------------------------------------------


def test_repliesMatchedByActionIdNotOrder() -> None:
    client = Client()
    first = client.ami.sendAction("Ping")
    a = client.lastID()
    second = client.ami.sendAction("CoreStatus")
    b = client.lastID()
    client.reply(b, ("CoreCurrentCalls", "3"))
    unfired(first)
    assert result(second)["corecurrentcalls"] == "3"
    client.reply(a, ("Ping", "Pong"))
    assert result(first)["ping"] == "Pong"
    assert client.ami.pendingCount == 0


def test_uniqueActionIds() -> None:
    client = Client()
    for _ in range(50):
        client.ami.sendAction("Ping")
    ids = [m["actionid"] for m in client.sent()]
    assert len(set(ids)) == 50


def test_repeatedHeadersSent() -> None:
    client = Client()
    client.ami.sendAction("Originate", [("Channel", "Local/1@echo"), ("Variable", "A=1"),
                                        ("Variable", "B=2")])
    assert client.sent()[0].getAll("variable") == ["A=1", "B=2"]


def test_errorResponseFailsWithCommandFailure() -> None:
    client = Client()
    d = client.ami.hangup("nope")
    client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: No such channel\r\n\r\n"
                % client.lastID().encode())
    reason = failedWith(d, error.AMICommandFailure)
    assert reason.message == "No such channel"
    assert reason.action == "Hangup"
    assert reason.response is not None and reason.response["response"] == "Error"


def test_unknownActionIdIsDropped(caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    d = client.ami.ping()
    with caplog.at_level(logging.DEBUG, "starpy.manager"):
        client.reply("someone-else", ("Ping", "Pong"))
    unfired(d)
    assert client.ami.pendingCount == 1
    assert "unknown ActionID" in caplog.text


def test_listActionCollectsUntilCompleteWhateverItsName() -> None:
    client = Client()
    d = client.ami.sendAction("SomeNewListAction")
    aid = client.lastID().encode()
    client.feed(b"Response: Success\r\nActionID: %s\r\nEventList: START\r\n"
                b"Message: will follow\r\n\r\n" % aid)
    client.feed(b"Event: Item\r\nActionID: %s\r\nN: 1\r\n\r\n" % aid)
    client.feed(b"Event: Unrelated\r\nN: x\r\n\r\n")
    client.feed(b"Event: Item\r\nN: 2\r\nActionID: %s\r\n\r\n" % aid)
    unfired(d)
    client.feed(b"Event: WhateverDone\r\nActionID: %s\r\nEventList: Complete\r\nListItems: 2\r\n\r\n" % aid)
    items = result(d)
    assert isinstance(items, EventList)
    # Upstream's shape: the response, the items, the closing event.
    assert [i.get("event") for i in items] == [None, "Item", "Item", "WhateverDone"]
    assert [i["n"] for i in items.events] == ["1", "2"]
    assert items[-1] is items.complete and items.complete["event"] == "WhateverDone"
    assert items[0] is items.response and items.response["message"] == "will follow"


def test_listItemsBeforeResponseStillCollected() -> None:
    client = Client()
    d = client.ami.status()
    aid = client.lastID().encode()
    client.feed(b"Event: Status\r\nPrivilege: Call\r\nChannel: A\r\nActionID: %s\r\n\r\n" % aid)
    client.feed(b"Response: Success\r\nActionID: %s\r\nEventList: start\r\n\r\n" % aid)
    client.feed(b"Event: StatusComplete\r\nActionID: %s\r\nEventList: Complete\r\n\r\n" % aid)
    assert [i.get("channel") for i in result(d)] == [None, "A", None]


def test_listItemsNotSentToEventHandlers() -> None:
    client = Client()
    seen: List[str] = []
    client.ami.registerEvent(None, lambda ami, e: seen.append(e["event"]))
    d = client.ami.coreShowChannels()
    aid = client.lastID().encode()
    client.feed(b"Response: Success\r\nActionID: %s\r\nEventList: start\r\n\r\n"
                b"Event: CoreShowChannel\r\nActionID: %s\r\n\r\n"
                b"Event: CoreShowChannelsComplete\r\nActionID: %s\r\nEventList: Complete\r\n\r\n"
                % (aid, aid, aid))
    assert len(result(d).events) == 1
    assert seen == []


def test_concurrentDbgetNeverCross() -> None:
    client = Client()
    one = client.ami.dbGet("fam", "k1")
    two = client.ami.dbGet("fam", "k2")
    ids = [m["actionid"].encode() for m in client.sent()]
    for aid in reversed(ids):
        client.feed(b"Response: Success\r\nActionID: %s\r\nEventList: start\r\n"
                    b"Message: Result will follow\r\n\r\n" % aid)
    client.feed(b"Event: DBGetResponse\r\nFamily: fam\r\nKey: k2\r\nVal: two\r\n"
                b"ActionID: %s\r\n\r\n" % ids[1])
    client.feed(b"Event: DBGetResponse\r\nFamily: fam\r\nKey: k1\r\nVal: one\r\n"
                b"ActionID: %s\r\n\r\n" % ids[0])
    for aid in ids:
        client.feed(b"Event: DBGetComplete\r\nActionID: %s\r\nEventList: Complete\r\n"
                    b"ListItems: 1\r\n\r\n" % aid)
    assert result(one) == "one"
    assert result(two) == "two"


@pytest.mark.parametrize("reply, expected", [
    (b"Response: Error\r\nActionID: %s\r\nMessage: Database entry not found\r\n\r\n", None),
    (b"Response: Error\r\nActionID: %s\r\nMessage: Permission denied\r\n\r\n",
     "Permission denied"),
])
def test_dbgetMissFiresWithNoneOtherErrorsFail(reply: bytes, expected: Any) -> None:
    """Upstream fires with None for a missing key; a refusal still fails here."""
    client = Client()
    d = client.ami.dbGet("fam", "none")
    client.feed(reply % client.lastID().encode())
    if expected is None:
        assert result(d) is None
    else:
        assert failedWith(d, error.AMICommandFailure).message == expected


def test_commandModernOutput() -> None:
    client = Client(ids=iter(["cmd-3"]))
    d = client.ami.command("dialplan show echo")
    runs = dict((data.split(b"\r\n")[1], data) for way, data in transcripts.exchanges("ami-basic")
                if way == "<<" and data.startswith(b"Response"))
    client.feed(runs[b"ActionID: cmd-3"])
    lines = result(d)
    assert lines[0] == "[ Context 'echo' created by 'pbx_config' ]"
    assert lines[3] == ""
    assert len(lines) == 5


def test_commandOldFollowsOutput() -> None:
    client = Client()
    d = client.ami.command("core show uptime")
    client.feed(b"Response: Follows\r\nPrivilege: Command\r\nActionID: %s\r\n"
                b"System uptime: 2 hours\nLast reload: 1 hour\n--END COMMAND--\r\n\r\n"
                % client.lastID().encode())
    assert result(d) == ["System uptime: 2 hours", "Last reload: 1 hour"]


def test_unknownCliCommandErrorCarriesOutput() -> None:
    client = Client()
    d = client.ami.command("no such")
    client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: Command output follows\r\n"
                b"Output: No such command 'no such'\r\n\r\n" % client.lastID().encode())
    assert "No such command" in failedWith(d, error.AMICommandFailure).message


def test_getvarValue() -> None:
    client = Client()
    d = client.ami.getVar(None, "NOPE_NOT_SET")
    sent = client.sent()[0]
    assert "channel" not in sent
    client.reply(sent["actionid"], ("Variable", "NOPE_NOT_SET"), ("Value", ""))
    assert result(d) == ""
    d = client.ami.getVar("PJSIP/1-1", "X")
    sent = client.sent()[0]
    assert sent["channel"] == "PJSIP/1-1"
    client.reply(sent["actionid"], ("Variable", "X"), ("Value", "(null)"))
    assert result(d) is None


# -- named actions -----------------------------------------------------------


@pytest.mark.parametrize("call, expected", [
    (lambda a: a.hangup("PJSIP/1-0001"), [("Action", "Hangup"), ("Channel", "PJSIP/1-0001")]),
    (lambda a: a.queueAdd("q", "PJSIP/1"), [("Action", "QueueAdd"), ("Queue", "q"),
                                             ("Interface", "PJSIP/1"), ("Penalty", "0"),
                                             ("Paused", "true")]),
    (lambda a: a.dbPut("f", "k", "v"), [("Action", "DBPut"), ("Family", "f"), ("Key", "k"), ("Val", "v")]),
    (lambda a: a.setVar(None, "G", "1"), [("Action", "Setvar"), ("Variable", "G"), ("Value", "1")]),
    (lambda a: a.park("A", "B", 45.5), [("Action", "Park"), ("Channel", "A"),
                                        ("TimeoutChannel", "B"), ("Timeout", "45500")]),
    (lambda a: a.playDTMF("A", "5", duration=0.25), [("Action", "PlayDTMF"), ("Channel", "A"),
                                                      ("Digit", "5"), ("Duration", "250")]),
    (lambda a: a.mixMonitor("A", file="rec.wav"), [("Action", "MixMonitor"), ("Channel", "A"),
                                                   ("File", "rec.wav")]),
    (lambda a: a.blindTransfer("A", "200", context="default"),
     [("Action", "BlindTransfer"), ("Channel", "A"), ("Exten", "200"), ("Context", "default")]),
    (lambda a: a.filter("Event: Newchannel"), [("Action", "Filter"), ("Filter", "Event: Newchannel"),
                                               ("Operation", "Add")]),
    (lambda a: a.events(False), [("Action", "Events"), ("EventMask", "off")]),
    (lambda a: a.userEvent("StarpyTest", Header1="value 1"),
     [("Action", "UserEvent"), ("UserEvent", "StarpyTest"), ("Header1", "value 1")]),
    (lambda a: a.dahdiHangup(3), [("Action", "DAHDIHangup"), ("DAHDIChannel", "3")]),
])
def test_namedActionsSendDocumentedHeaders(call: Any, expected: list[tuple[str, str]]) -> None:
    client = Client()
    call(client.ami)
    headers = client.sent()[0].headers()
    assert [h for h in headers if h[0] != "ActionID"] == expected


def test_namedActionBadArguments() -> None:
    client = Client()
    with pytest.raises(TypeError, match="hangup.*channel"):
        client.ami.hangup()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword"):
        client.ami.hangup("x", colour="red")  # type: ignore[call-arg]
    assert client.transport.value() == b""


def test_namedActionDocstringSaysWhatItFiresWith() -> None:
    assert "EventList" in (manager.AMIProtocol.coreShowChannels.__doc__ or "")
    assert "Action: Hangup" in (manager.AMIProtocol.hangup.__doc__ or "")


def test_originateHeaders() -> None:
    client = Client()
    client.ami.originate("Local/1@dialer", "echo", "1", 1, timeout=15.5, callerid='"T" <1>',
                         variable={"A": "1", "B": "x,y"}, channelId="chan-1",
                         otherChannelId="chan-2", codecs=["ulaw", "alaw"])
    sent = client.sent()[0]
    assert sent["timeout"] == "15500"
    assert sent.getAll("variable") == ["A=1", "B=x\\,y"]  # escaped for Asterisk
    assert sent["channelid"] == "chan-1" and sent["otherchannelid"] == "chan-2"
    assert sent["codecs"] == "ulaw,alaw"
    assert "async" not in sent


def test_asyncOriginateFiresOnOriginateResponse() -> None:
    client = Client()
    d = client.ami.originate("Local/1@dialer", "echo", "1", 1, asynchronous=True)
    aid = client.lastID().encode()
    # Events for the new channel may come first; OriginateResponse may too.
    client.feed(b"Event: Newchannel\r\nChannel: Local/1@dialer-1;1\r\n\r\n")
    client.feed(b"Response: Success\r\nActionID: %s\r\nMessage: Originate successfully queued\r\n\r\n" % aid)
    unfired(d)
    client.feed(b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: %s\r\n"
                b"Response: Success\r\nChannel: Local/1@dialer-1;1\r\nReason: 4\r\n"
                b"Uniqueid: 123.4\r\n\r\n" % aid)
    assert result(d)["uniqueid"] == "123.4"


def test_asyncOriginateFailureCarriesReason() -> None:
    client = Client()
    seen: List[str] = []
    client.ami.registerEvent("OriginateResponse", lambda ami, e: seen.append(e["response"]))
    d = client.ami.originate("PJSIP/none", application="Wait", data="1", asynchronous=True)
    aid = client.lastID().encode()
    client.feed(b"Event: OriginateResponse\r\nActionID: %s\r\nResponse: Failure\r\nReason: 0\r\n"
                b"Uniqueid: <unknown>\r\n\r\n" % aid)
    client.feed(b"Response: Success\r\nActionID: %s\r\nMessage: Originate successfully queued\r\n\r\n" % aid)
    assert failedWith(d, error.AMIOriginateFailure).reason == 0
    assert seen == ["Failure"]  # handlers still see the event


# -- events --------------------------------------------------------------------


def test_eventNamesCaseInsensitiveAndGlobs() -> None:
    client = Client()
    seen: List[tuple[str, str]] = []
    client.ami.registerEvent("NewExten", lambda ami, e: seen.append(("exact", e["event"])))
    client.ami.registerEvent("Queue*", lambda ami, e: seen.append(("glob", e["event"])))
    client.ami.registerEvent(["Hangup", "DialEnd"], lambda ami, e: seen.append(("list", e["event"])))
    for name in (b"Newexten", b"QueueMemberStatus", b"Hangup", b"DialEnd", b"Other"):
        client.feed(b"Event: " + name + b"\r\n\r\n")
    assert seen == [("exact", "Newexten"), ("glob", "QueueMemberStatus"),
                    ("list", "Hangup"), ("list", "DialEnd")]


def test_handlerCalledWithProtocolAndEvent() -> None:
    client = Client()
    got: List[Any] = []
    client.ami.registerEvent("Hangup", lambda ami, e: got.append((ami, e)))
    client.feed(transcripts.raw("events-call")[len(BANNER):])
    assert got and all(ami is client.ami for ami, _ in got)
    assert {e["cause-txt"] for _, e in got} == {"Normal Clearing"}


def test_handleCancelsItself() -> None:
    client = Client()
    seen: List[str] = []
    handle = client.ami.registerEvent("X", lambda ami, e: seen.append("x"))
    client.feed(b"Event: X\r\n\r\n")
    handle.cancel()
    handle.cancel()
    client.feed(b"Event: X\r\n\r\n")
    assert seen == ["x"]


def test_deregisterByNameAndHandler() -> None:
    client = Client()
    seen: List[str] = []

    class Watcher:
        def onHangup(self, ami: Any, event: Any) -> None:
            seen.append("hangup")

    watcher = Watcher()
    client.ami.registerEvent("Hangup", watcher.onHangup)
    assert client.ami.deregisterEvent("hangup", watcher.onHangup) == 1  # bound methods compare equal
    client.feed(b"Event: Hangup\r\n\r\n")
    assert seen == []


def test_raisingHandlerLoggedAndOthersRun(loggedErrors: LoggedErrors) -> None:
    client = Client()
    seen: List[str] = []

    def broken(ami: Any, event: Any) -> None:
        raise RuntimeError("handler bug")

    client.ami.registerEvent("X", broken)
    client.ami.registerEvent("X", lambda ami, e: seen.append("second"))
    client.feed(b"Event: X\r\n\r\n")
    assert seen == ["second"]
    [logged] = loggedErrors.flush(RuntimeError)
    assert "handler bug" in logged.text and "Traceback" in logged.text


def test_handlerFailingDeferredLogged(loggedErrors: LoggedErrors) -> None:
    client = Client()
    client.ami.registerEvent("X", lambda ami, e: defer.fail(ValueError("late bug")))
    client.feed(b"Event: X\r\n\r\n")
    [logged] = loggedErrors.flush(match="ValueError: late bug")
    assert "failed on event X" in logged.message


def test_handlersDeregisterDuringDispatch() -> None:
    client = Client()
    seen: List[str] = []
    handles: dict[str, Any] = {}

    def first(ami: Any, event: Any) -> None:
        seen.append("first")
        handles["first"].cancel()
        handles["third"].cancel()

    handles["first"] = client.ami.registerEvent("X", first)
    handles["second"] = client.ami.registerEvent("X", lambda ami, e: seen.append("second"))
    handles["third"] = client.ami.registerEvent("X", lambda ami, e: seen.append("third"))
    client.feed(b"Event: X\r\n\r\nEvent: X\r\n\r\n")
    assert seen == ["first", "second", "second"]


def test_catchAllSeesEveryEventInOrder() -> None:
    client = Client()
    names: List[str] = []
    client.ami.registerEvent(None, lambda ami, e: names.append(e["event"]))
    client.feed(transcripts.raw("events-call")[len(BANNER):])
    expected = [m["event"] for m in AMIParser().feed(transcripts.raw("events-call")) if "event" in m]
    assert names == expected


# -- timeouts, connection loss, bounds -------------------------------------------


def test_actionTimeoutFailsAndForgets() -> None:
    client = Client(defaultTimeout=5.0)
    d = client.ami.ping()
    client.clock.advance(4.9)
    unfired(d)
    client.clock.advance(0.2)
    reason = failure(d)
    assert reason.check(error.AMITimeout)
    assert "Ping" in str(reason.value)
    assert client.ami.pendingCount == 0
    assert client.clock.getDelayedCalls() == []


def test_explicitTimeoutAndNoTimeout() -> None:
    client = Client(defaultTimeout=5.0)
    quick = client.ami.sendAction("Ping", timeout=1.0)
    patient = client.ami.sendAction("Ping", timeout=None)
    client.clock.advance(100)
    assert failedWith(quick, error.AMITimeout).timeout == 1.0
    unfired(patient)
    assert client.ami.pendingCount == 1


def test_replyCancelsTimeout() -> None:
    client = Client(defaultTimeout=5.0)
    d = client.ami.ping()
    client.reply(client.lastID(), ("Ping", "Pong"))
    result(d)
    assert client.clock.getDelayedCalls() == []


def test_connectionLostFailsEveryPendingNamingItsAction() -> None:
    client = Client()
    ping = client.ami.ping()
    status = client.ami.status()
    client.ami.connectionLost(Failure(ConnectionError("gone")))
    for d, name in ((ping, "Ping"), (status, "Status")):
        assert failedWith(d, error.AMIConnectionLost).action == name
    later = client.ami.hangup("x")
    assert failure(later).check(error.AMIConnectionLost)
    assert client.clock.getDelayedCalls() == []
    assert result(client.ami.whenClosed()) is None


def test_oversizedMessageClosesConnection(loggedErrors: LoggedErrors) -> None:
    client = Client(maxMessageSize=1024)
    d = client.ami.ping()
    client.feed(b"Event: X\r\nA: " + b"x" * 2000)
    assert client.transport.disconnecting
    [logged] = loggedErrors.flush(match="exceeds the bound of 1024 bytes")
    assert logged.origin == "starpy.manager"
    client.ami.connectionLost(Failure(ConnectionError("closed")))
    assert failure(d).check(error.AMIConnectionLost)


def test_malformedLineLoggedAndSkipped(caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    seen: List[Any] = []
    client.ami.registerEvent("X", lambda ami, e: seen.append(dict(e)))
    with caplog.at_level(logging.WARNING, "starpy.manager"):
        client.feed(b"Event: X\r\ngarbage line\r\nA: 1\r\n\r\n")
    assert seen == [{"event": "X", "a": "1"}]
    assert "garbage line" in caplog.text


def test_crlfInHeaderRefusedBeforeWriting() -> None:
    client = Client()
    with pytest.raises(ValueError):
        client.ami.sendAction("Hangup", {"Channel": "x\r\nAction: Logoff"})
    with pytest.raises(ValueError):
        client.ami.hangup("x\nAction: Logoff")
    assert client.transport.value() == b""
    assert client.ami.pendingCount == 0


def test_secretAndKeyNeverLogged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client = Client()
        d = client.ami.login("starpy", "very-secret-word")
        client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: Authentication failed\r\n\r\n"
                    % client.lastID().encode())
        reason = failure(d)
        factory = manager.AMIFactory("starpy", "very-secret-word")
    assert "very-secret-word" not in caplog.text
    assert "very-secret-word" not in repr(factory)
    assert "very-secret-word" not in reason.getTraceback()


# -- keepalive -------------------------------------------------------------------


def loggedIn(**kw: Any) -> Client:
    client = Client(**kw)
    client.ami.login("u", "s")
    client.reply(client.lastID(), ("Message", "Authentication accepted"))
    return client


def test_keepalivePingsAndDropsDeadConnection() -> None:
    client = loggedIn(keepalive=10.0, keepaliveTimeout=3.0)
    client.clock.advance(10)
    ping = client.sent()[0]
    assert ping["action"] == "Ping"
    client.reply(ping["actionid"], ("Ping", "Pong"))
    client.clock.advance(10)
    assert client.sent()[0]["action"] == "Ping"
    client.clock.advance(3)
    assert client.transport.disconnecting
    client.ami.connectionLost(Failure(ConnectionError("aborted")))
    assert client.clock.getDelayedCalls() == []


# -- transcript replay -------------------------------------------------------------


def replay(name: str) -> tuple[Client, dict[str, Any]]:
    """Send each captured action through the client (same ActionIDs) and feed
    Asterisk's captured bytes back; returns the outcome of each action."""
    runs = transcripts.exchanges(name)
    client = Client(banner=False)
    outcomes: dict[str, Any] = {}

    def record(outcome: object, aid: str) -> None:
        outcomes[aid] = outcome

    for way, data in runs:
        if way == "<<":
            client.feed(data)
            continue
        (action,) = AMIParser(expectBanner=False).feed(data)
        if "actionid" not in action or "action" not in action:
            continue  # our client always sends both; Asterisk's reply is then unmatched
        aid = action["actionid"]
        headers = [(n, v) for n, v in action.headers() if n.lower() not in ("action", "actionid")]
        def sameID(aid: str = aid) -> str:
            return aid

        client.ami._newActionID = sameID  # type: ignore[method-assign]
        d = client.ami.sendAction(action["action"], headers, timeout=None)
        assert client.transport.value() == data, "client bytes differ from the capture"
        client.transport.clear()
        d.addBoth(record, aid)
    return client, outcomes


def test_replayAmiBasic() -> None:
    client, outcomes = replay("ami-basic")
    assert client.ami.amiVersion == "11.0.0"
    refused = outcomes["pre-1"]
    assert isinstance(refused, Failure) and isinstance(refused.value, error.AMICommandFailure)
    assert refused.value.message == "Permission denied"
    assert outcomes["login-1"]["message"] == "Authentication accepted"
    assert outcomes["cs-1"]["asteriskversion"] == "22.10.1"
    assert outcomes["cmd-1"].getAll("output")[0].startswith("Asterisk 22.10.1")
    dbget = [v for v in outcomes.values() if isinstance(v, EventList)]
    assert dbget and dbget[0].events[0]["event"] == "DBGetResponse"
    assert client.ami.pendingCount == 0


def test_replayAmiMd5AndLimitedAndBadlogin() -> None:
    client, outcomes = replay("ami-md5")
    assert outcomes["md5-1"]["message"] == "Authentication accepted"
    client, outcomes = replay("ami-limited")
    assert outcomes["lim-cmd"].value.message == "Permission denied"
    assert outcomes["lim-ping"]["ping"] == "Pong"
    assert outcomes["lim-orig2"].check(error.AMICommandFailure)
    assert outcomes["lim-bye"]["response"] == "Goodbye"
    client, outcomes = replay("ami-badlogin")
    assert outcomes["bad-login"].value.message == "Authentication failed"


def test_replayEventsCall() -> None:
    client, outcomes = replay("events-call")
    originate = [v for v in outcomes.values() if isinstance(v, Message) and
                 v.get("message") == "Originate successfully queued"]
    assert originate
    assert client.ami.pendingCount == 0


# -- reconnection ------------------------------------------------------------------


def ends(connection: MemoryConnection) -> tuple[Any, MemoryTransport]:
    """The client protocol of a MemoryEndpoint's connection (ClientService's
    proxy) and its transport: the test plays the server by hand, feeding the
    protocol and reading what it wrote from the transport."""
    return connection.client, connection.clientTransport


def unwrapped(proxy: Any) -> Any:
    return getattr(proxy, "_protocol", proxy)


def acceptLogin(proto: Any, transport: MemoryTransport) -> None:
    proto.dataReceived(BANNER)
    (login,) = AMIParser(expectBanner=False).feed(transport.value())
    transport.clear()
    assert login["action"] == "Login"
    proto.dataReceived(b"Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n"
                       % login["actionid"].encode())


def test_serviceReconnectsLogsInAgainAndKeepsRegistrations() -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 2.0)
    logins: List[Any] = []
    service.onLogin(logins.append)
    seen: List[Any] = []
    service.registerEvent("Hangup", lambda ami, e: seen.append((ami, e["uniqueid"])))
    service.startService()
    first, firstTransport = ends(endpoint.connections[0])
    ready = service.whenLoggedIn()
    unfired(ready)
    acceptLogin(first, firstTransport)
    assert result(ready) is unwrapped(first)
    assert logins == [unwrapped(first)] and service.protocol is unwrapped(first)
    # A handler registered on the protocol is kept as well.
    first.registerEvent("Newchannel", lambda ami, e: seen.append((ami, "new")))
    pending = first.ping()
    first.connectionLost(Failure(ConnectionError("server restarted")))
    assert failedWith(pending, error.AMIConnectionLost).action == "Ping"
    assert service.protocol is None
    clock.advance(2.0)
    second, secondTransport = ends(endpoint.connections[1])
    acceptLogin(second, secondTransport)
    assert logins == [unwrapped(first), unwrapped(second)]
    second.dataReceived(b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\nEvent: Newchannel\r\n\r\n")
    assert seen == [(unwrapped(second), "1.1"), (unwrapped(second), "new")]
    stopped = service.stopService()
    second.connectionLost(Failure(ConnectionError("stopped")))
    result(stopped)
    assert clock.getDelayedCalls() == []


def test_serviceRetriesAfterRefusedLogin(loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    factory = manager.AMIFactory("starpy", "wrong", reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 5.0)
    service.startService()
    proto, transport = ends(endpoint.connections[0])
    proto.dataReceived(BANNER)
    (login,) = AMIParser(expectBanner=False).feed(transport.value())
    proto.dataReceived(b"Response: Error\r\nActionID: %s\r\nMessage: Authentication failed\r\n\r\n"
                       % login["actionid"].encode())
    assert transport.disconnecting
    [logged] = loggedErrors.flush(match="AMI login failed, will retry: .*Authentication failed")
    proto.connectionLost(Failure(ConnectionError("closed")))
    waiting = service.whenLoggedIn()
    clock.advance(4.9)
    assert len(endpoint.connections) == 1
    clock.advance(0.1)
    assert len(endpoint.connections) == 2
    service.stopService()
    assert failure(waiting).check(error.AMIConnectionLost)


def test_timeoutsOfDifferentLengthsFireInDeadlineOrder() -> None:
    client = Client(defaultTimeout=None)
    slow = client.ami.sendAction("Ping", timeout=10.0)
    quick = client.ami.sendAction("Ping", timeout=2.0)
    client.clock.advance(2.0)
    assert failedWith(quick, error.AMITimeout).timeout == 2.0
    unfired(slow)
    client.clock.advance(8.0)
    assert failure(slow).check(error.AMITimeout)
    assert client.clock.getDelayedCalls() == []


def test_cancellingAnActionForgetsIt() -> None:
    client = Client()
    d = client.ami.ping()
    d.cancel()
    assert failure(d).check(defer.CancelledError)
    assert client.ami.pendingCount == 0
    client.reply(client.lastID(), ("Ping", "Pong"))  # a late reply is dropped quietly
    assert client.clock.getDelayedCalls() == []


def test_deadlineQueueStaysBoundedBehindAStuckAction() -> None:
    client = Client(defaultTimeout=30.0)
    stuck = client.ami.ping()
    client.transport.clear()
    for _ in range(5000):
        d = client.ami.ping()
        client.reply(client.lastID(), ("Ping", "Pong"))
        result(d)
    assert len(client.ami._actions.deadlines) < 200
    client.clock.advance(30.0)
    assert failure(stuck).check(error.AMITimeout)
    assert client.clock.getDelayedCalls() == []


def test_eventsBeforeAnErrorResponseStillReachHandlers() -> None:
    client = Client()
    seen: List[str] = []
    client.ami.registerEvent(None, lambda ami, e: seen.append(e["event"]))
    d = client.ami.sendAction("Whatever")
    aid = client.lastID().encode()
    client.feed(b"Event: Early\r\nActionID: %s\r\n\r\n" % aid)
    assert seen == []
    client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: nope\r\n\r\n" % aid)
    assert failure(d).check(error.AMICommandFailure)
    assert seen == ["Early"]


def test_eventsBeforeAPlainResponseReachHandlersAfterIt() -> None:
    client = Client()
    seen: List[str] = []
    client.ami.registerEvent(None, lambda ami, e: seen.append(e["event"]))
    d = client.ami.sendAction("UserEvent", {"UserEvent": "StarpyTest", "Header1": "value 1"})
    aid = client.lastID().encode()
    client.feed(b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: StarpyTest\r\n"
                b"ActionID: %s\r\n\r\n" % aid)
    client.feed(b"Response: Success\r\nActionID: %s\r\nMessage: Event Sent\r\n\r\n" % aid)
    assert result(d)["message"] == "Event Sent"
    assert seen == ["UserEvent"]


def test_cancelledWaitersAreForgotten() -> None:
    client = Client(banner=False)
    closed = client.ami.whenClosed()
    banner = client.ami.whenBanner()
    closed.cancel()
    banner.cancel()
    assert failure(closed).check(defer.CancelledError)
    assert failure(banner).check(defer.CancelledError)
    later = client.ami.whenClosed()
    client.ami.connectionLost(Failure(ConnectionError("gone")))  # no AlreadyCalledError
    assert result(later) is None
