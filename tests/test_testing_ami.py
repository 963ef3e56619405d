"""Tests of the fake AMI server, :mod:`starpy.testing.ami`.

Fidelity: the client lines of the captures are replayed into the fake and its
bytes compared, header by header, with what Asterisk sent.  Then the real
client (:mod:`starpy.manager`) against the fake, in memory and over TCP.
"""
from __future__ import annotations

import ast
import hashlib
import random
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import pytest_twisted
from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, manager
from starpy.codec.ami import Message, formatMessage
from starpy.testing import ami
from starpy.testing.pytest_plugin import LoggedErrors
from tests.deferreds import failedWith
from tests.wire import portNumber

FIXTURES = Path(__file__).parent / "fixtures"
START = 1795488566.0  # the captured Asterisk's clock, near its start

_ROW = re.compile(r"^\s*([\d.]+) (<<|>>)(?:\[(\d+)\])? (b.*)$")

# Values that legitimately differ from one run to the next.
_VARYING = {"timestamp", "eventtv", "sessiontv", "sessionid", "uniqueid", "uptime",
            "lastreload", "corestartupdate", "corestartuptime", "corereloaddate",
            "corereloadtime"}
# Events of channels that Asterisk created while failing an Originate: the
# fake does not simulate those channels.
_CHANNEL_EVENTS = {"Newchannel", "Newexten", "Hangup", "DeviceStateChange"}


class _FixedRandom(random.Random):
    """Gives the captured challenges, in order."""

    def __new__(cls, values: List[int]) -> "_FixedRandom":
        # Python 3.10's Random.__new__ would take *values* as the seed.
        return super().__new__(cls)

    def __init__(self, values: List[int]) -> None:
        super().__init__(0)
        self.values = list(values)

    def randint(self, a: int, b: int) -> int:
        return self.values.pop(0)


def _rows(name: str) -> List[Tuple[float, str, int, bytes]]:
    rows = []
    for line in (FIXTURES / (name + ".txt")).read_text().splitlines():
        match = _ROW.match(line)
        if match:
            rows.append((float(match.group(1)), match.group(2), int(match.group(3) or 1),
                         ast.literal_eval(match.group(4))))
    return rows


def _split(data: bytes) -> Tuple[bytes, List[List[Tuple[str, str]]]]:
    """The banner line and the messages (header pairs) of a server stream."""
    banner, _, rest = data.partition(b"\r\n")
    assert rest == b"" or rest.endswith(b"\r\n\r\n"), rest[-40:]
    messages = []
    for block in rest.split(b"\r\n\r\n")[:-1]:
        pairs = []
        for line in block.decode().split("\r\n"):
            name, sep, value = line.partition(": ")
            assert sep, line
            pairs.append((name, value))
        messages.append(pairs)
    return banner + b"\r\n", messages


