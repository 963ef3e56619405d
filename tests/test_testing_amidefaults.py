"""The fake AMI server's default answers to every action StarPy names.

Every named method of :class:`starpy.manager.AMIProtocol` (the catalogue of
:mod:`starpy.amiactions` and the hand-written ones) gets an answer shaped
like Asterisk 22's from a fake server with no scripts; then the answers
that depend on the fake's state, checked against the texts Asterisk sends.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest
from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from starpy import error, manager
from starpy.amiactions import CATALOGUE
from starpy.codec.ami import Message
from starpy.testing import ami
from starpy.testing.agi import FakeAGICaller, SimulatedChannel
from tests.wire import connect

CHANNEL = "PJSIP/100-00000001"
OTHER = "PJSIP/200-00000002"


def _setup() -> Tuple[task.Clock, ami.FakeAMIServerFactory, manager.AMIProtocol,
                      ami.MemoryConnection]:
    clock = task.Clock()
    clock.advance(1795488566)
    server = ami.FakeAMIServerFactory(clock=clock)
    server.addChannel(CHANNEL, callerIDNum="100")
    server.addChannel(OTHER, callerIDNum="200")
    client = manager.AMIFactory("starpy", "starpy-secret", reactor=clock)
    protocol, connection = ami.loginInMemory(server, client)
    return clock, server, protocol, connection


def _outcome(d: "defer.Deferred[Any]", connection: ami.MemoryConnection,
             clock: task.Clock) -> Any:
    results: List[Any] = []
    d.addBoth(results.append)
    connection.flush()
    if not results:  # WaitEvent: answers after its timeout
        clock.advance(10)
        connection.flush()
    assert results, "no answer"
    return results[0]


def _value(d: "defer.Deferred[Any]", connection: ami.MemoryConnection,
           clock: task.Clock) -> Any:
    result = _outcome(d, connection, clock)
    if isinstance(result, Failure):
        result.raiseException()
    return result


# A value for each parameter name of the catalogue.
_ARGUMENTS: Dict[str, Any] = {
    "channel": CHANNEL, "channel1": CHANNEL, "channel2": OTHER, "timeout": 30,
    "agent": "1001", "family": "fam", "key": "key", "value": "v", "exten": "100",
    "context": "default", "filename": "manager.conf", "mailbox": "100@default",
    "digit": "1", "queue": "testqueue", "interface": "PJSIP/300", "event": "CUSTOM",
    "penalty": 1, "priority": 1, "variable": "V", "number": "555", "filter": "Event: Hangup",
    "file": "rec.wav", "authType": "MD5", "message": "hello",
}

_HAND_WRITTEN: Dict[str, Tuple[Any, ...]] = {
    "command": ("core show version",),
    "dbGet": ("fam", "key"),
    "getVar": (CHANNEL, "V"),
    "originate": ("PJSIP/300",),
    "events": (True,),
    "listCommands": (),
    "waitEvent": (1,),
    "updateConfig": ("manager.conf", "manager2.conf"),
}


@pytest.mark.parametrize("method", [spec.method for spec in CATALOGUE] + sorted(_HAND_WRITTEN))
def test_everyNamedActionIsAnswered(method: str) -> None:
    clock, server, protocol, connection = _setup()
    if method in _HAND_WRITTEN:
        args = _HAND_WRITTEN[method]
        kwargs: Dict[str, Any] = {}
    else:
        spec = next(spec for spec in CATALOGUE if spec.method == method)
        args = ()
        kwargs = {param.name: _ARGUMENTS[param.name] for param in spec.params
                  if param.name in _ARGUMENTS}
    result = _outcome(getattr(protocol, method)(*args, **kwargs), connection, clock)
    if isinstance(result, Failure):
        failure = result.value
        assert isinstance(failure, error.AMICommandFailure), result
        assert "not scripted" not in failure.message
    assert server.errors == []


def test_everyNamedActionOfAsterisk22HasADefault() -> None:
    # Each catalogue action that Asterisk 22 lists (the DAHDI ones and
    # Queues are gone from it: Asterisk answers "Invalid/unknown command").
    from starpy.testing._amidata import ACTIONS
    from starpy.testing._amidefaults import DEFAULT_ACTIONS
    from starpy.testing.ami._builtins import BUILTIN_ACTIONS

    builtin = set(BUILTIN_ACTIONS) | {"challenge", "login", "logoff", "events"}

    listed = {name.lower() for name, _, _ in ACTIONS}
    named = {spec.action.lower() for spec in CATALOGUE} | {
        "command", "dbget", "getvar", "originate", "events", "listcommands", "waitevent",
        "updateconfig", "userevent"}
    missing = sorted(name for name in named & listed
                     if name not in builtin and name not in DEFAULT_ACTIONS)
    assert missing == []
    assert sorted(named - listed) == ["dahdidialoffhook", "dahdidndoff", "dahdidndon",
                                      "dahdihangup", "dahdirestart", "dahdishowchannels",
                                      "dahditransfer"]


def test_unknownChannelAnswersAsAsterisk() -> None:
    clock, server, protocol, connection = _setup()
    calls = {
        "redirect": (protocol.redirect("PJSIP/9-1", "default", "100", 1),
                     "Channel does not exist: PJSIP/9-1"),
        "park": (protocol.park("PJSIP/9-1"), "Channel does not exist: PJSIP/9-1"),
        "blindTransfer": (protocol.blindTransfer("PJSIP/9-1", "300"),
                          "Channel specified does not exist"),
        "atxfer": (protocol.atxfer("PJSIP/9-1", "300"), "Channel specified does not exist"),
        "mixMonitor": (protocol.mixMonitor("PJSIP/9-1"), "No such channel"),
        "stopMixMonitor": (protocol.stopMixMonitor("PJSIP/9-1"), "No such channel"),
        "sendText": (protocol.sendText("PJSIP/9-1", "hi"), "No such channel"),
        "absoluteTimeout": (protocol.absoluteTimeout("PJSIP/9-1", 5), "No such channel"),
        "playDTMF": (protocol.playDTMF("PJSIP/9-1", "1"), "Channel not found"),
        "bridge": (protocol.bridge("PJSIP/9-1", OTHER), "Channel1 does not exist: PJSIP/9-1"),
    }
    for name, (d, message) in calls.items():
        result = _outcome(d, connection, clock)
        assert isinstance(result, Failure), name
        assert isinstance(result.value, error.AMICommandFailure), name
        assert result.value.message == message, name


def test_parkRepliesWithAsterisksBareLineFeedAndListsTheCall() -> None:
    clock, server, protocol, connection = _setup()
    events: List[Message] = []
    protocol.registerEvent("ParkedCall", lambda ami_, event: events.append(event))
    sent: List[bytes] = []
    session = server.sessions[0]
    assert session.transport is not None
    write = session.transport.write

    def recording(data: bytes) -> None:
        sent.append(data)
        write(data)

    session.transport.write = recording  # type: ignore[method-assign]
    reply = _value(protocol.park(CHANNEL, OTHER, timeout=3), connection, clock)
    # As captured (calls-park): the Message ends in a bare LF before the CRLF.
    assert sent[0].endswith(b"Message: Park successful\n\r\n\r\n")
    assert reply["response"] == "Success"
    assert reply["message"].strip() == "Park successful"
    assert [(e["parkeechannel"], e["parkingspace"], e["parkingtimeout"], e["parkerdialstring"])
            for e in events] == [(CHANNEL, "701", "3", "PJSIP/200")]
    clock.advance(2)
    listed = _value(protocol.parkedCalls(), connection, clock)
    assert [(e["parkeechannel"], e["parkingduration"], e["parkingtimeout"])
            for e in listed.events] == [(CHANNEL, "2", "1")]
    assert listed.complete["total"] == "1"
    server.hangupChannel(CHANNEL)
    assert _value(protocol.parkedCalls(), connection, clock).events == []


def test_queueMembersAddPauseRemove() -> None:
    clock, server, protocol, connection = _setup()
    events: List[Message] = []
    protocol.registerEvent(None, lambda ami_, event: events.append(event))
    added = _value(protocol.queueAdd("testqueue", "PJSIP/300", penalty=2, paused=False,
                                     membername="Carol"), connection, clock)
    assert added["message"] == "Added interface to queue"
    again = _outcome(protocol.queueAdd("testqueue", "PJSIP/300"), connection, clock)
    assert again.value.message == "Unable to add interface: Already there"
    nowhere = _outcome(protocol.queueAdd("nosuch", "PJSIP/300"), connection, clock)
    assert nowhere.value.message == "Unable to add interface to queue: No such queue"
    paused = _value(protocol.queuePause("testqueue", "PJSIP/300", True, "lunch"), connection,
                    clock)
    assert paused["message"] == "Interface paused successfully"
    status = _value(protocol.queueStatus("testqueue"), connection, clock)
    params, member = status.events
    assert params["event"] == "QueueParams" and params["strategy"] == "ringall"
    assert (member["name"], member["location"], member["penalty"], member["paused"],
            member["pausedreason"], member["membership"]) == (
        "Carol", "PJSIP/300", "2", "1", "lunch", "dynamic")
    removed = _value(protocol.queueRemove("testqueue", "PJSIP/300"), connection, clock)
    assert removed["message"] == "Removed interface from queue"
    static = _outcome(protocol.queueRemove("calls-queue", "Local/401@calls-queue-agent/n"),
                      connection, clock)
    assert static.value.message == "Member not dynamic"
    assert [e["event"] for e in events if e["event"].startswith("QueueMember")] == [
        "QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved"]


def test_transfersNeedABridgeAsInAsterisk() -> None:
    clock, server, protocol, connection = _setup()
    invalid = _outcome(protocol.blindTransfer(CHANNEL, "300", "default"), connection, clock)
    assert invalid.value.message == "Transfer invalid"
    bridged = _value(protocol.bridge(CHANNEL, OTHER), connection, clock)
    assert bridged["message"] == "Channels have been bridged"
    assert server.channels[CHANNEL].bridgeId == server.channels[OTHER].bridgeId != ""
    done = _value(protocol.blindTransfer(CHANNEL, "300", "default"), connection, clock)
    assert done["message"] == "Transfer succeeded"
    queued = _value(protocol.atxfer(CHANNEL, "300", "internal"), connection, clock)
    assert queued["message"] == "Atxfer successfully queued"
    assert server.channels[CHANNEL].variables["TRANSFER_CONTEXT"] == "internal"
    server.atxferCode = ""
    noCode = _outcome(protocol.atxfer(CHANNEL, "300"), connection, clock)
    assert noCode.value.message == "No attended transfer feature code found"
    moved = _value(protocol.redirect(CHANNEL, "ivr", "s", 2), connection, clock)
    assert moved["message"] == "Redirect successful"
    channel = server.channels[CHANNEL]
    assert (channel.context, channel.exten, channel.priority, channel.bridgeId) == (
        "ivr", "s", 2, "")


def test_mixMonitorStartAndStop() -> None:
    clock, server, protocol, connection = _setup()
    noRecording = _outcome(protocol.stopMixMonitor(CHANNEL), connection, clock)
    assert noRecording.value.message == "Could not stop monitoring channel"
    started = _value(protocol.mixMonitor(CHANNEL, "call.wav", options="bi(MID)"),
                     connection, clock)
    monitorID = started["mixmonitorid"]
    assert server.channels[CHANNEL].variables["MID"] == monitorID
    plain = _value(protocol.mixMonitor(CHANNEL, "other.wav"), connection, clock)
    assert "mixmonitorid" not in plain and "message" not in plain
    assert _value(protocol.stopMixMonitor(CHANNEL, monitorID), connection, clock)[
        "response"] == "Success"
    assert len(server.channels[CHANNEL].mixMonitors) == 1


def test_filterDropsEventsOfTheSession() -> None:
    clock, server, protocol, connection = _setup()
    seen: List[str] = []
    protocol.registerEvent(None, lambda ami_, event: seen.append(event["event"]))
    assert _value(protocol.filter("Event: (Hangup|UserEvent)"), connection, clock)[
        "message"] == "Success"
    assert _value(protocol.filter("!UserEvent: Skip"), connection, clock)["message"] == "Success"
    server.emitEvent("Newstate", Channel=CHANNEL)
    server.emitEvent("Hangup", Channel=CHANNEL)
    server.emitEvent("UserEvent", UserEvent="Skip")
    server.emitEvent("UserEvent", UserEvent="Keep")
    connection.flush()
    assert seen == ["Hangup", "UserEvent"]
    bad = _outcome(protocol.filter("Event: ("), connection, clock)
    assert bad.value.message.startswith("Filter did not compile")
    other = _outcome(protocol.filter("x", operation="Remove"), connection, clock)
    assert other.value.message == "Unknown operation"


def test_waitEventAnswersAtTheFirstEventOrTheTimeout() -> None:
    clock, server, protocol, connection = _setup()
    seen: List[str] = []
    protocol.registerEvent("UserEvent", lambda ami_, event: seen.append(event["userevent"]))
    sent: List[bytes] = []
    session = server.sessions[0]
    assert session.transport is not None
    write = session.transport.write

    def recording(data: bytes) -> None:
        sent.append(data)
        write(data)

    session.transport.write = recording  # type: ignore[method-assign]
    d = protocol.waitEvent(5)
    connection.flush()
    assert not d.called
    server.emitEvent("UserEvent", UserEvent="Ping")
    connection.flush()
    assert d.called and seen == ["Ping"]
    # As Asterisk: the response, the events held while waiting, the closing event.
    assert [data.split(b"\r\n", 1)[0] for data in sent] == [
        b"Response: Success", b"Event: UserEvent", b"Event: WaitEventComplete"]
    result = _value(d, connection, clock)
    assert [m.get("event") for m in result] == [None, "WaitEventComplete"]
    assert result[0]["message"] == "Waiting for Event completed."
    quiet = protocol.waitEvent(2)
    connection.flush()
    clock.advance(2)
    connection.flush()
    assert [m.get("event") for m in _value(quiet, connection, clock)] == [
        None, "WaitEventComplete"]


def test_hintsDevicesMailboxes() -> None:
    clock, server, protocol, connection = _setup()
    none = _value(protocol.extensionState("100", "default"), connection, clock)
    assert (none["status"], none["statustext"], none["hint"]) == ("-1", "Unknown", "")
    noHints = _outcome(protocol.extensionStateList(), connection, clock)
    assert noHints.value.message == "No dialplan hints are available"
    server.hints[("100", "default")] = "PJSIP/100"
    server.hints[("300", "default")] = "PJSIP/300"
    busy = _value(protocol.extensionState("100", "default"), connection, clock)
    assert (busy["status"], busy["statustext"]) == ("1", "InUse")
    listed = _value(protocol.extensionStateList(), connection, clock)
    assert [(e["exten"], e["statustext"]) for e in listed.events] == [
        ("100", "InUse"), ("300", "Idle")]
    server.deviceStates["PJSIP/300"] = "UNAVAILABLE"
    devices = _value(protocol.deviceStateList(), connection, clock)
    assert [(e["device"], e["state"]) for e in devices.events] == [
        ("PJSIP/300", "UNAVAILABLE"), ("PJSIP/100", "INUSE"), ("PJSIP/200", "INUSE")]
    server.mailboxes["100@default"] = (0, 2, 5)
    count = _value(protocol.mailboxCount("100@default"), connection, clock)
    assert (count["newmessages"], count["oldmessages"], count["urgmessages"]) == ("2", "5", "0")
    assert _value(protocol.mailboxStatus("100@default"), connection, clock)["waiting"] == "1"
    assert _value(protocol.mailboxStatus("200@default"), connection, clock)["waiting"] == "0"


def test_configFilesReadAndUpdated() -> None:
    clock, server, protocol, connection = _setup()
    missing = _outcome(protocol.getConfig("nosuch.conf"), connection, clock)
    assert missing.value.message == "Config file not found"
    server.configs["test.conf"] = [("general", [("a", "1")]), ("other", [("b", "2")])]
    got = _value(protocol.getConfig("test.conf"), connection, clock)
    assert (got["category-000000"], got["line-000000-000000"], got["category-000001"]) == (
        "general", "a=1", "other")
    updated = _value(protocol.updateConfig("test.conf", "new.conf", headers={
        "Action-000000": "Append", "Cat-000000": "general", "Var-000000": "c",
        "Value-000000": "3", "Action-000001": "NewCat", "Cat-000001": "third"}),
        connection, clock)
    assert updated["response"] == "Success"
    assert server.configs["new.conf"] == [("general", [("a", "1"), ("c", "3")]),
                                          ("other", [("b", "2")]), ("third", [])]
    assert server.configs["test.conf"][0] == ("general", [("a", "1")])
    unknown = _outcome(protocol.updateConfig("test.conf", "x.conf", headers={
        "Action-000000": "Frobnicate", "Cat-000000": "general"}), connection, clock)
    assert unknown.value.message == "Unknown action command"
    empty = _value(protocol.getConfig("test.conf", category="nosuch"), connection, clock)
    assert empty["response"] == "Success"


def test_advancedFiltersAsAsterisk22() -> None:
    clock, server, protocol, connection = _setup()
    seen: List[str] = []
    protocol.registerEvent(None, lambda ami_, event: seen.append(
        "%s %s" % (event["event"], event.get("channel", ""))))
    assert _value(protocol.filter(name="Hangup"), connection, clock)["message"] == "Success"
    assert _value(protocol.filter("Local/", action="exclude", header="Channel",
                                  method="starts_with"), connection, clock)["message"] == "Success"
    server.emitEvent("Newstate", Channel=CHANNEL)
    server.emitEvent("Hangup", Channel=CHANNEL)
    server.emitEvent("Hangup", Channel="Local/1@x-00000001;1")
    server.emitEvent("hangup", Channel=OTHER)          # names are case-sensitive there
    connection.flush()
    assert seen == ["Hangup " + CHANNEL]


@pytest.mark.parametrize("criteria, pattern, expected", [
    ("", "Event: (", "Filter did not compile.  Check the syntax of the filter given."),
    ("", "", "Filter was formatted incorrectly.  Check the syntax of the filter given."),
    ("name(Hangup)", "x", "Filter was formatted incorrectly.  Check the syntax of the filter given."),
    ("method(exact)", "", "Filter was formatted incorrectly.  Check the syntax of the filter given."),
    ("colour(red)", "", "Filter was formatted incorrectly.  Check the syntax of the filter given."),
    ("action(maybe),name(Hangup)", "",
     "Filter was formatted incorrectly.  Check the syntax of the filter given."),
    ("method(none)", "", "Filter was formatted incorrectly.  Check the syntax of the filter given."),
])
def test_badFiltersAnswerAsterisksErrors(criteria: str, pattern: str, expected: str) -> None:
    clock, server, protocol, connection = _setup()
    headers = [("Filter", pattern), ("Operation", "Add")]
    if criteria:
        headers.insert(0, ("MatchCriteria", criteria))
    result = _outcome(protocol.sendAction("Filter", headers), connection, clock)
    assert isinstance(result, Failure) and isinstance(result.value, error.AMICommandFailure)
    assert result.value.message == expected
    assert len(server.sessions[0].filters) == 0


@pytest.mark.parametrize("text, priority", [
    ("\u0661", None),              # ARABIC-INDIC DIGIT ONE: no digit to C's sscanf
    ("\u00b2", None),              # SUPERSCRIPT TWO
    ("99999999999", 2**31 - 1),    # kept within a 32-bit int
    ("7x", 7),                     # the rest after the number ignored
])
def test_amiAndAGIFakesScanNumbersAlike(text: str, priority: Any) -> None:
    """Both fakes read a number as C's ``sscanf("%d")`` does (one
    implementation, starpy.testing._cscan): AMI's Redirect ``Priority``
    and AGI's ``SET PRIORITY`` agree on Unicode digits and on overflow."""
    clock, server, protocol, connection = _setup()
    result = _outcome(protocol.sendAction("Redirect", [
        ("Channel", CHANNEL), ("Context", "ivr"), ("Exten", "s"), ("Priority", text)]),
        connection, clock)
    channel = SimulatedChannel()
    transport = StringTransport()
    caller = FakeAGICaller(channel, task.Clock())
    connect(caller, transport)
    transport.clear()
    caller.dataReceived(("SET PRIORITY %s\n" % (text,)).encode("utf-8"))
    agiReply = transport.value()
    if priority is None:
        assert isinstance(result, Failure)
        assert isinstance(result.value, error.AMICommandFailure)
        assert result.value.message == "Priority is invalid"
        assert agiReply.startswith(b"520-")
    else:
        assert result["message"] == "Redirect successful"
        assert server.channels[CHANNEL].priority == priority
        assert agiReply == b"200 result=0\n"
        assert channel.priority == priority


