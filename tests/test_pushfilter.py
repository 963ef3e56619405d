"""The event filter StarPy computes from the registrations and pushes to
Asterisk (starpy.eventfilter, AMIProtocol.pushEventFilter,
AMIService(pushFilter=True)); events() with event classes; the dispatcher's
registered names."""
from __future__ import annotations

import logging
from typing import Any, List

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from starpy import asyncagi, manager
from starpy.amiactions import eventClassList
from starpy.dispatch import EventDispatcher
from starpy.eventfilter import caselessRegex, nameExpressions
from starpy.manager import AMIProtocol
from starpy.testing.ami import FakeAMIServerFactory, MemoryEndpoint
from tests.deferreds import result, unfired
from tests.wire import connect

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
FULLY_BOOTED = b"[Ff][Uu][Ll][Ll][Yy][Bb][Oo][Oo][Tt][Ee][Dd]"
HANGUP = b"[Hh][Aa][Nn][Gg][Uu][Pp]"
NEWCHANNEL = b"[Nn][Ee][Ww][Cc][Hh][Aa][Nn][Nn][Ee][Ll]"


def connected() -> tuple[AMIProtocol, StringTransport]:
    ami = AMIProtocol(clock=task.Clock())
    ami._prefix = "p"
    transport = StringTransport()
    connect(ami, transport)
    ami.dataReceived(BANNER)
    return ami, transport


def taken(transport: StringTransport) -> bytes:
    data: bytes = transport.value()
    transport.clear()
    return data


def nameFilter(actionID: bytes, expression: bytes) -> bytes:
    return (b"Action: Filter\r\nActionID: " + actionID + b"\r\nMatchCriteria: header(Event),"
            b"method(regex)\r\nFilter: " + expression + b"\r\nOperation: Add\r\n\r\n")


def answer(ami: AMIProtocol, *actionIDs: bytes, message: bytes = b"Success",
           response: bytes = b"Success") -> None:
    for actionID in actionIDs:
        ami.dataReceived(b"Response: " + response + b"\r\nActionID: " + actionID
                         + b"\r\nMessage: " + message + b"\r\n\r\n")


def ignore(ami: Any, event: Any) -> None:
    pass


# -- events() and its classes ------------------------------------------------


@pytest.mark.parametrize("mask, wire", [
    (True, b"on"), (False, b"off"), ("on", b"on"), ("off", b"off"),
    (["call", "agent"], b"call,agent"),
    (("Call", " DIALPLAN "), b"call,dialplan"),
    ("call,agent", b"call,agent"),
    ("Call, Agent", b"call,agent"),
    ({"system"}, b"system"),
    (["call", "call", "all"], b"call,all"),
])
def test_eventsWireBytes(mask: Any, wire: bytes) -> None:
    ami, transport = connected()
    d = ami.events(mask)
    assert taken(transport) == (b"Action: Events\r\nActionID: p-1\r\nEventMask: " + wire
                                + b"\r\n\r\n")
    ami.dataReceived(b"Response: Success\r\nActionID: p-1\r\nEvents: On\r\n\r\n")
    assert result(d)["events"] == "On"


@pytest.mark.parametrize("mask, kind, message", [
    (["call", "calls"], ValueError, "unknown event class 'calls'"),
    ("call,,agent", ValueError, "unknown event class ''"),
    ([], ValueError, "no event class"),
    ([b"call"], TypeError, "strings"),
])
def test_eventsRefusesBeforeSending(mask: Any, kind: type, message: str) -> None:
    ami, transport = connected()
    with pytest.raises(kind, match=message):
        ami.events(mask)
    assert transport.value() == b""
    assert ami.pendingCount == 0


def test_eventsClassesHonouredByTheFake() -> None:
    from starpy.testing import ami as fake

    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    client = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    protocol, connection = fake.loginInMemory(server, client)
    seen: List[str] = []
    protocol.registerEvent(None, lambda ami, event: seen.append(event["event"]))
    d = protocol.events(["Dialplan", "agent"])
    connection.flush()
    assert result(d)["events"] == "On"
    server.emitEvent("Newchannel", privilege="call,all")
    server.emitEvent("VarSet", privilege="dialplan,all")
    server.emitEvent("AgentCalled", privilege="agent,all")
    connection.flush()
    assert seen == ["VarSet", "AgentCalled"]


