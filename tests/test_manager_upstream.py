"""Code written for upstream StarPy 1.1.1's AMI client runs unchanged (issue 12).

Upstream's signatures are written down below as data (read from upstream's
``starpy/manager.py`` at tag 1.1.1), not imported; replies are the bytes of
a real Asterisk 22 from tests/fixtures where a capture has them.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from twisted.internet import defer, task
from twisted.internet import error as netError
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, manager
from starpy.amiactions import CATALOGUE, AMIActions, _NamedAction
from starpy.codec.ami import AMIParser
from starpy.manager import AMIProtocol, EventList
from starpy.testing import ami as fake
from starpy.testing.memory import MemoryEndpoint, MemoryTransport
from starpy.testing.pytest_plugin import LoggedErrors
from tests import transcripts
from tests.deferreds import failedWith, failure, result, unfired
from tests.test_manager import BANNER, Client, ends
from tests.wire import connect


def captured(name: str, actionID: str) -> bytes:
    """Every message Asterisk sent in capture *name* carrying *actionID*."""
    tag = b"ActionID: " + actionID.encode() + b"\r\n"
    return b"".join(data for way, data in transcripts.exchanges(name)
                    if way == transcripts.RECEIVED and tag in data)


def sentBytes(name: str, actionID: str) -> bytes:
    """The action the capture sent with *actionID*, as bytes."""
    tag = b"ActionID: " + actionID.encode() + b"\r\n"
    return b"".join(data for way, data in transcripts.exchanges(name)
                    if way == transcripts.SENT and tag in data)


# -- signatures --------------------------------------------------------------------

#: upstream 1.1.1's AMIProtocol methods that current Asterisk can still run,
#: with their parameters as upstream declares them.
UPSTREAM_PROTOCOL = {
    "registerEvent": "event, function",
    "deregisterEvent": "event, function=None",
    "generateActionId": "",
    "sendDeferred": "message",
    "checkErrorResponse": "result, actionid, df",
    "sendMessage": "message, responseCallback=None",
    "collectDeferred": "message, stopEvent",
    "errorUnlessResponse": "message, expected='Success'",
    "absoluteTimeout": "channel, timeout",
    "agentLogoff": "agent, soft",
    "agents": "",
    "command": "command",
    "action": "action, **action_args",
    "dbDel": "family, key",
    "dbDelTree": "family, key=None",
    "dbGet": "family, key",
    "dbPut": "family, key, value",
    "events": "eventmask=False",
    "extensionState": "exten, context",
    "getConfig": "filename",
    "getVar": "channel, variable",
    "hangup": "channel",
    "login": "",
    "loginChallengeResponse": "",
    "listCommands": "",
    "logoff": "",
    "mailboxCount": "mailbox",
    "mailboxStatus": "mailbox",
    "originate": "channel, context=None, exten=None, priority=None, timeout=None,"
                 " callerid=None, account=None, application=None, data=None, variable={},"
                 " nowait=False, channelid=None, otherchannelid=None, codecs=None",
    "park": "channel, channel2, timeout",
    "parkedCalls": "",
    "ping": "",
    "playDTMF": "channel, digit",
    "queueAdd": "queue, interface, penalty=0, paused=True, membername=None, stateinterface=None",
    "queueLog": "queue, event, uniqueid=None, interface=None, msg=None",
    "queuePause": "queue, interface, paused=True, reason=None",
    "queuePenalty": "interface, penalty, queue=None",
    "queueRemove": "queue, interface",
    "queueStatus": "queue=None, member=None",
    "redirect": "channel, context, exten, priority, extraChannel=None",
    "setVar": "channel, variable, value",
    "status": "channel=None",
    "updateConfig": "srcfile, dstfile, reload, headers={}",
    "userEvent": "event, **headers",
    "waitEvent": "timeout",
    "dahdiDNDoff": "channel",
    "dahdiDNDon": "channel",
    "dahdiDialOffhook": "channel, number",
    "dahdiHangup": "channel",
    "dahdiRestart": "channel",
    "dahdiShowChannels": "",
    "dahdiTransfer": "channel",
}

#: upstream methods for actions Asterisk removed (or that were never actions).
UPSTREAM_REMOVED = ["changeMonitor", "meetmeMute", "meetmeUnmute", "monitor", "parkedCall",
                    "unParkedCall", "pauseMonitor", "queues", "setCDRUserField", "sipPeers",
                    "sipShowPeers", "stopMonitor", "unpauseMonitor"]

UPSTREAM_FACTORY = {
    "__init__": "username, secret, id=None, plaintext_login=True, on_reconnect=None",
    "login": "ip='localhost', port=5038, timeout=5, bindAddress=None",
    "stopTrying": "",
    "resetDelay": "",
}

Param = Tuple[str, bool, bool]  # name, has a default, is **kwargs


def parse(text: str) -> List[Param]:
    params = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part.startswith("**"):
            params.append((part[2:], True, True))
        else:
            params.append((part.split("=")[0], "=" in part, False))
    return params


def ours(cls: type, name: str) -> List[Param]:
    attribute = inspect.getattr_static(cls, name)
    if isinstance(attribute, _NamedAction):
        return [(p.name, not _required(p), False) for p in attribute.spec.params]
    signature = inspect.signature(attribute)
    params = []
    for param in list(signature.parameters.values())[1:]:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            params.append((param.name, True, True))
        elif param.kind is not inspect.Parameter.KEYWORD_ONLY:
            params.append((param.name, param.default is not inspect.Parameter.empty, False))
    return params


def _required(param: Any) -> bool:
    return repr(param.default) == "REQUIRED"


def check(upstream: List[Param], mine: List[Param]) -> None:
    """Every upstream call works here: same positional names in the same order,
    optional where upstream's are, **kwargs where upstream has them; extra
    parameters of ours are optional."""
    upstreamPositional = [p for p in upstream if not p[2]]
    minePositional = [p for p in mine if not p[2]]
    assert [p[0] for p in minePositional[:len(upstreamPositional)]] == \
        [p[0] for p in upstreamPositional]
    for (name, hasDefault, _), (_, mineDefault, _) in zip(upstreamPositional, minePositional, strict=False):
        assert mineDefault or not hasDefault, "%s must be optional" % name
    assert all(p[1] for p in minePositional[len(upstreamPositional):]), "extra parameters must be optional"
    if any(p[2] for p in upstream):
        assert any(p[2] for p in mine), "upstream takes **kwargs"


@pytest.mark.parametrize("name", sorted(UPSTREAM_PROTOCOL))
def test_protocolMethodTakesUpstreamArguments(name: str) -> None:
    check(parse(UPSTREAM_PROTOCOL[name]), ours(AMIProtocol, name))


@pytest.mark.parametrize("name", sorted(UPSTREAM_FACTORY))
def test_factoryMethodTakesUpstreamArguments(name: str) -> None:
    check(parse(UPSTREAM_FACTORY[name]), ours(manager.AMIFactory, name))


def test_removedUpstreamMethodsAbsentAndNamedInReadme() -> None:
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for name in UPSTREAM_REMOVED:
        assert not hasattr(AMIProtocol, name)
        assert "`%s`" % name in readme or "`%s`/" % name in readme or "/`%s`" % name in readme, name


def test_catalogueActionNamedTimeoutTakesItByKeyword() -> None:
    """absoluteTimeout(channel, timeout=10) as upstream code writes it."""
    client = Client()
    client.ami.absoluteTimeout(channel="PJSIP/1", timeout=10)
    parked = client.ami.park("PJSIP/1", "PJSIP/2", timeout=45, actionTimeout=5)
    absolute, park = client.sent()
    assert absolute.headers()[2:] == [("Channel", "PJSIP/1"), ("Timeout", "10")]
    assert ("Timeout", "45000") in park.headers()
    assert client.ami.pendingCount == 2
    client.clock.advance(5)
    assert client.ami.pendingCount == 1  # park's own action timeout
    assert failure(parked).check(error.AMITimeout)


# -- list results ------------------------------------------------------------------

ITEM = "Event: %s\r\nActionID: %s\r\n%s\r\n"


def listReply(actionID: str, items: List[str], complete: str, eventList: bool = True) -> bytes:
    head = "Response: Success\r\nActionID: %s\r\n" % actionID
    if eventList:
        head += "EventList: start\r\nMessage: Result will follow\r\n"
    body = "".join(ITEM % (name, actionID, "Name: x\r\n") for name in items)
    tail = "Event: %s\r\nActionID: %s\r\n" % (complete, actionID)
    if eventList:
        tail += "EventList: Complete\r\nListItems: %d\r\n" % len(items)
    return (head + "\r\n" + body + tail + "\r\n").encode()


LIST_CASES: List[Tuple[str, Callable[[AMIProtocol], Any], bytes, List[Optional[str]]]] = [  # ActionID st-1
    ("status, nothing up (capture)", lambda a: a.status(), captured("ami-basic", "st-1"),
     [None, "StatusComplete"]),
    ("coreShowChannels, none (capture)", lambda a: a.coreShowChannels(),
     captured("ami-basic", "csc-1").replace(b"csc-1", b"st-1"), [None, "CoreShowChannelsComplete"]),
    ("parkedCalls, nothing parked", lambda a: a.parkedCalls(),
     listReply("st-1", [], "ParkedCallsComplete"), [None, "ParkedCallsComplete"]),
    ("parkedCalls, one parked", lambda a: a.parkedCalls(),
     listReply("st-1", ["ParkedCall"], "ParkedCallsComplete"),
     [None, "ParkedCall", "ParkedCallsComplete"]),
    ("agents", lambda a: a.agents(), listReply("st-1", ["Agents", "Agents"], "AgentsComplete"),
     [None, "Agents", "Agents", "AgentsComplete"]),
    ("queueStatus", lambda a: a.queueStatus(),
     listReply("st-1", ["QueueParams", "QueueMember"], "QueueStatusComplete"),
     [None, "QueueParams", "QueueMember", "QueueStatusComplete"]),
    ("dahdiShowChannels", lambda a: a.dahdiShowChannels(),
     listReply("st-1", ["DAHDIShowChannels"], "DAHDIShowChannelsComplete"),
     [None, "DAHDIShowChannels", "DAHDIShowChannelsComplete"]),
    ("waitEvent (no EventList header)", lambda a: a.waitEvent(5),
     listReply("st-1", [], "WaitEventComplete", eventList=False), [None, "WaitEventComplete"]),
    ("collectDeferred", lambda a: a.collectDeferred({"Action": "SIPpeers"}, "PeerlistComplete"),
     listReply("st-1", ["PeerEntry"], "PeerlistComplete", eventList=False),
     [None, "PeerEntry", "PeerlistComplete"]),
    ("status, plain acknowledgement (older Asterisk)", lambda a: a.status(),
     listReply("st-1", ["Status"], "StatusComplete", eventList=False),
     [None, "Status", "StatusComplete"]),
    ("parkedCalls, plain acknowledgement", lambda a: a.parkedCalls(),
     listReply("st-1", [], "ParkedCallsComplete", eventList=False), [None, "ParkedCallsComplete"]),
    ("collectDeferred, a list closed under another name",
     lambda a: a.collectDeferred({"Action": "CoreShowChannels"}, "NoSuchComplete"),
     captured("ami-basic", "csc-1").replace(b"csc-1", b"st-1"), [None, "CoreShowChannelsComplete"]),
    ("collectDeferred, stop event in another case",
     lambda a: a.collectDeferred([("action", "Status")], "statuscomplete"),
     captured("ami-basic", "st-1"), [None, "StatusComplete"]),
]


@pytest.mark.parametrize("call, reply, expected", [c[1:] for c in LIST_CASES],
                         ids=[c[0] for c in LIST_CASES])
def test_listResultHoldsWhatUpstreamHeld(call: Callable[[AMIProtocol], Any], reply: bytes,
                                              expected: List[Optional[str]]) -> None:
    """Upstream's list: the response, the events with the ActionID, the closing event."""
    client = Client(ids=iter(["st-1"]))
    d = call(client.ami)
    client.feed(reply)
    items = result(d)
    assert isinstance(items, list) and isinstance(items, EventList)
    assert [m.get("event") for m in items] == expected
    assert items[0]["response"] == "Success" and items.response is items[0]
    assert items.complete is items[-1] and items.events == items[1:-1]
    assert client.ami.pendingCount == 0