def _normalise(pairs: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    result = []
    for name, value in pairs:
        lower = name.lower()
        if lower in _VARYING:
            value = "<varies>"
        elif lower == "remoteaddress":
            value = value.rsplit("/", 1)[0] + "/<port>"
        elif lower == "output":
            value = re.sub(r"^(System uptime|Last reload): \d+ seconds$", r"\1: N seconds", value)
        result.append((name, value))
    return result


def _replay(name: str, server: ami.FakeAMIServerFactory, clock: task.Clock
            ) -> Tuple[Dict[int, bytes], Dict[int, bytes], Dict[int, StringTransport]]:
    """Feed the client side of capture *name* to *server*, on its timeline.

    Returns the captured server bytes, the fake's bytes and the fake's
    transports, per connection.
    """
    captured: Dict[int, bytes] = {}
    pending: Dict[int, bytes] = {}
    sessions: Dict[int, ami.FakeAMIServerProtocol] = {}
    transports: Dict[int, StringTransport] = {}
    for when, direction, connection, data in _rows(name):
        if direction == "<<":
            captured[connection] = captured.get(connection, b"") + data
            if connection not in sessions:
                session = server.buildProtocol(None)
                assert isinstance(session, ami.FakeAMIServerProtocol)
                transport = StringTransport(
                    hostAddress=IPv4Address("TCP", "127.0.0.1", 5038),
                    peerAddress=IPv4Address("TCP", "127.0.0.1", 38000 + connection))
                session.makeConnection(transport)
                sessions[connection], transports[connection] = session, transport
            continue
        pending[connection] = pending.get(connection, b"") + data
        if data == b"\r\n":
            clock.advance(max(0.0, START + when - clock.seconds()))
            sessions[connection].dataReceived(pending.pop(connection))
    clock.advance(5)
    return captured, {c: t.value() for c, t in transports.items()}, transports


def _fidelityServer(clock: task.Clock, name: str) -> ami.FakeAMIServerFactory:
    """The fake set up as the captured Asterisk was, challenges included."""
    server = ami.FakeAMIServerFactory(
        clock=clock, astdb={("pbx", "UUID"): "f508b91a-3494-47ea-9e83-017b379a33ed"},
        failingChannels=["Local/1@nosuchcontext"])
    challenges = [int(value) for value in re.findall(
        r"<<(?:\[\d\])? b'Challenge: (\d+)\\r\\n'", (FIXTURES / (name + ".txt")).read_text())]
    server.random = _FixedRandom(challenges)
    return server


@pytest.mark.parametrize("name", ["ami-basic", "ami-md5", "ami-badlogin", "ami-limited",
                                  "ami-multilogin"])
def test_fidelity(name: str) -> None:
    """The fake sends what Asterisk sent, header by header."""
    clock = task.Clock()
    clock.advance(START)
    server = _fidelityServer(clock, name)
    captured, produced, _ = _replay(name, server, clock)
    assert sorted(produced) == sorted(captured)
    for connection in captured:
        wantBanner, want = _split(captured[connection])
        gotBanner, got = _split(produced[connection])
        assert gotBanner == wantBanner == b"Asterisk Call Manager/11.0.0\r\n"
        want = [m for m in want if not (m[0][0] == "Event" and m[0][1] in _CHANNEL_EVENTS)]
        assert [_normalise(m) for m in got] == [_normalise(m) for m in want]
    assert server.errors == []
    assert clock.getDelayedCalls() == []


def test_fidelityClosesLikeAsterisk() -> None:
    """After Logoff and after failed logins the fake closes the connection."""
    for name, closed in (("ami-basic", {1: True}), ("ami-badlogin", {1: True, 2: True}),
                         ("ami-md5", {1: False, 2: True, 3: False})):
        clock = task.Clock()
        clock.advance(START)
        server = _fidelityServer(clock, name)
        _, _, transports = _replay(name, server, clock)
        assert {c: t.disconnecting for c, t in transports.items()} == closed, name


def _session(server: ami.FakeAMIServerFactory) -> Tuple[ami.FakeAMIServerProtocol, StringTransport]:
    session = server.buildProtocol(None)
    assert isinstance(session, ami.FakeAMIServerProtocol)
    transport = StringTransport()
    session.makeConnection(transport)
    transport.clear()
    return session, transport


def test_badLoginAnswersAfterOneSecond() -> None:
    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)
    session, transport = _session(server)
    session.dataReceived(b"Action: Login\r\nActionID: x\r\nUsername: starpy\r\nSecret: no\r\n\r\n"
                         b"Action: Ping\r\nActionID: p\r\n\r\n")
    clock.advance(0.999)
    assert transport.value() == b""
    clock.advance(0.001)
    assert transport.value() == b"Response: Error\r\nActionID: x\r\nMessage: Authentication failed\r\n\r\n"
    assert transport.disconnecting
    assert clock.getDelayedCalls() == []


def test_secretsMaskedInRecord() -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock())
    session, _ = _session(server)
    session.dataReceived(b"Action: Login\r\nUsername: starpy\r\nSecret: starpy-secret\r\n\r\n"
                         b"Action: Login\r\nUsername: starpy\r\nAuthType: MD5\r\nKey: 0123abcd\r\n\r\n")
    assert [m["action"] for m in session.received] == ["Login", "Login"]
    assert server.received == session.received
    shown = repr(session.received) + repr(server.users)
    assert "starpy-secret" not in shown and "0123abcd" not in shown
    assert session.received[0]["secret"] == "starpy-secret"