def test_queuePenaltyIsAThirtyTwoBitInt() -> None:
    clock, server, protocol, connection = _setup()
    events: List[Message] = []
    protocol.registerEvent("QueueMemberPenalty", lambda ami_, event: events.append(event))
    _value(protocol.queueAdd("testqueue", "PJSIP/300"), connection, clock)
    refused = _outcome(protocol.sendAction("QueuePenalty", [
        ("Interface", "PJSIP/300"), ("Penalty", "\u0663")]), connection, clock)
    assert refused.value.message == "Invalid interface, queuename or penalty"
    _value(protocol.sendAction("QueuePenalty", [
        ("Interface", "PJSIP/300"), ("Penalty", "99999999999")]), connection, clock)
    assert [e["penalty"] for e in events] == ["2147483647"]


def test_playDTMFDurationIsReadAsC() -> None:
    clock, server, protocol, connection = _setup()
    refused = _outcome(protocol.sendAction("PlayDTMF", [
        ("Channel", CHANNEL), ("Digit", "1"), ("Duration", "\u0665")]), connection, clock)
    assert refused.value.message == "Could not convert Duration parameter"


def test_hangupCauseAndOriginatePriorityReadOnlyCDigits() -> None:
    clock, server, protocol, connection = _setup()
    hangups: List[Message] = []
    protocol.registerEvent("Hangup", lambda ami_, event: hangups.append(event))
    for name, cause in ((CHANNEL, "\u00b2"), (OTHER, "\u0663")):
        hungUp = _value(protocol.sendAction("Hangup", [("Channel", name), ("Cause", cause)]),
                        connection, clock)
        assert hungUp["message"] == "Channel Hungup"
    assert [e["cause"] for e in hangups] == ["16", "16"]
    assert server.errors == []
    for priority, expected in (("\u00b2", 1), ("3x", 3)):
        _value(protocol.sendAction("Originate", [
            ("Channel", "PJSIP/300"), ("Context", "default"), ("Exten", "100"),
            ("Priority", priority)]), connection, clock)
        assert [c.priority for c in server.channels.values()][-1] == expected
    assert server.errors == []