def test_parkedCallsEmptyFromTheFakeAsteriskIsTwoMessages() -> None:
    clock = task.Clock()
    server = fake.FakeAMIServerFactory(clock=clock)
    server.script("ParkedCalls", fake.ListReply([], "ParkedCallsComplete",
                                                "Parked calls will follow"))
    ami, connection = fake.loginInMemory(
        server, manager.AMIFactory("starpy", "starpy-secret", reactor=clock))
    d = ami.parkedCalls()
    connection.flush()
    parked = result(d)
    assert len(parked) == 2
    assert parked[0]["message"] == "Parked calls will follow"
    assert parked[1]["event"] == "ParkedCallsComplete"


@pytest.mark.parametrize("call", [lambda a: a.parkedCalls(),
                                  lambda a: a.collectDeferred({"Action": "Foo"}, "FooComplete")])
def test_listErrorResponseFails(call: Callable[[AMIProtocol], Any]) -> None:
    client = Client()
    d = call(client.ami)
    client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: Permission denied\r\n\r\n"
                % client.lastID().encode())
    assert failure(d).check(error.AMICommandFailure)


# -- dbGet, userEvent, listCommands ------------------------------------------------


@pytest.mark.parametrize("actionID, expected", [("dbg-1", "v1"), ("dbg-2", None)])
def test_dbgetAsCaptured(actionID: str, expected: Optional[str]) -> None:
    """A hit fires with the value, a missing key with None (as upstream)."""
    client = Client(ids=iter([actionID]))
    d = client.ami.dbGet("amifam", "k1" if expected else "missing")
    assert client.transport.value() == sentBytes("ami-basic", actionID)
    client.feed(captured("ami-basic", actionID))
    assert result(d) == expected