def test_eventsActionAndLoginEventsOff() -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock())
    session, transport = _session(server)
    session.dataReceived(b"Action: Login\r\nUsername: starpy\r\nSecret: starpy-secret\r\n"
                         b"Events: off\r\n\r\n")
    assert b"FullyBooted" not in transport.value()
    transport.clear()
    assert server.emitEvent("Custom", privilege="call,all", A="1") == 0
    session.dataReceived(b"Action: Events\r\nActionID: e\r\nEventMask: on\r\n\r\n")
    assert transport.value() == b"Response: Success\r\nActionID: e\r\nEvents: On\r\n\r\n"
    transport.clear()
    assert server.emitEvent("Custom", privilege="call,all", A="1") == 1
    assert transport.value() == b"Event: Custom\r\nPrivilege: call,all\r\nA: 1\r\n\r\n"
    transport.clear()
    session.dataReceived(b"Action: Events\r\nEventMask: off\r\n\r\n")
    assert transport.value() == b"Response: Success\r\nEvents: Off\r\n\r\n"


def test_eventClassesOfUsers() -> None:
    """The limited user (read=call) gets call events, not system ones."""
    server = ami.FakeAMIServerFactory(clock=task.Clock())
    session, transport = _session(server)
    session.dataReceived(b"Action: Login\r\nUsername: limited\r\nSecret: limited-secret\r\n\r\n")
    transport.clear()
    assert server.emitEvent("Reload", privilege="system,all") == 0
    assert server.emitEvent([("Event", "Newstate"), ("Privilege", "call,all")]) == 1
    assert transport.value().startswith(b"Event: Newstate\r\n")


def test_oversizeActionClosesConnection(loggedErrors: LoggedErrors) -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock(), maxMessageSize=64)
    session, transport = _session(server)
    session.dataReceived(b"Action: Ping\r\nX: " + b"y" * 100)
    assert transport.disconnecting
    assert session.received == []
    [logged] = loggedErrors.flush(match="exceeds the bound of 64 bytes; closing it")
    assert logged.origin == "starpy.testing.ami"


def test_commandTableAndUnknownCLI() -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock(), cli={"pjsip show endpoints": ["a", "", "b"]})
    session, transport = _session(server)
    session.dataReceived(b"Action: Login\r\nUsername: starpy\r\nSecret: starpy-secret\r\nEvents: off\r\n\r\n")
    transport.clear()
    session.dataReceived(b"Action: Command\r\nCommand: pjsip show endpoints\r\n\r\n")
    assert transport.value() == (b"Response: Success\r\nMessage: Command output follows\r\n"
                                 b"Output: a\r\nOutput: \r\nOutput: b\r\n\r\n")


# -- the real client against the fake, in memory ------------------------------


def _setup(user: str = "starpy", secret: str = "starpy-secret", **kwargs: Any
           ) -> Tuple[task.Clock, ami.FakeAMIServerFactory, manager.AMIFactory]:
    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)
    client = manager.AMIFactory(user, secret, reactor=clock, **kwargs)
    return clock, server, client


def _result(d: "defer.Deferred[Any]") -> Any:
    results: List[Any] = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def _fired(d: "defer.Deferred[Any]") -> bool:
    results: List[Any] = []

    def note(result: Any) -> Any:
        results.append(result)
        return result

    d.addBoth(note)
    return bool(results)


def _failure(d: "defer.Deferred[Any]") -> Failure:
    results: List[Any] = []
    d.addBoth(results.append)
    assert results and isinstance(results[0], Failure), results
    return results[0]


def test_clientLoginPlain() -> None:
    clock, server, client = _setup()
    protocol, connection = ami.loginInMemory(server, client)
    assert protocol.loggedIn and protocol.amiVersion == "11.0.0"
    assert [s.user.username for s in server.sessions if s.user] == ["starpy"]
    assert [m["action"] for m in server.received] == ["Login"]
    d = protocol.ping()
    connection.flush()
    assert _result(d)["ping"] == "Pong"


def test_clientLoginMD5() -> None:
    clock, server, client = _setup(md5=True)
    protocol, connection = ami.loginInMemory(server, client)
    assert protocol.loggedIn
    challenge, login = server.received
    assert challenge["action"] == "Challenge" and login["action"] == "Login"
    assert "secret" not in login and login["authtype"].lower() == "md5"
    expected = hashlib.md5((server.sessions[0]._challenge or "").encode() + b"starpy-secret")
    assert login["key"] == expected.hexdigest()