@pytest.mark.parametrize("events, header", [
    (["call", "Agent"], b"Events: call,agent\r\n"),
    ("Call", b"Events: call\r\n"),
    (False, b"Events: off\r\n"),
    (True, b""),
])
def test_loginEventsClasses(events: Any, header: bytes) -> None:
    ami, transport = connected()
    ami.login("u", "s", events=events)
    assert taken(transport) == (b"Action: Login\r\nActionID: p-1\r\nUsername: u\r\n"
                                b"Secret: s\r\n" + header + b"\r\n")


def test_loginEventsRefusedBeforeAnything() -> None:
    ami, transport = connected()
    with pytest.raises(ValueError, match="unknown event class 'calls'"):
        ami.login("u", "s", events=["calls"])
    assert transport.value() == b""
    with pytest.raises(ValueError, match="unknown event class"):
        manager.AMIFactory("u", "s", events="call,agnet")


def test_eventClassList() -> None:
    assert eventClassList("YES") == "yes"
    assert eventClassList("6") == "6"
    assert eventClassList(iter(["cdr", "security"])) == "cdr,security"


# -- the dispatcher's names --------------------------------------------------


def test_registeredNamesAndChanges() -> None:
    dispatcher = EventDispatcher()
    changes: List[Any] = []
    remove = dispatcher.onChange(changes.append)
    assert dispatcher.registeredNames() == frozenset()
    hangup = dispatcher.register("Hangup", ignore)
    dispatcher.register(["Newchannel", "newchannel"], ignore)
    assert dispatcher.registeredNames() == frozenset({"Hangup", "Newchannel", "newchannel"})
    glob = dispatcher.register("Queue*", ignore)
    assert dispatcher.registeredNames() is None
    glob.cancel()
    every = dispatcher.register(None, ignore)
    assert dispatcher.registeredNames() is None
    every.cancel()
    hangup.cancel()
    assert dispatcher.registeredNames() == frozenset({"Newchannel", "newchannel"})
    assert len(changes) == 8 and all(c is dispatcher for c in changes)
    remove.cancel()
    dispatcher.register("Hangup", ignore)
    assert len(changes) == 8


# -- the expressions -----------------------------------------------------------


def test_caselessRegex() -> None:
    assert caselessRegex("AOC-D") == "[Aa][Oo][Cc]-[Dd]"
    assert caselessRegex("A.b(1)") == "[Aa]\\.[Bb]\\(1\\)"


def test_nameExpressionsFitALine() -> None:
    names = ["Event%03d" % n for n in range(100)]
    expressions = nameExpressions(names)
    assert len(expressions) > 1
    assert all(len("Filter: %s\r\n" % e) <= 1022 for e in expressions)
    import re

    for name in names + [n.upper() for n in names]:
        assert sum(1 for e in expressions if re.search(e, name)) == 1
    assert not any(re.search(e, "Event0001") for e in expressions)
    with pytest.raises(ValueError, match="too long"):
        nameExpressions(["X" * 300])


# -- the push, byte for byte -------------------------------------------------


def test_pushSendsTheRegisteredNamesAndWhatStarpyNeeds() -> None:
    ami, transport = connected()
    ami.registerEvent(["Hangup", "newchannel"], ignore)
    d = ami.pushEventFilter()
    assert taken(transport) == (
        b"Action: Filter\r\nActionID: p-1\r\nMatchCriteria: header(ActionID),"
        b"method(starts_with)\r\nFilter: p-\r\nOperation: Add\r\n\r\n"
        + nameFilter(b"p-2", b"^(" + FULLY_BOOTED + b"|" + HANGUP + b"|" + NEWCHANNEL + b")$"))
    unfired(d)
    answer(ami, b"p-1", b"p-2")
    assert result(d) is True
    assert ami.eventFilter is not None and ami.eventFilter.filtering
    assert result(ami.pushEventFilter()) is True and transport.value() == b""

    # a registration made later pushes its new name; a name already there nothing
    ami.registerEvent("DialBegin", ignore)
    assert taken(transport) == nameFilter(b"p-3", b"^([Dd][Ii][Aa][Ll][Bb][Ee][Gg][Ii][Nn])$")
    ami.registerEvent("HANGUP", ignore).cancel()
    assert transport.value() == b""
    answer(ami, b"p-3")

    # a catch-all: everything from now on, and nothing more is pushed
    ami.registerEvent(None, ignore)
    assert taken(transport) == (b"Action: Filter\r\nActionID: p-4\r\nMatchCriteria: "
                                b"header(Event),method(none)\r\nOperation: Add\r\n\r\n")
    answer(ami, b"p-4")
    assert not ami.eventFilter.filtering
    ami.registerEvent("Newexten", ignore)
    assert transport.value() == b""