def test_userEventReturnsItsActionIdAtOnce() -> None:
    client = Client(ids=iter(["ml-ue"]))
    seen: List[str] = []
    client.ami.registerEvent("UserEvent", lambda ami, event: seen.append(event["actionid"]))
    actionID = client.ami.userEvent("OnlyForEventsOn")
    assert actionID == "ml-ue"
    # The bytes of ami-multilogin (connection 1), both ways.
    assert client.transport.value() == \
        b"Action: UserEvent\r\nActionID: ml-ue\r\nUserEvent: OnlyForEventsOn\r\n\r\n"
    client.feed(b"Response: Success\r\nActionID: ml-ue\r\nMessage: Event Sent\r\n\r\n"
                b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: OnlyForEventsOn\r\n"
                b"ActionID: ml-ue\r\n\r\n")
    assert seen == ["ml-ue"] and client.ami.pendingCount == 0


def test_userEventRefusesCrlfBeforeSending() -> None:
    client = Client()
    with pytest.raises(ValueError):
        client.ami.userEvent("Evil", Header="x\r\nAction: Hangup")
    assert client.transport.value() == b""


def test_listCommandsLeavesOutTheActionId() -> None:
    client = Client()
    d = client.ami.listCommands()
    client.feed(b"Response: Success\r\nActionID: %s\r\nPing: Keepalive command.  (Priv: <none>)\r\n\r\n"
                % client.lastID().encode())
    commands = result(d)
    assert "actionid" not in commands and commands["ping"].startswith("Keepalive")