def test_clientWrongSecret() -> None:
    clock, server, client = _setup(secret="wrong", md5=True)
    connection = ami.connectInMemory(server, client)
    protocol = connection.client
    assert isinstance(protocol, manager.AMIProtocol)
    d = client.loginProtocol(protocol)
    connection.flush()
    assert not _fired(d)
    clock.advance(0.999)
    connection.flush()
    assert not _fired(d)
    clock.advance(0.001)
    connection.flush()
    failure = _failure(d)
    assert failure.check(error.AMIAuthenticationError)
    assert connection.closed and server.sessions == []
    with pytest.raises(error.AMIAuthenticationError):
        _loginUnknownUser(server, clock)


def _loginUnknownUser(server: ami.FakeAMIServerFactory, clock: task.Clock) -> None:
    client = manager.AMIFactory("nosuchuser", "x", reactor=clock)
    connection = ami.connectInMemory(server, client)
    assert isinstance(connection.client, manager.AMIProtocol)
    d = client.loginProtocol(connection.client)
    connection.flush()
    clock.advance(1)
    connection.flush()
    _result(d)


def test_clientListActions() -> None:
    clock, server, client = _setup()
    server.addChannel("PJSIP/100-00000001", callerIDNum="100", application="Dial", data="PJSIP/200")
    clock.advance(65)
    server.addChannel("PJSIP/200-00000002", uniqueid="u-2", state=5)
    protocol, connection = ami.loginInMemory(server, client)
    channels = protocol.coreShowChannels()
    status = protocol.status()
    put = protocol.dbPut("fam", "key", "value 1")
    got = protocol.dbGet("fam", "key")
    missing = protocol.dbGet("fam", "nokey")
    connection.flush()
    channelList = _result(channels)
    items = channelList.events
    assert [i["channel"] for i in items] == ["PJSIP/100-00000001", "PJSIP/200-00000002"]
    assert items[0]["duration"] == "00:01:05" and items[0]["calleridnum"] == "100"
    assert channelList.complete["event"] == "CoreShowChannelsComplete"
    statusList = _result(status)
    assert statusList[0]["message"] == "Channel status will follow"
    statusItems = statusList.events
    assert [i["uniqueid"] for i in statusItems][1] == "u-2"
    assert statusItems[1]["channelstatedesc"] == "Ringing"
    assert statusItems[0]["privilege"] == "Call"
    assert statusList.complete["items"] == "2" and statusList.complete["listitems"] == "2"
    assert _result(put)["message"] == "Updated database successfully"
    assert _result(got) == "value 1"
    assert _result(missing) is None  # upstream's answer for a missing key


def test_clientEvents() -> None:
    clock, server, client = _setup()
    protocol, connection = ami.loginInMemory(server, client)
    quiet, quietConnection = ami.loginInMemory(
        server, manager.AMIFactory("starpy", "starpy-secret", reactor=clock, events=False))
    seen: List[Message] = []
    quietSeen: List[Message] = []
    protocol.registerEvent("Hangup", lambda ami_, event: seen.append(event))
    quiet.registerEvent(None, lambda ami_, event: quietSeen.append(event))
    reached = server.emitEvent("Hangup", privilege="call,all", Channel="PJSIP/1-01", Cause=16)
    server.emitEvent("Newstate", Channel="PJSIP/1-01")
    connection.flush()
    quietConnection.flush()
    assert reached == 1
    assert [(e["channel"], e["cause"]) for e in seen] == [("PJSIP/1-01", "16")]
    assert quietSeen == []