def test_nothingPushedWhileEverythingIsWanted() -> None:
    ami, transport = connected()
    glob = ami.registerEvent("Queue*", ignore)
    assert result(ami.pushEventFilter()) is False
    assert transport.value() == b""
    # once only names are left, the filter is pushed
    ami.registerEvent("QueueCallerJoin", ignore)
    assert transport.value() == b""
    glob.cancel()
    assert b"Filter: ^(" + FULLY_BOOTED + b"|[Qq][Uu][Ee][Uu][Ee]" in transport.value()


def test_withoutTheSystemClassItIsSaidOnceAndUnfiltered(
        caplog: pytest.LogCaptureFixture) -> None:
    ami, transport = connected()
    ami.registerEvent("Hangup", ignore)
    caplog.set_level(logging.INFO, "starpy")
    d = ami.pushEventFilter()
    taken(transport)
    answer(ami, b"p-1", b"p-2", message=b"Permission denied", response=b"Error")
    assert result(d) is False
    assert ami.eventFilter is not None and ami.eventFilter.refused
    warnings = [r for r in caplog.records if "Permission denied" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "system" in warnings[0].getMessage()
    ami.registerEvent("Newchannel", ignore)
    assert transport.value() == b""


def test_anotherRefusalLetsEverythingThrough(caplog: pytest.LogCaptureFixture) -> None:
    ami, transport = connected()
    ami.registerEvent("Hangup", ignore)
    d = ami.pushEventFilter()
    taken(transport)
    answer(ami, b"p-1")
    answer(ami, b"p-2", message=b"Filter did not compile.", response=b"Error")
    assert taken(transport) == (b"Action: Filter\r\nActionID: p-3\r\nMatchCriteria: "
                                b"header(Event),method(none)\r\nOperation: Add\r\n\r\n")
    answer(ami, b"p-3")
    assert result(d) is False


def test_aNameNoLineCanCarryLetsEverythingThrough() -> None:
    ami, transport = connected()
    ami.registerEvent("Hangup", ignore)
    d = ami.pushEventFilter()
    taken(transport)
    answer(ami, b"p-1", b"p-2")
    assert result(d) is True
    ami.registerEvent("Bad\r\nAction: Logoff", ignore)
    # (nothing of the refused action written; its ActionID was drawn)
    assert taken(transport) == (b"Action: Filter\r\nActionID: p-4\r\nMatchCriteria: "
                                b"header(Event),method(none)\r\nOperation: Add\r\n\r\n")
    assert ami.eventFilter is not None and not ami.eventFilter.filtering


def test_aLostConnectionStopsFollowing() -> None:
    ami, transport = connected()
    ami.registerEvent("Hangup", ignore)
    d = ami.pushEventFilter()
    ami.connectionLost()
    assert result(d) is False
    assert len(ami.dispatcher._changeObservers) == 0


# -- against the fake Asterisk -------------------------------------------------


def serviceSetUp(username: str = "starpy", secret: str = "starpy-secret", **args: Any
                 ) -> tuple[task.Clock, FakeAMIServerFactory, MemoryEndpoint, manager.AMIService]:
    clock = task.Clock()
    server = FakeAMIServerFactory(clock=clock)
    server.addUser("nosystem", "s", read="all", write="call,originate")
    endpoint = MemoryEndpoint(server)
    factory = manager.AMIFactory(username, secret, reactor=clock)
    service = manager.AMIService(factory, endpoint, clock=clock,
                                 retryPolicy=lambda attempt: 1.0, **args)
    return clock, server, endpoint, service


def firehose(server: FakeAMIServerFactory) -> None:
    for name in ("Newchannel", "VarSet", "Newexten", "Hangup", "DialBegin", "Cdr", "FullyBooted"):
        server.emitEvent(name, privilege="call,all", Channel="PJSIP/1-0001")


def test_servicePushesAfterEachLoginAndTheFakeFilters() -> None:
    clock, server, endpoint, service = serviceSetUp(pushFilter=True, waitBooted=True)
    seen: List[str] = []
    service.registerEvent(["Hangup", "DialBegin"], lambda ami, e: seen.append(e["event"]))
    service.startService()
    endpoint.pump()
    ami = result(service.whenLoggedIn())
    [session] = server.sessions
    assert len(session.filters) == 2
    received = len(session.received)
    firehose(server)
    endpoint.pump()
    assert seen == ["Hangup", "DialBegin"]
    assert len(session.received) == received

    # an asynchronous originate still gets its OriginateResponse (it carries our ActionID)
    d = ami.originate("PJSIP/200", context="default", exten="100", priority=1,
                      asynchronous=True)
    endpoint.pump()
    assert result(d)["event"] == "OriginateResponse"
    # (its Newchannel and Newstate were not wanted)
    assert seen == ["Hangup", "DialBegin"]

    # a reconnection pushes the registrations of that moment
    service.registerEvent("VarSet", ignore)
    endpoint.pump()
    server.dropAll()
    endpoint.pump()
    clock.advance(1.0)
    endpoint.pump()
    [session] = server.sessions
    filters = [m for m in session.received if m.get("action") == "Filter"]
    assert "[Vv][Aa][Rr][Ss][Ee][Tt]" in filters[1]["filter"]
    stopped = service.stopService()
    endpoint.pump()
    result(stopped)


def test_eventsReceivedWithAndWithoutTheFilter() -> None:
    counts = []
    for push in (False, True):
        clock, server, endpoint, service = serviceSetUp(pushFilter=push)
        service.registerEvent("Hangup", ignore)
        got: List[str] = []
        service.startService()
        endpoint.pump()
        ami = result(service.whenLoggedIn())
        original = ami.messageReceived

        def counting(message: Any, original: Any = original, got: List[str] = got) -> None:
            if "event" in message:
                got.append(message["event"])
            original(message)

        ami.messageReceived = counting
        firehose(server)
        endpoint.pump()
        counts.append(got)
        stopped = service.stopService()
        endpoint.pump()
        result(stopped)
    assert counts[0] == ["Newchannel", "VarSet", "Newexten", "Hangup", "DialBegin", "Cdr",
                         "FullyBooted"]
    assert counts[1] == ["Hangup", "FullyBooted"]


def test_serviceWithoutTheSystemClassWarnsOnce(caplog: pytest.LogCaptureFixture) -> None:
    clock, server, endpoint, service = serviceSetUp("nosystem", "s", pushFilter=True)
    caplog.set_level(logging.DEBUG, "starpy")
    seen: List[str] = []
    service.registerEvent("Hangup", lambda ami, e: seen.append(e["event"]))
    service.startService()
    endpoint.pump()
    for _round in range(2):
        firehose(server)
        endpoint.pump()
        server.dropAll()
        endpoint.pump()
        clock.advance(1.0)
        endpoint.pump()
    assert seen == ["Hangup", "Hangup"]
    refusals = [r for r in caplog.records if "refused the event filter" in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    stopped = service.stopService()
    endpoint.pump()
    result(stopped)


def test_asyncagiDispatcherNamesAreKept() -> None:
    clock, server, endpoint, service = serviceSetUp(pushFilter=True)
    service.startService()
    endpoint.pump()
    ami = result(service.whenLoggedIn())
    dispatcher = asyncagi.AsyncAGIDispatcher(ami, lambda agi: None)
    dispatcher.startService()
    endpoint.pump()
    [session] = server.sessions
    expressions = " ".join(m["filter"] for m in session.received if m.get("action") == "Filter")
    for name in ("AsyncAGIStart", "AsyncAGIExec", "AsyncAGIEnd"):
        assert caselessRegex(name) in expressions
    dispatcher.stopService()
    stopped = service.stopService()
    endpoint.pump()
    result(stopped)


def test_serviceFilterFollowsTheRegistrationsItIsGiven() -> None:
    elsewhere = EventDispatcher()
    elsewhere.register("Hangup", ignore)
    asked: List[AMIProtocol] = []

    def registrations(ami: AMIProtocol) -> EventDispatcher:
        asked.append(ami)
        return elsewhere

    clock, server, endpoint, service = serviceSetUp(pushFilter=True,
                                                    filterRegistrations=registrations)
    assert service.filterRegistrations is registrations
    service.registerEvent("Newchannel", ignore)  # the service's own: not followed here
    service.startService()
    endpoint.pump()
    ami = result(service.whenLoggedIn())
    assert asked == [ami]
    assert server.emitEvent("Hangup", privilege="call,all") == 1
    assert server.emitEvent("Newchannel", privilege="call,all") == 0
    elsewhere.register("VarSet", ignore)  # a later registration there is pushed
    endpoint.pump()
    assert server.emitEvent("VarSet", privilege="dialplan,all") == 1
    # each login asks again, with its protocol
    server.dropAll()
    endpoint.pump()
    clock.advance(1.0)
    endpoint.pump()
    assert len(asked) == 2 and asked[1] is result(service.whenLoggedIn()) is not ami
    stopped = service.stopService()
    endpoint.pump()
    result(stopped)


# -- a pool of servers -----------------------------------------------------------


def test_poolPushesThePoolRegistrationsToEveryServer() -> None:
    from tests.test_pool import Fleet

    fleet = Fleet(pushFilter=True)
    fleet.add("pbx1")
    fleet.add("pbx2")
    seen: List[tuple[str, str]] = []
    fleet.pool.registerEvent("Hangup", lambda ami, e: seen.append((ami.serverName, e["event"])))
    fleet.pool.startService()
    fleet.pump()
    assert fleet.pool.readyServers() == ["pbx1", "pbx2"]
    for server in fleet.servers.values():
        # the forwarding catch-all is not a want: only Hangup (and FullyBooted) pass
        assert server.emitEvent("Newchannel", privilege="call,all") == 0
        assert server.emitEvent("Hangup", privilege="call,all") == 1
    fleet.pump()
    assert seen == [("pbx1", "Hangup"), ("pbx2", "Hangup")]
    # a registration made later on the pool reaches every server's filter
    fleet.pool.registerEvent("Newchannel", ignore)
    fleet.pump()
    assert [s.emitEvent("Newchannel", privilege="call,all") for s in fleet.servers.values()] == [1, 1]
    # a server of its own choice
    fleet.pool.addServer("pbx3", manager.AMIFactory("starpy", "starpy-secret", reactor=fleet.clock),
                         MemoryEndpoint(FakeAMIServerFactory(clock=fleet.clock)),
                         pushFilter=False)
    assert fleet.pool.server("pbx3").pushFilter is False
    fleet.stop()


def test_poolWithoutPushByDefault() -> None:
    from tests.test_pool import Fleet

    fleet = Fleet()
    fleet.add("pbx1")
    fleet.pool.registerEvent("Hangup", ignore)
    fleet.pool.startService()
    fleet.pump()
    assert fleet.servers["pbx1"].emitEvent("Newchannel", privilege="call,all") == 1
    fleet.stop()


def test_nameExpressionsFitAnAMILineInBytes() -> None:
    """Names with multi-byte characters still give lines Asterisk reads whole."""
    from starpy.codec.ami import MAX_LINE_BYTES
    from starpy.eventfilter import nameExpressions

    names = ["Évènement%03dÜ" % (index,) for index in range(60)]
    expressions = nameExpressions(names)
    assert len(expressions) > 1
    for expression in expressions:
        assert len(("Filter: " + expression).encode("utf-8")) <= MAX_LINE_BYTES