# -- upstream's sending helpers ----------------------------------------------------


def test_sendMessageReturnsActionIdAndCallsBackEachMessage() -> None:
    client = Client()
    got: List[Any] = []
    actionID = client.ami.sendMessage({"action": "Status"}, got.append)
    assert isinstance(actionID, str) and client.lastID() == actionID
    client.feed(listReply(actionID, ["Status"], "StatusComplete"))
    assert [m.get("event") for m in got] == [None, "Status", "StatusComplete"]
    assert client.ami.pendingCount == 0


def test_sendMessageKeepsAGivenActionIdAndTakesPairs() -> None:
    client = Client()
    got: List[Any] = []
    assert client.ami.sendMessage([("Action", "Ping"), ["ActionID", "mine-1"]], got.append) == "mine-1"
    assert client.sent()[0].headers() == [("Action", "Ping"), ("ActionID", "mine-1")]
    with pytest.raises(ValueError):
        client.ami.sendMessage({"Action": "Ping", "ActionID": "mine-1"})  # still waiting
    client.feed(b"Response: Error\r\nActionID: mine-1\r\nMessage: Permission denied\r\n\r\n")
    assert got[0]["message"] == "Permission denied"


@pytest.mark.parametrize("end, expected", [
    (lambda c: c.ami.connectionLost(Failure(ConnectionError("gone"))), error.AMIConnectionLost),
    (lambda c: c.clock.advance(manager.DEFAULT_TIMEOUT), error.AMITimeout),
])
def test_sendMessageCallbackToldOfConnectionLossAndTimeout(end: Any, expected: type) -> None:
    client = Client()
    got: List[Any] = []
    client.ami.sendMessage({"Action": "Ping"}, got.append)
    end(client)
    assert len(got) == 1 and isinstance(got[0], expected)


def test_sendMessageRefusesBadMessagesBeforeSending() -> None:
    client = Client()
    with pytest.raises(ValueError):
        client.ami.sendMessage({"Channel": "x"})
    with pytest.raises(ValueError):
        client.ami.sendMessage({"Action": "Hangup", "Channel": "x\r\nAction: Originate"})
    assert client.transport.value() == b""


def test_sendDeferredFiresWithAnyResponseAndRegisteredError() -> None:
    client = Client()
    errors: List[Any] = []
    d = client.ami.sendDeferred({"action": "Hangup", "channel": "PJSIP/none"})
    assert isinstance(d, manager.deferredErrorResp)
    d.registerError(errors.append)
    client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: No such channel\r\n\r\n"
                % client.lastID().encode())
    response = result(d)
    assert response["message"] == "No such channel" and errors == [response]


