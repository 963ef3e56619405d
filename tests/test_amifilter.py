"""The fake AMI server's event filters and event classes, as Asterisk 22's
manager.c applies them (starpy.testing._amifilter, Action: Filter, EventMask)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import pytest
from twisted.internet import protocol, task

from starpy.testing import ami
from starpy.testing._amifilter import FilterError, SessionFilters, eventText, parseFilter

NEWCHANNEL = [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "PJSIP/100-0001"),
              ("Uniqueid", "1.1")]
VARSET = [("Event", "VarSet"), ("Privilege", "dialplan,all"), ("Channel", "Local/7@x-0001;1"),
          ("Variable", "FOO"), ("Value", "bar")]
HANGUP = [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "PJSIP/100-0001"),
          ("Cause", "16")]


class RawClient(protocol.Protocol):
    """Collects the bytes the fake writes; writes what the test says."""

    def __init__(self) -> None:
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def take(self) -> bytes:
        data, self.data = self.data, b""
        return data


def session(user: str = "starpy", secret: str = "starpy-secret",
            users: Optional[Sequence[ami.FakeAMIUser]] = None
            ) -> Tuple[ami.FakeAMIServerFactory, RawClient, ami.MemoryConnection]:
    server = ami.FakeAMIServerFactory(users=users, clock=task.Clock())
    client = RawClient()
    connection = ami.connectInMemory(server, client)
    send(client, connection, b"Action: Login\r\nUsername: %s\r\nSecret: %s\r\n\r\n"
         % (user.encode(), secret.encode()))
    client.take()
    return server, client, connection


def send(client: RawClient, connection: ami.MemoryConnection, data: bytes) -> bytes:
    assert client.transport is not None
    client.transport.write(data)
    connection.flush()
    return client.take()


def events(server: ami.FakeAMIServerFactory, client: RawClient, connection: ami.MemoryConnection,
           *emitted: List[Tuple[str, str]]) -> List[str]:
    for pairs in emitted:
        server.emitEvent(pairs)
    connection.flush()
    return [block.split(b"\r\n")[0].decode().split(": ", 1)[1]
            for block in client.take().split(b"\r\n\r\n") if block.startswith(b"Event: ")]


# -- parsing, as manager_add_filter --------------------------------------------


@pytest.mark.parametrize("criteria, pattern, excluded, method, name, header", [
    ("eventfilter", "Event: Newchannel", False, "regex", None, None),
    ("eventfilter", "!Event: VarSet", True, "regex", None, None),
    ("eventfilter(name(VarSet),method(none))", "", False, "none", "VarSet", None),
    ("eventfilter(name(VarSet))", "", False, "none", "VarSet", None),
    ("eventfilter(action(exclude),header(Channel),method(starts_with))", "Local/", True,
     "starts_with", None, "Channel:"),
    ("eventfilter(name(VarSet),header(Channel:),method(exact))", "!ZZZ", True, "exact",
     "VarSet", "Channel:"),
    # action() wins over the '!'
    ("eventfilter(action(include),name(VarSet),header(Someheader),method(exact))", "!XXX",
     False, "exact", "VarSet", "Someheader:"),
])
def test_parse(criteria: str, pattern: str, excluded: bool, method: str,
               name: Optional[str], header: Optional[str]) -> None:
    parsed = parseFilter(criteria, pattern)
    assert (parsed.exclude, parsed.method, parsed.name, parsed.header) == (
        excluded, method, name, header)


@pytest.mark.parametrize("criteria, pattern, message", [
    ("eventfilter", "", FilterError.FORMAT),
    ("eventfilter", "!", FilterError.FORMAT),
    ("eventfilter()", "XXX", FilterError.FORMAT),
    ("eventfilter(action(include)", "", FilterError.FORMAT),
    ("eventfilter(action(inlude))", "", FilterError.FORMAT),
    ("eventfilter(nnnn(yyy))", "XXX", FilterError.FORMAT),
    ("eventfilter(name(yyy),header(VarSet),method(coains))", "XXX", FilterError.FORMAT),
    ("eventfilter(method(none))", "", FilterError.FORMAT),  # no name nor header
    ("eventfilter(name(VarSet))", "XXX", FilterError.FORMAT),  # method none with a pattern
    ("eventfilter(name(VarSet),method(exact))", "", FilterError.FORMAT),
    ("eventfilter", "XX[X", FilterError.COMPILE),
    ("eventfilter(method(regex))", "XX[X", FilterError.COMPILE),
])
def test_parseRefused(criteria: str, pattern: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parseFilter(criteria, pattern)
    assert caught.value.message == message


# -- matching, as filter_cmp_fn and should_send_event --------------------------


@pytest.mark.parametrize("filters, newchannel, varset", [
    ([], True, True),
    ([("eventfilter", "Event: Newchannel")], True, False),
    ([("eventfilter", "!Event: Newchannel")], False, True),
    # the regex is searched in the whole text, '.' crosses lines
    ([("eventfilter", "Newchannel.*Uniqueid: 1\\.1")], True, False),
    ([("eventfilter", "^Privilege")], False, False),
    ([("eventfilter", "Channel: [[:alpha:]]+/100")], True, False),
    # names are exact and case-sensitive
    ([("eventfilter(name(Newchannel))", "")], True, False),
    ([("eventfilter(name(newchannel))", "")], False, False),
    # a header's value, leading blanks skipped; "Channel:" is not "ChannelState:"
    ([("eventfilter(header(Channel),method(starts_with))", "Local/")], False, True),
    ([("eventfilter(header(Channel),method(ends_with))", ";1")], False, True),
    ([("eventfilter(header(Channel),method(contains))", "100")], True, False),
    ([("eventfilter(header(Channel),method(exact))", "PJSIP/100-0001")], True, False),
    ([("eventfilter(header(Channel),method(regex))", "^PJSIP/")], True, False),
    ([("eventfilter(header(channel),method(regex))", "^PJSIP/")], False, False),
    # include then exclude
    ([("eventfilter(header(Privilege),method(contains))", "all"),
      ("eventfilter(action(exclude),name(VarSet))", "")], True, False),
    ([("eventfilter", "!Event: VarSet"), ("eventfilter", "!Event: Newchannel")], False, False),
    ([("eventfilter(name(Newchannel))", ""), ("eventfilter(name(VarSet))", "")], True, True),
])
def test_sessionFilters(filters: List[Tuple[str, str]], newchannel: bool, varset: bool) -> None:
    allowed = SessionFilters(parseFilter(*f) for f in filters)
    assert (allowed.allows(NEWCHANNEL), allowed.allows(VARSET)) == (newchannel, varset)


def test_eventTextIsTheWireText() -> None:
    assert eventText([("Event", "X"), ("A", "b")]) == "Event: X\r\nA: b\r\n\r\n"


# -- Action: Filter on a session -------------------------------------------------


def test_filterActionBytesAndWhatTheSessionReceives() -> None:
    server, client, connection = session()
    assert send(client, connection, b"Action: Filter\r\nActionID: 1\r\n"
                b"MatchCriteria: name(Newchannel)\r\nOperation: Add\r\n\r\n") == (
        b"Response: Success\r\nActionID: 1\r\nMessage: Success\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET, HANGUP) == ["Newchannel"]
    assert send(client, connection, b"Action: Filter\r\nActionID: 2\r\n"
                b"Filter: Event: Hangup\r\nOperation: Add\r\n\r\n") == (
        b"Response: Success\r\nActionID: 2\r\nMessage: Success\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET, HANGUP) == [
        "Newchannel", "Hangup"]
    # an exclude filter takes away from what the includes let through
    send(client, connection, b"Action: Filter\r\nActionID: 3\r\nMatchCriteria: "
         b"action(exclude),header(Cause),method(exact)\r\nFilter: 16\r\nOperation: Add\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET, HANGUP) == ["Newchannel"]


def test_excludeOnlyFiltersLetTheRestThrough() -> None:
    server, client, connection = session()
    send(client, connection, b"Action: Filter\r\nFilter: !Channel: Local/\r\nOperation: Add\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET, HANGUP) == [
        "Newchannel", "Hangup"]


def test_filtersArePerSession() -> None:
    server, client, connection = session()
    other = RawClient()
    otherConnection = ami.connectInMemory(server, other)
    send(other, otherConnection, b"Action: Login\r\nUsername: starpy\r\n"
         b"Secret: starpy-secret\r\n\r\n")
    send(client, connection, b"Action: Filter\r\nMatchCriteria: name(Hangup)\r\n"
         b"Operation: Add\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, HANGUP) == ["Hangup"]
    otherConnection.flush()
    assert other.take().count(b"Event: ") == 2


@pytest.mark.parametrize("headers, message", [
    (b"Filter: XX[X\r\nOperation: Add\r\n", b"Filter did not compile.  Check the syntax of"
     b" the filter given."),
    (b"Operation: Add\r\n", b"Filter was formatted incorrectly.  Check the syntax of the"
     b" filter given."),
    (b"MatchCriteria: name(Hangup),method(exact)\r\nOperation: Add\r\n",
     b"Filter was formatted incorrectly.  Check the syntax of the filter given."),
    (b"Filter: Hangup\r\nOperation: Remove\r\n", b"Unknown operation"),
    (b"Filter: Hangup\r\n", b"Unknown operation"),
])
def test_filterRefused(headers: bytes, message: bytes) -> None:
    server, client, connection = session()
    assert send(client, connection, b"Action: Filter\r\nActionID: 9\r\n" + headers + b"\r\n") == (
        b"Response: Error\r\nActionID: 9\r\nMessage: " + message + b"\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET) == ["Newchannel", "VarSet"]


def test_filterNeedsTheSystemWriteClass() -> None:
    server, client, connection = session("limited", "limited-secret")
    assert send(client, connection, b"Action: Filter\r\nActionID: 1\r\nMatchCriteria: "
                b"name(Hangup)\r\nOperation: Add\r\n\r\n") == (
        b"Response: Error\r\nActionID: 1\r\nMessage: Permission denied\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, HANGUP) == ["Newchannel", "Hangup"]


def test_filtersSkipListRepliesAndTheLoginFullyBooted() -> None:
    users = [ami.FakeAMIUser("f", "s", eventFilters=[("eventfilter(name(Hangup))", "")])]
    server = ami.FakeAMIServerFactory(users=users, clock=task.Clock())
    client = RawClient()
    connection = ami.connectInMemory(server, client)
    login = send(client, connection, b"Action: Login\r\nUsername: f\r\nSecret: s\r\n\r\n")
    assert b"Event: FullyBooted\r\n" in login
    server.addChannel("PJSIP/100-0001")
    reply = send(client, connection, b"Action: CoreShowChannels\r\nActionID: 5\r\n\r\n")
    assert b"Event: CoreShowChannel\r\n" in reply
    assert b"Event: CoreShowChannelsComplete\r\n" in reply
    # ... but filter the events of the queue, from manager.conf's eventfilter
    assert events(server, client, connection, NEWCHANNEL, HANGUP) == ["Hangup"]


def test_addUserWithFilters() -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock())
    server.addUser("f", "s", eventFilters=["!Event: VarSet"])
    client = RawClient()
    connection = ami.connectInMemory(server, client)
    send(client, connection, b"Action: Login\r\nUsername: f\r\nSecret: s\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET) == ["Newchannel"]


def test_userFiltersAreChecked() -> None:
    with pytest.raises(ValueError, match="did not compile"):
        ami.FakeAMIUser("f", "s", eventFilters=["XX[X"])
    user = ami.FakeAMIUser("f", "s", eventFilters=["!Event: VarSet"])
    assert user.eventFilters[0].exclude


# -- event classes: Login Events and Action: Events --------------------------------


@pytest.mark.parametrize("mask, answer, received", [
    (b"call", b"On", ["Newchannel", "Hangup"]),
    (b"call,dialplan", b"On", ["Newchannel", "VarSet", "Hangup"]),
    (b"dialplan", b"On", ["VarSet"]),
    (b"off", b"Off", []),
    (b"on", b"On", ["Newchannel", "VarSet", "Hangup", "DualClass"]),
    (b"all", b"On", ["Newchannel", "VarSet", "Hangup", "DualClass"]),
    (b"2", b"On", ["Newchannel", "Hangup"]),  # a number is the class bits (call)
    (b"Call", b"Off", []),  # Asterisk compares the class names case-sensitively
    (b"calls", b"Off", []),
    # an event of two classes needs both
    (b"call,system", b"On", ["Newchannel", "Hangup", "DualClass"]),
])
def test_eventMask(mask: bytes, answer: bytes, received: List[str]) -> None:
    server, client, connection = session()
    assert send(client, connection, b"Action: Events\r\nActionID: 7\r\nEventMask: " + mask
                + b"\r\n\r\n") == b"Response: Success\r\nActionID: 7\r\nEvents: " + answer + b"\r\n\r\n"
    dual = [("Event", "DualClass"), ("Privilege", "system,call,all")]
    assert events(server, client, connection, NEWCHANNEL, VARSET, HANGUP, dual) == received


def test_eventMaskEmptyIsInvalid() -> None:
    server, client, connection = session()
    assert send(client, connection, b"Action: Events\r\nActionID: 7\r\n\r\n") == (
        b"Response: Error\r\nActionID: 7\r\nMessage: Invalid event mask\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL) == ["Newchannel"]


def test_eventMaskIsLimitedByTheReadClasses() -> None:
    server, client, connection = session("limited", "limited-secret")
    send(client, connection, b"Action: Events\r\nEventMask: call,dialplan\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL, VARSET) == ["Newchannel"]


def test_loginEventsHeaderTakesClasses() -> None:
    server = ami.FakeAMIServerFactory(clock=task.Clock())
    client = RawClient()
    connection = ami.connectInMemory(server, client)
    login = send(client, connection, b"Action: Login\r\nUsername: starpy\r\n"
                 b"Secret: starpy-secret\r\nEvents: dialplan\r\n\r\n")
    assert b"FullyBooted" not in login  # no system class
    assert events(server, client, connection, NEWCHANNEL, VARSET) == ["VarSet"]


@pytest.mark.parametrize("mask", ["\u00b2", "\u0662"])
def test_eventMaskNumbersAreCDigits(mask: str) -> None:
    # strings_to_mask takes a number of '0'-'9' only: other digits are no
    # class name either, so the events go off.
    server, client, connection = session()
    assert send(client, connection, b"Action: Events\r\nActionID: 7\r\nEventMask: "
                + mask.encode("utf-8") + b"\r\n\r\n") == (
        b"Response: Success\r\nActionID: 7\r\nEvents: Off\r\n\r\n")
    assert events(server, client, connection, NEWCHANNEL) == []
    assert server.errors == []