@pytest.mark.parametrize("action, headers, expected", [
    ("Hangup", [], "No channel specified"),
    ("Hangup", [("Channel", "PJSIP/9-1")], "No such channel"),
    ("Getvar", [("Channel", "PJSIP/9-1"), ("Variable", "V")], "No such channel"),
    ("Getvar", [("Channel", CHANNEL)], "No variable specified"),
    ("Setvar", [("Channel", "PJSIP/9-1"), ("Variable", "V"), ("Value", "1")],
     "No such channel"),
    ("Setvar", [("Value", "1")], "No variable specified"),
    ("Status", [("Channel", "PJSIP/9-1")], "No such channel"),
    ("DBPut", [("Key", "k"), ("Val", "v")], "No family specified."),
    ("DBPut", [("Family", "f"), ("Val", "v")], "No key specified."),
    ("DBDelTree", [], "No family specified."),
    ("DBDelTree", [("Family", "nosuch")], "Database entry not found"),
    ("UserEvent", [], "UserEvent needs a name"),
    ("Command", [], "No command provided"),
    ("BridgeInfo", [], "BridgeUniqueid must be provided"),
    ("Originate", [("Exten", "100")], "Channel not specified"),
])
def test_builtinAnswersRefuseAsAsterisk(action: str, headers: List[Tuple[str, str]],
                                        expected: str) -> None:
    """The session's built-in answers read headers and channels with the
    default answers' helpers (starpy.testing._amianswers), in their words."""
    clock, server, protocol, connection = _setup()
    result = _outcome(protocol.sendAction(action, headers), connection, clock)
    assert isinstance(result, Failure), result
    assert isinstance(result.value, error.AMICommandFailure)
    assert result.value.message == expected
    assert set(server.channels) == {CHANNEL, OTHER}