def test_sendDeferredOfAListFiresWithTheResponseEventsToHandlers() -> None:
    client = Client()
    seen: List[str] = []
    client.ami.registerEvent(None, lambda ami, event: seen.append(event["event"]))
    d = client.ami.sendDeferred({"Action": "Status"})
    client.feed(listReply(client.lastID(), ["Status"], "StatusComplete"))
    assert result(d)["eventlist"] == "start"
    assert seen == ["Status", "StatusComplete"]


@pytest.mark.parametrize("message, expected, raises", [
    ({"response": "Success"}, "Success", False),
    ({"response": "Error", "message": "No such channel"}, "Success", True),
    ({"response": "Goodbye"}, "Goodbye", False),
    ({"response": "Follows"}, "Success", True),
    ([{"response": "Success"}], "Success", False),
])
def test_errorUnlessResponse(message: Any, expected: str, raises: bool) -> None:
    ami = Client().ami
    if raises:
        with pytest.raises(error.AMICommandFailure):
            ami.errorUnlessResponse(message, expected=expected)
    else:
        assert ami.errorUnlessResponse(message, expected) is message


def test_checkErrorResponseCallsRegisteredFunction() -> None:
    ami = Client().ami
    d = manager.deferredErrorResp()
    seen: List[Any] = []
    d.registerError(seen.append)
    ok, bad = {"response": "Success"}, {"response": "Error"}
    assert ami.checkErrorResponse(ok, "x", d) is ok and seen == []
    assert ami.checkErrorResponse(bad, "x", d) is bad and seen == [bad]


def test_actionSendsAnyActionAndChecksTheResponse() -> None:
    client = Client()
    d = client.ami.action("DBPut", Family="f", Key="k", Val="v")
    sent = client.sent()[0]
    assert sent.headers()[0] == ("Action", "DBPut")
    assert [h for h in sent.headers() if h[0] != "ActionID"][1:] == [
        ("Family", "f"), ("Key", "k"), ("Val", "v")]
    client.feed(b"Response: Success\r\nActionID: %s\r\nMessage: Updated\r\n\r\n"
                % sent["actionid"].encode())
    assert result(d)["message"] == "Updated"
    bad = client.ami.action("Hangup", Channel="none")
    client.feed(b"Response: Error\r\nActionID: %s\r\nMessage: No such channel\r\n\r\n"
                % client.lastID().encode())
    refused = failedWith(bad, error.AMICommandFailure)
    assert refused.action == "Hangup" and refused.message == "No such channel"


def test_generateActionIdUnique() -> None:
    ami = Client().ami
    ids = {ami.generateActionId() for _ in range(100)}
    assert len(ids) == 100


def test_sendLineHoldsTheMessageUntilTheBlankLine() -> None:
    client = Client()
    client.ami.sendLine(b"Action: UserEvent")
    client.ami.sendLine("UserEvent: Mine")
    assert client.transport.value() == b""
    client.ami.ping()  # an action sent meanwhile goes out whole, alone
    ping = client.transport.value()
    client.transport.clear()
    client.ami.sendLine("")
    assert client.transport.value() == b"Action: UserEvent\r\nUserEvent: Mine\r\n\r\n"
    assert ping.startswith(b"Action: Ping\r\n") and ping.count(b"\r\n\r\n") == 1


@pytest.mark.parametrize("line", ["Action: Ping\r\nAction: Hangup", "Channel: x\n", "no colon",
                                  ": value", "Action: Ping\r"])
def test_sendLineRefusesInjectionAndKeepsWhatItHad(line: str) -> None:
    client = Client()
    client.ami.sendLine("Action: Ping")
    with pytest.raises(error.LocalProtocolError):
        client.ami.sendLine(line)
    client.ami.sendLine("")
    assert client.transport.value() == b"Action: Ping\r\n\r\n"


def test_sendLineBounded() -> None:
    client = Client(maxMessageSize=64)
    client.ami.sendLine("Action: UserEvent")
    with pytest.raises(error.LocalProtocolError):
        client.ami.sendLine("Data: " + "x" * 64)
    assert client.ami._lines == ["Action: UserEvent"]


def test_sendLineAfterCloseFails() -> None:
    client = Client()
    client.ami.connectionLost(Failure(ConnectionError("gone")))
    with pytest.raises(error.AMIConnectionLost):
        client.ami.sendLine("Action: Ping")


def test_registerAndDeregisterByUpstreamKeywords() -> None:
    client = Client()
    seen: List[str] = []
    one = lambda ami, event: seen.append("one")  # noqa: E731
    two = lambda ami, event: seen.append("two")  # noqa: E731
    client.ami.registerEvent(event="Hangup", function=one)
    client.ami.registerEvent("Hangup", two)
    assert client.ami.deregisterEvent(event="Hangup", function=one) == 1
    client.feed(b"Event: Hangup\r\n\r\n")
    assert client.ami.deregisterEvent("Hangup") == 1  # None: every function for the event
    client.feed(b"Event: Hangup\r\n\r\n")
    assert seen == ["two"]