def test_clientScriptedReplies() -> None:
    clock, server, client = _setup()
    server.script("QueueStatus", ami.ListReply(
        [{"Event": "QueueParams", "Queue": "support"}, {"Event": "QueueMember", "Name": "Bob"}],
        "QueueStatusComplete"))
    server.script("MailboxCount", [("Mailbox", "100@default"), ("NewMessages", 3)])
    server.script("Agents", ami.ActionError("No agents here"))

    def slow(session: ami.FakeAMIServerProtocol, action: Message) -> "defer.Deferred[Any]":
        return task.deferLater(clock, 2.0, lambda: [("Message", "done " + action["x"])])

    server.script("Slow", slow)
    protocol, connection = ami.loginInMemory(server, client)
    queues = protocol.queueStatus()
    count = protocol.mailboxCount("100@default")
    agents = protocol.agents()
    slowReply = protocol.sendAction("Slow", {"X": "1"})
    connection.flush()
    items = _result(queues)
    assert [i.get("event") for i in items] == [None, "QueueParams", "QueueMember",
                                               "QueueStatusComplete"]
    assert items[2]["name"] == "Bob" and items.complete["listitems"] == "2"
    assert _result(count)["newmessages"] == "3"
    assert failedWith(agents, error.AMICommandFailure).message == "No agents here"
    assert not _fired(slowReply)
    clock.advance(2)
    connection.flush()
    assert _result(slowReply)["message"] == "done 1"
    assert server.errors == []


def test_scriptErrorsAreLoggedAndRecorded(loggedErrors: LoggedErrors) -> None:
    clock, server, client = _setup()

    def broken(session: ami.FakeAMIServerProtocol, action: Message) -> None:
        raise KeyError("oops")

    server.script("Broken", broken)
    protocol, connection = ami.loginInMemory(server, client)
    protocol.sendAction("Broken", timeout=None)
    connection.flush()
    assert len(server.errors) == 1 and server.errors[0].check(KeyError)
    [logged] = loggedErrors.flush(KeyError)
    assert logged.origin == "starpy.testing.ami"
    assert "script for 'Broken' failed" in logged.message
    assert "Traceback" in logged.text and "oops" in logged.text


@pytest.mark.parametrize("eventsFirst", [False, True])
def test_clientAsyncOriginate(eventsFirst: bool) -> None:
    clock, server, client = _setup()
    server.originateEventsFirst = eventsFirst
    server.failingChannels.append("PJSIP/bad*")
    protocol, connection = ami.loginInMemory(server, client)
    good = protocol.originate("PJSIP/100", context="default", exten="200", priority=1,
                              callerid='"Alice" <100>', asynchronous=True, channelId="uid-1")
    bad = protocol.originate("PJSIP/bad", application="Wait", data="1", asynchronous=True)
    connection.flush()
    event = _result(good)
    assert event["event"] == "OriginateResponse" and event["response"] == "Success"
    assert (event["uniqueid"], event["reason"], event["calleridnum"], event["calleridname"]) == \
        ("uid-1", "4", "100", "Alice")
    assert event["channel"] in server.channels
    refused = failedWith(bad, error.AMIOriginateFailure)
    assert refused.reason == 0
    assert refused.response is not None and refused.response["uniqueid"] == "<unknown>"
    raw = connection.clientTransport.value()  # everything was delivered
    assert not raw


def test_eventsFirstReallyPrecedesResponse() -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock())
    server.originateEventsFirst = True
    session, transport = _session(server)
    session.dataReceived(b"Action: Login\r\nUsername: starpy\r\nSecret: starpy-secret\r\n\r\n")
    transport.clear()
    session.dataReceived(b"Action: Originate\r\nActionID: o\r\nChannel: Local/1@echo\r\n"
                         b"Application: Wait\r\nAsync: true\r\n\r\n")
    data = transport.value()
    assert data.index(b"Event: OriginateResponse") < data.index(b"Response: Success")


def test_disconnectFailsPendingActions() -> None:
    clock, server, client = _setup()
    server.script("Never", lambda session, action: None)
    protocol, connection = ami.loginInMemory(server, client)
    d = protocol.sendAction("Never")
    connection.flush()
    assert not _fired(d)
    server.disconnect()
    connection.flush()
    assert failedWith(d, error.AMIConnectionLost).action == "Never"
    assert server.sessions == []


def test_dropAllAborts() -> None:
    clock, server, client = _setup()
    protocol, connection = ami.loginInMemory(server, client)
    d = protocol.sendAction("Never")
    server.dropAll()
    connection.flush()
    assert _failure(d).check(error.AMIConnectionLost)
    assert connection.serverTransport.aborted


