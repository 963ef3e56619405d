"""AMIProtocol.filter: the legacy regular expression and Asterisk 22's
MatchCriteria, byte for byte as Asterisk reads them."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from twisted.internet import task
from twisted.internet.testing import StringTransport

from starpy import error
from starpy.manager import AMIProtocol
from tests.deferreds import failure, result
from tests.wire import connect

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def connected() -> tuple[AMIProtocol, StringTransport]:
    ids: Iterator[str] = iter(["f-%d" % n for n in range(1, 100)])
    ami = AMIProtocol(clock=task.Clock())
    ami._newActionID = lambda: next(ids)  # type: ignore[method-assign]
    transport = connect(ami, StringTransport())
    ami.dataReceived(BANNER)
    return ami, transport


@pytest.mark.parametrize("call, wire", [
    (lambda a: a.filter("Event: Newchannel"),
     b"Action: Filter\r\nActionID: f-1\r\nFilter: Event: Newchannel\r\nOperation: Add\r\n\r\n"),
    (lambda a: a.filter("!Channel: DAHDI/"),
     b"Action: Filter\r\nActionID: f-1\r\nFilter: !Channel: DAHDI/\r\nOperation: Add\r\n\r\n"),
    (lambda a: a.filter(name="Newchannel"),
     b"Action: Filter\r\nActionID: f-1\r\nMatchCriteria: name(Newchannel)\r\n"
     b"Operation: Add\r\n\r\n"),
    (lambda a: a.filter(action="include", name="Hangup"),
     b"Action: Filter\r\nActionID: f-1\r\nMatchCriteria: action(include),name(Hangup)\r\n"
     b"Operation: Add\r\n\r\n"),
    (lambda a: a.filter("Local/", action="exclude", header="Channel", method="starts_with"),
     b"Action: Filter\r\nActionID: f-1\r\n"
     b"MatchCriteria: action(exclude),header(Channel),method(starts_with)\r\n"
     b"Filter: Local/\r\nOperation: Add\r\n\r\n"),
    # the documented order (action, name, header, method) whatever the keywords' order
    (lambda a: a.filter("(PJ)?SIP/(james|jim)-", method="regex", header="Channel",
                        name="Newchannel", action="exclude"),
     b"Action: Filter\r\nActionID: f-1\r\n"
     b"MatchCriteria: action(exclude),name(Newchannel),header(Channel),method(regex)\r\n"
     b"Filter: (PJ)?SIP/(james|jim)-\r\nOperation: Add\r\n\r\n"),
    (lambda a: a.filter(name="VarSet", method="none", action="exclude"),
     b"Action: Filter\r\nActionID: f-1\r\n"
     b"MatchCriteria: action(exclude),name(VarSet),method(none)\r\nOperation: Add\r\n\r\n"),
])
def test_filterWireBytes(call: Callable[[AMIProtocol], Any], wire: bytes) -> None:
    ami, transport = connected()
    d = call(ami)
    assert transport.value() == wire
    ami.dataReceived(b"Response: Success\r\nActionID: f-1\r\nMessage: Success\r\n\r\n")
    assert result(d)["response"] == "Success"


@pytest.mark.parametrize("kwargs, message", [
    ({}, "legacy form needs a regular expression"),
    ({"filter": ""}, "legacy form needs a regular expression"),
    ({"filter": "Channel: X", "name": "Hangup"}, "needs a method= that uses it"),
    ({"filter": "Channel: X", "name": "Hangup", "method": "none"}, "needs a method="),
    ({"name": "Hangup", "method": "exact"}, "needs an expression"),
    ({"name": "Hangup", "method": "glob"}, "method must be one of"),
    ({"name": "Hangup", "action": "drop"}, "action must be one of"),
    ({"name": ""}, "name must be a non-empty word"),
    ({"name": "New channel"}, "name must be"),
    ({"name": "Newchannel),header(Channel"}, "name must be"),
    ({"header": "Channel,Exten", "method": "exact", "filter": "x"}, "header must be"),
    ({"name": 3}, "name must be"),
])
def test_filterRefusesBeforeSending(kwargs: dict[str, Any], message: str) -> None:
    ami, transport = connected()
    with pytest.raises(ValueError, match=message):
        ami.filter(**kwargs)
    assert transport.value() == b""
    assert ami.pendingCount == 0


def test_filterRefusedByAsteriskFailsWithItsMessage() -> None:
    ami, transport = connected()
    d = ami.filter("Channel: (")
    ami.dataReceived(b"Response: Error\r\nActionID: f-1\r\nMessage: Filter did not compile."
                     b"  Check the syntax of the filter given.\r\n\r\n")
    refused = failure(d)
    assert refused.check(error.AMICommandFailure)
    assert "did not compile" in str(refused.value)