# -- originate ---------------------------------------------------------------------


def test_originateNowaitFiresWithTheImmediateResponse() -> None:
    client = Client()
    d = client.ami.originate("PJSIP/100", "default", "100", 1, nowait=True)
    sent = client.sent()[0]
    assert sent["async"] == "true"
    client.feed(b"Response: Success\r\nActionID: %s\r\nMessage: Originate successfully queued\r\n\r\n"
                % sent["actionid"].encode())
    assert result(d)["message"] == "Originate successfully queued"


def test_originateUpstreamPositionalOrder() -> None:
    client = Client()
    client.ami.originate("Local/1@c", "c", "1", 1, 30, "Me <1>", "acct", None, None,
                         {"A": "1"}, True, "uid-1", "uid-2", "ulaw,alaw")
    headers = dict((k, v) for k, v in client.sent()[0].headers() if k != "ActionID")
    assert headers == {"Action": "Originate", "Channel": "Local/1@c", "Context": "c", "Exten": "1",
                       "Priority": "1", "Timeout": "30000", "CallerID": "Me <1>",
                       "Account": "acct", "ChannelId": "uid-1", "OtherChannelId": "uid-2",
                       "Codecs": "ulaw,alaw", "Variable": "A=1", "Async": "true"}


@pytest.mark.parametrize("kwargs, headers", [
    ({"channelid": "u1", "otherchannelid": "u2"}, [("ChannelId", "u1"), ("OtherChannelId", "u2")]),
    ({"channelId": "u1", "otherChannelId": "u2"}, [("ChannelId", "u1"), ("OtherChannelId", "u2")]),
    ({"channelid": "u1", "channelId": "u1"}, [("ChannelId", "u1")]),
    ({"async_": True}, [("Async", "true")]),
    ({"nowait": False}, []),
])
def test_originateSpellings(kwargs: Dict[str, Any], headers: List[Tuple[str, str]]) -> None:
    client = Client()
    d = client.ami.originate("PJSIP/1", application="Wait", data="1", **kwargs)
    sent = client.sent()[0].headers()
    assert [h for h in sent if h[0] in ("ChannelId", "OtherChannelId", "Async")] == headers
    client.feed(b"Response: Success\r\nActionID: %s\r\n\r\n" % dict(sent)["ActionID"].encode())
    assert result(d)["response"] == "Success"  # never waits for OriginateResponse


@pytest.mark.parametrize("kwargs, exception", [
    ({"channelid": "u1", "channelId": "u2"}, TypeError),
    ({"nowait": True, "asynchronous": True}, ValueError),
    ({"nowhere": 1}, TypeError),
])
def test_originateBadSpellingsRefusedBeforeSending(kwargs: Dict[str, Any], exception: type) -> None:
    client = Client()
    with pytest.raises(exception):
        client.ami.originate("PJSIP/1", application="Wait", **kwargs)
    assert client.transport.value() == b""


# -- login -------------------------------------------------------------------------


@pytest.mark.parametrize("call, md5", [(lambda a: a.login(), False),
                                       (lambda a: a.loginChallengeResponse(), True)])
def test_protocolLoginWithoutArgumentsUsesTheFactory(call: Any, md5: bool) -> None:
    factory = manager.AMIFactory("starpy", "starpy-secret", reactor=task.Clock())
    ami = factory.buildProtocol(None)
    transport = StringTransport()
    connect(ami, transport)
    ami.dataReceived(BANNER)
    call(ami)
    sent = AMIParser(expectBanner=False).feed(transport.value())[0]
    if md5:
        assert sent["action"] == "Challenge"
    else:
        assert (sent["username"], sent["secret"]) == ("starpy", "starpy-secret")


def test_protocolLoginWithoutFactoryNeedsCredentials() -> None:
    with pytest.raises(TypeError):
        Client().ami.login()


@pytest.mark.parametrize("kwargs, md5", [({}, False), ({"plaintext_login": True}, False),
                                         ({"plaintext_login": False}, True), ({"md5": True}, True),
                                         ({"plaintext_login": False, "md5": True}, True)])
def test_plaintextLoginIsMd5Alias(kwargs: Dict[str, Any], md5: bool) -> None:
    factory = manager.AMIFactory("u", "s", **kwargs)
    assert factory.md5 is md5 and factory.plaintext_login is (not md5)