def test_aScriptCanAddToTheDefaultAnswer() -> None:
    clock, server, client = _setup()
    seen: List[str] = []

    def counted(session: ami.FakeAMIServerProtocol, action: Message) -> Any:
        seen.append(action["action"])
        return session.defaultAnswer(action)

    server.script("Ping", counted)
    protocol, connection = ami.loginInMemory(server, client)
    d = protocol.ping()
    connection.flush()
    assert _result(d)["ping"] == "Pong" and seen == ["Ping"]
    session = server.sessions[0]
    with pytest.raises(KeyError, match="no built-in answer to 'myaction'"):
        session.defaultAnswer(Message([("Action", "MyAction")]))


def test_limitedUserThroughClient() -> None:
    clock, server, client = _setup("limited", "limited-secret")
    protocol, connection = ami.loginInMemory(server, client)
    command = protocol.command("core show version")
    originate = protocol.originate("Local/1@echo", application="Wait", data="1")
    ping = protocol.ping()
    commands = protocol.listCommands()
    connection.flush()
    assert failedWith(command, error.AMICommandFailure).message == "Permission denied"
    assert failedWith(originate, error.AMICommandFailure).message == "Permission denied"
    assert _result(ping)["ping"] == "Pong"
    listed = _result(commands)
    assert "getvar" in listed and "originate" not in listed and "command" not in listed


# -- over loopback TCP ----------------------------------------------------------


@pytest_twisted.inlineCallbacks
def test_tcpEndToEndAndRestart() -> Any:
    from twisted.internet import reactor

    server = ami.FakeAMIServerFactory(clock=reactor)
    port = server.listen(0, reactor=reactor)
    number = portNumber(port)
    reconnects: List["defer.Deferred[manager.AMIProtocol]"] = []
    client = manager.AMIFactory("starpy", "starpy-secret", reactor=reactor, md5=True,
                                on_reconnect=reconnects.append)
    client.initialDelay = 0.05
    try:
        protocol = yield client.login("127.0.0.1", number)
        seen: List[Message] = []
        gotEvent: "defer.Deferred[None]" = defer.Deferred()

        def onUserEvent(ami_: manager.AMIProtocol, event: Message) -> None:
            seen.append(event)
            gotEvent.callback(None)

        protocol.registerEvent("UserEvent", onUserEvent)
        actionID = protocol.userEvent("StarpyTest", Header1="value 1")
        assert isinstance(actionID, str) and actionID
        yield gotEvent
        assert seen[0]["header1"] == "value 1"
        closed = protocol.whenClosed()
        yield server.restart()
        yield closed
        assert server.port is not None
        assert portNumber(server.port) == number
        assert len(reconnects) == 1  # the factory reconnects by itself, as upstream's
        again = yield reconnects[0]
        assert again is not protocol and again.loggedIn
        pong = yield again.ping()
        assert pong["ping"] == "Pong"
        yield again.logoff()
    finally:
        yield server.stopListening()


def _capturedMessages(name: str) -> List[bytes]:
    """Every message Asterisk sent in capture *name*, as bytes."""
    stream = b"".join(data for _, direction, _, data in _rows(name) if direction == "<<")
    return [block + b"\r\n\r\n" for block in stream.partition(b"\r\n")[2].split(b"\r\n\r\n")[:-1]]


def test_listItemsAsCaptured() -> None:
    """Status and CoreShowChannel items of a channel, byte for byte as in events-call."""
    clock = task.Clock()
    server = ami.FakeAMIServerFactory(clock=clock)
    server.addChannel("Local/1@dialer-00000007;1", uniqueid="test-uid-1", context="dialer",
                      exten="1", application="Wait", data="12")
    clock.advance(1.5)
    session, transport = _session(server)
    session.dataReceived(b"Action: Login\r\nUsername: starpy\r\nSecret: starpy-secret\r\nEvents: off\r\n\r\n")
    captured = _capturedMessages("events-call")
    for request, event in ((b"Action: Status\r\nActionID: ev-status\r\n\r\n", b"Event: Status\r\n"),
                           (b"Action: CoreShowChannels\r\nActionID: ev-csc\r\n\r\n",
                            b"Event: CoreShowChannel\r\n")):
        transport.clear()
        session.dataReceived(request)
        produced = _split(b"banner\r\n" + transport.value())[1]
        item = next(m for m in produced if m[0] == ("Event", event[7:-2].decode()))
        want = next(m for m in captured if m.startswith(event)
                    and b"Channel: Local/1@dialer-00000007;1\r\n" in m)
        assert formatMessage(item) == want