def test_plaintextLoginContradictingMd5Refused() -> None:
    with pytest.raises(ValueError):
        manager.AMIFactory("u", "s", plaintext_login=True, md5=True)
    with pytest.raises(TypeError):
        manager.AMIFactory("u", "s", None, True, on_reconnect="not callable")  # type: ignore[arg-type]


def test_upstreamPositionalFactoryArguments() -> None:
    calls: List[Any] = []
    factory = manager.AMIFactory("u", "s", "id-1", False, calls.append)
    assert (factory.id, factory.md5, factory.on_reconnect) == ("id-1", True, calls.append)


def test_bindAddressReachesTheEndpoint() -> None:
    from twisted.internet.testing import MemoryReactorClock

    factory = manager.AMIFactory("u", "s", reactor=MemoryReactorClock())
    endpoint = factory.endpoint("pbx.example.com", 5038, 5, bindAddress=("10.0.0.2", 0))
    assert endpoint._bindAddress == ("10.0.0.2", 0)  # type: ignore[attr-defined]
    endpoint = factory.endpoint("pbx.example.com", 5038, 5, bindAddress="10.0.0.3")
    assert endpoint._bindAddress == ("10.0.0.3", 0)  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        factory.endpoint("tcp:host=pbx:port=5038", bindAddress=("10.0.0.2", 0))


# -- AMIFactory reconnection -------------------------------------------------------


def answerLogin(proto: Any, transport: MemoryTransport, accept: bool = True) -> None:
    proto.dataReceived(BANNER)
    (login,) = AMIParser(expectBanner=False).feed(transport.value())
    transport.clear()
    reply = b"Success\r\nMessage: Authentication accepted" if accept else \
        b"Error\r\nMessage: Authentication failed"
    proto.dataReceived(b"Response: %s\r\nActionID: %s\r\n\r\n" % (reply, login["actionid"].encode()))


def lose(proto: Any) -> None:
    proto.connectionLost(Failure(ConnectionError("gone")))


def newFactory(**kw: Any) -> Tuple[task.Clock, MemoryEndpoint, manager.AMIFactory,
                                  List[defer.Deferred[AMIProtocol]]]:
    clock = task.Clock()
    reconnects: List[defer.Deferred[AMIProtocol]] = []
    factory = manager.AMIFactory("starpy", "starpy-secret", on_reconnect=reconnects.append,
                                 reactor=clock, **kw)
    return clock, MemoryEndpoint(), factory, reconnects


def test_factoryReconnectsLogsInAgainAndCallsOnReconnect() -> None:
    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(endpoint=endpoint)
    first, transport = ends(endpoint.connections[0])
    answerLogin(first, transport)
    ami = result(d)
    ami.registerEvent("Hangup", lambda a, e: None)
    lose(first)
    assert len(reconnects) == 1 and factory.loginDefer is reconnects[0]
    unfired(reconnects[0])
    endpoint.refuse = 1  # Asterisk still down: keep trying (upstream stopped here)
    clock.advance(factory.initialDelay)
    assert endpoint.attempts == 2
    clock.advance(factory.initialDelay * factory.factor)
    second, transport = ends(endpoint.connections[1])
    answerLogin(second, transport)
    again = result(reconnects[0])
    assert again is not ami and again.loggedIn
    assert len(again.dispatcher) == 0  # a new connection starts without registrations, as upstream
    assert factory.delay == factory.initialDelay  # reset after the login
    lose(second)
    assert len(reconnects) == 2


def test_factoryRefusedReloginFailsThatDeferredThenTriesAgain(
        loggedErrors: LoggedErrors) -> None:
    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(endpoint=endpoint)
    answerLogin(*ends(endpoint.connections[0]))
    result(d)
    lose(endpoint.connections[0].client)
    clock.advance(factory.initialDelay)
    second, transport = ends(endpoint.connections[1])
    answerLogin(second, transport, accept=False)
    assert failure(reconnects[0]).check(error.AMIAuthenticationError)
    # The factory goes on trying: the refusal is logged as an error to retry.
    assert loggedErrors.flush(match="AMI login failed, will retry: .*Authentication failed")
    lose(second)
    assert len(reconnects) == 2
    clock.advance(factory.maxDelay)
    assert len(endpoint.connections) == 3


def test_stopTryingKeepsTheConnectionAndDoesNotReconnect() -> None:
    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(endpoint=endpoint)
    answerLogin(*ends(endpoint.connections[0]))
    ami = result(d)
    factory.stopTrying()
    clock.advance(0)
    assert not endpoint.connections[0].clientTransport.disconnecting and ami.loggedIn
    lose(endpoint.connections[0].client)
    clock.advance(3600)
    assert endpoint.attempts == 1 and reconnects == []
    assert clock.getDelayedCalls() == []


def test_stopTryingWhileWaitingToReconnect() -> None:
    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(endpoint=endpoint)
    answerLogin(*ends(endpoint.connections[0]))
    result(d)
    lose(endpoint.connections[0].client)
    factory.stopTrying()
    clock.advance(3600)
    assert endpoint.attempts == 1 and clock.getDelayedCalls() == []


def test_logoffEndsTheReconnection() -> None:
    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(endpoint=endpoint)
    answerLogin(*ends(endpoint.connections[0]))
    ami = result(d)
    off = ami.logoff()
    lose(endpoint.connections[0].client)
    # Closed before Asterisk's Goodbye was read: the action fails, as upstream's.
    assert failure(off).check(error.AMIConnectionLost)
    clock.advance(3600)
    assert endpoint.attempts == 1 and reconnects == []


@pytest.mark.parametrize("refuse, accept, expected", [
    (1, True, netError.ConnectionRefusedError),
    (0, False, error.AMIAuthenticationError),
])
def test_firstLoginFailureFailsAndStops(refuse: int, accept: bool, expected: type) -> None:
    clock, endpoint, factory, reconnects = newFactory()
    endpoint.refuse = refuse
    d = factory.login(endpoint=endpoint)
    if not refuse:
        proto, transport = ends(endpoint.connections[0])
        answerLogin(proto, transport, accept=accept)
        lose(proto)
    assert failure(d).check(expected)
    clock.advance(3600)
    assert endpoint.attempts == 1 and reconnects == []
    assert clock.getDelayedCalls() == []


def test_firstLoginTimeoutStops() -> None:
    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(timeout=5, endpoint=endpoint)
    clock.advance(5)
    assert failure(d).check(error.AMITimeout)
    clock.advance(0)
    assert endpoint.connections[0].clientTransport.disconnecting
    lose(endpoint.connections[0].client)
    clock.advance(3600)
    assert endpoint.attempts == 1 and clock.getDelayedCalls() == []


def test_resetDelay() -> None:
    factory = manager.AMIFactory("u", "s")
    factory.delay = 20.0
    factory.resetDelay()
    assert factory.delay == factory.initialDelay


def test_everyCatalogueActionIsOnTheProtocol() -> None:
    for spec in CATALOGUE:
        assert callable(getattr(Client().ami, spec.method))
    assert issubclass(AMIProtocol, AMIActions)


def test_cliCommandsEndTheReconnectionWithTheirConnection() -> None:
    """``starpy events`` ends when the connection goes: its factory must not make it again."""
    from starpy.cli import ami as cliami

    clock, endpoint, factory, reconnects = newFactory()
    d = factory.login(endpoint=endpoint)
    answerLogin(*ends(endpoint.connections[0]))
    cliami._stopReconnecting(result(d))
    lose(endpoint.connections[0].client)
    clock.advance(3600)
    assert endpoint.attempts == 1 and reconnects == []


def test_serviceTellsOfEachRefusedLogin(loggedErrors: LoggedErrors) -> None:
    clock = task.Clock()
    endpoint = MemoryEndpoint()
    factory = manager.AMIFactory("starpy", "wrong", reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 1.0)
    refused: List[Any] = []
    remove = service.onLoginFailed(lambda ami, reason: refused.append((ami, reason)))
    service.startService()
    proto, transport = ends(endpoint.connections[0])
    answerLogin(proto, transport, accept=False)
    assert len(refused) == 1 and refused[0][1].check(error.AMIAuthenticationError)
    assert refused[0][0] is getattr(proto, "_protocol", proto)
    remove()
    lose(proto)
    clock.advance(1.0)
    answerLogin(*ends(endpoint.connections[1]), accept=False)
    assert len(refused) == 1
    # Observed or not, each refusal of the running service is logged.
    assert len(loggedErrors.flush(match="AMI login failed, will retry")) == 2
    service.stopService()


def test_sendLineRefusesALeadingBlankAndKeepsSurrogateBytes() -> None:
    """What Asterisk would drop is refused; a byte held as a lone surrogate
    (as the codec decodes it) goes out as that byte."""
    client = Client()
    client.transport.clear()
    with pytest.raises(ValueError, match="starts with a space"):
        client.ami.sendLine("Action:  Ping")
    client.ami.sendLine("Action: UserEvent")
    client.ami.sendLine(b"UserEvent: caf\xe9")
    client.ami.sendLine("")
    assert client.transport.value() == b"Action: UserEvent\r\nUserEvent: caf\xe9\r\n\r\n"
